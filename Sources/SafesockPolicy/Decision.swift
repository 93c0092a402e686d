// Decision: SPEC section 2, the reference the compiled table must agree with.
// Allowed iff some allow rule matches (any identity, the port) and no
// disallow rule does; order never matters; no match means deny.

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
        let verdict: Verdict = !allows.isEmpty && disallows.isEmpty ? .allow : .deny
        return Decision(verdict: verdict, allowMatches: allows, disallowMatches: disallows)
    }
}
