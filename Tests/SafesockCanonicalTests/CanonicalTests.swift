// The one canonicaliser (Sources/SafesockCanonical/canonical.c), held to
// glibc: every spelling must come out as libc reads it, because a program
// hands that same text to inet_aton, inet_pton or the resolver. The model's
// Identity goes through it too, so both are checked on each spelling.

import Glibc
import SafesockABI
import SafesockPolicy
import SafesockTestSupport
import Testing

/// What glibc makes of host text, written from the manual pages rather than
/// from canonical.c: inet_aton (blank-free text only, as it stops at a
/// blank), then inet_pton for IPv6, IPv4-mapped and -compatible addresses
/// (not :: and ::1) read as IPv4, inet_ntop's text; anything else a name,
/// ASCII lower case, trailing dots dropped.
func glibcReading(_ text: String) -> (family: Int, text: String) {
    let bytes = Array(text.utf8)
    let blank = bytes.contains { $0 <= 0x20 || $0 >= 0x7F } || bytes.count >= 256
    if !blank && !bytes.isEmpty {
        var v4 = in_addr()
        if inet_aton(text, &v4) != 0 { return (4, ntop(AF_INET, withUnsafeBytes(of: v4) { Array($0) })) }
        var v6 = in6_addr()
        if inet_pton(AF_INET6, text, &v6) == 1 {
            let b = withUnsafeBytes(of: v6) { Array($0) }
            let zeros = b[0..<10].allSatisfy { $0 == 0 }
            let mapped = zeros && b[10] == 0xFF && b[11] == 0xFF
            let compatible = zeros && b[10] == 0 && b[11] == 0 && !(b[12..<15].allSatisfy { $0 == 0 } && b[15] <= 1)
            if mapped || compatible { return (4, ntop(AF_INET, Array(b[12..<16]))) }
            return (6, ntop(AF_INET6, b))
        }
    }
    var name = bytes
    while name.last == UInt8(ascii: ".") { name.removeLast() }
    return (0, String(decoding: name.map { $0 >= 0x41 && $0 <= 0x5A ? $0 + 32 : $0 }, as: UTF8.self))
}

func ntop(_ family: Int32, _ bytes: [UInt8]) -> String {
    var out = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
    _ = inet_ntop(family, bytes, &out, socklen_t(out.count))
    return String(cString: out)
}

/// safesock_canonical_host on `text`: family and text, or nil when it refused.
func canonicalHost(_ text: String) -> (family: Int, text: String, address: [UInt8])? {
    let bytes = Array(text.utf8)
    var out = [CChar](repeating: 0, count: 512)
    var family: UInt8 = 9
    var address = [UInt8](repeating: 0xAA, count: 16)
    let status = bytes.withUnsafeBufferPointer { b in
        b.withMemoryRebound(to: CChar.self) { safesock_canonical_host($0.baseAddress, $0.count, &out, out.count, &family, &address) }
    }
    guard status == 0 else { return nil }
    return (Int(family), String(cString: out), address)
}

/// Spellings libc reads in more than one way: inet_aton's 1 to 4 parts in
/// decimal, octal and hex; IPv6 with zero runs, case, leading zeros and an
/// IPv4 tail, mapped and compatible; and near misses of each, and names.
struct Spellings {
    var rng: SeededGenerator

    mutating func pick<T>(_ items: [T]) -> T { items.randomElement(using: &rng)! }
    mutating func chance(_ percent: Int) -> Bool { Int.random(in: 0..<100, using: &rng) < percent }

    mutating func number(_ value: UInt64) -> String {
        let zeros = chance(10) ? String(repeating: "0", count: Int.random(in: 1...40, using: &rng)) : ""
        switch Int.random(in: 0..<4, using: &rng) {
        case 0: return "0" + zeros + String(value, radix: 8)
        case 1: return pick(["0x", "0X"]) + zeros + (chance(50) ? String(value, radix: 16).uppercased() : String(value, radix: 16))
        default: return String(value)
        }
    }

    mutating func ipv4() -> String {
        let parts = Int.random(in: 1...4, using: &rng)
        var fields: [String] = []
        for i in 0..<parts {
            let last = i == parts - 1
            let bits = last ? 8 * (4 - parts + 1) : 8
            let limit: UInt64 = (1 << UInt64(bits)) - 1
            let value = chance(8) ? limit + UInt64.random(in: 1...300, using: &rng) : UInt64.random(in: 0...limit, using: &rng)
            fields.append(chance(25) ? String(Int.random(in: 0...9, using: &rng)) : number(value))
        }
        return fields.joined(separator: ".")
    }

    mutating func group() -> String {
        let value = chance(40) ? 0 : UInt16.random(in: 0...(chance(50) ? 0xF : 0xFFFF), using: &rng)
        var text = String(value, radix: 16)
        if chance(20) { text = String(repeating: "0", count: Int.random(in: 1...3, using: &rng)) + text }
        if chance(30) { text = text.uppercased() }
        return String(text.suffix(chance(3) ? 5 : 4))
    }

    mutating func ipv6() -> String {
        switch Int.random(in: 0..<5, using: &rng) {
        case 0: return pick(["::ffff:", "::FFFF:", "0:0:0:0:0:ffff:", "::", "0::", "::0:"]) + ipv4Dotted()
        case 1: return pick(["::ffff:", "::", "::0:", "64:ff9b::", "2002:"]) + group() + ":" + group()
        default:
            let tail = chance(15)
            let count = tail ? 6 : 8
            var groups = (0..<count).map { _ in group() }
            if chance(70) {
                let start = Int.random(in: 0..<count, using: &rng)
                let length = Int.random(in: 1...(count - start), using: &rng)
                groups.replaceSubrange(start..<(start + length), with: [""])
                if groups.first == "" { groups.insert("", at: 0) }
                if groups.last == "" { groups.append("") }
                if groups == ["", ""] { groups = ["", "", ""] }
            }
            if chance(3) { groups.append(group()) }
            return groups.joined(separator: ":") + (tail ? ":" + ipv4Dotted() : "")
        }
    }

    mutating func ipv4Dotted() -> String {
        (0..<4).map { _ in chance(5) ? String(Int.random(in: 256...999, using: &rng)) : String(Int.random(in: 0...255, using: &rng)) }
            .joined(separator: ".")
    }

    mutating func name() -> String {
        let labels = (0..<Int.random(in: 1...4, using: &rng)).map { _ -> String in
            let letters = Array("abcXYZ019-_".utf8)
            return String(decoding: (0..<Int.random(in: 1...8, using: &rng)).map { _ in letters.randomElement(using: &rng)! }, as: UTF8.self)
        }
        return labels.joined(separator: ".")
    }

    /// A near miss: a blank, a control byte, a non-ASCII byte, a dot, a
    /// scope, a bracket, a sign or a letter put somewhere in it.
    mutating func damage(_ text: String) -> String {
        var bytes = Array(text.utf8)
        let insert: [UInt8] = pick([[0x20], [0x09], [0x0A], [0x7F], [0xC3, 0xA9], [0x2E], [0x2E, 0x2E], Array("%eth0".utf8),
                                    [0x5B], [0x5D], [0x2B], [0x2D], [0x78], [0x3A], Array("junk".utf8)])
        let at = Int.random(in: 0...bytes.count, using: &rng)
        bytes.insert(contentsOf: insert, at: at)
        return String(decoding: bytes, as: UTF8.self)
    }

    mutating func next() -> String {
        var text: String
        switch Int.random(in: 0..<10, using: &rng) {
        case 0...3: text = ipv4()
        case 4...7: text = ipv6()
        default: text = name()
        }
        if chance(15) { text = damage(text) }
        if chance(5) { text += String(repeating: ".", count: Int.random(in: 1...2, using: &rng)) }
        if chance(5) { text = text.uppercased() }
        return text
    }
}

@Suite struct CanonicalTests {
    /// The canonicaliser against glibc on 200,000 random spellings; the
    /// model's Identity, which calls it, gives the same text.
    @Test func readsEverySpellingAsGlibcDoes() {
        var spellings = Spellings(rng: SeededGenerator(seed: 0xCA40_0200))
        var differences: [String] = []
        var kinds = [0, 0, 0]
        for _ in 0..<200_000 {
            let text = spellings.next()
            let expected = glibcReading(text)
            kinds[expected.family == 0 ? 0 : expected.family == 4 ? 1 : 2] += 1
            guard let ours = canonicalHost(text) else {
                differences.append("\(text.debugDescription): refused")
                continue
            }
            let identity = Identity(host: text)
            var identityFamily = 0
            if case .address(let a) = identity { identityFamily = a.isIPv4 ? 4 : 6 }
            if ours.family != expected.family || ours.text != expected.text || identityFamily != expected.family
                || identity.description != expected.text {
                differences.append("\(text.debugDescription): glibc \(expected), ours \(ours.family) \(ours.text), model \(identity)")
            }
            // The bytes given back are the text's address, the rest zero.
            if ours.family != 0 {
                let size = ours.family == 4 ? 4 : 16
                var reparsed = [UInt8](repeating: 0, count: 16)
                _ = inet_pton(ours.family == 4 ? AF_INET : AF_INET6, ours.text, &reparsed)
                if Array(ours.address.prefix(size)) != Array(reparsed.prefix(size)) || ours.address[size...].contains(where: { $0 != 0 }) {
                    differences.append("\(text.debugDescription): address bytes \(ours.address)")
                }
            }
        }
        #expect(differences.isEmpty, "\(differences.count) differences, first: \(differences.prefix(10))")
        // The spellings reach every kind, or the test proves little.
        #expect(kinds.allSatisfy { $0 > 20_000 }, "\(kinds)")
    }

    /// SAFESOCK_PARSE_DOTTED is inet_pton's reading, for CIDR bases and
    /// /etc/hosts: `10/8` is not 0.0.0.10, and 127.1 is not an address.
    @Test func dottedParsingIsInetPtons() {
        var spellings = Spellings(rng: SeededGenerator(seed: 0xCA40_0201))
        var differences: [String] = []
        for _ in 0..<50_000 {
            let text = spellings.chance(50) ? spellings.ipv4() : spellings.next()
            var glibc = [UInt8](repeating: 0, count: 16)
            let blank = text.utf8.contains { $0 <= 0x20 || $0 >= 0x7F }
            var family = 0
            if !blank && inet_pton(AF_INET, text, &glibc) == 1 { family = 4 }
            else if !blank && inet_pton(AF_INET6, text, &glibc) == 1 { family = 6 }
            else { glibc = [UInt8](repeating: 0, count: 16) }
            if family == 4 { glibc = Array(glibc.prefix(4)) + [UInt8](repeating: 0, count: 12) }
            var ours = [UInt8](repeating: 0xAA, count: 16)
            let bytes = Array(text.utf8)
            let got = bytes.withUnsafeBufferPointer { b in
                b.withMemoryRebound(to: CChar.self) { safesock_parse_address($0.baseAddress, $0.count, SAFESOCK_PARSE_DOTTED, &ours) }
            }
            if Int(got) != family || ours != glibc { differences.append("\(text.debugDescription): glibc \(family), ours \(got)") }
        }
        #expect(differences.isEmpty, "\(differences.prefix(10))")
    }

    /// The formatter the connect path uses instead of inet_ntop writes what
    /// inet_ntop writes, on 200,000 addresses with frequent zero groups.
    @Test func formatsAsInetNtop() {
        var rng = SeededGenerator(seed: 0xCA40_0202)
        var differences: [String] = []
        for _ in 0..<200_000 {
            var a = [UInt8](repeating: 0, count: 16)
            for g in 0..<8 where Int.random(in: 0..<4, using: &rng) == 0 {
                let word = UInt16.random(in: 0...(Bool.random(using: &rng) ? 0xF : 0xFFFF), using: &rng)
                a[2 * g] = UInt8(word >> 8)
                a[2 * g + 1] = UInt8(word & 0xFF)
            }
            let family: UInt8 = Bool.random(using: &rng) ? 4 : 6
            var v4 = [UInt8](repeating: 0, count: 4)
            if family == 6 && safesock_fold_ipv4(a, &v4) == 1 { continue } // folded before it is formatted
            var out = [CChar](repeating: 0, count: Int(SAFESOCK_ADDRESS_MAX))
            let length = safesock_format_address(family, a, &out)
            let theirs = ntop(family == 4 ? AF_INET : AF_INET6, family == 4 ? Array(a.prefix(4)) : a)
            if String(cString: out) != theirs || length != theirs.utf8.count { differences.append("\(theirs) vs \(String(cString: out))") }
        }
        #expect(differences.isEmpty, "\(differences.prefix(10))")
    }

    /// Spellings worth naming, each with what every enforcer must make of it.
    @Test(arguments: [
        ("www.sun.com", "www.sun.com", 0), ("WWW.SUN.COM.", "www.sun.com", 0), ("www.sun.com..", "www.sun.com", 0),
        ("127.0.0.1", "127.0.0.1", 4), ("2130706433", "127.0.0.1", 4), ("0x7f.1", "127.0.0.1", 4), ("0177.0.0.1", "127.0.0.1", 4),
        ("127.1", "127.0.0.1", 4), ("0x7f000001", "127.0.0.1", 4), ("::ffff:127.0.0.1", "127.0.0.1", 4),
        ("::FFFF:7F00:1", "127.0.0.1", 4), ("::127.0.0.1", "127.0.0.1", 4), ("::1", "::1", 6), ("::", "::", 6), ("::2", "0.0.0.2", 4),
        ("2001:0DB8:0000:0000:0000:0000:0000:0001", "2001:db8::1", 6), ("2001:db8:0:1:0:0:0:1", "2001:db8:0:1::1", 6),
        ("fe80::1", "fe80::1", 6), ("1.2.3.4 junk", "1.2.3.4 junk", 0), ("999.1.1.1", "999.1.1.1", 0), ("a..b", "a..b", 0),
        ("Ünïcode.EXAMPLE", "Ünïcode.example", 0), ("10.0.0.256", "10.0.0.256", 0), ("0", "0.0.0.0", 4),
        ("4294967295", "255.255.255.255", 4), ("4294967296", "4294967296", 0), ("1.2.3", "1.2.0.3", 4),
        ("fe80::1%lo", "fe80::1%lo", 0), ("[::1]", "[::1]", 0),
    ])
    func namedSpellings(_ text: String, _ canonical: String, _ family: Int) {
        let ours = canonicalHost(text)
        #expect(ours?.text == canonical && ours?.family == family, "\(String(describing: ours))")
        #expect(Identity(host: text).description == canonical)
    }

    /// inet_aton reads a zero-padded address of any length; past 255 bytes
    /// the canonicaliser will not copy it, and says so (-1) instead of
    /// calling it a name: callers refuse it. Long text that cannot be an
    /// address is a name.
    @Test func tooLongToJudgeIsNeitherAddressNorName() {
        let padded = "0x" + String(repeating: "0", count: 260) + "a.0.0.1"
        var v4 = in_addr()
        #expect(inet_aton(padded, &v4) != 0, "glibc reads it as 10.0.0.1")
        #expect(canonicalHost(padded) == nil)
        #expect(IPAddress.isTooLongToJudge(padded) && !IPAddress.isTooLongToJudge("10.0.0.1"))
        let longName = String(repeating: "a.", count: 130) + "test"
        #expect(canonicalHost(longName)?.family == 0 && !IPAddress.isTooLongToJudge(longName))
    }

    /// 0.0.0.0 and :: are judged as loopback too; nothing else is.
    @Test func theUnspecifiedAddressAlsoReachesLoopback() {
        #expect(Identity(host: "0.0.0.0").alsoReached == Identity(host: "127.0.0.1"))
        #expect(Identity(host: "::").alsoReached == Identity(host: "::1"))
        #expect(Identity(host: "0").alsoReached == Identity(host: "127.0.0.1"))
        #expect(Identity(host: "::ffff:0.0.0.0").alsoReached == Identity(host: "127.0.0.1"))
        #expect(Identity(host: "127.0.0.1").alsoReached == nil && Identity(host: "a.test").alsoReached == nil)
    }

    /// Names: lower case, trailing dots dropped, every other byte kept; -1
    /// when it does not fit, nothing written past `size`.
    @Test func namesAreLoweredAndFitOrFail() {
        var out = [CChar](repeating: 0x55, count: 8)
        #expect(safesock_canonical_name("A.B.", 4, &out, 8) == 3 && String(cString: out) == "a.b")
        #expect(safesock_canonical_name("ABCDEFGH", 8, &out, 8) == -1)
        #expect(safesock_canonical_name("ABCDEFG...", 10, &out, 8) == 7 && String(cString: out) == "abcdefg")
        #expect(safesock_canonical_name("a\\B", 3, &out, 8) == 3 && String(cString: out) == "a\\b")
    }

    /// /etc/hosts lines as glibc's files source reads them, for both
    /// enforcers: the address dotted-only and folded, the names after it.
    @Test(arguments: [
        ("127.0.0.1 localhost", 4, "127.0.0.1", "localhost"),
        ("  ::ffff:127.0.0.2\twww.x  alias # comment", 4, "127.0.0.2", "www.x  alias"),
        ("::1 ip6-localhost\r", 6, "::1", "ip6-localhost\r"),
        ("127.1 short.form", 0, "", ""), ("1.2.3.4", 0, "", ""), ("1.2.3.4   # no name", 0, "", ""),
        ("# 127.0.0.1 commented", 0, "", ""), ("fe80::1%eth0 scoped", 0, "", ""), ("", 0, "", ""),
    ])
    func hostsLines(_ line: String, _ family: Int, _ address: String, _ names: String) {
        let bytes = Array(line.utf8)
        var folded = [UInt8](repeating: 0xAA, count: 16)
        var at = 0, end = 0
        let got = bytes.withUnsafeBufferPointer { b in
            b.withMemoryRebound(to: CChar.self) { safesock_hosts_entry($0.baseAddress, $0.count, &folded, &at, &end) }
        }
        #expect(Int(got) == family)
        guard got != 0 else { return }
        #expect(ntop(got == 4 ? AF_INET : AF_INET6, Array(folded.prefix(got == 4 ? 4 : 16))) == address)
        // Names end before the comment; trailing blanks inside the span are the caller's to split.
        #expect(String(decoding: bytes[at..<end], as: UTF8.self).trimmingSuffixBlanks == names)
    }
}

extension String {
    var trimmingSuffixBlanks: String {
        var s = self
        while s.last == " " { s.removeLast() }
        return s
    }
}
