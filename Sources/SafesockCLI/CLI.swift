// CLI: the `safesock` commands (docs/cli.md). Exit status: 0 success or
// allowed, 1 a policy error or a denial, 2 bad usage.

import FoundationEssentials
import Glibc
import Dispatch
import SafesockPolicy

public enum ExitStatus {
    public static let success: Int32 = 0
    public static let failure: Int32 = 1
    public static let usage: Int32 = 2
}

/// One subcommand: its help text and what it does.
struct Command: Sendable {
    var name: String
    /// One line for `safesock --help`.
    var brief: String = ""
    /// What `COMMAND --help` says after the usage; the options follow it,
    /// printed from `options`.
    var summary: String
    var usage: String
    var options: [OptionSpec]
    /// `run`: the first word that is not an option, and all after it, are
    /// the command to run (its own options included).
    var takesCommand = false
    var run: @Sendable (ParsedArguments) -> Int32
}

public enum CLI {
    public static let version = "0.1.0"

    static let commands: [Command] = [
        checkCommand, lintCommand, explainCommand, compileCommand, showCommand, runCommand, reloadCommand, suggestCommand, logCommand,
        verifyCommand, doctorCommand, profilesCommand, verifyInsideCommand, probeCommand,
    ]

    public static func run(_ arguments: [String]) -> Int32 {
        guard let first = arguments.first else {
            Output.err(mainHelp)
            return ExitStatus.usage
        }
        switch first {
        case "--help", "-h", "help":
            if arguments.count > 1, let command = commands.first(where: { $0.name == arguments[1] }) {
                Output.out(help(command))
            } else {
                Output.out(mainHelp)
            }
            return ExitStatus.success
        case "--version":
            Output.out("safesock \(version)")
            return ExitStatus.success
        default:
            break
        }
        guard let command = commands.first(where: { $0.name == first }) else {
            Output.err("safesock: unknown command '\(first)'; 'safesock --help' lists them")
            return ExitStatus.usage
        }
        let rest = Array(arguments.dropFirst())
        do {
            let parsed = try parseArguments(rest, options: command.options + [.flag("--help"), .flag("-h")],
                                            commandFollows: command.takesCommand)
            // Only safesock's own: a --help after `--`, or in the command
            // `run` runs, is that command's.
            if parsed.has("--help") || parsed.has("-h") {
                Output.out(help(command))
                return ExitStatus.success
            }
            return command.run(parsed)
        } catch {
            Output.err("safesock \(command.name): \(error)\nusage: \(command.usage)")
            return ExitStatus.usage
        }
    }

    static var mainHelp: String {
        var text = """
        safesock \(version): run programs under a Safe-Tcl network policy

        usage: safesock COMMAND [ARGS...]    (safesock COMMAND --help for more)

        commands:

        """
        for c in commands where !c.name.hasPrefix("__") { text += "  \(c.name.padded(10))\(c.brief)\n" }
        text += """

        A policy is a Tcl plugin .cfg file, or \(DefaultPolicy.name) for the built-in one.
        Exit status: 0 success or allowed, 1 policy error or denied, 2 bad usage.
        """
        return text
    }

    static func help(_ command: Command) -> String {
        var text = "usage: \(command.usage)\n\n\(command.summary)\n"
        if !command.options.isEmpty {
            text += "\noptions:\n"
            let left = command.options.map { $0.argument.isEmpty ? $0.name : "\($0.name) \($0.argument)" }
            let width = min(24, (left.map(\.count).max() ?? 0) + 2)
            let indent = String(repeating: " ", count: 2 + width)
            for (option, name) in zip(command.options, left) {
                let lines = wrapped(option.help, width: 78 - 2 - width)
                text += name.count + 2 > width ? "  \(name)\n" : "  \(name.padded(width))\(lines.first ?? "")\n"
                for line in lines.dropFirst(name.count + 2 > width ? 0 : 1) { text += indent + line + "\n" }
            }
        }
        return text
    }

    /// `text` in lines of at most `width` characters, broken at blanks (a
    /// longer word stands alone on its line).
    static func wrapped(_ text: String, width: Int) -> [String] {
        var lines: [String] = [], line = ""
        for word in text.split(separator: " ") {
            if !line.isEmpty && line.count + 1 + word.count > width {
                lines.append(line)
                line = ""
            }
            line += line.isEmpty ? String(word) : " " + word
        }
        if !line.isEmpty { lines.append(line) }
        return lines
    }

    /// Every command's name and the options its parser accepts (a test
    /// holds `--help` to them).
    public static var optionsByCommand: [String: [String]] {
        Dictionary(uniqueKeysWithValues: commands.filter { !$0.name.hasPrefix("__") }.map { ($0.name, $0.options.map(\.name)) })
    }

    static func usageError(_ command: String, _ message: String) -> Int32 {
        let usage = commands.first { $0.name == command }?.usage ?? command
        Output.err("safesock \(command): \(message)\nusage: \(usage)")
        return ExitStatus.usage
    }

    /// A policy a command may use: its warnings and errors printed; nil,
    /// after saying what `command` did not do (`consequence`), when it has
    /// errors. A policy with an error is never compiled or enforced.
    static func usablePolicy(_ path: String, for command: String, otherwise consequence: String) -> Policy? {
        let result = loadPolicy(path)
        for d in result.diagnostics where d.severity != .note { Output.err(d.description) }
        guard !result.hasErrors else {
            Output.err("safesock \(command): \(path) has errors; \(consequence)")
            return nil
        }
        var policy = result.policy
        policy.label = [path] // `safesock explain PATH HOST PORT`
        return policy
    }

    /// Parses a policy named on the command line, file or built-in.
    static func loadPolicy(_ path: String) -> ParseResult {
        if path == DefaultPolicy.name {
            return PolicyParser.parse(path: path, loader: MemoryLoader([path: DefaultPolicy.text]))
        }
        return PolicyParser.parse(path: path)
    }
}

enum Output {
    static func out(_ text: String) { System.writeAll(1, Array((text.hasSuffix("\n") ? text : text + "\n").utf8)) }

    static func err(_ text: String) { System.writeAll(2, Array((text.hasSuffix("\n") ? text : text + "\n").utf8)) }

    /// Sorted keys, so that output is stable for scripts and tests.
    static func json<T: Encodable>(_ value: T) {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let data = (try? encoder.encode(value)) ?? Data("null".utf8)
        out(String(decoding: data, as: UTF8.self))
    }
}

/// A diagnostic as `--json` prints it.
struct DiagnosticJSON: Encodable {
    var file: String
    var line: Int
    var column: Int
    var severity: String
    var message: String

    init(_ d: Diagnostic) {
        file = d.location.file
        line = d.location.line
        column = d.location.column
        severity = d.severity.rawValue
        message = d.message
    }
}

extension String {
    /// Padded with spaces to `width` characters for a column; a longer
    /// string is kept whole (the next column moves, nothing is cut).
    func padded(_ width: Int) -> String {
        count >= width ? self : self + String(repeating: " ", count: width - count)
    }
}

/// `value` in lower-case hexadecimal, zero-padded to `width` digits.
func hexDigits<T: BinaryInteger>(_ value: T, width: Int) -> String {
    let digits = String(value, radix: 16)
    return String(repeating: "0", count: max(0, width - digits.count)) + digits
}
