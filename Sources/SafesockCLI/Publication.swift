// Publication: typed Swift over the C publication protocol
// (Sources/SafesockPublication), and how a table argument is read.

import FoundationEssentials
import Glibc
import Dispatch
import SafesockABI
import SafesockSupervisor
import SafesockTable

enum Publication {
    /// Publishes the table `compile` makes for the next generation; that
    /// generation.
    static func publish(name: String, compile: (UInt64) throws -> [UInt8]) throws -> UInt64 {
        var publisher = safesock_publisher()
        var error = [CChar](repeating: 0, count: 512)
        defer { safesock_publish_close(&publisher) }
        guard safesock_publish_open(name, &publisher, &error, error.count) == 0 else { throw SystemError(description: System.text(error)) }
        let generation = publisher.next_generation
        let table = try compile(generation)
        let rc = table.withUnsafeBytes { safesock_publish_commit(&publisher, $0.baseAddress, $0.count, &error, error.count) }
        guard rc == 0 else { throw SystemError(description: System.text(error)) }
        return generation
    }

    /// The table published under `name` now, copied out, and its generation.
    static func read(name: String) throws -> (bytes: [UInt8], generation: UInt64) {
        do { return try PublishedTable.read(name: name) } catch let error as SupervisorError {
            throw SystemError(description: error.description)
        }
    }
}

/// A table named on the command line: a file (with a '/', or one that
/// exists), else a publication.
enum TableSource {
    case file(String)
    case publication(String)

    init(_ argument: String) {
        if argument.contains("/") || FileManager.default.fileExists(atPath: argument) {
            self = .file(argument)
        } else {
            self = .publication(argument)
        }
    }

    /// The validated table, and a description of where it came from.
    func load() throws -> (table: CompiledTable, origin: String) {
        switch self {
        case .file(let path):
            guard let data = FileManager.default.contents(atPath: path) else {
                throw SystemError(description: "cannot read \(path): \(String(cString: strerror(errno)))")
            }
            return (try CompiledTable(validating: [UInt8](data)), path)
        case .publication(let name):
            let (bytes, generation) = try Publication.read(name: name)
            return (try CompiledTable(validating: bytes), "publication \(name), generation \(generation)")
        }
    }

    /// What SAFESOCK_TABLE says for it: an absolute path, or the name.
    var environmentValue: String {
        switch self {
        case .file(let path): return absolute(path)
        case .publication(let name): return name
        }
    }
}
