// Policies: policy text parsed as a test file, for the suites of every
// module that reads a model (the policy, lint, the table).

import SafesockPolicy
import Testing

/// Parses `text` as the file `p.cfg`, with `files` for includes.
public func parse(_ text: String, files: [String: String] = [:]) -> ParseResult {
    var all = files
    all["p.cfg"] = text
    return PolicyParser.parse(path: "p.cfg", loader: MemoryLoader(all))
}

/// The diagnostics as `LINE:COL: severity: message`, file name left out.
public func diagnosticLines(_ result: ParseResult) -> [String] {
    result.diagnostics.map { "\($0.location.line):\($0.location.column): \($0.severity.rawValue): \($0.message)" }
}

/// A policy that must parse without errors.
public func policy(_ text: String, files: [String: String] = [:]) -> Policy {
    let result = parse(text, files: files)
    if result.hasErrors { Issue.record("test policy has errors: \(diagnosticLines(result))") }
    return result.policy
}
