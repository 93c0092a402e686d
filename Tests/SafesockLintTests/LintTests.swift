// Lint: each kind of finding on a policy made to trigger it, and silence
// where the page's advice is followed.

import Foundation
import SafesockLint
import SafesockMatch
import SafesockPolicy
import SafesockTestSupport
import Testing

func findings(_ text: String) -> [(Finding.Kind, Int, String)] {
    Linter.lint(policy(text)).map { ($0.kind, $0.location.line, $0.message) }
}

@Suite struct LintTests {
    @Test(arguments: [
        ("allow www.x.com >1024", Finding.Kind.rangeInAllow, "allow of the port range >1024 on www.x.com"),
        ("allow www.x.com 3000-4000", .rangeInAllow, "allow of the port range 3000-4000 on www.x.com"),
        ("allow www.x.com 80*", .rangeInAllow, "allow of the port range 80* on www.x.com"),
        ("allow mail.x.com 25", .mailOrNews, "allows port 25 (SMTP) on mail.x.com"),
        ("allow news.x.com 119", .mailOrNews, "allows port 119 (NNTP) on news.x.com"),
        ("allow x.com 587", .mailOrNews, "allows port 587 (SMTP) on x.com"),
        ("allow ftp.x.com 21", .redirectingService, "allows port 21 (FTP) on ftp.x.com"),
        ("allow proxy.x.com 3128", .redirectingService, "allows port 3128 (an HTTP proxy) on proxy.x.com"),
        ("allow socks.x.com 1080", .redirectingService, "allows port 1080 (SOCKS) on socks.x.com"),
        ("allow * 443", .broadHost, "* matches every host"),
        ("allow *.com 443", .broadHost, "*.com matches every host under a top-level domain"),
        ("allow *.x.com 443", .broadHost, "*.x.com matches every host in the domain x.com"),
        ("allow 10.0.0.0/8 443", .broadHost, "10.0.0.0/8 covers a block of 1/2^8 of all addresses"),
        // A glob's trap, made concrete, with the fix.
        ("allow *good.test 443", .broadHost, "*good.test matches evilgood.test, which is not under good.test: write *.good.test (and good.test itself)"),
        ("allow w?w.x[a-c].com 443", .broadHost, "w?w.x[a-c].com is a pattern that matches wxw.xa.com, for one"),
        ("allow {} 443", .neverMatches, "the empty host {} matches no host"),
        ("allow x.com <0", .neverMatches, "port pattern <0 matches no port"),
        ("allow x.com 5-1", .neverMatches, "port pattern 5-1 matches no port"),
    ])
    func eachKindOfFinding(rule: String, kind: Finding.Kind, message: String) {
        let found = findings("section hosts ports\n    \(rule)\n").filter { $0.0 != .rebinding }
        #expect(found.contains { $0.0 == kind && $0.1 == 2 && $0.2.hasPrefix(message) }, "\(found)")
    }

    @Test func coveredAllowsAndDuplicates() {
        let found = findings("""
        section hosts ports
            disallow *.evil.org *
            allow    www.evil.org 443
            allow    *.a.evil.org 80
            disallow 10.0.0.0/8 *
            allow    10.1.2.3 443
            allow    10.1.0.0/16 443
            allow    10.1.2.3 443
            disallow 0.0.0.0/0 *
        """).filter { $0.0 == .coveredAllow || $0.0 == .duplicate }
        #expect(found.map { "\($0.0.rawValue) \($0.1)" } == ["covered-allow 3", "covered-allow 4", "covered-allow 6", "covered-allow 7", "duplicate 8"])
        #expect(found[0].2 == "this allow can never allow: the disallow at p.cfg:2 covers it")
    }

    /// Under the plugin's meaning (privateNames allow), a name rule draws
    /// one finding that names the special ranges DNS could point it at and
    /// the fix; it is gone with `privateNames deny`, or once every special
    /// block is disallowed on every port.
    @Test func rebindingIsOneFindingUntilPrivateNamesDeny() {
        let open = findings("section hosts ports\n    allow www.x.com 443\n    allow *.y.com 80\n").filter { $0.0 == .rebinding }
        #expect(open.count == 1, "one finding, not one per block or per rule")
        #expect(open.first?.1 == 2)
        let text = open.first?.2 ?? ""
        for word in ["www.x.com is allowed by name", "loopback", "private", "cloud metadata", "shared (CGNAT)", "NAT64", "6to4",
                     "127.0.0.0/8", "set `privateNames deny` in section options"] {
            #expect(text.contains(word), "\(word) in \(text)")
        }
        #expect(findings("section hosts ports\n    allow www.x.com 443\nsection options\n    privateNames deny\n").isEmpty)
        // Every block of the decision's table disallowed: nothing left to say.
        var every = "section hosts ports\n    allow www.x.com 443\n"
        for i in 0..<SpecialAddress.count {
            let b = SpecialAddress.block(i)
            guard b.embedding != .mapped && b.embedding != .compatible, let a = b.withBytes({ IPAddress(bytes: Array($0)) }) else { continue }
            every += "    disallow \(a)/\(b.bits) *\n"
        }
        #expect(findings(every).filter { $0.0 == .rebinding }.isEmpty, "\(findings(every))")
        // Addresses alone, and the origin, are no names a stranger's DNS can move.
        #expect(findings("section hosts ports\n    allow 192.0.2.7 443\n    allow $originSocketHost 8000\n").isEmpty)
        // A block that covers only part of a special range does not close it.
        let partly = findings("section hosts ports\n    allow x.org 443\n    disallow 127.0.0.1 *\n").filter { $0.0 == .rebinding }
        #expect(partly.count == 1 && partly[0].2.contains("127.0.0.0/8"))
    }

    @Test func theShippedHomeAndDefaultPoliciesAreSilent() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        for name in ["home.cfg", "default.cfg", "inside.cfg", "outside.cfg"] {
            let result = PolicyParser.parse(path: root.appendingPathComponent("policies/\(name)").path)
            #expect(Linter.lint(result.policy).isEmpty, "\(name): \(Linter.lint(result.policy))")
        }
        let open = PolicyParser.parse(path: root.appendingPathComponent("policies/javascript.cfg").path)
        #expect(Set(Linter.lint(open.policy).map(\.kind)) == [.rangeInAllow, .mailOrNews, .redirectingService, .broadHost, .rebinding])
    }
}
