// Host and port patterns of `hosts ports` rules (docs/policy-language.md,
// "Host patterns", "Port patterns"), already canonical: matching never has to
// normalise a pattern again.

import SafesockMatch

/// What a rule's host word means.
public enum HostPattern: Hashable, Sendable {
    /// `{}`: the empty pattern, which matches nothing.
    case nothing
    /// `$originSocketHost` / `$originHost`: the running program's origin.
    case origin
    /// A literal DNS name, canonical (lower case, no trailing dot).
    case name(String)
    /// A `string match` glob over identity text, canonical like a name.
    case glob(String)
    /// One address, in any spelling libc accepts.
    case address(IPAddress)
    /// A CIDR block; `bits` counts from the front of the address bytes.
    case block(IPAddress, bits: Int)

    /// Whether an identity matches, `origin` being the program's origin
    /// identity (nil: none was injected, so origin rules match nothing).
    public func matches(_ identity: Identity, origin: Identity?) -> Bool {
        switch self {
        case .nothing:
            return false
        case .origin:
            return origin == identity
        case .name(let name):
            return identity == .name(name)
        case .glob(let glob):
            var pattern = glob
            var text = identity.description
            return pattern.withUTF8 { p in text.withUTF8 { t in Glob.matches(p, t) } }
        case .address(let address):
            return identity == .address(address)
        case .block(let network, let bits):
            guard case .address(let address) = identity else { return false }
            return network.bytes.withUnsafeBytes { n in
                address.bytes.withUnsafeBytes { a in AddressPrefix.contains(block: n, bits: bits, address: a) }
            }
        }
    }
}

/// What a rule's port word means. Bounds are kept as written (up to
/// UInt32) so that `lint` can say a range such as `>70000` is empty.
public enum PortPattern: Hashable, Sendable {
    /// `1030`
    case exact(UInt16)
    /// `N1-N2`: N1 <= port <= N2
    case range(UInt32, UInt32)
    /// `>N`: port > N
    case above(UInt32)
    /// `<N`: port < N
    case below(UInt32)
    /// `*`, `80*`: `string match` over the port's decimal text
    case glob(String)

    /// The ports it matches, as sorted disjoint ranges (a glob by trying
    /// all 65,536 ports). The table compiler and `lint` both read this.
    public var ranges: [ClosedRange<UInt16>] {
        switch self {
        case .exact(let n):
            return [n...n]
        case .range(let low, let high):
            guard low <= high, low <= 65535 else { return [] }
            return [UInt16(low)...UInt16(min(high, 65535))]
        case .above(let n):
            return n >= 65535 ? [] : [UInt16(n + 1)...65535]
        case .below(let n):
            return n == 0 ? [] : [0...UInt16(min(n - 1, 65535))]
        case .glob:
            var out: [ClosedRange<UInt16>] = []
            var start: Int? = nil
            for port in 0...65536 {
                let inside = port <= 65535 && matches(UInt16(port))
                if inside && start == nil { start = port }
                if !inside, let s = start {
                    out.append(UInt16(s)...UInt16(port - 1))
                    start = nil
                }
            }
            return out
        }
    }

    public func matches(_ port: UInt16) -> Bool {
        switch self {
        case .exact(let n): return port == n
        case .range(let low, let high): return low <= UInt32(port) && UInt32(port) <= high
        case .above(let n): return UInt32(port) > n
        case .below(let n): return UInt32(port) < n
        case .glob(let glob):
            var digits: (UInt8, UInt8, UInt8, UInt8, UInt8) = (0, 0, 0, 0, 0)
            var pattern = glob
            return withUnsafeMutableBytes(of: &digits) { raw in
                let out = raw.bindMemory(to: UInt8.self)
                let n = DecimalText.write(port, into: out)
                return pattern.withUTF8 { Glob.matches($0, UnsafeBufferPointer(rebasing: out[0..<n])) }
            }
        }
    }
}
