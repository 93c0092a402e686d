// Test support: parse helpers (the seeded generator is SafesockTestSupport's).

import SafesockPolicy
@_exported import SafesockTestSupport
import Testing

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
