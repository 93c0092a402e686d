// Decision: docs/decision.md, including the manual page's example
// (policies/example.cfg, SafesockTestSupport's pageExample) decided as
// its prose says, and every port form at its boundaries.

import SafesockPolicy
import Testing

@Suite struct DecisionTests {
    let page = policy(pageExample)

    func verdict(_ p: Policy, _ host: String, _ port: UInt16, names: [String] = [], origin: String? = nil) -> Verdict {
        decide(p, host, port, names: names, origin: origin).verdict
    }

    /// "allows sockets to be opened on ports whose number is greater than 1024 on www.sun.com"
    @Test func pageExampleSun() {
        #expect(verdict(page, "www.sun.com", 1025) == .allow)
        #expect(verdict(page, "www.sun.com", 65535) == .allow)
        #expect(verdict(page, "www.sun.com", 1024) == .deny)
        #expect(verdict(page, "www.sun.com", 80) == .deny)
        #expect(verdict(page, "sun.com", 8080) == .deny)
        #expect(decide(page, "www.sun.com", 1025).deciding == [RuleRef(file: "p.cfg", line: lineNumber(of: "allow    www.sun.com", in: pageExample))])
        #expect(decide(page, "www.sun.com", 1024).deciding == [])
    }

    /// "disallows connections to any ports whose number is less than 1025 on all
    /// hosts in the network domain cs.mysite.edu ... allows connections to ...
    /// the well known port 1030 on all hosts in the network domain"
    @Test func pageExampleMysite() {
        for host in ["a.cs.mysite.edu", "x.y.cs.mysite.edu", "A.CS.MySite.EDU."] {
            #expect(verdict(page, host, 1030) == .allow, "\(host)")
            #expect(verdict(page, host, 1024) == .deny, "\(host)")
            #expect(verdict(page, host, 25) == .deny, "\(host)")
            #expect(verdict(page, host, 1025) == .deny, "\(host)")
            #expect(verdict(page, host, 1031) == .deny, "\(host)")
        }
        #expect(verdict(page, "cs.mysite.edu", 1030) == .deny)
        #expect(verdict(page, "evil-cs.mysite.edu", 1030) == .deny)
        #expect(decide(page, "a.cs.mysite.edu", 80).deciding == [RuleRef(file: "p.cfg", line: lineNumber(of: "disallow", in: pageExample))])
    }

    @Test func pageExampleOrigin() {
        #expect(verdict(page, "tclet.example", 5000, origin: "tclet.example") == .allow)
        #expect(verdict(page, "TCLET.example.", 5000, origin: "tclet.example") == .allow)
        #expect(verdict(page, "tclet.example", 1024, origin: "tclet.example") == .deny)
        #expect(verdict(page, "tclet.example", 5000) == .deny)
        #expect(verdict(page, "192.0.2.9", 5000, origin: "192.0.2.9") == .allow)
        #expect(verdict(page, "::ffff:192.0.2.9", 5000, origin: "192.0.2.9") == .allow)
        #expect(verdict(page, "192.0.2.9", 5000, names: ["tclet.example"], origin: "tclet.example") == .allow)
    }

    @Test func disallowWinsWhateverTheOrder() {
        let lines = ["allow * 25", "disallow mail.example 25", "allow mail.example 25", "allow *.example *"]
        var seen = 0
        for a in lines.indices {
            for b in lines.indices where b != a {
                for c in lines.indices where c != a && c != b {
                    let d = lines.indices.first { ![a, b, c].contains($0) }!
                    let text = "section hosts ports\n" + [a, b, c, d].map { "    " + lines[$0] }.joined(separator: "\n")
                    let p = policy(text)
                    #expect(verdict(p, "mail.example", 25) == .deny)
                    #expect(verdict(p, "other.example", 25) == .allow)
                    let disallowLine = [a, b, c, d].firstIndex(of: 1)! + 2
                    #expect(decide(p, "mail.example", 25).deciding == [RuleRef(file: "p.cfg", line: disallowLine)])
                    seen += 1
                }
            }
        }
        #expect(seen == 24)
    }

    @Test func defaultDenyAndNoSection() {
        #expect(verdict(policy("section hosts ports\n"), "a", 1) == .deny)
        #expect(verdict(policy("section options\n    resolve open\n"), "a", 1) == .deny)
        #expect(verdict(policy("section hosts ports\n    disallow * *\n"), "a", 1) == .deny)
        #expect(verdict(policy("section hosts ports\n    allow {} *\n"), "a", 1) == .deny)
        #expect(verdict(policy("section hosts ports\n    allow {} *\n"), "", 1) == .deny)
    }

    @Test func caseAndTrailingDotCannotBypassDisallow() {
        let p = policy("section hosts ports\n    allow * *\n    disallow WWW.Evil.COM. *\n    disallow *.EVIL.org *\n")
        for host in ["www.evil.com", "WWW.EVIL.COM", "www.evil.com.", "Www.Evil.Com..", "a.evil.org", "A.EVIL.ORG."] {
            #expect(verdict(p, host, 80) == .deny, "\(host)")
        }
        #expect(verdict(p, "www.evil.co", 80) == .allow)
    }

    @Test func everyNumericSpellingIsOneAddress() {
        let p = policy("section hosts ports\n    allow * *\n    disallow 127.0.0.1 *\n    disallow 0x0a.0.0.1 *\n")
        for host in ["127.0.0.1", "2130706433", "0x7f.1", "0177.0.0.1", "127.1", "0x7f000001", "::ffff:127.0.0.1",
                     "::FFFF:7F00:1", "::127.0.0.1", "10.0.0.1", "167772161", "::ffff:a00:1"] {
            #expect(verdict(p, host, 80) == .deny, "\(host)")
        }
        #expect(verdict(p, "127.0.0.2", 80) == .allow)
        #expect(verdict(p, "::1", 80) == .allow, "::1 is IPv6 loopback, not 0.0.0.1")
        #expect(Identity(host: "::1").description == "::1")
        #expect(Identity(host: "::").description == "::")
        #expect(Identity(host: "::ffff:1.2.3.4").description == "1.2.3.4")
        #expect(Identity(host: "2001:0DB8:0000:0000:0000:0000:0000:0001").description == "2001:db8::1")
        #expect(Identity(host: "2001:db8:0:1:0:0:0:1").description == "2001:db8:0:1::1")
        #expect(Identity(host: "2001:db8:0:1:1:1:1:1").description == "2001:db8:0:1:1:1:1:1")
        #expect(Identity(host: "1.2.3.4 junk") == .name("1.2.3.4 junk"))
        #expect(Identity(host: "0.0.0.0").alsoReached == Identity(host: "127.0.0.1"))
        #expect(Identity(host: "0").alsoReached == Identity(host: "127.0.0.1"))
        #expect(Identity(host: "::").alsoReached == Identity(host: "::1"))
        #expect(Identity(host: "127.0.0.1").alsoReached == nil && Identity(host: "a").alsoReached == nil)
    }

    @Test func cidrBlocksAtTheirEdges() {
        let p = policy("""
        section hosts ports
            allow 10.0.0.0/8 *
            allow 192.168.1.128/25 *
            allow fd00::/8 *
            allow 2001:db8::/127 *
            allow 203.0.113.7/32 *
        """)
        for (host, expected) in [
            ("10.0.0.0", Verdict.allow), ("10.255.255.255", .allow), ("9.255.255.255", .deny), ("11.0.0.0", .deny),
            ("::ffff:10.1.2.3", .allow), ("192.168.1.128", .allow), ("192.168.1.255", .allow), ("192.168.1.127", .deny),
            ("fd00::1", .allow), ("fdff:ffff::", .allow), ("fe00::", .deny), ("fcff::", .deny),
            ("2001:db8::", .allow), ("2001:db8::1", .allow), ("2001:db8::2", .deny),
            ("203.0.113.7", .allow), ("203.0.113.6", .deny), ("10.example", .deny),
        ] {
            #expect(verdict(p, host, 80) == expected, "\(host)")
        }
        #expect(verdict(policy("section hosts ports\n    allow 0.0.0.0/0 *\n"), "1.2.3.4", 1) == .allow)
        #expect(verdict(policy("section hosts ports\n    allow 0.0.0.0/0 *\n"), "2001::1", 1) == .deny)
        #expect(verdict(policy("section hosts ports\n    allow ::/0 *\n"), "2001::1", 1) == .allow)
    }

    @Test func addressGlobsMatchCanonicalText() {
        let p = policy("section hosts ports\n    allow 10.* *\n    allow 2001:db8::* *\n")
        #expect(verdict(p, "10.1.2.3", 1) == .allow)
        #expect(verdict(p, "0x0a.1.2.3", 1) == .allow)
        #expect(verdict(p, "110.1.2.3", 1) == .deny)
        #expect(verdict(p, "2001:DB8:0:0:0:0:0:5", 1) == .allow)
        #expect(verdict(p, "2001:db8:1::5", 1) == .deny)
    }

    @Test(arguments: [
        ("1030", [(1029, false), (1030, true), (1031, false)]),
        ("0", [(0, true), (1, false)]),
        ("65535", [(65534, false), (65535, true)]),
        ("3000-4000", [(2999, false), (3000, true), (3500, true), (4000, true), (4001, false)]),
        ("80-80", [(79, false), (80, true), (81, false)]),
        ("5-1", [(1, false), (3, false), (5, false)]),
        (">1024", [(1024, false), (1025, true), (65535, true)]),
        ("<1025", [(0, true), (1024, true), (1025, false)]),
        (">65535", [(65535, false), (0, false)]),
        ("<0", [(0, false), (65535, false)]),
        (">0", [(0, false), (1, true)]),
        ("0-65535", [(0, true), (65535, true)]),
        ("80*", [(80, true), (800, true), (8080, true), (8, false), (180, false)]),
        ("*", [(0, true), (65535, true)]),
        ("8?", [(8, false), (80, true), (89, true), (800, false)]),
        ("[1-3]0", [(10, true), (30, true), (40, false), (100, false)]),
    ] as [(String, [(UInt16, Bool)])])
    func portFormsAtTheirBoundaries(pattern: String, cases: [(UInt16, Bool)]) {
        let p = policy("section hosts ports\n    allow h \(pattern)\n")
        for (port, allowed) in cases {
            #expect(verdict(p, "h", port) == (allowed ? .allow : .deny), "\(pattern) on \(port)")
        }
    }

    @Test func namesAndAddressTogether() {
        // A connect to an address the resolver gave for a name is judged by both.
        let p = policy("section hosts ports\n    allow www.sun.com 80\n    disallow 192.0.2.0/24 *\n    allow 198.51.100.1 443\n")
        #expect(verdict(p, "198.51.100.7", 80, names: ["www.sun.com"]) == .allow)
        #expect(verdict(p, "192.0.2.7", 80, names: ["www.sun.com"]) == .deny)
        #expect(verdict(p, "198.51.100.1", 443, names: ["other.example"]) == .allow)
        let d = decide(p, "192.0.2.7", 80, names: ["www.sun.com"])
        #expect(d.allowMatches.map(\.ref.line) == [2])
        #expect(d.disallowMatches.map(\.ref.line) == [3])
        #expect(d.deciding == [RuleRef(file: "p.cfg", line: 3)])
    }
}
