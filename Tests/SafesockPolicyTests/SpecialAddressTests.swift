// SpecialAddress: the one table of addresses a name may not lead to under
// `privateNames deny`, at the edges of its ranges and through each IPv6
// form that carries an IPv4 address.

import SafesockMatch
import SafesockPolicy
import Testing

@Suite struct SpecialAddressTests {
    static let cases: [(String, SpecialRange, AddressEmbedding)] = [
        ("8.8.8.8", .none, .none), ("1.1.1.1", .none, .none),
        ("0.0.0.0", .unspecified, .none), ("0.255.255.255", .unspecified, .none), ("1.0.0.0", .none, .none),
        ("9.255.255.255", .none, .none), ("10.0.0.0", .privateUse, .none), ("10.255.255.255", .privateUse, .none), ("11.0.0.0", .none, .none),
        ("100.63.255.255", .none, .none), ("100.64.0.0", .shared, .none), ("100.127.255.255", .shared, .none), ("100.128.0.0", .none, .none),
        ("100.100.100.200", .metadata, .none),
        ("126.255.255.255", .none, .none), ("127.0.0.1", .loopback, .none), ("127.255.255.254", .loopback, .none), ("128.0.0.0", .none, .none),
        ("169.254.169.254", .metadata, .none), ("169.254.169.253", .linkLocal, .none), ("169.254.0.1", .linkLocal, .none),
        ("169.255.0.0", .none, .none),
        ("172.15.255.255", .none, .none), ("172.16.0.0", .privateUse, .none), ("172.31.255.255", .privateUse, .none), ("172.32.0.0", .none, .none),
        ("192.0.0.192", .metadata, .none), ("192.0.0.1", .reserved, .none), ("192.0.1.1", .none, .none), ("192.0.2.1", .reserved, .none),
        ("192.167.255.255", .none, .none), ("192.168.1.1", .privateUse, .none), ("192.169.0.0", .none, .none),
        ("198.17.255.255", .none, .none), ("198.18.0.1", .reserved, .none), ("198.19.255.255", .reserved, .none), ("198.20.0.0", .none, .none),
        ("223.255.255.255", .none, .none), ("224.0.0.1", .multicast, .none), ("239.255.255.255", .multicast, .none),
        ("240.0.0.1", .reserved, .none), ("255.255.255.255", .reserved, .none),
        ("::", .unspecified, .none), ("::1", .loopback, .none), ("::2", .unspecified, .none),
        ("fd00:ec2::254", .metadata, .none), ("fd00::1", .privateUse, .none), ("fc00::1", .privateUse, .none), ("fe00::1", .none, .none),
        ("fe80::1", .linkLocal, .none), ("febf::1", .linkLocal, .none), ("fec0::1", .privateUse, .none), ("ff02::1", .multicast, .none),
        ("64:ff9b::808:808", .none, .none), ("64:ff9b::a00:1", .privateUse, .nat64), ("64:ff9b::7f00:1", .loopback, .nat64),
        ("64:ff9b::a9fe:a9fe", .metadata, .nat64), ("64:ff9b::6440:1", .shared, .nat64), ("64:ff9b:1::1", .privateUse, .none),
        ("2002:808:808::1", .none, .none), ("2002:a00:1::1", .privateUse, .sixToFour), ("2002:7f00:1::", .loopback, .sixToFour),
        ("2001:0:1:2::f5ff:fffe", .privateUse, .teredo), ("2001:0:1:2::f7f7:f7f7", .none, .none),
        ("2001:db8::1", .reserved, .none), ("2001:2::1", .reserved, .none), ("2001:1ff::1", .reserved, .none),
        ("2001:4860:4860::8888", .none, .none), ("2606:4700::1111", .none, .none), ("100::1", .reserved, .none),
        ("3fff::1", .reserved, .none), ("5f00::1", .reserved, .none),
    ]

    @Test func everyRangeAtItsEdges() {
        for (text, range, embedding) in Self.cases {
            guard let address = IPAddress(parsing: text) else { Issue.record("\(text) does not parse"); continue }
            let kind = address.special
            #expect(kind.range == range && kind.embedding == embedding, "\(text): \(kind.description), expected \(range.name) \(embedding.name)")
        }
    }

    /// The mapped and compatible forms are folded before they are judged,
    /// and read the same when they are not.
    @Test func mappedFormsAreTheirIPv4Address() {
        #expect(IPAddress(parsing: "::ffff:10.0.0.1")?.special.range == .privateUse)
        var mapped = [UInt8](repeating: 0, count: 16)
        mapped[10] = 0xff; mapped[11] = 0xff; mapped[12] = 169; mapped[13] = 254; mapped[14] = 169; mapped[15] = 254
        let kind = mapped.withUnsafeBytes { SpecialAddress.classify(family: 6, $0) }
        #expect(kind.range == .metadata && kind.embedding == .mapped)
    }

    /// What cannot be read is special: another family, a short buffer.
    @Test func whatCannotBeReadIsSpecial() {
        let four: [UInt8] = [8, 8, 8, 8]
        #expect(four.withUnsafeBytes { SpecialAddress.classify(family: 6, $0) }.range == .reserved)
        #expect(four.withUnsafeBytes { SpecialAddress.classify(family: 0, $0) }.range == .reserved)
        #expect(four.prefix(3).withUnsafeBytes { SpecialAddress.classify(family: 4, UnsafeRawBufferPointer($0)) }.range == .reserved)
    }

    /// A name rule under privateNames deny: the model denies it, with the
    /// kind; an address rule, a block or the origin still allows.
    @Test func theModelDeniesANameRuleAlone() {
        let p = policy("""
        section hosts ports
            allow *.good.test 443
            allow 10.9.0.0/16 443
            allow 127.0.0.7 443
            allow $originSocketHost 443
        section options
            privateNames deny
        """)
        func decide(_ hosts: [String]) -> Decision {
            p.decide(Destination(identities: hosts.map { Identity(host: $0) }, port: 443), origin: Identity(host: "home.good.test"))
        }
        #expect(decide(["10.0.0.1", "a.good.test"]).verdict == .deny)
        #expect(decide(["10.0.0.1", "a.good.test"]).privateAddress?.description == "private")
        #expect(decide(["64:ff9b::a00:1", "a.good.test"]).privateAddress?.description == "private (NAT64)")
        #expect(decide(["8.8.8.8", "a.good.test"]).verdict == .allow)
        #expect(decide(["10.9.1.1", "a.good.test"]).verdict == .allow, "a block allows")
        #expect(decide(["127.0.0.7", "a.good.test"]).verdict == .allow, "an address allows")
        #expect(decide(["10.0.0.1", "home.good.test"]).verdict == .allow, "the origin is exempt")
        var open = p
        open.options.privateNames = .allow
        #expect(open.decide(Destination(identities: [Identity(host: "10.0.0.1"), Identity(host: "a.good.test")], port: 443), origin: nil).verdict == .allow)
    }
}
