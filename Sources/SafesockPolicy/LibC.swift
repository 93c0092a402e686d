// LibC: every raw libc call the policy library makes, in one place, each
// turned into a typed Swift answer (swift-system's Internals/Syscalls habit).

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

enum LibC {
    /// inet_aton(3): every IPv4 form the resolver accepts (`127.1`,
    /// `0x7f.1`, `2130706433`, `0177.0.0.1`), as network-order bytes.
    static func inetAton(_ text: String) -> [UInt8]? {
        var addr = in_addr()
        guard inet_aton(text, &addr) != 0 else { return nil }
        return withUnsafeBytes(of: addr.s_addr) { Array($0) }
    }

    /// inet_pton(3) for AF_INET: strict dotted quad, for CIDR bases.
    static func inetPton4(_ text: String) -> [UInt8]? {
        var addr = in_addr()
        guard inet_pton(AF_INET, text, &addr) == 1 else { return nil }
        return withUnsafeBytes(of: addr.s_addr) { Array($0) }
    }

    /// inet_pton(3) for AF_INET6, as 16 network-order bytes.
    static func inetPton6(_ text: String) -> [UInt8]? {
        var addr = in6_addr()
        guard inet_pton(AF_INET6, text, &addr) == 1 else { return nil }
        return withUnsafeBytes(of: addr) { Array($0) }
    }

    /// inet_ntop(3): dotted decimal for 4 bytes; for 16 bytes glibc's text,
    /// which follows RFC 5952 (lower case, longest zero run compressed, a
    /// single zero field not), the canonical form the policy matches.
    static func inetNtop(_ bytes: [UInt8]) -> String {
        var buffer = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
        let family = bytes.count == 4 ? AF_INET : AF_INET6
        let ok = bytes.withUnsafeBytes { src in
            inet_ntop(family, src.baseAddress, &buffer, socklen_t(buffer.count)) != nil
        }
        precondition(ok, "inet_ntop cannot fail on a 4- or 16-byte address")
        return cText(buffer)
    }

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

/// The text of a NUL-terminated C buffer.
func cText(_ buffer: [CChar]) -> String {
    let bytes = buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }
    return String(decoding: bytes, as: UTF8.self)
}
