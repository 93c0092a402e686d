// Identity: the canonical text a destination is matched by (SPEC section 2).
// Canonicalise before matching: an attacker picks the spelling, so every
// spelling of one host must reach the matcher as one string.

/// An IPv4 or IPv6 address in network byte order, IPv4-mapped and
/// IPv4-compatible IPv6 addresses already folded to their IPv4 form.
public struct IPAddress: Hashable, Sendable, CustomStringConvertible {
    /// 4 bytes (IPv4) or 16 bytes (IPv6), network order.
    public let bytes: [UInt8]

    public init?(bytes: [UInt8]) {
        switch bytes.count {
        case 4: self.bytes = bytes
        case 16: self.bytes = IPAddress.foldIPv4(bytes)
        default: return nil
        }
    }

    /// Parses every numeric spelling libc accepts: `inet_aton`'s IPv4 forms
    /// and `inet_pton`'s IPv6. Text with blanks is refused, because
    /// `inet_aton` ignores whatever follows a blank.
    public init?(parsing text: String) {
        guard !text.isEmpty, !text.utf8.contains(where: { $0 <= 0x20 || $0 >= 0x7F }) else { return nil }
        if let v4 = LibC.inetAton(text) {
            self.bytes = v4
        } else if let v6 = LibC.inetPton6(text) {
            self.bytes = IPAddress.foldIPv4(v6)
        } else {
            return nil
        }
    }

    public var isIPv4: Bool { bytes.count == 4 }

    /// Dotted decimal, or RFC 5952 text for IPv6.
    public var description: String { LibC.inetNtop(bytes) }

    /// `::ffff:a.b.c.d` (mapped) and `::a.b.c.d` (compatible) are the IPv4
    /// host a.b.c.d; `::` and `::1` are IPv6's own and stay IPv6.
    static func foldIPv4(_ b: [UInt8]) -> [UInt8] {
        guard b[0..<10].allSatisfy({ $0 == 0 }) else { return b }
        if b[10] == 0xFF && b[11] == 0xFF { return Array(b[12..<16]) }
        let unspecifiedOrLoopback = b[10..<15].allSatisfy { $0 == 0 } && b[15] <= 1
        if b[10] == 0 && b[11] == 0 && !unspecifiedOrLoopback { return Array(b[12..<16]) }
        return b
    }
}

/// One name or address a destination is known by.
public enum Identity: Hashable, Sendable, CustomStringConvertible {
    /// A DNS name: ASCII lower case, trailing dots removed.
    case name(String)
    case address(IPAddress)

    /// The canonical identity of host text as a user or program wrote it:
    /// any address spelling becomes its address; anything else is a name.
    public init(host text: String) {
        if let address = IPAddress(parsing: text) {
            self = .address(address)
        } else {
            self = .name(Identity.canonicalName(text))
        }
    }

    /// ASCII lower case, trailing dots dropped: DNS names are case-blind and
    /// `a.b.` is `a.b`.
    public static func canonicalName(_ text: String) -> String {
        var bytes = Array(text.utf8)
        while bytes.last == UInt8(ascii: ".") { bytes.removeLast() }
        return asciiLowercased(bytes)
    }

    /// ASCII letters lowered, every other byte kept (names are ASCII; a
    /// Unicode-aware lowering could turn two spellings into one elsewhere).
    static func asciiLowercased(_ bytes: [UInt8]) -> String {
        var bytes = bytes
        for i in bytes.indices where bytes[i] >= UInt8(ascii: "A") && bytes[i] <= UInt8(ascii: "Z") {
            bytes[i] += 32
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// The host the kernel actually reaches for this one, when it differs:
    /// Linux connects 0.0.0.0 and :: to loopback, so a policy must judge
    /// them as loopback too (the library does; CShim/verdict.c).
    public var alsoReached: Identity? {
        guard case .address(let a) = self, a.bytes.allSatisfy({ $0 == 0 }) else { return nil }
        return Identity(host: a.isIPv4 ? "127.0.0.1" : "::1")
    }

    /// The text host patterns are matched against.
    public var description: String {
        switch self {
        case .name(let n): return n
        case .address(let a): return a.description
        }
    }
}
