// Child: one program run for the bench, with its own environment and its
// standard output captured.

import Foundation

struct ChildResult {
    var status: Int32
    var stdout: String
}

struct BenchFailure: Error, CustomStringConvertible {
    var description: String
}

enum Child {
    /// Runs `argv` with `environment` (the whole environment), standard
    /// error to /dev/null unless `stderrPath` names a file.
    static func run(_ argv: [String], environment: [String: String], stderrPath: String = "/dev/null") throws -> ChildResult {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        var ends: [Int32] = [-1, -1]
        guard pipe(&ends) == 0 else { throw BenchFailure(description: "pipe failed") }
        posix_spawn_file_actions_adddup2(&actions, ends[1], 1)
        posix_spawn_file_actions_addclose(&actions, ends[0])
        posix_spawn_file_actions_addopen(&actions, 2, stderrPath, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        let cArgs: [UnsafeMutablePointer<CChar>?] = argv.map { strdup($0) } + [nil]
        let cEnv: [UnsafeMutablePointer<CChar>?] = environment.sorted { $0.key < $1.key }.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { (cArgs + cEnv).forEach { free($0) } }
        var pid = pid_t()
        let rc = posix_spawnp(&pid, argv[0], &actions, nil, cArgs, cEnv)
        close(ends[1])
        guard rc == 0 else {
            close(ends[0])
            throw BenchFailure(description: "cannot start \(argv[0]): \(String(cString: strerror(rc)))")
        }
        var output = [UInt8]()
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = buffer.withUnsafeMutableBytes { read(ends[0], $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { break }
            output += buffer[0..<n]
        }
        close(ends[0])
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        let exit = (status & 0x7f) == 0 ? (status >> 8) & 0xff : -1
        return ChildResult(status: exit, stdout: String(decoding: output, as: UTF8.self))
    }

    /// The number a netbench run printed last (ns per operation, or a time).
    static func number(_ argv: [String], environment: [String: String]) throws -> Double {
        let r = try run(argv, environment: environment)
        guard r.status == 0, let last = r.stdout.split(separator: "\n").last, let value = Double(last) else {
            throw BenchFailure(description: "\(argv.joined(separator: " ")) failed (exit \(r.status)): \(r.stdout)")
        }
        return value
    }
}

/// Median and spread of repeated measurements.
struct Sample: Encodable {
    var median: Double
    var min: Double
    var max: Double
    var runs: Int

    init(_ values: [Double]) {
        let sorted = values.sorted()
        median = sorted.isEmpty ? .nan : sorted.count % 2 == 1 ? sorted[sorted.count / 2]
            : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
        min = sorted.first ?? .nan
        max = sorted.last ?? .nan
        runs = sorted.count
    }
}
