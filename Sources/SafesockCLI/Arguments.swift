// Arguments: the one argument parser of the CLI (no external packages).
// `--name value` and `--name=value`; flags; `--` ends options and keeps
// the rest verbatim (for `run -- CMD...`); `-`, `-1` and `""` are positionals.
// Tests: Tests/SafesockCLITests/ArgumentsTests.swift.

/// One option a command accepts: what the parser reads and what `--help`
/// prints, from the same entry, so the two cannot drift.
public struct OptionSpec: Sendable {
    public enum Kind: Sendable { case flag, value, repeatedValue }

    public var name: String
    public var kind: Kind
    /// The value's placeholder in help (`F`, `HOST:PORTS`); none for a flag.
    public var argument: String = ""
    public var help: String = ""

    public static func flag(_ name: String, _ help: String = "") -> OptionSpec {
        OptionSpec(name: name, kind: .flag, help: help)
    }
    public static func value(_ name: String, _ argument: String = "VALUE", _ help: String = "") -> OptionSpec {
        OptionSpec(name: name, kind: .value, argument: argument, help: help)
    }
    public static func repeated(_ name: String, _ argument: String = "VALUE", _ help: String = "") -> OptionSpec {
        OptionSpec(name: name, kind: .repeatedValue, argument: argument, help: help + " (repeatable)")
    }
}

public struct ParsedArguments: Equatable, Sendable {
    public var positionals: [String] = []
    public var values: [String: [String]] = [:]
    public var flags: Set<String> = []
    /// Everything after `--`, or nil when there was no `--`.
    public var rest: [String]? = nil

    public func value(_ name: String) -> String? { values[name]?.last }
    public func has(_ flag: String) -> Bool { flags.contains(flag) }
}

public enum ArgumentError: Error, Equatable, CustomStringConvertible {
    case unknownOption(String)
    case missingValue(String)
    case repeated(String)
    case unexpectedValue(String)

    public var description: String {
        switch self {
        case .unknownOption(let o): return "unknown option \(o)"
        case .missingValue(let o): return "option \(o) needs a value"
        case .repeated(let o): return "option \(o) given twice"
        case .unexpectedValue(let o): return "option \(o) takes no value"
        }
    }
}

/// `commandFollows`: the first positional ends the options, and it and
/// everything after it are `rest`, as after `--` (`run CMD ARGS...`).
public func parseArguments(_ arguments: [String], options: [OptionSpec], commandFollows: Bool = false) throws(ArgumentError) -> ParsedArguments {
    var result = ParsedArguments()
    var i = 0
    while i < arguments.count {
        let argument = arguments[i]
        i += 1
        if argument == "--" {
            result.rest = Array(arguments[i...])
            return result
        }
        // `-` and negative numbers (`-1`) are values, not options.
        guard argument.hasPrefix("-"), argument != "-", !(argument.dropFirst().first?.isNumber ?? false) else {
            if commandFollows {
                result.rest = Array(arguments[(i - 1)...])
                return result
            }
            result.positionals.append(argument)
            continue
        }
        var name = argument
        var inline: String? = nil
        if let eq = argument.firstIndex(of: "=") {
            name = String(argument[..<eq])
            inline = String(argument[argument.index(after: eq)...])
        }
        guard let spec = options.first(where: { $0.name == name }) else {
            throw .unknownOption(name)
        }
        switch spec.kind {
        case .flag:
            if inline != nil { throw .unexpectedValue(name) }
            result.flags.insert(name)
        case .value, .repeatedValue:
            let value: String
            if let inline {
                value = inline
            } else {
                guard i < arguments.count else { throw .missingValue(name) }
                value = arguments[i]
                i += 1
            }
            if spec.kind == .value && result.values[name] != nil { throw .repeated(name) }
            result.values[name, default: []].append(value)
        }
    }
    return result
}
