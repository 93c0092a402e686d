// `safesock verify`: every shipped policy and the page's example verified
// for real (all rows agree), and a deliberately broken library, one port's
// verdict flipped, caught.

import Foundation
import Testing

@Suite(.serialized, .endToEnd) struct VerifyTests {
    @Test(arguments: [
        ("policies/example.cfg", "tclet.example"), ("policies/home.cfg", "tclet.example"), ("policies/default.cfg", "tclet.example"),
        ("policies/inside.cfg", nil), ("policies/outside.cfg", nil), ("policies/javascript.cfg", nil),
        ("policies/profiles/pypi.cfg", nil), ("policies/profiles/github.cfg", nil),
    ] as [(String, String?)])
    func shippedPoliciesVerify(policy: String, origin: String?) throws {
        let r = try run(safesockBinary, ["verify", "\(packageRoot)/\(policy)"] + (origin.map { ["--origin", $0] } ?? []))
        #expect(r.status == 0, "\(r.stdout)\(r.stderr)")
        #expect(r.stdout.hasSuffix("probes agree\n") && !r.stdout.contains("DIFFERS"), "\(r.stdout)")
        let probes = r.stdout.split(separator: "\n").dropFirst(2).dropLast()
        #expect(!probes.isEmpty && probes.allSatisfy { $0.contains("allow") || $0.contains("deny") })
    }

    @Test func theExampleProbesEveryBoundary() throws {
        let r = try run(safesockBinary, ["verify", "\(packageRoot)/policies/example.cfg", "--origin", "tclet.example"])
        for row in ["www.sun.com 1024", "www.sun.com 1025", "WWW.SUN.COM. 1025", "x.cs.mysite.edu 1029", "x.cs.mysite.edu 1030",
                    "x.cs.mysite.edu 1031", "cs.mysite.edu 1030", "tclet.example 1024", "tclet.example 1025"] {
            #expect(r.stdout.contains("  \(row) "), "\(row) missing:\n\(r.stdout)")
        }
        let addresses = "section hosts ports\n    allow 10.1.2.3 443\n    allow 192.0.2.0/24 8000-8001\n    disallow 2001:db8::/32 *\n    allow * 22\n"
        let dir = try scratchDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try addresses.write(toFile: "\(dir)/addresses.cfg", atomically: true, encoding: .utf8)
        let v = try run(safesockBinary, ["verify", "\(dir)/addresses.cfg"])
        #expect(v.status == 0, "\(v.stdout)\(v.stderr)")
        for row in ["10.1.2.3 443", "::ffff:10.1.2.3 443", "192.0.2.1 8000", "192.0.3.0 8001", "2001:db8::1 65535", "2001:db9:: 65535"] {
            #expect(v.stdout.contains(row), "\(row) missing:\n\(v.stdout)")
        }
    }

    /// Under privateNames deny, names are probed at public addresses of the
    /// namespace, and each name that reached its listener is probed again
    /// pointed at a private address, predicted and found refused.
    @Test func privateNamesAreProbed() throws {
        let dir = try scratchDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let text = "section hosts ports\n    allow *.good.test 443\n    allow 10.1.0.0/16 443\nsection options\n    privateNames deny\n"
        try text.write(toFile: "\(dir)/p.cfg", atomically: true, encoding: .utf8)
        let r = try run(safesockBinary, ["verify", "\(dir)/p.cfg"])
        #expect(r.status == 0 && r.stdout.hasSuffix("all 13 probes agree\n"), "\(r.stdout)\(r.stderr)")
        #expect(r.stdout.contains("x.good.test 443  allow      allow  (inside the glob, at 443)"), "\(r.stdout)")
        #expect(r.stdout.contains("x.good.test 443  deny       deny  (the name led to a private address: privateNames deny)"), "\(r.stdout)")
    }

    @Test func aBrokenLibraryIsCaught() throws {
        let r = try run(safesockBinary, ["verify", "\(packageRoot)/policies/example.cfg", "--origin", "tclet.example"],
                        env: ["SAFESOCK_LIBRARY": "\(testBin)/libsafesock-flipped.so"])
        #expect(r.status == 1, "\(r.stdout)\(r.stderr)")
        #expect(r.stdout.contains("x.cs.mysite.edu 1030       allow      deny   <-- DIFFERS"), "\(r.stdout)")
        #expect(r.stdout.hasSuffix("1 of 22 probes differ\n"), "\(r.stdout)")
    }
}
