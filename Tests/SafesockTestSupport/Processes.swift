// Processes: how every test runs a program, and the places tests find
// what `make` built and the repository's fixtures.

import Foundation

/// A finished program: its exit status and what it wrote.
public struct Run: CustomStringConvertible, Sendable {
    public var status: Int32
    public var stdout: String
    public var stderr: String

    public init(status: Int32, stdout: String, stderr: String) {
        self.status = status
        self.stdout = stdout
        self.stderr = stderr
    }

    public var description: String { "status \(status)\nstdout: \(stdout)\nstderr: \(stderr)" }
}

public let environment = ProcessInfo.processInfo.environment

/// The repository: `make test` says where; a plain `swift test` finds it
/// from this file.
public let packageRoot = environment["SAFESOCK_ROOT"]
    ?? URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path

/// What `make` built, which the tests run as a user would.
public let safesockBinary = environment["SAFESOCK_BIN"] ?? "\(packageRoot)/build/bin/safesock"
public let libraryPath = environment["SAFESOCK_LIB"] ?? "\(packageRoot)/build/lib/libsafesock.so"
public let testBin = environment["SAFESOCK_TESTBIN"] ?? "\(packageRoot)/build/test"

/// A file of the repository as text, for tests that use the shipped
/// policies (`policies/example.cfg`) rather than a copy of them.
public func fixture(_ path: String) -> String {
    (try? String(contentsOfFile: "\(packageRoot)/\(path)", encoding: .utf8)) ?? "# missing fixture \(path)\n"
}

/// A format-1 table of `allow * *`, compiled by the last safesock that
/// wrote format 1 (Tests/SafesockTableTests/Golden/format1-allow-all.hex):
/// read as a table of today's format it would allow everything.
public var formatOneAllowAll: [UInt8] {
    let hex = fixture("Tests/SafesockTableTests/Golden/format1-allow-all.hex").filter(\.isHexDigit)
    var bytes: [UInt8] = []
    var i = hex.startIndex
    while let j = hex.index(i, offsetBy: 2, limitedBy: hex.endIndex), i != hex.endIndex {
        bytes.append(UInt8(hex[i..<j], radix: 16)!)
        i = j
    }
    return bytes
}

/// The manual page's example policy, as the repository ships it.
public let pageExample = fixture("policies/example.cfg")

/// The 1-based line of `text` that contains `fragment` first (0: none), so a
/// test names a rule of a fixture by what it says, not by where it is.
public func lineNumber(of fragment: String, in text: String) -> Int {
    (text.split(separator: "\n", omittingEmptySubsequences: false).firstIndex { $0.contains(fragment) } ?? -1) + 1
}

/// Runs a program to completion (at most 60 s: a hang fails instead of
/// stalling CI), with `env` added to ours. Our own SAFESOCK_ settings and
/// LD_PRELOAD are not passed on: each test says what the program runs under.
public func run(_ path: String, _ arguments: [String], env: [String: String] = [:], input: String? = nil,
                directory: String? = nil) throws -> Run {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: path)
    process.arguments = arguments
    if let directory { process.currentDirectoryURL = URL(fileURLWithPath: directory) }
    var merged = environment.filter { !$0.key.hasPrefix("SAFESOCK_") && $0.key != "LD_PRELOAD" }
    merged.merge(env) { $1 }
    process.environment = merged
    let out = Pipe(), err = Pipe(), stdin = Pipe()
    process.standardOutput = out
    process.standardError = err
    process.standardInput = stdin
    try process.run()
    if let input { stdin.fileHandleForWriting.write(Data(input.utf8)) }
    try stdin.fileHandleForWriting.close()
    // SIGKILL: a child may have inherited blocked signals (Dispatch threads block them).
    let watchdog = DispatchWorkItem { kill(process.processIdentifier, SIGKILL) }
    DispatchQueue.global().asyncAfter(deadline: .now() + 60, execute: watchdog)
    // Standard error is read beside standard output: read one after the
    // other, a program that fills the stderr pipe (64 KiB of denial lines)
    // blocks for ever and stdout never ends.
    let errors = ErrorSink(err.fileHandleForReading)
    let o = out.fileHandleForReading.readDataToEndOfFile(), e = errors.wait()
    process.waitUntilExit()
    watchdog.cancel()
    // Closed here, not left to the pipes' release: Foundation's Process
    // keeps them, and a run of the suite held some 1,400 descriptors, past
    // which Process.run's own scan of /proc/self/fd reads beyond its buffer
    // and crashes the test process (swift-corelibs-foundation #5472).
    try? out.fileHandleForReading.close()
    try? err.fileHandleForReading.close()
    return Run(status: process.terminationStatus, stdout: String(decoding: o, as: UTF8.self), stderr: String(decoding: e, as: UTF8.self))
}

/// Reads a pipe to its end on a thread of its own.
final class ErrorSink: @unchecked Sendable {
    private var data = Data()
    private let done = DispatchSemaphore(value: 0)

    init(_ handle: FileHandle) {
        Thread { [self] in
            data = handle.readDataToEndOfFile()
            done.signal()
        }.start()
    }

    func wait() -> Data {
        done.wait()
        return data
    }
}

/// A scratch directory, removed by the caller.
public func scratchDirectory() throws -> String {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("safesock-test-\(getpid())-\(UInt32.random(in: 0...UInt32.max))").path
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    return dir
}
