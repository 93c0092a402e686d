// AuditDatagrams: the journal's native protocol and RFC 5424 as their
// receivers read them, written from the protocols' own documents (not
// from our writer), and a listener on a unix datagram socket: what the
// journal and syslog tests check the writer against.

import Foundation

/// A journal datagram's fields, in order: `NAME=value` lines, and the
/// binary form (NAME, a newline, a 64-bit little-endian length, the
/// bytes, a newline). nil where the datagram breaks the protocol.
public func journalFields(_ datagram: [UInt8]) -> [(name: String, value: [UInt8])]? {
    var fields: [(String, [UInt8])] = []
    var i = 0
    while i < datagram.count {
        guard let end = datagram[i...].firstIndex(where: { $0 == UInt8(ascii: "\n") || $0 == UInt8(ascii: "=") }) else { return nil }
        let name = String(decoding: datagram[i..<end], as: UTF8.self)
        if datagram[end] == UInt8(ascii: "=") {
            guard let newline = datagram[end...].firstIndex(of: UInt8(ascii: "\n")) else { return nil }
            fields.append((name, Array(datagram[(end + 1)..<newline])))
            i = newline + 1
        } else {
            guard end + 9 <= datagram.count else { return nil }
            let length = datagram[(end + 1)..<(end + 9)].reversed().reduce(0) { $0 << 8 | Int($1) }
            let start = end + 9
            guard length >= 0, start + length < datagram.count, datagram[start + length] == UInt8(ascii: "\n") else { return nil }
            fields.append((name, Array(datagram[start..<(start + length)])))
            i = start + length + 1
        }
    }
    return fields
}

/// The entry as `journalctl -o json` prints it: a value that is not
/// printable UTF-8 as an array of its bytes, a field given more than once
/// as an array of its values.
public func journalctlJSON(_ fields: [(name: String, value: [UInt8])]) -> String {
    var values: [String: [Any]] = [:]
    for (name, value) in fields {
        let text = String(validating: value, as: UTF8.self)
        let printable = text.map { !$0.unicodeScalars.contains { $0.value < 0x20 || $0.value == 0x7f } } ?? false
        values[name, default: []].append(printable ? text! as Any : value.map { Int($0) } as Any)
    }
    let object = values.mapValues { $0.count == 1 ? $0[0] : $0 as Any }
    let data = try! JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
    return String(decoding: data, as: UTF8.self)
}

/// An RFC 5424 message over /dev/log, read as a receiver reads it.
public struct SyslogMessage: Equatable {
    public var header: [String]               // PRI+VERSION, TIMESTAMP, HOSTNAME, APP-NAME, PROCID, MSGID
    public var id: String                     // the SD-ID of its one element
    public var params: [(String, String)]     // PARAM-NAME, the value with its escapes undone
    public var message: String

    public static func == (a: SyslogMessage, b: SyslogMessage) -> Bool {
        a.header == b.header && a.id == b.id && a.params.map { "\($0)=\($1)" } == b.params.map { "\($0)=\($1)" } && a.message == b.message
    }

    /// nil where the text breaks RFC 5424's grammar (one SD-ELEMENT).
    public init?(_ text: String) {
        var s = Substring(text)
        var header: [String] = []
        for _ in 0..<6 {
            guard let space = s.firstIndex(of: " ") else { return nil }
            header.append(String(s[..<space]))
            s = s[s.index(after: space)...]
        }
        guard s.first == "[" else { return nil }
        s = s.dropFirst()
        guard let space = s.firstIndex(of: " ") else { return nil }
        id = String(s[..<space])
        s = s[space...]
        var params: [(String, String)] = []
        while s.first == " " {
            s = s.dropFirst()
            guard let eq = s.firstIndex(of: "="), s[s.index(after: eq)] == "\"" else { return nil }
            let name = String(s[..<eq])
            s = s[s.index(eq, offsetBy: 2)...]
            var value = ""
            while true {
                guard let c = s.first else { return nil }
                s = s.dropFirst()
                if c == "\"" { break }
                if c == "\\", let next = s.first, "\"\\]".contains(next) {
                    value.append(next)
                    s = s.dropFirst()
                } else {
                    guard c != "]" else { return nil } // an unescaped ] inside a value
                    value.append(c)
                }
            }
            params.append((name, value))
        }
        guard s.hasPrefix("] ") else { return nil }
        self.header = header
        self.params = params
        message = String(s.dropFirst(2))
    }
}

/// A unix datagram socket a test listens on, in a directory of its own.
public final class UnixDatagramListener {
    public let path: String
    let fd: Int32

    /// `buffer`: SO_RCVBUF, to make a socket that fills.
    public init(_ path: String, buffer: Int32? = nil) throws {
        self.path = path
        unlink(path)
        fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
        if var size = buffer { setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size)) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: path.utf8) }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard fd >= 0, bound == 0 else { throw POSIXError(.EADDRINUSE) }
        chmod(path, 0o666) // a program run as another user sends to it too
    }

    /// Every datagram that arrived, waiting up to `seconds` for the first
    /// and 200 ms for each next one.
    public func datagrams(waitingUpTo seconds: Double = 5) -> [[UInt8]] {
        var received: [[UInt8]] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        var wait = Int32(seconds * 1000)
        for _ in 0..<10_000 {
            var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&pfd, 1, wait) > 0 else { break }
            let n = recv(fd, &buffer, buffer.count, 0)
            guard n >= 0 else { break }
            received.append(Array(buffer[0..<n]))
            wait = 200
        }
        return received
    }

    deinit {
        close(fd)
        unlink(path)
    }
}
