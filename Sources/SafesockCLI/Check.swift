// `safesock check FILE...`: every problem of every file, then a summary.

import SafesockPolicy

let checkCommand = Command(
    name: "check",
    brief: "check policy files for errors",
    summary: "Check policy files: print every error, warning and note as FILE:LINE:COL.",
    usage: "safesock check [--json] POLICY...",
    options: [.flag("--json", "print the results as JSON")],
    run: check)

struct CheckJSON: Encodable {
    var file: String
    var ok: Bool
    var allow: Int
    var disallow: Int
    var diagnostics: [DiagnosticJSON]
}

func check(_ arguments: ParsedArguments) -> Int32 {
    guard !arguments.positionals.isEmpty else { return CLI.usageError("check", "name at least one policy file") }
    var status = ExitStatus.success
    var reports: [CheckJSON] = []
    for path in arguments.positionals {
        let result = CLI.loadPolicy(path)
        let allows = result.policy.rules.filter { $0.action == .allow }.count
        let errors = result.diagnostics.filter { $0.severity == .error }.count
        if result.hasErrors { status = ExitStatus.failure }
        if arguments.has("--json") {
            reports.append(CheckJSON(file: path, ok: !result.hasErrors, allow: allows,
                                     disallow: result.policy.rules.count - allows,
                                     diagnostics: result.diagnostics.map(DiagnosticJSON.init)))
            continue
        }
        for d in result.diagnostics { Output.err(d.description) }
        if result.hasErrors {
            Output.out("\(path): \(errors) error\(errors == 1 ? "" : "s"); not usable")
        } else {
            let o = result.policy.options
            let hostsPorts = result.policy.hasHostsPorts ? "\(allows) allow, \(result.policy.rules.count - allows) disallow"
                                                         : "no hosts ports section: denies everything"
            Output.out("\(path): ok: \(hostsPorts); peername \(o.peername.rawValue), datagrams \(o.datagrams.rawValue), servers \(o.servers.rawValue), resolve \(o.resolve.rawValue), maxSockets \(o.maxSockets), privateNames \(o.privateNames.rawValue)")
        }
    }
    if arguments.has("--json") { Output.json(reports) }
    return status
}
