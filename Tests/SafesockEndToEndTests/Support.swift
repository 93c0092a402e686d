// Support: real listeners on loopback, real processes under the library
// (the process runner and the paths are SafesockTestSupport's).

import Foundation
import SafesockPolicy
import SafesockTable
@_exported import SafesockTestSupport
import Testing

/// A server that answers every connection as an HTTP/1.0 server would (so
/// curl and urllib read a page, and Tcl or a socket reads its first line),
/// on its own thread, until stopped. Counts the connections it accepted.
final class GreetingServer: @unchecked Sendable {
    static let greeting = "HTTP/1.0 200 OK\r\nContent-Length: 6\r\nConnection: close\r\n\r\nhello\n"
    let listener: Listener
    private let lock = NSLock()
    private var stopping = false
    private var count = 0
    private let done = DispatchSemaphore(value: 0)

    init(_ address: String, port: UInt16 = 0) throws {
        listener = try Listener(address, port: port)
        let thread = Thread { [self] in serve() }
        thread.start()
    }

    var port: UInt16 { listener.port }
    var accepted: Int { lock.withLock { count } }

    /// Whether at least `n` connections were accepted within `seconds`.
    func waitForAccepted(_ n: Int, seconds: Double) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while accepted < n && Date() < deadline { usleep(10_000) }
        return accepted >= n
    }

    private func serve() {
        // Bounded: at most 10 minutes, however the test ends.
        let deadline = Date().addingTimeInterval(600)
        while !lock.withLock({ stopping }) && Date() < deadline {
            var pfd = pollfd(fd: listener.fd, events: Int16(POLLIN), revents: 0)
            guard poll(&pfd, 1, 50) > 0 else { continue }
            let c = accept(listener.fd, nil, nil)
            guard c >= 0 else { continue }
            lock.withLock { count += 1 }
            // Each connection on its own: one that sends nothing for a
            // while must not hold up the next accept.
            DispatchQueue.global().async { GreetingServer.answer(c) }
        }
        done.signal()
    }

    /// The request first (up to 2 s): a greeting sent before it is, to Go's
    /// HTTP client, an answer to nothing, and it drops the connection (seen
    /// on two loaded cores). Then the greeting, and a brief drain so that
    /// closing sends no reset.
    private static func answer(_ c: Int32) {
        var buffer = [UInt8](repeating: 0, count: 4096)
        var client = pollfd(fd: c, events: Int16(POLLIN), revents: 0)
        if poll(&client, 1, 2000) > 0 { _ = read(c, &buffer, buffer.count) }
        _ = GreetingServer.greeting.withCString { write(c, $0, strlen($0)) }
        shutdown(c, Int32(SHUT_WR))
        for _ in 0..<4 where poll(&client, 1, 50) > 0 {
            if read(c, &buffer, buffer.count) <= 0 { break }
        }
        close(c)
    }

    /// Stops serving and closes the listener now: the serving thread's
    /// closure holds this object a moment after it signals, and a listener
    /// closed only then was still bound when the next test bound its port.
    func stop() {
        lock.withLock { stopping = true }
        done.wait()
        listener.close()
    }
}

/// A TCP listener on loopback that never accepts by itself: a test asks
/// whether a connection arrived (it would sit in the backlog).
final class Listener {
    private(set) var fd: Int32
    let port: UInt16

    init(_ address: String = "127.0.0.1", port fixed: UInt16 = 0) throws {
        let v6 = address.contains(":")
        let fd = socket(v6 ? AF_INET6 : AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var storage = sockaddr_storage()
        var length: socklen_t
        if v6 {
            var a = sockaddr_in6()
            a.sin6_family = sa_family_t(AF_INET6)
            a.sin6_port = fixed.bigEndian
            inet_pton(AF_INET6, address, &a.sin6_addr)
            withUnsafeBytes(of: a) { src in withUnsafeMutableBytes(of: &storage) { $0.copyMemory(from: src) } }
            length = socklen_t(MemoryLayout<sockaddr_in6>.size)
        } else {
            var a = sockaddr_in()
            a.sin_family = sa_family_t(AF_INET)
            a.sin_port = fixed.bigEndian
            inet_pton(AF_INET, address, &a.sin_addr)
            withUnsafeBytes(of: a) { src in withUnsafeMutableBytes(of: &storage) { $0.copyMemory(from: src) } }
            length = socklen_t(MemoryLayout<sockaddr_in>.size)
        }
        let bound = withUnsafePointer(to: &storage) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) } }
        guard bound == 0, listen(fd, 512) == 0 else {
            Glibc.close(fd)
            throw POSIXError(.EADDRINUSE)
        }
        _ = withUnsafeMutablePointer(to: &storage) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
        self.fd = fd
        port = withUnsafeBytes(of: storage) { raw in UInt16(bigEndian: raw.load(fromByteOffset: 2, as: UInt16.self)) }
    }

    /// Connections that reached the kernel since the last call.
    func arrivals() -> Int {
        var n = 0
        while n < 1000 {
            let c = accept(fd, nil, nil)
            if c < 0 { break }
            Glibc.close(c)
            n += 1
        }
        return n
    }

    /// Closes it now (once; deinit then does nothing).
    func close() {
        if fd >= 0 { Glibc.close(fd) }
        fd = -1
    }

    deinit { close() }
}

/// A UDP socket on loopback: a test asks how many datagrams arrived.
final class DatagramListener {
    let fd: Int32
    let port: UInt16

    init(_ address: String) throws {
        let fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        var a = sockaddr_in()
        a.sin_family = sa_family_t(AF_INET)
        inet_pton(AF_INET, address, &a.sin_addr)
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &a) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
        }
        guard bound else {
            close(fd)
            throw POSIXError(.EADDRINUSE)
        }
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
        self.fd = fd
        port = UInt16(bigEndian: a.sin_port)
    }

    /// Datagrams that arrived since the last call.
    func arrivals() -> Int {
        var n = 0
        var buffer = [UInt8](repeating: 0, count: 2048)
        while n < 1000 && recv(fd, &buffer, buffer.count, 0) >= 0 { n += 1 }
        return n
    }

    deinit { close(fd) }
}

/// Compiles policy text into a table file; returns its path.
func tableFile(_ text: String, in dir: String, name: String = "policy.cfg") throws -> String {
    let result = PolicyParser.parse(path: name, loader: MemoryLoader([name: text]))
    try #require(!result.hasErrors, "\(result.diagnostics)")
    let path = "\(dir)/\(name).table"
    try Data(try TableCompiler.compile(result.policy)).write(to: URL(fileURLWithPath: path))
    return path
}

/// The C test client as `user` (through setpriv for nobody), with `env`
/// set by env(1) after setpriv, so that setpriv itself runs bare (the
/// library would put itself first in LD_PRELOAD for what setpriv starts).
func probeAs(_ user: RunAs, _ arguments: [String], env: [String: String]) throws -> Run {
    let probe = "\(testBin)/probe"
    guard user == .nobody else { return try run(probe, arguments, env: env) }
    let settings = env.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
    return try run("/usr/bin/setpriv", ["--reuid=65534", "--regid=65534", "--clear-groups", "/usr/bin/env"] + settings + [probe] + arguments)
}

/// The C test client under the library with `table`.
func client(_ arguments: [String], table: String?, env: [String: String] = [:]) throws -> Run {
    var e = env
    e["LD_PRELOAD"] = libraryPath
    if let table { e["SAFESOCK_TABLE"] = table }
    return try run("\(testBin)/probe", arguments, env: e)
}

/// The names the tests use, as DNS would answer them (the dotted aliases
/// because glibc's hosts-file lookup, unlike DNS, keeps a trailing dot).
let testHosts = """
127.0.0.1 localhost
::1 localhost ip6-localhost v6.example
127.0.0.2 www.sun.com www.sun.com.
127.0.0.3 a.cs.mysite.edu a.cs.mysite.edu.
127.0.0.4 tclet.example
127.0.0.5 evil.example
127.0.0.6 mail.example

"""

/// Runs `command` under `safesock run` with `policy`, in a private mount
/// namespace whose /etc/hosts is `testHosts` (and, with `nameserver`,
/// whose /etc/resolv.conf names only that nameserver).
/// With `as: .nobody`, safesock itself runs as that user (setpriv), so
/// the table it compiles is that user's.
func underSafesock(_ policy: String, origin: String? = "tclet.example", extra: [String] = [], as user: RunAs = .root,
                   _ command: [String], input: String? = nil, env: [String: String] = [:], nameserver: String? = nil) throws -> Run {
    let dir = try scratchDirectory()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    chmod(dir, 0o755)
    try testHosts.write(toFile: "\(dir)/hosts", atomically: true, encoding: .utf8)
    try policy.write(toFile: "\(dir)/policy.cfg", atomically: true, encoding: .utf8)
    let who = user == .nobody ? ["/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"] : []
    var run = who + [safesockBinary, "run", "--policy", "\(dir)/policy.cfg"] + extra
    if let origin { run += ["--origin", origin] }
    var resolvConf: String?
    if let nameserver {
        resolvConf = "\(dir)/resolv.conf"
        try "nameserver \(nameserver)\noptions timeout:2 attempts:1\n".write(toFile: resolvConf!, atomically: true, encoding: .utf8)
    }
    return withoutProtectionLine(try inHostsNamespace("\(dir)/hosts", resolvConf: resolvConf, run + ["--"] + command, input: input, env: env))
}

/// `run --kernel` says in one line what protection it built; the tests
/// that read standard error for denials read it without that line.
func withoutProtectionLine(_ r: Run) -> Run {
    var r = r
    r.stderr = r.stderr.split(separator: "\n", omittingEmptySubsequences: false)
        .filter { !$0.hasPrefix("safesock: kernel: network namespace") && !$0.hasPrefix("safesock: kernel: NO network namespace") }
        .joined(separator: "\n")
    return r
}

/// Runs `command` with `hosts` bind-mounted over /etc/hosts (and
/// `resolvConf` over /etc/resolv.conf), privately.
func inHostsNamespace(_ hosts: String, resolvConf: String? = nil, _ command: [String], input: String? = nil,
                      env: [String: String] = [:]) throws -> Run {
    let script = "mount --bind \"$0\" /etc/hosts && { [ \"$1\" = - ] || mount --bind \"$1\" /etc/resolv.conf; } && shift && exec \"$@\""
    return try run("/usr/bin/unshare", ["-m", "--", "/bin/sh", "-c", script, hosts, resolvConf ?? "-"] + command, env: env, input: input)
}

/// Tests/programs/dns_stub.py on `address` port 53: a nameserver that
/// answers A queries for `answers` and counts the queries it got.
final class DNSStub {
    let process = Process()
    private let input = Pipe(), output = Pipe()

    init(_ address: String, answers: [String: String]) throws {
        process.executableURL = URL(fileURLWithPath: "/usr/bin/python3.11")
        process.arguments = ["\(packageRoot)/Tests/programs/dns_stub.py", address, "53"] + answers.map { "\($0.key)=\($0.value)" }
        process.standardInput = input
        process.standardOutput = output
        try process.run()
        let ready = String(decoding: output.fileHandleForReading.readData(ofLength: 6), as: UTF8.self)
        guard ready == "ready\n" else {
            process.terminate()
            throw POSIXError(.EADDRINUSE)
        }
    }

    /// Stops it; the queries it answered.
    func stop() -> Int {
        try? input.fileHandleForWriting.close()
        let rest = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        try? output.fileHandleForReading.close() // as in run(): Process keeps its pipes
        return Int(rest.trimmingCharacters(in: .whitespacesAndNewlines)) ?? -1
    }
}
