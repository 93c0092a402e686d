// SourceLoader: where policy text comes from. The file system for the CLI;
// memory for tests that parse a hundred thousand policies.

public struct SourceReadError: Error, Sendable {
    public var message: String
    public init(_ message: String) { self.message = message }
}

public protocol SourceLoader: Sendable {
    func read(_ path: String) -> Result<[UInt8], SourceReadError>
    /// One string per file however it was reached, to detect include cycles.
    func identity(of path: String) -> String
}

public struct FileLoader: SourceLoader {
    public init() {}

    public func read(_ path: String) -> Result<[UInt8], SourceReadError> {
        LibC.readFile(path).mapError { SourceReadError($0.message) }
    }

    public func identity(of path: String) -> String {
        LibC.realPath(path) ?? path
    }
}

public struct MemoryLoader: SourceLoader {
    /// File contents by path, as bytes: tests feed text that is not UTF-8.
    public var files: [String: [UInt8]]

    public init(_ files: [String: String]) { self.files = files.mapValues { Array($0.utf8) } }

    public init(bytes files: [String: [UInt8]]) { self.files = files }

    public func read(_ path: String) -> Result<[UInt8], SourceReadError> {
        guard let bytes = files[path] else { return .failure(SourceReadError("No such file or directory")) }
        return .success(bytes)
    }

    public func identity(of path: String) -> String { path }
}
