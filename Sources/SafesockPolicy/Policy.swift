// Policy: the model a policy text parses into (docs/policy-language.md).
// Parser.swift builds it; Decision.swift decides with it; the table compiler
// reads it.

/// Where a rule stands, printed `FILE:LINE` in decisions and audit records.
public struct RuleRef: Hashable, Sendable, Comparable, CustomStringConvertible, Codable {
    public var file: String
    public var line: Int

    public init(file: String, line: Int) {
        self.file = file
        self.line = line
    }

    public var description: String { "\(file):\(line)" }

    public static func < (a: Self, b: Self) -> Bool { (a.file, a.line) < (b.file, b.line) }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(description)
    }

    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let colon = text.lastIndex(of: ":"), let line = Int(text[text.index(after: colon)...]) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "not FILE:LINE"))
        }
        self.init(file: String(text[..<colon]), line: line)
    }
}

public struct Rule: Hashable, Sendable {
    public enum Action: String, Sendable { case allow, disallow }

    public var action: Action
    public var host: HostPattern
    public var port: PortPattern
    /// The words as written, for `show`, `explain` and lint messages.
    public var hostText: String
    public var portText: String
    public var hostLocation: SourceLocation
    public var portLocation: SourceLocation

    public var ref: RuleRef { RuleRef(file: hostLocation.file, line: hostLocation.line) }
}

/// The `options` section (beyond the plugin); its defaults are in
/// docs/policy-language.md, "`options` (beyond the plugin)".
public struct Options: Hashable, Sendable {
    public enum Peername: String, Sendable, CaseIterable { case deny, mask, allow }
    public enum Permission: String, Sendable, CaseIterable { case deny, allow }
    public enum Resolve: String, Sendable, CaseIterable { case strict, open }

    public var peername: Peername = .deny
    public var datagrams: Permission = .deny
    public var servers: Permission = .deny
    public var resolve: Resolve = .strict
    /// 0: no limit.
    public var maxSockets: UInt32 = 0
    /// `deny`: a name rule never leads to a special address (loopback,
    /// private, link-local, cloud metadata, CGNAT, ...; SpecialAddress).
    /// A file that does not set it keeps the plugin's meaning, `allow`.
    public var privateNames: Permission = .allow

    public init() {}
}

public struct Policy: Hashable, Sendable {
    /// Every `allow` and `disallow` of every `hosts ports` section, in file order.
    public var rules: [Rule] = []
    public var options = Options()
    /// False: no `hosts ports` section at all, which denies everything.
    public var hasHostsPorts = false
    /// Every file read, the top one first.
    public var files: [String] = []
    /// Where each option was set, by key; a key set nowhere has its default
    /// (policies composed on the command line merge by this).
    public var optionsSet: [String: SourceLocation] = [:]
    /// How `safesock explain` names this policy, as its arguments
    /// (`ci.cfg`; `--profile pypi --allow api.example.com:443`); the
    /// compiler keeps them in the table, for denial lines and audit
    /// records to say how to see why. Empty: unknown.
    public var label: [String] = []

    public init() {}
}
