// `safesock log FILE...`: what audit logs say, as totals a person reads:
// the verdicts, the denied destinations by count with what decided them
// and the programs that tried, and for a learn-mode log what `suggest`
// would allow. Reads JSON lines and `journalctl -o json` alike, through
// the one reader (AuditRecord).

import FoundationEssentials
import Glibc
import SafesockPolicy

let logCommand = Command(
    name: "log",
    brief: "totals of audit logs: verdicts, what was denied, by whom",
    summary: """
    Summarise audit logs: `run --log FILE` records, or the journal's as
    `journalctl -o json SYSLOG_IDENTIFIER=safesock` prints them (`-` reads
    standard input). A line that is not a record is skipped and named.
    """,
    usage: "safesock log FILE... [--json]",
    options: [.flag("--json", "print the summary as data")],
    run: summariseLogs)

/// A log's records, each line that is none named on standard error.
struct AuditLog {
    var records: [AuditRecord] = []
    var skipped = 0

    /// nil when `path` cannot be read (said, as `safesock COMMAND: ...`).
    static func read(_ path: String, for command: String) -> AuditLog? {
        guard let data = path == "-" ? System.readAll(0).map({ Data($0) }) : FileManager.default.contents(atPath: path) else {
            Output.err("safesock \(command): cannot read \(path): \(String(cString: strerror(errno)))")
            return nil
        }
        var log = AuditLog()
        for (number, line) in String(decoding: data, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false).enumerated()
        where !line.isEmpty {
            do {
                log.records.append(try AuditRecord.decode(line))
            } catch {
                log.skipped += 1
                Output.err("\(path):\(number + 1): warning: \(error); skipped")
            }
        }
        return log
    }
}

/// The summary, as `--json` prints it.
struct LogSummary: Encodable {
    struct Denied: Encodable {
        var op: String
        var host: String
        var port: Int?
        var count: Int
        /// The deciding rules, or the reason when no rule decided.
        var decidedBy: String
        var programs: [String]
    }
    struct Suggested: Encodable {
        var rule: String
        var count: Int
    }
    var files: [String]
    var records: Int
    var skipped: Int
    var verdicts: [String: Int]
    var learn: Int
    var denied: [Denied]
    /// Learn-mode records only: what `safesock suggest` would write.
    var suggest: [Suggested]?
}

func summariseLogs(_ arguments: ParsedArguments) -> Int32 {
    guard !arguments.positionals.isEmpty else { return CLI.usageError("log", "name a log (or - for standard input)") }
    var records: [AuditRecord] = []
    var skipped = 0
    for path in arguments.positionals {
        guard let log = AuditLog.read(path, for: "log") else { return ExitStatus.failure }
        records += log.records
        skipped += log.skipped
    }
    let summary = summarise(records, files: arguments.positionals, skipped: skipped)
    if arguments.has("--json") {
        Output.json(summary)
    } else {
        Output.out(summaryText(summary))
    }
    return ExitStatus.success
}

func summarise(_ records: [AuditRecord], files: [String], skipped: Int) -> LogSummary {
    struct Key: Hashable { var op: String; var host: String; var port: Int?; var decidedBy: String }
    var denied: [Key: (count: Int, programs: Set<String>)] = [:]
    var verdicts: [String: Int] = [:]
    for record in records {
        verdicts[record.verdict, default: 0] += 1
        guard record.verdict == "deny" else { continue }
        let decidedBy = record.rules.isEmpty ? (record.reason ?? "?") : record.rules.joined(separator: ", ")
        let key = Key(op: record.op, host: record.host, port: record.port, decidedBy: decidedBy)
        denied[key, default: (0, [])].count += 1
        denied[key]!.programs.insert(record.program.isEmpty ? "?" : record.program)
    }
    let rows = denied.map { LogSummary.Denied(op: $0.key.op, host: $0.key.host, port: $0.key.port, count: $0.value.count, decidedBy: $0.key.decidedBy,
                                              programs: $0.value.programs.sorted()) }
        .sorted { ($1.count, $0.host, $0.port ?? -1, $0.op, $0.decidedBy) < ($0.count, $1.host, $1.port ?? -1, $1.op, $1.decidedBy) }
    let learned = records.filter { $0.mode == "learn" }
    var suggested: [LogSummary.Suggested]?
    if !learned.isEmpty {
        let suggestion = Suggestion(learned, origin: nil)
        suggested = suggestion.rows.map { .init(rule: "allow \(policyWord($0.host) ?? printable($0.host)) \($0.port)", count: $0.use.count) }
            + suggestion.options.sorted { $0.key < $1.key }.map { .init(rule: "\($0.key) \($0.value.value)", count: $0.value.use.count) }
    }
    return LogSummary(files: files, records: records.count, skipped: skipped, verdicts: verdicts, learn: learned.count,
                      denied: rows, suggest: suggested)
}

/// The summary for a person. Every name a program chose is printable.
func summaryText(_ summary: LogSummary) -> String {
    let verdicts = summary.verdicts.sorted { $0.key < $1.key }.map { "\($0.value) \($0.key)" }.joined(separator: ", ")
    var text = "\(summary.records) record\(summary.records == 1 ? "" : "s") in \(summary.files.joined(separator: ", "))"
    text += summary.skipped > 0 ? " (\(summary.skipped) line\(summary.skipped == 1 ? "" : "s") skipped)\n" : "\n"
    text += "verdicts: \(verdicts.isEmpty ? "none" : verdicts)"
    text += summary.learn > 0 ? "; \(summary.learn) in learn mode (nothing refused)\n" : "\n"
    if !summary.denied.isEmpty {
        let table = [["count", "call", "destination", "decided by", "programs"]] + summary.denied.map {
            [String($0.count), $0.op, printable($0.host.isEmpty ? "-" : $0.host) + ($0.port.map { " \($0)" } ?? ""),
             $0.decidedBy == "default" ? "no rule (default)" : printable($0.decidedBy), $0.programs.map(printable).joined(separator: ", ")]
        }
        let widths = (0..<4).map { column in table.map { $0[column].count }.max() ?? 0 }
        text += "denied, most first:\n"
        for row in table {
            text += "  " + String(repeating: " ", count: widths[0] - row[0].count) + row[0]
            text += (1..<4).map { "  " + row[$0].padded(widths[$0]) }.joined() + "  " + row[4] + "\n"
        }
    }
    if let suggested = summary.suggest {
        text += suggested.isEmpty ? "learn mode: `safesock suggest` would allow nothing\n"
                                  : "learn mode: `safesock suggest` would write:\n"
        for rule in suggested {
            text += "    \(rule.rule)  (\(rule.count) time\(rule.count == 1 ? "" : "s"))\n"
        }
    }
    return text
}

/// A program's text made safe for a terminal: a control byte, or a code
/// point past ASCII, written as an escape.
func printable(_ text: String) -> String {
    var out = ""
    for scalar in text.unicodeScalars {
        if scalar.value >= 0x20 && scalar.value < 0x7f {
            out.unicodeScalars.append(scalar)
        } else {
            out += scalar.value <= 0xff ? "\\x" + hexDigits(UInt64(scalar.value), width: 2) : "\\u{\(String(scalar.value, radix: 16))}"
        }
    }
    return out
}
