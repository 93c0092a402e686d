// Identity: the canonical text a destination is matched by
// (docs/decision.md, "Canonical identities").
// Canonicalise before matching: an attacker picks the spelling, so every
// spelling of one host must reach the matcher as one string.

import SafesockABI

/// An IPv4 or IPv6 address in network byte order, IPv4-mapped and
/// IPv4-compatible IPv6 addresses already folded to their IPv4 form.
/// Every parse, fold and format is the one canonicaliser's
/// (safesock_canonical.h), which the library and the supervisor call too.
public struct IPAddress: Hashable, Sendable, CustomStringConvertible {
    /// 4 bytes (IPv4) or 16 bytes (IPv6), network order.
    public let bytes: [UInt8]

    public init?(bytes: [UInt8]) {
        guard bytes.count == 4 || bytes.count == 16 else { return nil }
        var folded: (UInt64, UInt64) = (0, 0) // on the stack: a policy has a million of these
        let family = withUnsafeMutableBytes(of: &folded) { out in
            safesock_canonical_address(bytes.count == 4 ? 4 : 6, bytes, out.baseAddress!.assumingMemoryBound(to: UInt8.self))
        }
        self.bytes = withUnsafeBytes(of: &folded) { Array($0.prefix(family == 4 ? 4 : 16)) }
    }

    /// Parses every numeric spelling libc accepts: `inet_aton`'s IPv4 forms
    /// and `inet_pton`'s IPv6. Text with blanks is refused, because
    /// `inet_aton` ignores whatever follows a blank.
    public init?(parsing text: String) {
        guard let raw = IPAddress.parse(text, SAFESOCK_PARSE_ANY) else { return nil }
        self.init(bytes: raw)
    }

    /// An address as glibc reads one in /etc/hosts: IPv4 as a dotted quad
    /// only (inet_pton), so `127.1` there is no address.
    public init?(parsingDotted text: String) {
        guard let raw = IPAddress.parse(text, SAFESOCK_PARSE_DOTTED) else { return nil }
        self.init(bytes: raw)
    }

    /// Whether `text` is too long for the canonicaliser to judge and may be
    /// an address (safesock_parse_address's -1): to be refused.
    public static func isTooLongToJudge(_ text: String) -> Bool {
        text.utf8.count >= 256 && parsed(text, SAFESOCK_PARSE_ANY).kind < 0 // shorter: no second parse
    }

    /// The 4 or 16 bytes `text` spells, unfolded, or nil.
    static func parse(_ text: String, _ how: safesock_parse) -> [UInt8]? {
        let (kind, raw) = parsed(text, how)
        switch kind {
        case 4: return Array(raw.prefix(4))
        case 6: return raw
        default: return nil
        }
    }

    /// safesock_parse_address on `text`: its answer and the 16 bytes.
    private static func parsed(_ text: String, _ how: safesock_parse) -> (kind: Int32, raw: [UInt8]) {
        // The bytes on the stack, an array only for an address: the parser
        // asks this of every name of a policy (most are no address).
        var raw: (UInt64, UInt64) = (0, 0)
        var text = text
        let kind = withUnsafeMutableBytes(of: &raw) { out in
            text.withUTF8 { utf8 in
                utf8.withMemoryRebound(to: CChar.self) {
                    safesock_parse_address($0.baseAddress, $0.count, how, out.baseAddress!.assumingMemoryBound(to: UInt8.self))
                }
            }
        }
        guard kind == 4 || kind == 6 else { return (kind, []) }
        return (kind, withUnsafeBytes(of: &raw) { Array($0) })
    }

    public var isIPv4: Bool { bytes.count == 4 }

    /// Dotted decimal, or RFC 5952 text for IPv6.
    public var description: String {
        // Formatted straight into the string's storage, no array between.
        var padded: (UInt64, UInt64) = (0, 0)
        withUnsafeMutableBytes(of: &padded) { p in bytes.withUnsafeBytes { p.copyMemory(from: $0) } }
        let family: UInt8 = isIPv4 ? 4 : 6
        return String(unsafeUninitializedCapacity: Int(SAFESOCK_ADDRESS_MAX)) { out in
            withUnsafeBytes(of: &padded) { p in
                out.withMemoryRebound(to: CChar.self) { text in
                    safesock_format_address(family, p.baseAddress!.assumingMemoryBound(to: UInt8.self), text.baseAddress!)
                }
            }
        }
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
        var text = text
        self = text.withUTF8 { utf8 in
            var out = [CChar](repeating: 0, count: max(utf8.count + 1, Int(SAFESOCK_ADDRESS_MAX)))
            var family: UInt8 = 0
            var address = [UInt8](repeating: 0, count: 16)
            let status = utf8.withMemoryRebound(to: CChar.self) {
                safesock_canonical_host($0.baseAddress, $0.count, &out, out.count, &family, &address)
            }
            // Refused text (too long to judge: it may be a zero-padded
            // address) is kept as written, a name no rule can have: the
            // parser refuses such a host in a policy, explain as an argument.
            guard status == 0 else { return .name(String(decoding: utf8, as: UTF8.self)) }
            if family != 0, let a = IPAddress(bytes: Array(address.prefix(family == 4 ? 4 : 16))) {
                return .address(a)
            }
            return .name(String(decoding: out.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
        }
    }

    /// ASCII lower case, trailing dots dropped: DNS names are case-blind and
    /// `a.b.` is `a.b` (safesock_canonical_name; every other byte kept).
    public static func canonicalName(_ text: String) -> String {
        var text = text
        return text.withUTF8 { utf8 in
            var out = [CChar](repeating: 0, count: utf8.count + 1)
            let length = utf8.withMemoryRebound(to: CChar.self) {
                safesock_canonical_name($0.baseAddress, $0.count, &out, out.count)
            }
            return String(decoding: out.prefix(max(length, 0)).map { UInt8(bitPattern: $0) }, as: UTF8.self)
        }
    }

    /// ASCII letters lowered, every other byte kept, as
    /// safesock_canonical_byte lowers them.
    static func lowered(_ bytes: [UInt8]) -> String {
        String(decoding: bytes.map { UInt8(bitPattern: safesock_canonical_byte(CChar(bitPattern: $0))) }, as: UTF8.self)
    }

    /// The host the kernel actually reaches for this one, when it differs:
    /// Linux connects 0.0.0.0 and :: to loopback, so a policy must judge
    /// them as loopback too (safesock_also_reached, as both enforcers do).
    public var alsoReached: Identity? {
        guard case .address(let a) = self else { return nil }
        var padded = a.bytes + [UInt8](repeating: 0, count: 16 - a.bytes.count)
        var reached = [UInt8](repeating: 0, count: 16)
        guard safesock_also_reached(a.isIPv4 ? 4 : 6, &padded, &reached) == 1 else { return nil }
        return IPAddress(bytes: Array(reached.prefix(a.bytes.count))).map(Identity.address)
    }

    /// The text host patterns are matched against.
    public var description: String {
        switch self {
        case .name(let n): return n
        case .address(let a): return a.description
        }
    }
}
