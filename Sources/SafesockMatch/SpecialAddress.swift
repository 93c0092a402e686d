// SpecialAddress: the addresses a name may not lead to under `privateNames
// deny` (docs/decision.md, "Names and special addresses"). One table, read by
// the decision core (through CEntry), by the model's decision and by lint, so
// the three cannot disagree on what is special. Embedded-clean: no array, no
// String, no allocation.

/// What kind of special address; the raw values are the C codes
/// `safesock_address_special` returns (0: an ordinary, public address).
public enum SpecialRange: UInt8, Sendable {
    case none = 0, unspecified = 1, loopback = 2, privateUse = 3, linkLocal = 4, metadata = 5, shared = 6,
         multicast = 7, reserved = 8

    /// How it is named in messages.
    public var name: StaticString {
        switch self {
        case .none: return "public"
        case .unspecified: return "unspecified"
        case .loopback: return "loopback"
        case .privateUse: return "private"
        case .linkLocal: return "link-local"
        case .metadata: return "cloud metadata"
        case .shared: return "shared (CGNAT)"
        case .multicast: return "multicast"
        case .reserved: return "reserved"
        }
    }

    /// The decision's reason when a name rule alone would have reached it.
    public var reason: StaticString {
        switch self {
        case .none: return "privateNames deny"
        case .unspecified: return "privateNames deny: a name led to an unspecified address"
        case .loopback: return "privateNames deny: a name led to a loopback address"
        case .privateUse: return "privateNames deny: a name led to a private address"
        case .linkLocal: return "privateNames deny: a name led to a link-local address"
        case .metadata: return "privateNames deny: a name led to a cloud metadata address"
        case .shared: return "privateNames deny: a name led to a shared (CGNAT) address"
        case .multicast: return "privateNames deny: a name led to a multicast address"
        case .reserved: return "privateNames deny: a name led to a reserved address"
        }
    }
}

/// How an IPv6 address carries an IPv4 one, whose kind it then has.
public enum AddressEmbedding: UInt8, Sendable {
    case none = 0, mapped, compatible, nat64, sixToFour, teredo

    public var name: StaticString {
        switch self {
        case .none: return ""
        case .mapped: return "IPv4-mapped"
        case .compatible: return "IPv4-compatible"
        case .nat64: return "NAT64"
        case .sixToFour: return "6to4"
        case .teredo: return "Teredo"
        }
    }
}

/// One row of the table: a block (4 or 16 bytes of prefix as two 64-bit
/// big-endian halves; IPv4 in the high 32 bits of `high`), and either its
/// kind or, for an embedding block, where the IPv4 address sits.
public struct SpecialBlock: Sendable {
    public var family: UInt8
    public var high: UInt64
    public var low: UInt64
    public var bits: Int
    public var range: SpecialRange
    public var embedding: AddressEmbedding

    /// The prefix as network-order bytes (4 or 16), for messages.
    public func withBytes<R>(_ body: (UnsafeRawBufferPointer) -> R) -> R {
        var words = (high.bigEndian, low.bigEndian)
        return withUnsafeBytes(of: &words) { body(UnsafeRawBufferPointer(rebasing: $0[0..<(family == 4 ? 4 : 16)])) }
    }
}

public enum SpecialAddress {
    /// The table, most specific rows first: the first row that contains an
    /// address decides. Sources: RFC 6890's special-purpose registries,
    /// RFC 6598 (100.64.0.0/10), RFC 6052 and 8215 (NAT64), RFC 3056
    /// (6to4), RFC 4380 (Teredo), and the clouds' metadata services (AWS,
    /// GCP, Azure: 169.254.169.254 and fd00:ec2::254; Alibaba:
    /// 100.100.100.200; Oracle: 192.0.0.192).
    public static let count = 37

    public static func block(_ i: Int) -> SpecialBlock {
        func v4(_ a: UInt64, _ b: UInt64, _ c: UInt64, _ d: UInt64, _ bits: Int, _ range: SpecialRange) -> SpecialBlock {
            SpecialBlock(family: 4, high: (a << 56) | (b << 48) | (c << 40) | (d << 32), low: 0, bits: bits, range: range, embedding: .none)
        }
        func v6(_ high: UInt64, _ low: UInt64, _ bits: Int, _ range: SpecialRange, _ embedding: AddressEmbedding = .none) -> SpecialBlock {
            SpecialBlock(family: 6, high: high, low: low, bits: bits, range: range, embedding: embedding)
        }
        switch i {
        case 0: return v4(169, 254, 169, 254, 32, .metadata)
        case 1: return v4(100, 100, 100, 200, 32, .metadata)
        case 2: return v4(192, 0, 0, 192, 32, .metadata)
        case 3: return v4(0, 0, 0, 0, 8, .unspecified)        // "this network"; 0.0.0.0 reaches loopback
        case 4: return v4(10, 0, 0, 0, 8, .privateUse)
        case 5: return v4(100, 64, 0, 0, 10, .shared)
        case 6: return v4(127, 0, 0, 0, 8, .loopback)
        case 7: return v4(169, 254, 0, 0, 16, .linkLocal)
        case 8: return v4(172, 16, 0, 0, 12, .privateUse)
        case 9: return v4(192, 0, 0, 0, 24, .reserved)        // IETF protocol assignments
        case 10: return v4(192, 0, 2, 0, 24, .reserved)       // documentation
        case 11: return v4(192, 88, 99, 0, 24, .reserved)     // 6to4 relays
        case 12: return v4(192, 168, 0, 0, 16, .privateUse)
        case 13: return v4(198, 18, 0, 0, 15, .reserved)      // benchmarking; proxies' fake-IP answers
        case 14: return v4(198, 51, 100, 0, 24, .reserved)    // documentation
        case 15: return v4(203, 0, 113, 0, 24, .reserved)     // documentation
        case 16: return v4(224, 0, 0, 0, 4, .multicast)
        case 17: return v4(240, 0, 0, 0, 4, .reserved)        // and 255.255.255.255, broadcast
        case 18: return v6(0, 0, 128, .unspecified)
        case 19: return v6(0, 1, 128, .loopback)
        case 20: return v6(0xfd00_0ec2_0000_0000, 0x254, 128, .metadata)
        case 21: return v6(0, 0x0000_ffff_0000_0000, 96, .none, .mapped)
        case 22: return v6(0, 0, 96, .none, .compatible)
        case 23: return v6(0x0064_ff9b_0000_0000, 0, 96, .none, .nat64)
        case 24: return v6(0x2002_0000_0000_0000, 0, 16, .none, .sixToFour)
        case 25: return v6(0x2001_0000_0000_0000, 0, 32, .none, .teredo)
        case 26: return v6(0x0064_ff9b_0001_0000, 0, 48, .privateUse)   // NAT64 for local use
        case 27: return v6(0x0100_0000_0000_0000, 0, 64, .reserved)     // discard-only
        case 28: return v6(0x2001_0db8_0000_0000, 0, 32, .reserved)     // documentation
        case 29: return v6(0xfc00_0000_0000_0000, 0, 7, .privateUse)    // unique local
        case 30: return v6(0xfe80_0000_0000_0000, 0, 10, .linkLocal)
        case 31: return v6(0xfec0_0000_0000_0000, 0, 10, .privateUse)   // site-local, deprecated
        case 32: return v6(0xff00_0000_0000_0000, 0, 8, .multicast)
        case 33: return v6(0x2001_0000_0000_0000, 0, 23, .reserved)     // IETF protocol assignments (Teredo above)
        case 34: return v6(0x2001_0002_0000_0000, 0, 48, .reserved)     // benchmarking
        case 35: return v6(0x3fff_0000_0000_0000, 0, 20, .reserved)     // documentation (RFC 9637)
        default: return v6(0x5f00_0000_0000_0000, 0, 16, .reserved)     // segment routing SIDs (RFC 9602)
        }
    }

    /// Whether the first `bits` bits of (high, low) are the block's.
    static func within(_ high: UInt64, _ low: UInt64, _ b: SpecialBlock) -> Bool {
        if b.bits <= 0 { return true }
        if b.bits <= 64 {
            let shift = UInt64(64 - b.bits)
            return (high ^ b.high) >> shift == 0
        }
        guard high == b.high else { return false }
        return b.bits >= 128 ? low == b.low : (low ^ b.low) >> UInt64(128 - b.bits) == 0
    }

    /// The kind of the address (`family` 4 or 6; `bytes` 4 or 16, network
    /// order), looking through the IPv6 forms that carry an IPv4 address.
    /// Anything it cannot read (another family, a short buffer) is
    /// `.reserved`: what cannot be judged is special.
    public static func classify(family: UInt8, _ bytes: UnsafeRawBufferPointer) -> (range: SpecialRange, embedding: AddressEmbedding) {
        var high: UInt64 = 0, low: UInt64 = 0
        if family == 4 && bytes.count >= 4 {
            for i in 0..<4 { high |= UInt64(bytes[i]) << UInt64(56 - 8 * i) }
            return (ipv4(high), .none)
        }
        guard family == 6 && bytes.count >= 16 else { return (.reserved, .none) }
        for i in 0..<8 {
            high |= UInt64(bytes[i]) << UInt64(56 - 8 * i)
            low |= UInt64(bytes[8 + i]) << UInt64(56 - 8 * i)
        }
        var i = 0
        while i < count {
            let b = block(i)
            i += 1
            guard b.family == 6, within(high, low, b) else { continue }
            let carried: UInt64
            switch b.embedding {
            case .none: return (b.range, .none)
            case .mapped, .compatible, .nat64: carried = low & 0xFFFF_FFFF
            case .sixToFour: carried = (high >> 16) & 0xFFFF_FFFF
            case .teredo: carried = ~low & 0xFFFF_FFFF // the client, obscured by inversion
            }
            let range = ipv4(carried << 32)
            return (range, range == .none ? .none : b.embedding)
        }
        return (.none, .none)
    }

    /// An IPv4 address in the high 32 bits.
    static func ipv4(_ high: UInt64) -> SpecialRange {
        var i = 0
        while i < count {
            let b = block(i)
            i += 1
            if b.family == 4 && within(high, 0, b) { return b.range }
        }
        return .none
    }
}
