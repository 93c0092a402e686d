// `safesock suggest LOG`: the smallest policy that allows what a learn-mode
// run did: exact names and exact ports, never ranges (the page's advice),
// a name wherever the program used one, and a comment per rule saying how
// often and by which programs.

import FoundationEssentials
import Glibc
import Dispatch
import SafesockPolicy

let suggestCommand = Command(
    name: "suggest",
    brief: "the smallest policy for what a learn-mode run did",
    summary: """
    Read the audit log of a learn-mode run (`safesock run --learn --log LOG`)
    and print the smallest policy, exact names and ports, that allows what
    the run did. Options it needed (datagrams, servers, peername) are set.
    """,
    usage: "safesock suggest LOG [--origin H]",
    options: [.value("--origin", "H", "write connections to H as $originSocketHost")],
    run: suggest)

/// What a log says one destination was used for.
struct Use {
    var count = 0
    var programs: Set<String> = []
}

/// What a suggested policy allows: the destinations a log's records used,
/// and the options they needed.
struct Suggestion {
    var destinations: [String: [UInt16: Use]] = [:]
    var options: [String: (value: String, use: Use)] = [:]

    init(_ records: [AuditRecord], origin: String?) {
        for record in records { add(record, origin: origin) }
    }

    private mutating func note(_ key: String, _ value: String, _ program: String) {
        options[key, default: (value, Use())].use.count += 1
        options[key]!.use.programs.insert(program)
    }

    private mutating func add(_ record: AuditRecord, origin: String?) {
        let op = record.op, program = record.program.isEmpty ? "?" : record.program
        switch (op, record.reason) {
        case ("getpeername", _): note("peername", "mask", program)
        case ("bind", _), ("listen", _): note("servers", "allow", program)
        case ("connect", _), ("sendto", _), ("sendmsg", _), ("sendmmsg", _):
            guard !record.host.isEmpty, let port = record.port, (0...65535).contains(port) else { return }
            let host = record.host
            if record.reason == "datagrams deny" || op != "connect" { note("datagrams", "allow", program) }
            let identity = Identity(host: host).description
            let key = identity == origin ? "$originSocketHost" : identity
            destinations[key, default: [:]][UInt16(port), default: Use()].count += 1
            destinations[key]![UInt16(port)]!.programs.insert(program)
        default:
            return // resolver records: a name used for a connection shows up there
        }
    }

    /// The allow rules, by host and port.
    var rows: [(host: String, port: UInt16, use: Use)] {
        destinations.flatMap { host, ports in ports.map { (host, $0.key, $0.value) } }
            .sorted { ($0.host, $0.port) < ($1.host, $1.port) }
    }
}

func suggest(_ arguments: ParsedArguments) -> Int32 {
    guard arguments.positionals.count == 1 else { return CLI.usageError("suggest", "name one log") }
    let path = arguments.positionals[0]
    guard let log = AuditLog.read(path, for: "suggest") else { return ExitStatus.failure }
    let origin = arguments.value("--origin").map { Identity(host: $0).description }
    let suggestion = Suggestion(log.records, origin: origin)
    let records = log.records.count
    let connections = suggestion.destinations.values.flatMap(\.values).map(\.count).reduce(0, +)
    var text = """
    # Suggested by `safesock suggest \(path)`: \(records) records, \(connections) connections.
    # Exact names and ports only, as the network manual page's SECURITY
    # section advises; review it before use (`safesock lint`).

    section hosts ports

    """
    let rows = suggestion.rows
    var skipped = 0
    let width = max(4, rows.map { policyWord($0.host)?.count ?? 0 }.max() ?? 0)
    for (host, port, use) in rows {
        guard let word = policyWord(host) else {
            skipped += 1
            Output.err("safesock suggest: \(host) cannot be written as a host pattern; left out")
            continue
        }
        text += "    allow  \(word.padded(width))  \(String(port).padded(5))  # \(describe(use))\n"
    }
    if rows.isEmpty { text += "    # no connections were recorded\n" }
    if !suggestion.options.isEmpty {
        text += "\nsection options\n"
        for (key, option) in suggestion.options.sorted(by: { $0.key < $1.key }) {
            text += "    \(key.padded(10)) \(option.value.padded(6))  # \(describe(option.use))\n"
        }
    }
    Output.out(text)
    return skipped == 0 ? ExitStatus.success : ExitStatus.failure
}

/// How often and by whom, for a comment. Program names are the programs'
/// own choosing (argv[0], comm): every byte outside printable ASCII is
/// written `?`, so no name can end the comment and write a rule.
func describe(_ use: Use) -> String {
    let programs = use.programs.map { String(decoding: $0.utf8.map { $0 >= 0x20 && $0 < 0x7F ? $0 : UInt8(ascii: "?") }, as: UTF8.self) }
    return "\(use.count) time\(use.count == 1 ? "" : "s"), by \(Set(programs).sorted().joined(separator: ", "))"
}

/// A host as a policy word that matches it literally: glob characters
/// escaped; nil when it cannot be written (blanks, braces, quotes, #).
func policyWord(_ host: String) -> String? {
    if host == "$originSocketHost" { return host }
    guard !host.isEmpty, !host.contains(where: { $0.isWhitespace || "{}\"#$".contains($0) || !$0.isASCII }) else { return nil }
    return host.map { "*?[]\\".contains($0) ? "\\\($0)" : String($0) }.joined()
}
