// AuditSocket: `--log journal` and `--log syslog` for the supervisor, as
// the library does it (CShim/report.c): one unix datagram socket, each
// record built by the one writer (safesock_audit.h) and sent without
// waiting; a record the listener does not take is dropped, and said
// once.

import Glibc
import Synchronization
import SafesockABI

public final class AuditSocket: Sendable {
    let fd: Int32
    let sink: safesock_audit_sink
    let path: String
    let hostname: String
    let saidDropped = Atomic<Bool>(false)

    /// nil for a file: `spec` names no socket, or none can be made.
    public init?(_ spec: String) {
        let (sink, path) = spec.withCString { text in
            var socketPath: UnsafePointer<CChar>?
            let sink = safesock_audit_sink_of(text, &socketPath)
            return (sink, socketPath.map { String(cString: $0) } ?? "")
        }
        // A socket path that is not absolute names nothing (safesock_audit.h).
        guard sink != SAFESOCK_AUDIT_FILE, path.hasPrefix("/"), path.utf8.count < MemoryLayout.size(ofValue: sockaddr_un().sun_path) else { return nil }
        self.sink = sink
        self.path = path
        var names = utsname()
        uname(&names)
        hostname = withUnsafeBytes(of: &names.nodename) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return nil }
    }

    func send(_ d: inout safesock_denial) {
        var line = safesock_line()
        let made = hostname.withCString { host in
            sink == SAFESOCK_AUDIT_JOURNAL ? safesock_audit_journal(&line, &d) : safesock_audit_syslog(&line, &d, host)
        }
        guard made == 0 else { return } // its fields did not fit: not sent, as for the file
        if sink == SAFESOCK_AUDIT_JOURNAL {
            withUnsafeMutableBytes(of: &line.text) { $0[line.length] = UInt8(ascii: "\n") }
            line.length += 1
        }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: path.utf8) } // it fits: init
        let sent = withUnsafeBytes(of: &line.text) { text in
            withUnsafePointer(to: &address) { a in
                a.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    sendto(fd, text.baseAddress, line.length, Int32(MSG_DONTWAIT) | Int32(MSG_NOSIGNAL), $0,
                           socklen_t(MemoryLayout<sockaddr_un>.size))
                }
            }
        }
        let error = sent < 0 ? errno : 0
        if error != 0 && !saidDropped.exchange(true, ordering: .relaxed) {
            let why = error == EAGAIN ? "is full" : error == ENOENT || error == ECONNREFUSED ? "has no listener" : "refused a record"
            say("safesock: kernel: the audit log \(path) \(why): records it does not take are dropped")
        }
    }
}
