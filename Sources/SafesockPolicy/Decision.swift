// Decision: the reference the compiled table must agree with
// (docs/decision.md, "The verdict"). Allowed iff some allow rule matches (any
// identity, the port) and no disallow rule does; order never matters; no
// match means deny. Under `privateNames deny`, an allow that reaches a
// special address only through name or glob rules is denied, unless the
// destination is the origin.

import SafesockMatch

public enum Verdict: String, Sendable, Codable {
    case allow, deny
}

/// A destination: every identity it is known by, and a port.
public struct Destination: Hashable, Sendable {
    public var identities: [Identity]
    public var port: UInt16

    public init(identities: [Identity], port: UInt16) {
        self.identities = identities
        self.port = port
    }
}

public struct Decision: Hashable, Sendable {
    public var verdict: Verdict
    /// Every allow rule that matched, in file order.
    public var allowMatches: [Rule]
    /// Every disallow rule that matched, in file order.
    public var disallowMatches: [Rule]
    /// Set when `privateNames deny` turned the allow rules' verdict into a
    /// deny: the special address's kind, and how it was carried.
    public var privateAddress: SpecialKind?

    /// The rules that made the verdict: the disallows when any matched,
    /// else the allows; empty means `default`.
    public var deciding: [RuleRef] {
        (disallowMatches.isEmpty ? allowMatches : disallowMatches).map(\.ref)
    }
}

extension Policy {
    /// Decides for `destination`; `origin` is the identity the empty host and
    /// `$originSocketHost` stand for (nil: no origin was injected).
    public func decide(_ destination: Destination, origin: Identity?) -> Decision {
        func matches(_ rule: Rule) -> Bool {
            rule.port.matches(destination.port)
                && destination.identities.contains { rule.host.matches($0, origin: origin) }
        }
        let matched = rules.filter(matches)
        let allows = matched.filter { $0.action == .allow }
        let disallows = matched.filter { $0.action == .disallow }
        var decision = Decision(verdict: !allows.isEmpty && disallows.isEmpty ? .allow : .deny,
                                allowMatches: allows, disallowMatches: disallows, privateAddress: nil)
        if decision.verdict == .allow, options.privateNames == .deny,
           !allows.contains(where: \.host.isWrittenAsAddress),
           !destination.identities.contains(where: { origin != nil && $0 == origin }) {
            for case .address(let address) in destination.identities where address.special.range != .none {
                decision.verdict = .deny
                decision.privateAddress = address.special
                break
            }
        }
        return decision
    }
}

/// What SpecialAddress says of an address.
public struct SpecialKind: Hashable, Sendable {
    public var range: SpecialRange
    public var embedding: AddressEmbedding

    /// "loopback", "private (NAT64)".
    public var description: String {
        let name = "\(range.name)"
        return embedding == .none ? name : "\(name) (\(embedding.name))"
    }
}

extension IPAddress {
    public var special: SpecialKind {
        let kind = bytes.withUnsafeBytes { SpecialAddress.classify(family: isIPv4 ? 4 : 6, $0) }
        return SpecialKind(range: kind.range, embedding: kind.embedding)
    }
}

extension HostPattern {
    /// An address, a block or the origin: `privateNames deny` lets these
    /// reach a special address, and no name or glob.
    public var isWrittenAsAddress: Bool {
        switch self {
        case .address, .block, .origin: return true
        case .nothing, .name, .glob: return false
        }
    }
}
