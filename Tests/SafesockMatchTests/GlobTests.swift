// Glob: Tcl `string match` semantics, checked by hand and against real tclsh.

import Foundation
import SafesockMatch
import SafesockTestSupport
import Testing

func globMatches(_ pattern: String, _ text: String) -> Bool {
    var p = pattern, t = text
    return p.withUTF8 { pp in t.withUTF8 { tt in Glob.matches(pp, tt) } }
}

func globFault(_ pattern: String) -> GlobFault? {
    var p = pattern
    return p.withUTF8 { Glob.malformation($0)?.reason }
}

@Suite struct GlobTests {
    @Test(arguments: [
        ("*.sun.com", "a.sun.com", true), ("*.sun.com", "a.b.sun.com", true), ("*.sun.com", "sun.com", false),
        ("*.sun.com", "asun.com", false), ("www.sun.com", "www.sun.com", true), ("www.sun.com", "www.sun.co", false),
        ("*", "", true), ("*", "anything.at.all", true), ("", "", true), ("", "a", false),
        ("?", "a", true), ("?", "", false), ("?", "ab", false), ("a?c", "abc", true),
        ("[a-c]x", "bx", true), ("[a-c]x", "dx", false), ("[c-a]x", "bx", true), ("[ab]", "b", true),
        ("[-a]", "-", true), ("[a-]x]", "-", false), ("\\*", "*", true), ("\\*", "a", false),
        ("a\\.b", "a.b", true), ("[\\]", "\\", true), ("**a**", "xa", true), ("*a*b*c", "aXbYc", true),
        ("*a*b*c", "aXbYcZ", false), ("10.*", "10.1.2.3", true), ("10.*", "110.1.2.3", false),
        ("80*", "8080", true), ("80*", "180", false), ("*:*", "2001:db8::1", true),
    ])
    func matchesLikeTcl(pattern: String, text: String, expected: Bool) {
        #expect(globMatches(pattern, text) == expected, "\(pattern) ~ \(text)")
    }

    @Test(arguments: [
        ("a\\", GlobFault.trailingBackslash), ("[]", .emptyClass), ("[ab", .unclosedClass),
        ("x[a-]", .dashBeforeClose), ("[a-b", .unclosedClass),
    ])
    func refusesMalformed(pattern: String, fault: GlobFault) {
        #expect(globFault(pattern) == fault)
    }

    @Test(arguments: ["[a-b-]", "[-]", "[a-\\]", "\\[", "[]]x]", "a*?[x-z]"])
    func acceptsWellFormed(pattern: String) {
        // `[]]x]` is empty-class-then-text to Tcl; we refuse it too.
        if pattern == "[]]x]" {
            #expect(globFault(pattern) == .emptyClass)
        } else {
            #expect(globFault(pattern) == nil)
        }
    }

    @Test func quadraticNotExponential() {
        // Tcl recurses on every star; this would take ages there.
        let pattern = String(repeating: "*a", count: 200) + "b"
        let text = String(repeating: "a", count: 1000)
        #expect(!globMatches(pattern, text))
    }

    /// 20,000 random well-formed patterns and texts, one real tclsh.
    @Test(.requires(.program("/usr/bin/tclsh")))
    func agreesWithRealTclsh() throws {
        let path = "/usr/bin/tclsh"
        var rng = SeededGenerator(seed: 0x5AFE_50C4)
        var pairs: [(String, String)] = []
        while pairs.count < 20_000 {
            let (pattern, instance) = randomGlob(using: &rng)
            guard globFault(pattern) == nil else { continue }
            // Half the texts are made to match, then perhaps nudged off by one byte.
            var text = Array(instance.utf8)
            if Bool.random(using: &rng) {
                text = (0..<Int.random(in: 0...8, using: &rng)).map { _ in Array("aAbBcC.-*[]\\".utf8).randomElement(using: &rng)! }
            } else if !text.isEmpty && Int.random(in: 0..<3, using: &rng) == 0 {
                text[Int.random(in: 0..<text.count, using: &rng)] = Array("abcz.-".utf8).randomElement(using: &rng)!
            }
            pairs.append((pattern, String(decoding: text, as: UTF8.self)))
        }
        let hex = { (s: String) in s.utf8.map { String(format: "%02x", $0) }.joined() }
        let input = pairs.map { "\(hex($0.0)) \(hex($0.1))" }.joined(separator: "\n") + "\n"
        let script = """
        while {[gets stdin line] >= 0} {
            lassign [split $line " "] p t
            puts [string match -nocase [binary format H* $p] [binary format H* $t]]
        }
        """
        let answers = try runProcess(path, arguments: ["/dev/stdin"], script: script, data: input)
        #expect(answers.count == pairs.count)
        var disagreements: [String] = []
        for ((p, t), tcl) in zip(pairs, answers) {
            let ours = globMatches(p.lowercased(), t.lowercased())
            if ours != (tcl == "1") { disagreements.append("\(p) ~ \(t): tcl \(tcl), ours \(ours)") }
        }
        #expect(disagreements.isEmpty, "\(disagreements.prefix(10))")
    }
}

/// A random glob built element by element, and a text that it matches.
func randomGlob(using rng: inout SeededGenerator) -> (String, String) {
    let letters = Array("aAbBcCz.-*?[]\\".utf8)
    func letter() -> UInt8 { letters.randomElement(using: &rng)! }
    var pattern: [UInt8] = [], text: [UInt8] = []
    for _ in 0..<Int.random(in: 0...5, using: &rng) {
        switch Int.random(in: 0..<6, using: &rng) {
        case 0:
            pattern.append(UInt8(ascii: "*"))
            text += (0..<Int.random(in: 0...2, using: &rng)).map { _ in letter() }
        case 1:
            pattern.append(UInt8(ascii: "?"))
            text.append(letter())
        case 2:
            let c = letter()
            pattern += [UInt8(ascii: "\\"), c]
            text.append(c)
        case 3:
            // A class of members and ranges, either way round.
            pattern.append(UInt8(ascii: "["))
            var members: [UInt8] = []
            for _ in 0..<Int.random(in: 1...3, using: &rng) {
                let a = letter(), b = letter()
                if a == UInt8(ascii: "]") || b == UInt8(ascii: "]") { continue }
                if Bool.random(using: &rng) {
                    pattern += [a, UInt8(ascii: "-"), b]
                    members.append(UInt8.random(in: min(a, b)...max(a, b), using: &rng))
                } else {
                    pattern.append(a)
                    members.append(a)
                }
            }
            pattern.append(UInt8(ascii: "]"))
            text.append(members.randomElement(using: &rng) ?? letter())
        default:
            let c = letter()
            if c == UInt8(ascii: "*") || c == UInt8(ascii: "?") || c == UInt8(ascii: "[") || c == UInt8(ascii: "\\") { continue }
            pattern.append(c)
            text.append(c)
        }
    }
    return (String(decoding: pattern, as: UTF8.self), String(decoding: text, as: UTF8.self))
}

/// Runs a tclsh with `script` then `data` on standard input; its output lines.
func runProcess(_ path: String, arguments: [String], script: String, data: String) throws -> [String] {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("safesock-glob-\(getpid())")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: dir) }
    let scriptURL = dir.appendingPathComponent("match.tcl")
    let dataURL = dir.appendingPathComponent("pairs.txt")
    try script.write(to: scriptURL, atomically: true, encoding: .utf8)
    try data.write(to: dataURL, atomically: true, encoding: .utf8)
    let process = Process()
    process.executableURL = URL(fileURLWithPath: path)
    process.arguments = [scriptURL.path]
    process.standardInput = try FileHandle(forReadingFrom: dataURL)
    let out = Pipe()
    process.standardOutput = out
    try process.run()
    let bytes = out.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return String(decoding: bytes, as: UTF8.self).split(separator: "\n").map(String.init)
}
