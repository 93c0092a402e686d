// System: every raw libc call of the CLI, in one place (swift-system's
// Internals/Syscalls habit), each turned into a typed Swift answer.

import FoundationEssentials
import Glibc
import Dispatch

struct SystemError: Error, CustomStringConvertible {
    var description: String

    /// The text of the current errno, after `what`.
    static func errno(_ what: String) -> SystemError {
        SystemError(description: "\(what): \(String(cString: strerror(Glibc.errno)))")
    }
}

enum System {
    /// Writes beside the target, then renames over it: a reader sees the old
    /// file or the new one, never half of one.
    static func writeAtomically(_ bytes: [UInt8], to path: String, mode: mode_t = 0o644) throws {
        let temporary = "\(path).tmp.\(getpid())"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode)
        guard fd >= 0 else { throw SystemError.errno("cannot write \(temporary)") }
        var written = 0
        while written < bytes.count {
            let n = bytes[written...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            if n < 0 && Glibc.errno == EINTR { continue }
            guard n > 0 else {
                let error = SystemError.errno("cannot write \(temporary)")
                close(fd)
                unlink(temporary)
                throw error
            }
            written += n
        }
        close(fd)
        if rename(temporary, path) != 0 {
            let error = SystemError.errno("cannot replace \(path)")
            unlink(temporary)
            throw error
        }
    }

    /// Writes all of `bytes` to `fd`, going on after a short write or a
    /// signal; false when the descriptor refuses (a closed pipe).
    @discardableResult
    static func writeAll(_ fd: Int32, _ bytes: [UInt8]) -> Bool {
        var written = 0
        while written < bytes.count {
            let n = bytes[written...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            if n < 0 && Glibc.errno == EINTR { continue }
            guard n > 0 else { return false }
            written += n
        }
        return true
    }

    /// Everything `fd` gives until its end (a pipe, which FileManager
    /// cannot read: it sizes a file by fstat); nil when it refuses.
    static func readAll(_ fd: Int32) -> [UInt8]? {
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 && Glibc.errno == EINTR { continue }
            if n < 0 { return nil }
            if n == 0 { return bytes }
            bytes += buffer[0..<n]
        }
    }

    /// The directory part of `path` ("/a/b" -> "/a", "b" -> ".", "/a" -> "/").
    static func directory(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }

    /// A directory only we can use: created 0700 if missing; refused if it
    /// is a symlink, someone else's, or open to others (a shared /tmp).
    static func privateDirectory(_ path: String) throws -> String {
        if mkdir(path, 0o700) != 0 && Glibc.errno != EEXIST { throw SystemError.errno("cannot create \(path)") }
        var st = stat()
        guard lstat(path, &st) == 0 else { throw SystemError.errno("cannot use \(path)") }
        guard (st.st_mode & S_IFMT) == S_IFDIR, st.st_uid == getuid(), st.st_mode & 0o077 == 0 else {
            throw SystemError(description: "\(path) is not a private directory of this user; refusing to keep tables there")
        }
        return path
    }

    /// The running executable's own path.
    static func executablePath() -> String? { readLink("/proc/self/exe") }

    /// The target of the symbolic link at `path`, or nil.
    static func readLink(_ path: String) -> String? {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let n = readlink(path, &buffer, buffer.count - 1)
        guard n > 0 else { return nil }
        return text(Array(buffer[0..<n]) + [0])
    }

    /// `path` with every symbolic link resolved, or nil.
    static func realPath(_ path: String) -> String? {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        return realpath(path, &buffer) != nil ? text(buffer) : nil
    }

    /// A NUL-terminated C buffer as a String.
    static func text(_ buffer: [CChar]) -> String {
        String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    static func isReadableFile(_ path: String) -> Bool { access(path, R_OK) == 0 }

    /// `name` as execvp(3) would find it: itself if it has a '/', else
    /// the first executable file of that name on PATH.
    static func findExecutable(_ name: String) -> String? {
        if name.contains("/") { return access(name, X_OK) == 0 ? name : nil }
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
        for directory in path.split(separator: ":", omittingEmptySubsequences: false) {
            let candidate = "\(directory.isEmpty ? "." : String(directory))/\(name)"
            var info = stat()
            if stat(candidate, &info) == 0, info.st_mode & S_IFMT == S_IFREG, access(candidate, X_OK) == 0 { return candidate }
        }
        return nil
    }

    /// execvp(3) with exactly `environment`: replaces this process; returns
    /// only the reason it could not. (execvpe is GNU-only, not in Glibc's
    /// Swift module, so the environment is set in place first.)
    static func exec(_ command: [String], environment: [String: String]) -> SystemError {
        for key in ProcessInfo.processInfo.environment.keys where environment[key] == nil { unsetenv(key) }
        for (key, value) in environment { setenv(key, value, 1) }
        let argv: [UnsafeMutablePointer<CChar>?] = command.map { strdup($0) } + [nil]
        execvp(command[0], argv)
        return SystemError.errno("cannot run \(command[0])")
    }

    /// A listening TCP socket on `address` (IPv4 or IPv6 text), or nil.
    static func listen(address: String, port: UInt16) -> Int32? {
        var hints = addrinfo()
        hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV | AI_PASSIVE
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(address, String(port), &hints, &list) == 0, let ai = list else { return nil }
        defer { freeaddrinfo(list) }
        let fd = socket(ai.pointee.ai_family, ai.pointee.ai_socktype, 0)
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        guard fd >= 0, bind(fd, ai.pointee.ai_addr, ai.pointee.ai_addrlen) == 0, Glibc.listen(fd, 128) == 0 else {
            close(fd)
            return nil
        }
        return fd
    }

    /// Resolves and connects once: "ok", "errno N" or "gai N".
    static func connectOnce(host: String, port: String) -> String {
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>?
        let rc = getaddrinfo(host, port, &hints, &list)
        guard rc == 0, let ai = list else { return "gai \(rc)" }
        defer { freeaddrinfo(list) }
        let fd = socket(ai.pointee.ai_family, ai.pointee.ai_socktype, 0)
        defer { close(fd) }
        return Glibc.connect(fd, ai.pointee.ai_addr, ai.pointee.ai_addrlen) == 0 ? "ok" : "errno \(Glibc.errno)"
    }

    /// posix_spawn(3) and wait: `input` on its standard input, the rest
    /// inherited; the exit status (or -1). Foundation's Process is no use
    /// in a new network namespace: its run loop needs a working loopback.
    static func spawnAndWait(_ argv: [String], input: String? = nil) -> Int32 {
        spawn(argv, input: input, capture: false).status
    }

    /// A pipe whose ends close on exec (the child gets only what it is
    /// given with dup2, which clears the flag on the copy).
    private static func closingPipe(_ ends: inout [Int32]) -> Bool {
        guard pipe(&ends) == 0 else { return false }
        _ = fcntl(ends[0], F_SETFD, FD_CLOEXEC)
        _ = fcntl(ends[1], F_SETFD, FD_CLOEXEC)
        return true
    }

    /// posix_spawn(3) and wait, with the child's standard output read
    /// into `output` (`capture`) and `input`, if given, on its standard
    /// input (written whole first: not for a child that answers a large
    /// input with a large output). The exit status is -1 when the child
    /// could not run or was killed.
    static func spawn(_ argv: [String], input: String? = nil, capture: Bool) -> (status: Int32, output: [UInt8]) {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        var inPipe: [Int32] = [-1, -1], outPipe: [Int32] = [-1, -1]
        if input != nil {
            guard closingPipe(&inPipe) else { return (-1, []) }
            posix_spawn_file_actions_adddup2(&actions, inPipe[0], 0)
        }
        if capture {
            guard closingPipe(&outPipe) else {
                if input != nil { close(inPipe[0]); close(inPipe[1]) }
                return (-1, [])
            }
            posix_spawn_file_actions_adddup2(&actions, outPipe[1], 1)
        }
        let cArgs: [UnsafeMutablePointer<CChar>?] = argv.map { strdup($0) } + [nil]
        defer { cArgs.forEach { free($0) } }
        var pid = pid_t()
        let rc = posix_spawn(&pid, argv[0], &actions, nil, cArgs, environ)
        if input != nil { close(inPipe[0]) }
        if capture { close(outPipe[1]) }
        guard rc == 0 else {
            if input != nil { close(inPipe[1]) }
            if capture { close(outPipe[0]) }
            return (-1, [])
        }
        if let input {
            writeAll(inPipe[1], Array(input.utf8))
            close(inPipe[1])
        }
        var output: [UInt8] = []
        if capture {
            var buffer = [UInt8](repeating: 0, count: 65_536)
            while true {
                let n = buffer.withUnsafeMutableBytes { read(outPipe[0], $0.baseAddress, $0.count) }
                if n < 0 && Glibc.errno == EINTR { continue }
                if n <= 0 { break }
                output += buffer[0..<n]
            }
            close(outPipe[0])
        }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && Glibc.errno == EINTR {}
        return ((status & 0x7f) == 0 ? (status >> 8) & 0xff : -1, output)
    }
}
