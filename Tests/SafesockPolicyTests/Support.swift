// Test support: deciding helpers (parsing and the seeded generator are
// SafesockTestSupport's).

import SafesockPolicy
@_exported import SafesockTestSupport
import Testing

/// Decides HOST (as a program would write it) and PORT.
func decide(_ policy: Policy, _ host: String, _ port: UInt16, names: [String] = [], origin: String? = nil) -> Decision {
    let identities = [Identity(host: host)] + names.map { Identity(host: $0) }
    return policy.decide(Destination(identities: identities, port: port), origin: origin.map { Identity(host: $0) })
}

