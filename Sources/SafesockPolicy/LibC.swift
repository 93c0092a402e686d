// LibC: every raw libc call the policy library makes, in one place, each
// turned into a typed Swift answer (swift-system's Internals/Syscalls habit).

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

enum LibC {
    /// The whole file, or the errno text that says why not.
    static func readFile(_ path: String) -> Result<[UInt8], FileError> {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        if fd < 0 { return .failure(FileError(errno: errno)) }
        defer { close(fd) }
        var st = stat()
        if fstat(fd, &st) == 0 && (st.st_mode & S_IFMT) == S_IFDIR {
            return .failure(FileError(errno: EISDIR))
        }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                return .failure(FileError(errno: errno))
            }
            if n == 0 { return .success(bytes) }
            if bytes.count + n > PolicyLimits.maxFileBytes { return .failure(FileError(errno: EFBIG)) }
            bytes.append(contentsOf: chunk[0..<n])
        }
    }

    /// realpath(3), to recognise one file reached by two paths (include cycles).
    static func realPath(_ path: String) -> String? {
        guard let p = realpath(path, nil) else { return nil }
        defer { free(p) }
        return String(cString: p)
    }
}

/// A failed file operation, carrying errno for the message.
struct FileError: Error {
    var errno: Int32
    var message: String { String(cString: strerror(errno)) }
}
