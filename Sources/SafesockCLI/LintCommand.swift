// `safesock lint POLICY`: the page's SECURITY advice as findings.

import SafesockLint
import SafesockPolicy

let lintCommand = Command(
    name: "lint",
    brief: "check a policy against the manual page's SECURITY advice",
    summary: """
    Check policies against the network manual page's SECURITY advice: port
    ranges in allow rules, SMTP/NNTP and redirecting services (FTP, HTTP
    proxies, SOCKS) allowed, broad host patterns, rules that can never
    change a verdict, and names allowed while loopback, private, link-local
    and cloud-metadata addresses are not disallowed (DNS rebinding).
    Exit status 0 no findings, 1 findings or policy errors, 2 bad usage.
    """,
    usage: "safesock lint [--json] POLICY...",
    options: [.flag("--json", "print the findings as JSON")],
    run: lint)

struct FindingJSON: Encodable {
    var file: String
    var line: Int
    var column: Int
    var kind: String
    var message: String
    var advice: String
}

func lint(_ arguments: ParsedArguments) -> Int32 {
    guard !arguments.positionals.isEmpty else { return CLI.usageError("lint", "name at least one policy") }
    var status = ExitStatus.success
    var all: [FindingJSON] = []
    for path in arguments.positionals {
        guard let policy = CLI.usablePolicy(path, for: "lint", otherwise: "fix them first (safesock check)") else {
            status = ExitStatus.failure
            continue
        }
        let findings = Linter.lint(policy)
        if !findings.isEmpty { status = ExitStatus.failure }
        if arguments.has("--json") {
            all += findings.map {
                FindingJSON(file: $0.location.file, line: $0.location.line, column: $0.location.column,
                            kind: $0.kind.rawValue, message: $0.message, advice: $0.advice)
            }
        } else {
            for f in findings {
                Output.out("\(f.location): warning: \(f.message) [\(f.kind.rawValue)]\n    \(f.advice)")
            }
            Output.out(findings.isEmpty ? "\(path): no findings" : "\(path): \(findings.count) finding\(findings.count == 1 ? "" : "s")")
        }
    }
    if arguments.has("--json") { Output.json(all) }
    return status
}
