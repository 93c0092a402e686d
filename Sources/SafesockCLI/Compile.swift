// `safesock compile POLICY -o FILE` and `safesock show TABLE`.

import FoundationEssentials
import Glibc
import Dispatch
import SafesockMatch
import SafesockPolicy
import SafesockTable

let compileCommand = Command(
    name: "compile",
    brief: "compile a policy into a table file",
    summary: """
    Compile a policy into the flat table the preload library maps
    (docs/table-format.md). A policy with any error is never compiled.
    """,
    usage: "safesock compile POLICY -o FILE [--generation N]",
    options: [.value("-o", "FILE", "where to write the table (replaced atomically)"),
              .value("--generation", "N", "the table's generation number (default 1)")],
    run: compile)

let showCommand = Command(
    name: "show",
    brief: "print a compiled or published table as policy text",
    summary: """
    Print a compiled table (a file, or the table published as NAME) back as
    policy text: its header, options, and every rule with the file:line it
    came from. A port pattern prints as the ranges it compiled to, one rule
    line per range.
    """,
    usage: "safesock show TABLE|NAME [--json]",
    options: [.flag("--json", "print the table as JSON")],
    run: show)

func compile(_ arguments: ParsedArguments) -> Int32 {
    guard arguments.positionals.count == 1 else { return CLI.usageError("compile", "name one policy") }
    guard let output = arguments.value("-o"), !output.isEmpty else { return CLI.usageError("compile", "-o FILE is required") }
    var generation: UInt64 = 1
    if let text = arguments.value("--generation") {
        guard let g = UInt64(text) else { return CLI.usageError("compile", "--generation takes a whole number") }
        generation = g
    }
    let path = arguments.positionals[0]
    guard let policy = CLI.usablePolicy(path, for: "compile", otherwise: "nothing written") else { return ExitStatus.failure }
    do {
        let table = try TableCompiler.compile(policy, generation: generation)
        try System.writeAtomically(table, to: output)
        Output.out("\(output): \(table.count) bytes, \(policy.rules.count) rules, generation \(generation)")
        return ExitStatus.success
    } catch {
        Output.err("safesock compile: \(error)")
        return ExitStatus.failure
    }
}

struct ShowJSON: Encodable {
    struct RuleJSON: Encodable {
        var index: Int
        var action: String
        var host: String
        var ports: [[UInt16]]
        var rule: RuleRef
    }

    var format: UInt32
    var generation: UInt64
    var length: Int
    var checksum: String
    var options: [String: String]
    var hostsPorts: Bool
    var rules: [RuleJSON]
}

func show(_ arguments: ParsedArguments) -> Int32 {
    guard arguments.positionals.count == 1 else { return CLI.usageError("show", "name one table") }
    let path = arguments.positionals[0]
    let table: CompiledTable
    let source: String
    do {
        (table, source) = try TableSource(path).load()
    } catch {
        Output.err("safesock show: \(path) refused: \(error)")
        return ExitStatus.failure
    }
    let header = table.header
    let checksum = table.bytes[TableLayout.checksumOffset..<(TableLayout.checksumOffset + 8)].reversed().map { hexDigits($0, width: 2) }.joined()
    let o = table.options
    let hostsPorts = header.flags & TableLayout.flagHasHostsPorts != 0
    if arguments.has("--json") {
        Output.json(ShowJSON(
            format: TableLayout.version, generation: header.generation, length: table.bytes.count, checksum: "0x\(checksum)",
            options: ["peername": o.peername.rawValue, "datagrams": o.datagrams.rawValue, "servers": o.servers.rawValue,
                      "resolve": o.resolve.rawValue, "maxSockets": String(o.maxSockets), "privateNames": o.privateNames.rawValue],
            hostsPorts: hostsPorts,
            rules: table.rules.map {
                ShowJSON.RuleJSON(index: $0.index, action: $0.action.rawValue, host: $0.host,
                                  ports: $0.ports.map { [$0.lowerBound, $0.upperBound] }, rule: $0.ref)
            }))
        return ExitStatus.success
    }
    let rules = table.rules
    let files = Set(rules.map(\.ref.file)).sorted()
    var text = """
    # safesock table \(source)
    # format \(TableLayout.version), generation \(header.generation), \(table.bytes.count) bytes, checksum 0x\(checksum)
    # \(rules.count) rules\(files.isEmpty ? "" : " from " + files.joined(separator: ", "))

    section options
        peername   \(o.peername.rawValue)
        datagrams  \(o.datagrams.rawValue)
        servers    \(o.servers.rawValue)
        resolve    \(o.resolve.rawValue)
        maxSockets \(o.maxSockets)
        privateNames \(o.privateNames.rawValue)

    """
    if hostsPorts {
        text += "\nsection hosts ports\n"
        let width = max(4, rules.map { ruleWord($0.host).count }.max() ?? 0)
        for rule in rules {
            let ports = rule.ports.isEmpty ? ["<0"] : rule.ports.map { $0.count == 1 ? "\($0.lowerBound)" : "\($0.lowerBound)-\($0.upperBound)" }
            for port in ports {
                let action = rule.action.rawValue.padded(9)
                let host = ruleWord(rule.host).padded(width)
                text += "    \(action) \(host)  \(port.padded(11)) # \(rule.ref)\n"
            }
        }
    } else {
        text += "\n# no hosts ports section: every connection is denied\n"
    }
    Output.out(text)
    return ExitStatus.success
}
