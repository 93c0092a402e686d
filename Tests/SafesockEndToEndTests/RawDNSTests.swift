// libc's raw DNS calls (res_query, res_send and their kin, CShim/dns.c)
// meet the resolve gate: under `resolve strict`, a name no allow rule could
// match is never asked about. A stub nameserver counts what reaches it.

import Foundation
import Testing

@Suite(.endToEnd) struct RawDNSTests {
    let probe = "\(testBin)/probe"
    let policy = "section hosts ports\n    allow dns.example 80\n"

    @Test func aNameNoRuleCouldMatchNeverReachesTheNameserver() throws {
        let refusedOnly = try DNSStub("127.0.0.36", answers: ["dns.example": "127.0.0.2", "evil.example": "127.0.0.5"])
        for way in ["res-query", "res-send"] {
            let r = try underSafesock(policy, origin: nil, [probe, way, "evil.example"], nameserver: "127.0.0.36")
            #expect(r.stdout == "h_errno \(HOST_NOT_FOUND)\n", "\(way): \(r)")
            #expect(r.stderr.contains("resolve of host evil.example (resolve strict: no allow rule could match this name"), "\(r)")
        }
        #expect(refusedOnly.stop() == 0, "a refused name was asked about")

        let asked = try DNSStub("127.0.0.37", answers: ["dns.example": "127.0.0.2", "evil.example": "127.0.0.5"])
        for (way, name) in [("res-query", "dns.example"), ("res-send", "DNS.Example.")] {
            let r = try underSafesock(policy, origin: nil, [probe, way, name], nameserver: "127.0.0.37")
            #expect(r.stdout == "ok\n", "\(way) \(name): \(r)")
        }
        // The contrast: without the library the refused name is asked about.
        let dir = try scratchDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try "nameserver 127.0.0.37\noptions timeout:2 attempts:1\n".write(toFile: "\(dir)/resolv.conf", atomically: true, encoding: .utf8)
        let bare = try inHostsNamespace("/etc/hosts", resolvConf: "\(dir)/resolv.conf", [probe, "res-query", "evil.example"])
        #expect(bare.stdout == "ok\n", "\(bare)")
        #expect(asked.stop() == 3)
    }

    /// res_querydomain joins the name and the domain: the gate judges the
    /// joined name as glibc asks it, trailing dots dropped after the join
    /// (an empty domain left `secret.corp.`, which `*.corp.*` matched).
    @Test(arguments: RunAs.allCases)
    func aJoinedNameIsJudgedAsAsked(user: RunAs) throws {
        let policy = self.policy + "    allow *.corp.* 443\n"
        let (refusedAt, askedAt) = user == .root ? ("127.0.0.39", "127.0.0.40") : ("127.0.0.44", "127.0.0.45")
        let refused = try DNSStub(refusedAt, answers: ["secret.corp": "127.0.0.5"])
        for domain in ["", "."] {
            let r = try underSafesock(policy, origin: nil, as: user, [probe, "res-querydomain", "secret.corp", domain], nameserver: refusedAt)
            #expect(r.stdout == "h_errno \(HOST_NOT_FOUND)\n", "domain '\(domain)': \(r)")
        }
        #expect(refused.stop() == 0, "a name no allow rule matches was asked about")
        let asked = try DNSStub(askedAt, answers: ["dns.example": "127.0.0.2"])
        for (name, domain) in [("dns", "example"), ("dns.example", ""), ("DNS", "Example.")] {
            let r = try underSafesock(policy, origin: nil, as: user, [probe, "res-querydomain", name, domain], nameserver: askedAt)
            #expect(r.stdout == "ok\n", "\(name) \(domain): \(r)")
        }
        #expect(asked.stop() == 3)
    }

    /// `resolve open` lets every name be asked about, as for getaddrinfo.
    @Test func resolveOpenAsksAboutAnyName() throws {
        let stub = try DNSStub("127.0.0.38", answers: ["evil.example": "127.0.0.5"])
        let r = try underSafesock(policy + "section options\n    resolve open\n", origin: nil, [probe, "res-send", "evil.example"],
                                  nameserver: "127.0.0.38")
        #expect(r.stdout == "ok\n", "\(r)")
        #expect(stub.stop() == 1)
    }
}
