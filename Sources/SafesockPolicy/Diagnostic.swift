// Diagnostic: one problem found in policy text, printed as
// `FILE:LINE:COLUMN: error: message` (columns are 1-based bytes, as gcc's).

public struct SourceLocation: Hashable, Sendable, Comparable, CustomStringConvertible {
    public var file: String
    public var line: Int
    public var column: Int

    public init(file: String, line: Int, column: Int) {
        self.file = file
        self.line = line
        self.column = column
    }

    public var description: String { "\(file):\(line):\(column)" }

    public static func < (a: Self, b: Self) -> Bool {
        (a.file, a.line, a.column) < (b.file, b.line, b.column)
    }
}

public struct Diagnostic: Hashable, Sendable, CustomStringConvertible {
    public enum Severity: String, Sendable {
        case error, warning, note
    }

    public var severity: Severity
    public var location: SourceLocation
    public var message: String

    public init(_ severity: Severity, _ location: SourceLocation, _ message: String) {
        self.severity = severity
        self.location = location
        self.message = message
    }

    public var description: String { "\(location): \(severity.rawValue): \(message)" }
}

/// Bounds that keep a hostile policy from costing unbounded time or memory.
public enum PolicyLimits {
    public static let maxFileBytes = 64 << 20
    public static let maxIncludeDepth = 16
    /// A DNS name is at most 253 bytes; a glob may be longer by its escapes.
    public static let maxHostPatternBytes = 1024
    /// More sockets than any fd table holds is a typo, not a limit.
    public static let maxSockets: UInt32 = 1 << 20
}
