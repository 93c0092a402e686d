// Compose: the policy `run` and `explain` decide with, from a file
// (--policy), shipped profiles (--profile NAME, policies/profiles/), and
// rules on the command line (--allow HOST:PORTS, --deny HOST[:PORTS]),
// merged into one model. Rules add up, and a disallow still wins whatever
// its source; an option set by more than one source must agree.

import FoundationEssentials
import Glibc
import SafesockPolicy

/// Why a rule on the command line was refused.
struct RuleError: Error {
    var message: String
    init(_ message: String) { self.message = message }
}

enum PolicyChoice {
    /// The options every command that takes a policy accepts.
    static let options: [OptionSpec] = [
        .value("--policy", "F", "the policy file (default: the built-in default policy)"),
        .repeated("--profile", "NAME", "add a shipped profile's rules (`safesock profiles`); with no --policy, instead of the default"),
        .repeated("--allow", "HOST:PORTS", "allow HOST on PORTS (several with commas; IPv6 as [::1]:443); with no --policy, instead of the default"),
        .repeated("--deny", "HOST[:PORTS]", "disallow HOST (every port if none is named); wins over every allow"),
        .flag("--allow-private-names", "let name rules reach loopback, private and metadata addresses (privateNames allow)"),
    ]

    /// The rules' file name in decisions and audit records: `command line:N`
    /// is the Nth --allow or --deny.
    static let commandLine = "command line"

    /// Whether the command line composes a policy (a profile or a rule).
    static func composes(_ arguments: ParsedArguments) -> Bool {
        ["--profile", "--allow", "--deny"].contains { !(arguments.values[$0] ?? []).isEmpty }
    }

    /// The policy to decide with: `path` (nil: none named) with the
    /// profiles and rules of `arguments`. Problems are printed; nil when
    /// there is an error, after saying what `command` did not do.
    static func load(_ arguments: ParsedArguments, path: String?, for command: String, otherwise consequence: String) -> Policy? {
        let composed = composes(arguments) ? compose(arguments, path: path, for: command, otherwise: consequence)
                                           : CLI.usablePolicy(path ?? DefaultPolicy.name, for: command, otherwise: consequence)
        guard var policy = composed else { return nil }
        if arguments.has("--allow-private-names") {
            policy.options.privateNames = .allow
            policy.optionsSet["privateNames"] = SourceLocation(file: commandLine, line: 0, column: 1)
        }
        policy.label = label(arguments, path: path)
        return policy
    }

    /// The arguments `safesock explain` takes to decide by the same policy.
    static func label(_ arguments: ParsedArguments, path: String?) -> [String] {
        var words: [String] = []
        if let path { words += composes(arguments) ? ["--policy", path] : [path] }
        for flag in ["--profile", "--deny", "--allow"] {
            for value in arguments.values[flag] ?? [] { words += [flag, value] }
        }
        if words.isEmpty { words = [DefaultPolicy.name] }
        if arguments.has("--allow-private-names") { words.append("--allow-private-names") }
        return words
    }

    static func compose(_ arguments: ParsedArguments, path: String?, for command: String, otherwise consequence: String) -> Policy? {
        let allows = arguments.values["--allow"] ?? [], denies = arguments.values["--deny"] ?? []
        let profiles = arguments.values["--profile"] ?? []
        var sources: [Policy] = []
        var failed = false
        // With neither a file nor a profile nor an --allow, the rules are
        // added to the built-in default; an --allow or a profile replaces it.
        let file = path ?? (allows.isEmpty && profiles.isEmpty ? DefaultPolicy.name : nil)
        if let file {
            guard let policy = CLI.usablePolicy(file, for: command, otherwise: consequence) else { return nil }
            sources.append(policy)
        }
        for name in profiles {
            guard let profile = Profiles.path(name) else {
                Output.err("safesock \(command): no profile '\(name)' (safesock profiles lists them); \(consequence)")
                return nil
            }
            guard let policy = CLI.usablePolicy(profile, for: command, otherwise: consequence) else { return nil }
            sources.append(policy)
        }
        var given = Policy()
        var number = 0
        for (flag, values) in [("--deny", denies), ("--allow", allows)] {
            for text in values {
                number += 1
                switch rules(flag, text, number: number) {
                case .success(let rules): given.rules += rules
                case .failure(let problem):
                    Output.err("safesock \(command): \(flag) \(text): \(problem.message)")
                    failed = true
                }
            }
        }
        if failed {
            Output.err("safesock \(command): the command line has errors; \(consequence)")
            return nil
        }
        given.hasHostsPorts = !given.rules.isEmpty
        return merge(sources + [given], masked: file == nil, for: command, otherwise: consequence)
    }

    /// The rules of one --allow or --deny: one a port pattern. Parsed by the
    /// policy parser itself, so a host or port means on the command line
    /// exactly what it means in a file.
    static func rules(_ flag: String, _ text: String, number: Int) -> Result<[Rule], RuleError> {
        let action = flag == "--allow" ? "allow" : "disallow"
        let host: String, portList: String?
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]") else { return .failure(RuleError("an IPv6 address opened with [ is not closed")) }
            host = String(text[text.index(after: text.startIndex)..<close])
            let after = text[text.index(after: close)...]
            guard after.isEmpty || after.hasPrefix(":") else { return .failure(RuleError("after ] comes :PORTS or nothing")) }
            portList = after.isEmpty ? nil : String(after.dropFirst())
        } else if text.filter({ $0 == ":" }).count == 1, let colon = text.firstIndex(of: ":") {
            host = String(text[..<colon])
            portList = String(text[text.index(after: colon)...])
        } else if text.contains(":") {
            return .failure(RuleError("an IPv6 address goes in brackets: [\(text)]:PORTS"))
        } else {
            host = text
            portList = nil
        }
        guard !host.isEmpty else { return .failure(RuleError("name a host (an address, a CIDR block, a name or a glob)")) }
        let special: Set<Character> = [" ", "\t", "{", "}", "\"", "#", "\\", "\n"]
        guard !host.contains(where: { special.contains($0) }) else { return .failure(RuleError("a host has no blanks, braces, quotes, # or \\")) }
        var ports: [String]
        if let portList {
            ports = portList.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
            guard !ports.contains(where: \.isEmpty) else { return .failure(RuleError("an empty port in '\(portList)'")) }
            guard !ports.contains(where: { $0.contains(where: { special.contains($0) }) }) else {
                return .failure(RuleError("a port has no blanks, braces, quotes, # or \\"))
            }
        } else if flag == "--allow" {
            return .failure(RuleError("name the ports: HOST:PORTS (the network manual page's SECURITY advice: allow only the ports a program needs)"))
        } else {
            ports = ["*"] // a --deny with no port denies the host on every port
        }
        var rules: [Rule] = []
        for port in ports {
            let source = "section hosts ports\n\(action) \(host) \(port)\n"
            let result = PolicyParser.parse(text: source, name: commandLine, loader: MemoryLoader([:]))
            if let problem = result.diagnostics.first(where: { $0.severity == .error }) { return .failure(RuleError(problem.message)) }
            for var rule in result.policy.rules {
                rule.hostLocation = SourceLocation(file: commandLine, line: number, column: 1)
                rule.portLocation = rule.hostLocation
                rules.append(rule)
            }
        }
        return .success(rules)
    }

    /// One policy from several: every rule of each; each option from the
    /// source that set it (two sources that set it differently are an
    /// error). `masked`: no policy file was named, so unless a source sets
    /// them, as in the built-in default, `peername` is `mask` (HTTPS
    /// clients such as CPython's ssl give up when getpeername fails) and
    /// `privateNames` is `deny` (a name given on the command line never
    /// leads to loopback, private or metadata addresses).
    static func merge(_ sources: [Policy], masked: Bool, for command: String, otherwise consequence: String) -> Policy? {
        var merged = Policy()
        if masked {
            merged.options.peername = .mask
            merged.options.privateNames = .deny
        }
        var setBy: [String: (value: String, at: SourceLocation)] = [:]
        for source in sources {
            merged.rules += source.rules
            merged.hasHostsPorts = merged.hasHostsPorts || source.hasHostsPorts
            merged.files += source.files.filter { !merged.files.contains($0) }
            for (key, at) in source.optionsSet.sorted(by: { $0.key < $1.key }) {
                let value = optionValue(key, source.options)
                if let first = setBy[key], first.value != value {
                    Output.err("safesock \(command): option \(key) is \(first.value) at \(first.at.file):\(first.at.line) but \(value) at \(at.file):\(at.line); \(consequence)")
                    return nil
                }
                setBy[key] = (value, at)
                merged.optionsSet[key] = at
                setOption(key, from: source.options, into: &merged.options)
            }
        }
        return merged
    }

    static func optionValue(_ key: String, _ options: Options) -> String {
        switch key {
        case "peername": return options.peername.rawValue
        case "datagrams": return options.datagrams.rawValue
        case "servers": return options.servers.rawValue
        case "resolve": return options.resolve.rawValue
        case "privateNames": return options.privateNames.rawValue
        default: return String(options.maxSockets)
        }
    }

    static func setOption(_ key: String, from source: Options, into options: inout Options) {
        switch key {
        case "peername": options.peername = source.peername
        case "datagrams": options.datagrams = source.datagrams
        case "servers": options.servers = source.servers
        case "resolve": options.resolve = source.resolve
        case "privateNames": options.privateNames = source.privateNames
        default: options.maxSockets = source.maxSockets
        }
    }
}

/// The shipped profiles: PREFIX/share/safesock/profiles beside the CLI
/// (PREFIX/bin/safesock; `make` puts the tree's policies/profiles at
/// build/share/safesock/profiles for build/bin/safesock).
enum Profiles {
    static func directory() -> String? {
        guard let exe = System.executablePath() else { return nil }
        let prefix = System.directory(of: System.directory(of: exe))
        let dir = "\(prefix)/share/safesock/profiles"
        return System.isReadableFile(dir) ? dir : nil
    }

    /// The file of profile `name` (letters, digits, '-', '_'), or nil.
    static func path(_ name: String) -> String? {
        guard !name.isEmpty, name.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_") }),
              let dir = directory() else { return nil }
        let file = "\(dir)/\(name).cfg"
        return System.isReadableFile(file) ? file : nil
    }

    /// Every profile by name, with the first line of its comment.
    static func all() -> [(name: String, summary: String)] {
        guard let dir = directory(), let names = try? FileManager.default.contentsOfDirectory(atPath: dir) else { return [] }
        return names.filter { $0.hasSuffix(".cfg") }.sorted().map { file in
            let name = String(file.dropLast(4))
            let text = (try? String(contentsOfFile: "\(dir)/\(file)", encoding: .utf8)) ?? ""
            let first = text.split(separator: "\n").first.map(String.init) ?? ""
            // "# NAME.cfg -- what it is for": the words after the dashes.
            let parts = first.split(separator: " -- ", maxSplits: 1)
            let summary = parts.count == 2 ? String(parts[1]) : ""
            return (name, summary)
        }
    }
}

let profilesCommand = Command(
    name: "profiles",
    brief: "list the shipped profiles (--profile NAME)",
    summary: """
    List the shipped profiles: policies for common tools (package
    registries, GitHub), used with `run --profile NAME` or
    `explain --profile NAME`. Each file names its source in a comment.
    """,
    usage: "safesock profiles",
    options: [],
    run: { arguments in
        guard arguments.positionals.isEmpty else { return CLI.usageError("profiles", "takes no arguments") }
        let all = Profiles.all()
        guard !all.isEmpty else {
            Output.err("safesock profiles: no profiles beside \(System.executablePath() ?? "safesock") (share/safesock/profiles)")
            return ExitStatus.failure
        }
        let width = all.map(\.name.count).max() ?? 0
        for profile in all { Output.out("\(profile.name.padded(width + 2))\(profile.summary)") }
        return ExitStatus.success
    })
