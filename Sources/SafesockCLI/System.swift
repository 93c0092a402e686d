// System: every raw libc call of the CLI, in one place (swift-system's
// Internals/Syscalls habit), each turned into a typed Swift answer.

import Foundation

struct SystemError: Error, CustomStringConvertible {
    var description: String

    /// The text of the current errno, after `what`.
    static func errno(_ what: String) -> SystemError {
        SystemError(description: "\(what): \(String(cString: strerror(Foundation.errno)))")
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
            if n < 0 && Foundation.errno == EINTR { continue }
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

    /// A directory only we can use: created 0700 if missing; refused if it
    /// is a symlink, someone else's, or open to others (a shared /tmp).
    static func privateDirectory(_ path: String) throws -> String {
        if mkdir(path, 0o700) != 0 && Foundation.errno != EEXIST { throw SystemError.errno("cannot create \(path)") }
        var st = stat()
        guard lstat(path, &st) == 0 else { throw SystemError.errno("cannot use \(path)") }
        guard (st.st_mode & S_IFMT) == S_IFDIR, st.st_uid == getuid(), st.st_mode & 0o077 == 0 else {
            throw SystemError(description: "\(path) is not a private directory of this user; refusing to keep tables there")
        }
        return path
    }

    /// The running executable's own path.
    static func executablePath() -> String? {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let n = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        guard n > 0 else { return nil }
        return String(decoding: buffer[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    static func isReadableFile(_ path: String) -> Bool { access(path, R_OK) == 0 }

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
}
