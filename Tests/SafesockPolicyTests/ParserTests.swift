// Parser: every form docs/policy-language.md describes, and every error at
// its line and column.

import Foundation
import SafesockPolicy
import Testing

@Suite struct ParserTests {
    @Test func commentsBlanksAndWordForms() {
        let result = parse("""
        # a comment
           # an indented comment

        section   hosts    ports
            allow {www.sun.com} "1030"   # trailing comment
        \tdisallow  *  <1025\r
        """)
        #expect(result.diagnostics.isEmpty)
        #expect(result.policy.hasHostsPorts)
        #expect(result.policy.rules.map(\.host) == [.name("www.sun.com"), .glob("*")])
        #expect(result.policy.rules.map(\.port) == [.exact(1030), .below(1025)])
        #expect(result.policy.rules.map(\.action) == [.allow, .disallow])
        #expect(result.policy.rules[0].ref == RuleRef(file: "p.cfg", line: 5))
        #expect(result.policy.rules[0].hostLocation.column == 11)
    }

    @Test func hostPatternsAreCanonical() {
        let p = policy("""
        section hosts ports
            allow WWW.Sun.COM. 1
            allow *.CS.mysite.edu.. 1
            allow {} 1
            allow "" 1
            allow 0x7f.1 1
            allow 2130706433 1
            allow 0177.0.0.1 1
            allow ::FFFF:127.0.0.1 1
            allow 2001:DB8:0:0:0:0:0:1 1
            allow 10.0.0.0/8 1
            allow ::ffff:10.0.0.0/104 1
            allow FD00::/8 1
            allow 10.* 1
            allow a\\. 1
        """)
        let v4 = IPAddress(parsing: "127.0.0.1")!
        #expect(p.rules.map(\.host) == [
            .name("www.sun.com"), .glob("*.cs.mysite.edu"), .nothing, .nothing,
            .address(v4), .address(v4), .address(v4), .address(v4),
            .address(IPAddress(parsing: "2001:db8::1")!),
            .block(IPAddress(parsing: "10.0.0.0")!, bits: 8), .block(IPAddress(parsing: "10.0.0.0")!, bits: 8),
            .block(IPAddress(parsing: "fd00::")!, bits: 8),
            .glob("10.*"), .glob("a\\."),
        ])
    }

    @Test func originVariablesInEveryForm() {
        let p = policy("""
        section hosts ports
            allow $originSocketHost 1
            allow $originHost 1
            allow ${originSocketHost} 1
            allow {$originHost} 1
            allow "$originSocketHost" 1
        """)
        #expect(p.rules.allSatisfy { $0.host == .origin })
    }

    @Test func portPatternsEveryForm() {
        let p = policy("""
        section hosts ports
            allow h 0
            allow h 65535
            allow h 3000-4000
            allow h >1024
            allow h <1025
            allow h 80*
            allow h *
            allow h 8?
            allow h [1-3]0
            allow h <0
            allow h 5-1
        """)
        #expect(p.rules.map(\.port) == [
            .exact(0), .exact(65535), .range(3000, 4000), .above(1024), .below(1025),
            .glob("80*"), .glob("*"), .glob("8?"), .glob("[1-3]0"), .below(0), .range(5, 1),
        ])
    }

    /// Each bad line, alone, gives exactly this diagnostic.
    @Test(arguments: [
        ("allow www.x.com 80", "1:1: error: rule outside any section (start one with 'section hosts ports')", false),
        ("frob x", "1:1: error: unknown command 'frob' (expected section, include, allow or disallow)", false),
        ("    allow www.x.com", "2:5: error: not enough arguments: 'allow' needs a host and a port", true),
        ("    disallow", "2:5: error: not enough arguments: 'disallow' needs a host and a port", true),
        ("    allow h 80 {[cond]}", "2:16: error: Tcl conditions are not supported here: safesock does not evaluate Tcl, so a rule is HOST PORT only", true),
        ("    allow $foo 80", "2:11: error: unknown variable $foo (only $originSocketHost and $originHost are known)", true),
        ("    allow ${foo} 80", "2:11: error: unknown variable $foo (only $originSocketHost and $originHost are known)", true),
        ("    allow *.$originHost 80", "2:13: error: $originHost must be the whole host pattern, not part of one", true),
        ("    allow h $originHost", "2:13: error: variables stand for hosts; a port must be a number, N1-N2, >N, <N or a glob", true),
        ("    allow h http", "2:13: error: 'http' is not a port number: service names are refused, only numeric ports", true),
        ("    allow h 80x", "2:15: error: '80x' is not a port number: service names are refused, only numeric ports", true),
        ("    allow h +80", "2:13: error: bad port pattern '+80': use a number (80), N1-N2, >N, <N or a glob of digits (80*)", true),
        ("    allow h 080", "2:13: error: '080' has a leading zero; write 80", true),
        ("    allow h 65536", "2:13: error: port 65536 is out of range (0-65535)", true),
        ("    allow h {}", "2:13: error: empty port pattern: use a number (80), N1-N2, >N, <N or a glob (80*)", true),
        ("    allow h >", "2:14: error: '>': expected a number after '>'", true),
        ("    allow h 99999999999-1", "2:13: error: number 99999999999 is too large", true),
        ("    allow h 8[0", "2:14: error: '[' has no matching ']'", true),
        ("    allow 10.0.0.0/33 80", "2:11: error: bad CIDR block '10.0.0.0/33': /33 is longer than the address (32 bits)", true),
        ("    allow 10/8 80", "2:11: error: bad CIDR block '10/8': write ADDRESS/BITS, as 10.0.0.0/8 or fd00::/8", true),
        ("    allow ::ffff:0:0/95 80", "2:11: error: bad CIDR block '::ffff:0:0/95': a block over IPv4-mapped addresses needs at least /96", true),
        ("    allow 10.0.0.1/8 80", "2:11: warning: CIDR block '10.0.0.1/8' has host bits set; it means 10.0.0.0/8", true),
        ("    allow {a[bc} 80", "2:13: error: '[' has no matching ']'", true),
        ("    allow {a b} 80", "2:13: error: host pattern contains a blank or control character", true),
        ("    allow www.exämple.com 80", "2:17: error: host pattern is not ASCII: write international names in their xn-- form", true),
        ("    disallow 0x\(String(repeating: "0", count: 260))a.0.0.1 443",
         "2:14: error: host pattern is 269 bytes of address digits: too long to read as an address (at most 255)", true),
        ("    allow \"unclosed 80", "2:11: error: missing close-quote", true),
        ("    allow {unclosed 80", "2:11: error: missing close-brace", true),
        ("    allow {x}y 80", "2:14: error: extra characters after close-brace", true),
        ("    allow \"x\"y 80", "2:14: error: extra characters after close-quote", true),
        ("    frobnicate 1 2", "2:5: error: unknown command 'frobnicate' in section 'hosts ports' (expected allow or disallow)", true),
        ("section", "2:1: error: section needs a name (hosts ports, options, ...)", true),
        ("include", "2:1: error: include takes one file name, not 0", true),
    ])
    func eachErrorAtItsPlace(line: String, expected: String, inSection: Bool) {
        let text = inSection ? "section hosts ports\n" + line : line
        #expect(diagnosticLines(parse(text)) == [expected])
    }

    @Test func allErrorsNotOnlyTheFirst() {
        let result = parse("""
        allow a 1
        section hosts ports
            allow a
            allow b http
            allow $x 1
        section options
            colour blue
        """)
        #expect(diagnosticLines(result).map { $0.prefix(4) } == ["1:1:", "3:5:", "4:13", "5:11", "7:5:"])
        #expect(result.hasErrors)
        #expect(result.diagnostics.allSatisfy { $0.location.file == "p.cfg" })
        #expect(result.diagnostics.first!.description.hasPrefix("p.cfg:1:1: error: "))
    }

    @Test func optionsEveryKeyAndDefaults() {
        #expect(policy("section hosts ports").options == Options())
        let o = policy("""
        section options
            peername   mask      # deny | mask | allow
            datagrams  allow
            servers    allow
            resolve    open
            maxSockets 3
        """).options
        #expect(o.peername == .mask && o.datagrams == .allow && o.servers == .allow && o.resolve == .open && o.maxSockets == 3)
    }

    @Test(arguments: [
        ("peername maybe", "2:14: error: bad value 'maybe' for peername: expected one of deny, mask, allow"),
        ("datagrams yes", "2:15: error: bad value 'yes' for datagrams: expected one of deny, allow"),
        ("servers 1", "2:13: error: bad value '1' for servers: expected one of deny, allow"),
        ("resolve lazy", "2:13: error: bad value 'lazy' for resolve: expected one of strict, open"),
        ("privateNames no", "2:18: error: bad value 'no' for privateNames: expected one of deny, allow"),
        ("maxSockets -1", "2:16: error: bad value '-1' for maxSockets: expected a whole number from 0 (no limit) to 1048576"),
        ("maxSockets 99999999", "2:16: error: bad value '99999999' for maxSockets: expected a whole number from 0 (no limit) to 1048576"),
        ("colour blue", "2:5: error: unknown option 'colour' (known: peername, datagrams, servers, resolve, maxSockets, privateNames)"),
        ("peername", "2:5: error: option 'peername' needs a value"),
        ("peername deny mask", "2:5: error: an option line is KEY VALUE; 'peername' has 2 values"),
        ("allow * 80", "2:5: error: unknown option 'allow' (known: peername, datagrams, servers, resolve, maxSockets, privateNames)"),
    ])
    func badOptions(line: String, expected: String) {
        #expect(diagnosticLines(parse("section options\n    " + line)) == [expected])
    }

    @Test func duplicateOptionAcrossIncludes() {
        let result = parse("section options\n    resolve open\ninclude more.cfg\n",
                           files: ["more.cfg": "section options\n    resolve strict\n"])
        #expect(result.diagnostics.map(\.description) == [
            "more.cfg:2:5: error: duplicate option resolve (first set at p.cfg:2)",
        ])
    }

    @Test func otherSectionsAreCheckedAndIgnored() {
        let result = parse("""
        section features
            allow url
            allow persist unless {[string match {UNKNOWN *} [getattr originURL]]}
        section urls
            allow $originHomeDirURL*
        section persist
            constant maxFileSize 512000
        section aliases
            allow
        section hosts ports
            allow h 1
        """)
        #expect(diagnosticLines(result) == [
            "1:9: note: section 'features' is not used by safesock; its lines are checked and ignored",
            "4:9: note: section 'urls' is not used by safesock; its lines are checked and ignored",
            "6:9: note: section 'persist' is not used by safesock; its lines are checked and ignored",
            "8:9: note: section 'aliases' is not used by safesock; its lines are checked and ignored",
            "9:5: error: not enough arguments: section 'aliases' needs 1 after 'allow'",
        ])
        #expect(result.policy.rules.count == 1)
    }

    @Test func includeIsRelativeToTheIncluder() {
        let result = PolicyParser.parse(path: "dir/top.cfg", loader: MemoryLoader([
            "dir/top.cfg": "section hosts ports\n    allow a 1\ninclude sub/more.cfg\n    allow c 3\n",
            "dir/sub/more.cfg": "    allow b 2\nsection options\n    resolve open\n",
        ]))
        #expect(result.diagnostics.isEmpty)
        // The include continues the includer's section; its own section ends with it.
        #expect(result.policy.rules.map(\.hostText) == ["a", "b", "c"])
        #expect(result.policy.rules.map(\.ref.description) == ["dir/top.cfg:2", "dir/sub/more.cfg:1", "dir/top.cfg:4"])
        #expect(result.policy.options.resolve == .open)
        #expect(result.policy.files == ["dir/top.cfg", "dir/sub/more.cfg"])
    }

    @Test func includeCycleMissingAndDepth() {
        let cycle = parse("include b.cfg\n", files: ["b.cfg": "include p.cfg\n"])
        #expect(cycle.diagnostics.map(\.description) == ["b.cfg:1:9: error: include cycle: p.cfg is already being read"])
        let missing = parse("\n  include nowhere.cfg\n")
        #expect(missing.diagnostics.map(\.description) == ["p.cfg:2:11: error: cannot include nowhere.cfg: No such file or directory"])
        var chain: [String: String] = [:]
        for i in 0..<20 { chain["f\(i).cfg"] = "include f\(i + 1).cfg\n" }
        chain["f20.cfg"] = "section hosts ports\n"
        let deep = parse("include f0.cfg\n", files: chain)
        #expect(deep.diagnostics.count == 1)
        #expect(deep.diagnostics[0].message == "includes nest deeper than 16 files")
    }

    @Test func realFilesIncludesAndCycleThroughASymlink() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("safesock-parse-\(getpid())")
        try FileManager.default.createDirectory(at: dir.appendingPathComponent("sub"), withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        try "section hosts ports\n    allow a 1\ninclude sub/b.cfg\n".write(to: dir.appendingPathComponent("a.cfg"), atomically: true, encoding: .utf8)
        try "    allow b 2\ninclude ../link.cfg\n".write(to: dir.appendingPathComponent("sub/b.cfg"), atomically: true, encoding: .utf8)
        try FileManager.default.createSymbolicLink(at: dir.appendingPathComponent("link.cfg"), withDestinationURL: dir.appendingPathComponent("a.cfg"))
        let top = dir.appendingPathComponent("a.cfg").path
        let result = PolicyParser.parse(path: top)
        #expect(result.policy.rules.map(\.hostText) == ["a", "b"])
        #expect(result.diagnostics.map(\.message) == ["include cycle: \(dir.path)/sub/../link.cfg is already being read"])
        let unreadable = PolicyParser.parse(path: dir.path)
        #expect(unreadable.diagnostics.map(\.description) == ["\(dir.path):1:1: error: cannot read policy: Is a directory"])
    }

    @Test func shippedPoliciesParseClean() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let names = try FileManager.default.contentsOfDirectory(atPath: root.appendingPathComponent("policies").path)
            .filter { $0.hasSuffix(".cfg") }.sorted()
        #expect(names == ["default.cfg", "example.cfg", "home.cfg", "inside.cfg", "javascript.cfg", "outside.cfg"])
        for name in names {
            let result = PolicyParser.parse(path: root.appendingPathComponent("policies/\(name)").path)
            #expect(!result.hasErrors, "\(name): \(result.diagnostics)")
            #expect(result.diagnostics.allSatisfy { $0.severity == .note }, "\(name): \(result.diagnostics)")
            #expect(result.policy.hasHostsPorts)
        }
    }
}
