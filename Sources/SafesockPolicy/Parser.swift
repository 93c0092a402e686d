// Parser: policy text -> Policy model, with every problem as a Diagnostic.
//
// The format is the Tcl plugin's `.cfg` (docs/policy-language.md), read line
// by line (Lexer.swift) rather than evaluated as Tcl. Only `hosts ports` and
// `options` are interpreted; other sections keep the plugin's structural
// checks (argument count) and are otherwise ignored with a note.
//
// Choices the plugin's manual page leaves open (docs/policy-language.md
// marks each **Choice**):
// - an included file starts in the includer's current section, and a
//   `section` inside it ends at its end (it does not leak back);
// - variables are interpreted only where safesock reads the words, so the
//   plugin's `$originHomeDirURL` in `section urls` is no error;
// - a variable must be the whole host word (`*.$originHost` is refused: the
//   compiled table is shared by programs of different origins).
//
// Tests: Tests/SafesockPolicyTests/ParserTests.swift, FuzzTests.swift.

import SafesockABI
import SafesockMatch

public struct ParseResult: Sendable {
    public var policy: Policy
    /// In the order found: file by file, line by line.
    public var diagnostics: [Diagnostic]

    public var hasErrors: Bool { diagnostics.contains { $0.severity == .error } }
}

public enum PolicyParser {
    /// Parses the policy file at `path` and everything it includes.
    public static func parse(path: String, loader: any SourceLoader = FileLoader()) -> ParseResult {
        var state = ParserState(loader: loader)
        state.parseFile(path: path, section: nil, from: nil)
        return ParseResult(policy: state.policy, diagnostics: state.diagnostics)
    }

    /// Parses text that stands in a file named `name` (includes still load
    /// through `loader`).
    public static func parse(text: String, name: String, loader: any SourceLoader = FileLoader()) -> ParseResult {
        var state = ParserState(loader: loader)
        state.parseText(Array(text.utf8), name: name, section: nil)
        return ParseResult(policy: state.policy, diagnostics: state.diagnostics)
    }
}

/// The section a line belongs to.
struct Section {
    enum Kind { case hostsPorts, options, ignored }

    var name: String
    var kind: Kind
    /// The plugin checks `allow`/`disallow` for at least this many words.
    var wordCount: Int
}

struct ParserState {
    let loader: any SourceLoader
    var policy = Policy()
    var diagnostics: [Diagnostic] = []
    /// Files being read, outermost first, by loader identity: a cycle check.
    var includeStack: [String] = []

    init(loader: any SourceLoader) {
        self.loader = loader
    }

    mutating func error(_ at: SourceLocation, _ message: String) {
        diagnostics.append(Diagnostic(.error, at, message))
    }

    mutating func parseFile(path: String, section: Section?, from include: SourceLocation?) {
        let where_ = include ?? SourceLocation(file: path, line: 1, column: 1)
        let identity = loader.identity(of: path)
        if includeStack.contains(identity) {
            error(where_, "include cycle: \(path) is already being read")
            return
        }
        if includeStack.count >= PolicyLimits.maxIncludeDepth {
            error(where_, "includes nest deeper than \(PolicyLimits.maxIncludeDepth) files")
            return
        }
        switch loader.read(path) {
        case .failure(let failure):
            error(where_, include == nil ? "cannot read policy: \(failure.message)"
                                         : "cannot include \(path): \(failure.message)")
        case .success(let bytes):
            includeStack.append(identity)
            parseText(bytes, name: path, section: section)
            includeStack.removeLast()
        }
    }

    mutating func parseText(_ bytes: [UInt8], name: String, section start: Section?) {
        policy.files.append(name)
        var section = start
        var lineNumber = 0
        var lineStart = 0
        var command: Word?
        var arguments: [Word] = []
        arguments.reserveCapacity(4)
        while lineStart <= bytes.count {
            lineNumber += 1
            let lineEnd = bytes[lineStart...].firstIndex(of: UInt8(ascii: "\n")) ?? bytes.count
            let line = bytes[lineStart..<lineEnd]
            if let failure = Lexer.words(line, command: &command, arguments: &arguments) {
                error(SourceLocation(file: name, line: lineNumber, column: failure.column), failure.message)
            } else if let command {
                parseLine(command, arguments, file: name, line: lineNumber, section: &section)
            }
            lineStart = lineEnd + 1
        }
    }

    mutating func parseLine(_ command: Word, _ arguments: [Word], file: String, line: Int, section: inout Section?) {
        func at(_ word: Word) -> SourceLocation { SourceLocation(file: file, line: line, column: word.column) }

        switch command.text {
        case "section":
            guard !arguments.isEmpty else {
                error(at(command), "section needs a name (hosts ports, options, ...)")
                return
            }
            let name = arguments.map(\.text).joined(separator: " ")
            switch name {
            case "hosts ports":
                section = Section(name: name, kind: .hostsPorts, wordCount: 2)
                policy.hasHostsPorts = true
            case "options":
                section = Section(name: name, kind: .options, wordCount: 2)
            default:
                section = Section(name: name, kind: .ignored, wordCount: arguments.count)
                diagnostics.append(Diagnostic(.note, at(arguments[0]),
                    "section '\(name)' is not used by safesock; its lines are checked and ignored"))
            }
        case "include":
            guard arguments.count == 1 else {
                error(at(command), "include takes one file name, not \(arguments.count)")
                return
            }
            let target = IncludePath.resolve(arguments[0].text, from: file)
            parseFile(path: target, section: section, from: at(arguments[0]))
        default:
            guard let current = section else {
                if command.text == "allow" || command.text == "disallow" {
                    error(at(command), "rule outside any section (start one with 'section hosts ports')")
                } else {
                    error(at(command), "unknown command '\(command.text)' (expected section, include, allow or disallow)")
                }
                return
            }
            switch current.kind {
            case .hostsPorts: parseRule(command, arguments, at: at)
            case .options: parseOption(command, arguments, at: at)
            case .ignored: checkIgnored(command, arguments, section: current, at: at)
            }
        }
    }

    // MARK: hosts ports

    mutating func parseRule(_ command: Word, _ arguments: [Word], at: (Word) -> SourceLocation) {
        let action: Rule.Action
        switch command.text {
        case "allow": action = .allow
        case "disallow": action = .disallow
        default:
            error(at(command), "unknown command '\(command.text)' in section 'hosts ports' (expected allow or disallow)")
            return
        }
        guard arguments.count >= 2 else {
            error(at(command), "not enough arguments: '\(command.text)' needs a host and a port")
            return
        }
        if arguments.count > 2 {
            error(at(arguments[2]), "Tcl conditions are not supported here: safesock does not evaluate Tcl, so a rule is HOST PORT only")
        }
        let host = hostPattern(arguments[0], at: at(arguments[0]))
        let port = portPattern(arguments[1], at: at(arguments[1]))
        guard let host, let port, arguments.count == 2 else { return }
        policy.rules.append(Rule(action: action, host: host, port: port,
                                 hostText: arguments[0].text, portText: arguments[1].text,
                                 hostLocation: at(arguments[0]), portLocation: at(arguments[1])))
    }

    /// Column of the byte `offset` bytes into a word's text.
    func shifted(_ location: SourceLocation, _ word: Word, by offset: Int) -> SourceLocation {
        var l = location
        l.column += offset + (word.form == .bare ? 0 : 1)
        return l
    }

    mutating func hostPattern(_ word: Word, at location: SourceLocation) -> HostPattern? {
        let text = word.text
        switch Variables.scan(text) {
        case .none: break
        case .whole(let name):
            if Variables.originNames.contains(name) { return .origin }
            error(location, "unknown variable $\(name) (only $originSocketHost and $originHost are known)")
            return nil
        case .embedded(let name, let offset):
            if Variables.originNames.contains(name) {
                error(shifted(location, word, by: offset), "$\(name) must be the whole host pattern, not part of one")
            } else {
                error(shifted(location, word, by: offset), "unknown variable $\(name) (only $originSocketHost and $originHost are known)")
            }
            return nil
        }
        if text.isEmpty { return .nothing }
        // The text's own bytes, not an array of them: one allocation a rule.
        var own = text
        let (count, control, nonASCII, slash) = own.withUTF8 { bytes in
            (bytes.count, bytes.firstIndex(where: { $0 <= 0x20 || $0 == 0x7F }), bytes.firstIndex(where: { $0 >= 0x80 }),
             bytes.contains(UInt8(ascii: "/")))
        }
        if count > PolicyLimits.maxHostPatternBytes {
            error(location, "host pattern is longer than \(PolicyLimits.maxHostPatternBytes) bytes")
            return nil
        }
        if let bad = control {
            error(shifted(location, word, by: bad), "host pattern contains a blank or control character")
            return nil
        }
        if let bad = nonASCII {
            error(shifted(location, word, by: bad), "host pattern is not ASCII: write international names in their xn-- form")
            return nil
        }
        if IPAddress.isTooLongToJudge(text) {
            error(location, "host pattern is \(count) bytes of address digits: too long to read as an address (at most 255)")
            return nil
        }
        if slash {
            return cidrBlock(text, at: location)
        }
        if let address = IPAddress(parsing: text) {
            return .address(address)
        }
        let canonical = HostGlob.canonical(text)
        var scratch = canonical
        let fault = scratch.withUTF8 { Glob.malformation($0) }
        if let fault {
            error(shifted(location, word, by: fault.offset), HostGlob.message(fault.reason))
            return nil
        }
        return scratch.withUTF8({ Glob.isGlob($0) }) ? .glob(canonical) : .name(canonical)
    }

    mutating func cidrBlock(_ text: String, at location: SourceLocation) -> HostPattern? {
        // Bytes, not Characters: the text is ASCII already (hostPattern).
        let utf8 = text.utf8
        let usage = { "bad CIDR block '\(text)': write ADDRESS/BITS, as 10.0.0.0/8 or fd00::/8" }
        guard let slash = utf8.firstIndex(of: UInt8(ascii: "/")) else {
            error(location, usage())
            return nil
        }
        let digits = utf8[utf8.index(after: slash)...]
        guard !digits.isEmpty, digits.count <= 3, digits.allSatisfy(PortSyntax.isDigit) else {
            error(location, usage())
            return nil
        }
        let bits = digits.reduce(0) { $0 * 10 + Int($1 &- 0x30) }
        let base = String(text[..<slash])
        // Dotted quad only: inet_aton would read `10/8` as 0.0.0.10/8.
        let raw: [UInt8]
        if let parsed = IPAddress.parse(base, SAFESOCK_PARSE_DOTTED) {
            raw = parsed
        } else {
            error(location, usage())
            return nil
        }
        guard bits <= raw.count * 8 else {
            error(location, "bad CIDR block '\(text)': /\(bits) is longer than the address (\(raw.count * 8) bits)")
            return nil
        }
        var bytes = raw
        var prefix = bits
        if raw.count == 16, let folded = IPAddress(bytes: raw), folded.isIPv4 {
            // An IPv4-mapped block is the IPv4 block, as its addresses are.
            guard bits >= 96 else {
                error(location, "bad CIDR block '\(text)': a block over IPv4-mapped addresses needs at least /96")
                return nil
            }
            bytes = folded.bytes
            prefix = bits - 96
        }
        var masked = bytes
        for i in masked.indices {
            let keep = max(0, min(8, prefix - i * 8))
            masked[i] &= UInt8(truncatingIfNeeded: 0xFF << (8 - keep))
        }
        let network = IPAddress(bytes: masked)!
        if masked != bytes {
            diagnostics.append(Diagnostic(.warning, location,
                "CIDR block '\(text)' has host bits set; it means \(network)/\(prefix)"))
        }
        return .block(network, bits: prefix)
    }

    mutating func portPattern(_ word: Word, at location: SourceLocation) -> PortPattern? {
        let text = word.text
        if case .none = Variables.scan(text) {} else {
            error(location, "variables stand for hosts; a port must be a number, N1-N2, >N, <N or a glob")
            return nil
        }
        switch PortSyntax.parse(text) {
        case .success(let pattern):
            return pattern
        case .failure(let failure):
            error(failure.offset.map { shifted(location, word, by: $0) } ?? location, failure.message)
            return nil
        }
    }

    // MARK: options

    mutating func parseOption(_ key: Word, _ arguments: [Word], at: (Word) -> SourceLocation) {
        let known = ["peername", "datagrams", "servers", "resolve", "maxSockets", "privateNames"]
        guard known.contains(key.text) else {
            error(at(key), "unknown option '\(key.text)' (known: \(known.joined(separator: ", ")))")
            return
        }
        guard arguments.count == 1 else {
            error(at(key), arguments.isEmpty ? "option '\(key.text)' needs a value"
                                             : "an option line is KEY VALUE; '\(key.text)' has \(arguments.count) values")
            return
        }
        if let first = policy.optionsSet[key.text] {
            error(at(key), "duplicate option \(key.text) (first set at \(first.file):\(first.line))")
            return
        }
        let value = arguments[0]
        func choice<T: RawRepresentable & CaseIterable>(_ type: T.Type) -> T? where T.RawValue == String {
            if let v = T(rawValue: value.text) { return v }
            let allowed = T.allCases.map(\.rawValue).joined(separator: ", ")
            error(at(value), "bad value '\(value.text)' for \(key.text): expected one of \(allowed)")
            return nil
        }
        switch key.text {
        case "peername": if let v = choice(Options.Peername.self) { policy.options.peername = v } else { return }
        case "datagrams": if let v = choice(Options.Permission.self) { policy.options.datagrams = v } else { return }
        case "servers": if let v = choice(Options.Permission.self) { policy.options.servers = v } else { return }
        case "resolve": if let v = choice(Options.Resolve.self) { policy.options.resolve = v } else { return }
        case "privateNames": if let v = choice(Options.Permission.self) { policy.options.privateNames = v } else { return }
        case "maxSockets":
            guard value.text.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }), let n = UInt32(value.text),
                  n <= PolicyLimits.maxSockets else {
                error(at(value), "bad value '\(value.text)' for maxSockets: expected a whole number from 0 (no limit) to \(PolicyLimits.maxSockets)")
                return
            }
            policy.options.maxSockets = n
        default:
            preconditionFailure("every known option has a case")
        }
        policy.optionsSet[key.text] = at(key)
    }

    // MARK: other sections

    mutating func checkIgnored(_ command: Word, _ arguments: [Word], section: Section, at: (Word) -> SourceLocation) {
        switch command.text {
        case "allow", "disallow":
            if arguments.count < section.wordCount {
                error(at(command), "not enough arguments: section '\(section.name)' needs \(section.wordCount) after '\(command.text)'")
            }
        case "constant":
            if arguments.count != 2 {
                error(at(command), "constant takes a name and a value")
            }
        default:
            error(at(command), "unknown command '\(command.text)' (expected allow, disallow, constant, section or include)")
        }
    }
}

/// `$name` and `${name}` in a word, as Tcl would substitute them.
enum Variables {
    static let originNames: Set<String> = ["originSocketHost", "originHost"]

    enum Scan {
        case none
        case whole(String)
        case embedded(String, offset: Int)
    }

    static func scan(_ text: String) -> Scan {
        // Most words hold no `$`: no array for them.
        var own = text
        guard own.withUTF8({ $0.contains(UInt8(ascii: "$")) }) else { return .none }
        let b = Array(text.utf8)
        var i = 0
        while i < b.count {
            if b[i] == UInt8(ascii: "\\") {
                i += 2
                continue
            }
            guard b[i] == UInt8(ascii: "$"), i + 1 < b.count else {
                i += 1
                continue
            }
            var nameStart = i + 1, nameEnd = i + 1, end = i + 1
            if b[i + 1] == UInt8(ascii: "{") {
                guard let close = b[(i + 2)...].firstIndex(of: UInt8(ascii: "}")) else {
                    i += 1
                    continue
                }
                nameStart = i + 2
                nameEnd = close
                end = close + 1
            } else {
                while end < b.count && isNameByte(b[end]) { end += 1 }
                nameEnd = end
                // Tcl: `$` not followed by a name is a literal dollar.
                if nameEnd == nameStart {
                    i += 1
                    continue
                }
            }
            let name = String(decoding: b[nameStart..<nameEnd], as: UTF8.self)
            return i == 0 && end == b.count ? .whole(name) : .embedded(name, offset: i)
        }
        return .none
    }

    static func isNameByte(_ c: UInt8) -> Bool {
        (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A) || c == 0x5F
            || c == UInt8(ascii: ":")
    }
}

enum HostGlob {
    /// A name or glob as identities are written: ASCII lower case, trailing
    /// dots dropped (`*.sun.com.` is `*.sun.com`), but an escaped final dot
    /// (`a\.`) stays, or the pattern would end in a lone backslash.
    static func canonical(_ text: String) -> String {
        // Already canonical (most patterns are): the text itself, no copy.
        var own = text
        let already = own.withUTF8 { u in
            u.last != UInt8(ascii: ".") && !u.contains { $0 >= UInt8(ascii: "A") && $0 <= UInt8(ascii: "Z") }
        }
        if already { return text }
        var b = Array(text.utf8)
        while b.last == UInt8(ascii: "."), b.count < 2 || b[b.count - 2] != UInt8(ascii: "\\") {
            b.removeLast()
        }
        return Identity.lowered(b)
    }

    static func message(_ fault: GlobFault) -> String {
        switch fault {
        case .trailingBackslash: return "a pattern cannot end in a lone backslash"
        case .emptyClass: return "empty [] never matches anything"
        case .unclosedClass: return "'[' has no matching ']'"
        case .dashBeforeClose: return "'-' before ']': write the range end, or put '-' first in the brackets"
        }
    }
}

/// Include paths are relative to the including file, as in the plugin.
enum IncludePath {
    static func resolve(_ name: String, from includer: String) -> String {
        if name.hasPrefix("/") { return name }
        guard let slash = includer.lastIndex(of: "/") else { return name }
        return String(includer[...slash]) + name
    }
}
