// Test support: a seeded generator (failures reproduce) and parse helpers.

import SafesockPolicy
import Testing

/// SplitMix64: small, fast, and the same sequence on every run.
struct SeededGenerator: RandomNumberGenerator {
    var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Parses `text` as the file `p.cfg`, with `files` for includes.
func parse(_ text: String, files: [String: String] = [:]) -> ParseResult {
    var all = files
    all["p.cfg"] = text
    return PolicyParser.parse(path: "p.cfg", loader: MemoryLoader(all))
}

/// The diagnostics as `LINE:COL: severity: message`, file name left out.
func diagnosticLines(_ result: ParseResult) -> [String] {
    result.diagnostics.map { "\($0.location.line):\($0.location.column): \($0.severity.rawValue): \($0.message)" }
}

/// Decides HOST (as a program would write it) and PORT.
func decide(_ policy: Policy, _ host: String, _ port: UInt16, names: [String] = [], origin: String? = nil) -> Decision {
    let identities = [Identity(host: host)] + names.map { Identity(host: $0) }
    return policy.decide(Destination(identities: identities, port: port), origin: origin.map { Identity(host: $0) })
}

/// A policy that must parse without errors.
func policy(_ text: String, files: [String: String] = [:]) -> Policy {
    let result = parse(text, files: files)
    if result.hasErrors { Issue.record("test policy has errors: \(diagnosticLines(result))") }
    return result.policy
}
