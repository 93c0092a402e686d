// Glob: Tcl's `string match` over bytes, the host and port pattern language
// of the Tcl plugin's policy files.
//
// Design: the classic one-backtrack-point wildcard match. Every element but
// `*` consumes exactly one byte, so remembering only the last `*` is exact
// and the cost is O(pattern x text) in the worst case, never exponential
// (Tcl itself recurses on `*`). Both sides are expected to be canonical
// already (ASCII lower case), which gives Tcl's `-nocase` semantics: Tcl
// lowercases range bounds as well, and so does canonicalising the pattern.
//
// Embedded-Swift clean: it is compiled into the preload library too.
// Tested against real `tclsh` in Tests/SafesockPolicyTests/GlobTests.swift.

public enum Glob {
    static let star = UInt8(ascii: "*")
    static let question = UInt8(ascii: "?")
    static let open = UInt8(ascii: "[")
    static let close = UInt8(ascii: "]")
    static let backslash = UInt8(ascii: "\\")
    static let dash = UInt8(ascii: "-")

    /// True when `text` matches `pattern` as Tcl's `string match` would.
    public static func matches(
        _ pattern: UnsafeBufferPointer<UInt8>, _ text: UnsafeBufferPointer<UInt8>
    ) -> Bool {
        var p = 0, t = 0
        var starP = -1, starT = 0
        while t < text.count {
            if p < pattern.count && pattern[p] == star {
                while p < pattern.count && pattern[p] == star { p += 1 }
                if p == pattern.count { return true }
                starP = p
                starT = t
                continue
            }
            if p < pattern.count, let next = matchOne(pattern, p, text[t]) {
                p = next
                t += 1
                continue
            }
            if starP < 0 { return false }
            starT += 1
            t = starT
            p = starP
        }
        while p < pattern.count && pattern[p] == star { p += 1 }
        return p == pattern.count
    }

    /// Whether the pattern has any of the characters that make it a glob
    /// rather than a literal (`*`, `?`, `[`, `\`).
    public static func isGlob(_ pattern: UnsafeBufferPointer<UInt8>) -> Bool {
        for c in pattern where c == star || c == question || c == open || c == backslash {
            return true
        }
        return false
    }

    /// Matches the single element at `p` against `c`; returns the index after
    /// the element, or nil. A malformed element (an unclosed `[`, a trailing
    /// `\`) never matches, which is what Tcl does with it.
    static func matchOne(_ pattern: UnsafeBufferPointer<UInt8>, _ p: Int, _ c: UInt8) -> Int? {
        switch pattern[p] {
        case question:
            return p + 1
        case backslash:
            guard p + 1 < pattern.count else { return nil }
            return pattern[p + 1] == c ? p + 2 : nil
        case open:
            return matchClass(pattern, p + 1, c)
        default:
            return pattern[p] == c ? p + 1 : nil
        }
    }

    /// `[...]`: members and ranges (either way round, as Tcl allows). Inside
    /// brackets `\` is an ordinary member, as in Tcl 8.6; no negation.
    static func matchClass(_ pattern: UnsafeBufferPointer<UInt8>, _ start: Int, _ c: UInt8) -> Int? {
        var i = start
        var found = false
        while true {
            guard i < pattern.count else { return nil }
            if pattern[i] == close { break }
            let low = pattern[i]
            var high = low
            i += 1
            if i + 1 < pattern.count && pattern[i] == dash && pattern[i + 1] != close {
                high = pattern[i + 1]
                i += 2
            }
            if (low <= c && c <= high) || (high <= c && c <= low) { found = true }
        }
        return found ? i + 1 : nil
    }

    /// Where a pattern is not a well-formed glob, the byte offset of the
    /// fault and why; nil when it is well formed. Tcl gives odd answers for
    /// these (an unclosed `[` still matches its members), so policies may
    /// not contain them and the matcher never has to agree with Tcl on them.
    public static func malformation(_ pattern: UnsafeBufferPointer<UInt8>) -> (offset: Int, reason: GlobFault)? {
        var i = 0
        while i < pattern.count {
            switch pattern[i] {
            case backslash:
                if i + 1 == pattern.count { return (i, .trailingBackslash) }
                i += 2
            case open:
                let start = i
                i += 1
                if i < pattern.count && pattern[i] == close { return (start, .emptyClass) }
                // Element by element, as matchClass reads them.
                while i < pattern.count && pattern[i] != close {
                    i += 1
                    guard i + 1 < pattern.count, pattern[i] == dash else { continue }
                    if pattern[i + 1] == close { return (i, .dashBeforeClose) }
                    i += 2
                }
                if i == pattern.count { return (start, .unclosedClass) }
                i += 1
            default:
                i += 1
            }
        }
        return nil
    }
}

/// Why a glob is refused (see `Glob.malformation`).
public enum GlobFault: Sendable {
    case trailingBackslash, emptyClass, unclosedClass, dashBeforeClose
}
