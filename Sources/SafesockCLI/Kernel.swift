// Kernel: `safesock run --kernel`, the backstop under the preload library.
// This process stays as the parent: it starts the command under a seccomp
// filter (Sources/SafesockKernel), answers every trapped call from the same
// compiled table the library uses, and exits with the command's status.
// What it judges and what it trusts are in docs/enforcement.md, "The kernel
// backstop". Beside it: KernelNames.swift (names, confirmed),
// KernelProcesses.swift (where the library is in each process),
// KernelSettings.swift (the table followed, the nameservers).

import Foundation
import SafesockKernel
import SafesockMatch
import SafesockPolicy

struct KernelSupervisor {
    /// The table decided with: a file's, or a publication's current one.
    let tables: SupervisedTable
    var table: [UInt8] { tables.bytes }
    /// The origin host's canonical text, when it is an address.
    let origin: String?
    var datagrams: Bool { option(\.datagrams) }
    var servers: Bool { option(\.servers) }
    /// Where the preload library's code is in each supervised process.
    let libraryCode: LibraryCode
    /// --log: the JSON audit log; nil, lines on standard error.
    let log: String?
    /// --learn: record what would be denied, deny nothing.
    let learn: Bool
    /// --strict: no call is taken on the library's word; each is judged
    /// here from a copy, names only as `NameCheck` confirms them.
    let strict: Bool
    /// The system resolver's nameservers: datagrams to their port 53 are
    /// libc's own DNS, which the library never sees (glibc's resolver uses
    /// its private __connect), so the kernel layer lets them through too,
    /// whatever the table says; otherwise no dynamically linked program
    /// could resolve a name under --kernel. docs/enforcement.md says what
    /// that trusts.
    let nameservers: Set<IPAddress>
    /// Names the program claims, checked with this process's resolver.
    let nameCheck = NameCheck()

    init(table: SupervisedTable, origin: String?, library: String, log: String?, learn: Bool, strict: Bool) {
        tables = table
        self.log = log
        self.learn = learn
        self.strict = strict
        libraryCode = LibraryCode(file: System.realPath(library) ?? library)
        nameservers = Nameservers.parse((try? String(contentsOfFile: "/etc/resolv.conf", encoding: .utf8)) ?? "")
        self.origin = origin.map { Identity(host: $0).description }
    }

    /// `peername`: 0 deny, 1 mask, 2 allow (no usable table: deny).
    var peername: UInt8 { optionValue(\.peername) }

    /// The calls the filter traps beyond connect and the sends: those some
    /// option restricts, and all of them when a reload may change options.
    var trappedBeyondSends: Int32 {
        var trap: Int32 = 0
        if !servers || tables.published { trap |= Int32(SAFESOCK_KERNEL_TRAP_SERVERS) }
        if peername != 2 || tables.published { trap |= Int32(SAFESOCK_KERNEL_TRAP_PEERNAME) }
        return trap
    }

    /// An option of the current table, 1 meaning allow (none: deny).
    func option(_ field: KeyPath<TableHeader, UInt8>) -> Bool { optionValue(field) == 1 }

    /// An option field of the current table; 0 (deny) with no usable table.
    func optionValue(_ field: KeyPath<TableHeader, UInt8>) -> UInt8 {
        guard tables.fault == nil else { return 0 }
        return table.withUnsafeBytes { bytes in
            var view = TableView(bytes)
            return TableHeader(&view)[keyPath: field]
        }
    }

    static let outsideTheWall = "outside the Landlock wall: a port no allow rule permitted at start"

    /// Whether the wall (a bitmap of ports, or none) lets TCP reach `port`.
    static func admits(_ wall: [UInt8]?, _ port: UInt16) -> Bool {
        guard let wall else { return true }
        return wall[Int(port) / 8] & UInt8(1 << (Int(port) % 8)) != 0
    }

    /// A datagram to a nameserver's DNS port: libc's resolver (above).
    /// Under `resolve strict` only from a process the library is in, whose
    /// lookups pass its resolve gate: a static binary's names cannot be
    /// gated, so it gets no DNS (and it is judged by address anyway).
    func isResolverTraffic(_ destination: Destination, stream: Bool, pid: Int32) -> Bool {
        guard !stream && destination.port == 53 && nameservers.contains(destination.address) else { return false }
        return option(\.resolve) || libraryCode.isLoaded(pid)
    }

    /// Runs `path` with `argv` and `environment` under the filter; its exit
    /// status, or 127 when it could not be started.
    func run(path: String, argv: [String], environment: [String: String]) -> Int32 {
        let cArgs: [UnsafeMutablePointer<CChar>?] = argv.map { strdup($0) } + [nil]
        let cEnv: [UnsafeMutablePointer<CChar>?] = environment.sorted { $0.key < $1.key }.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { (cArgs + cEnv).forEach { free($0) } }
        var child = safesock_kernel_child()
        var error = [CChar](repeating: 0, count: 512)
        let ports = allowedPorts()
        let spawned = ports.withUnsafeBufferPointer { p in
            safesock_kernel_spawn(path, cArgs, cEnv, trappedBeyondSends, p.isEmpty ? nil : p.baseAddress, &child, &error, error.count)
        }
        guard spawned == 0 else {
            Output.err("safesock run: --kernel: \(System.text(error))")
            return 127
        }
        if tables.published && child.landlock >= 0 && !ports.isEmpty {
            Output.err("safesock run: --kernel: the Landlock wall admits TCP to the ports allowed now; a reload can narrow them, not widen them")
        }
        // The names this process confirms are looked up on the thread that
        // answers every call: a nameserver that does not answer may hold the
        // others for 2 s a server, not glibc's default 10. (The program's
        // environment was made already; its own lookups keep their options.)
        setenv("RES_OPTIONS", "timeout:2 attempts:1", 1)
        var call = safesock_kernel_call()
        while safesock_kernel_receive(&child, &call) == 1 {
            answer(&call, listener: child.listener, wall: child.landlock >= 0 && !ports.isEmpty ? ports : nil)
        }
        return safesock_kernel_wait(&child)
    }

    /// The ports some allow rule could permit, as a bitmap for the Landlock
    /// wall; empty when every port is (no wall is worth building).
    func allowedPorts() -> [UInt8] {
        var bits = [UInt8](repeating: 0, count: 65536 / 8)
        table.withUnsafeBytes { bytes in
            var view = TableView(bytes)
            let header = TableHeader(&view)
            for i in 0..<header.ruleCount {
                let rule = RuleRecord(&view, header, i)
                guard rule.action == 0 else { continue }
                for r in 0..<rule.rangeCount {
                    let range = view.record(header.rangesOffset + (rule.firstRange + r) * TableLayout.rangeSize, TableLayout.rangeSize)
                    let low = Int(range.u16(0)), high = Int(range.u16(2))
                    guard low <= high else { continue }
                    for port in low...high { bits[port / 8] |= UInt8(1 << (port % 8)) }
                }
            }
        }
        return bits.allSatisfy { $0 == 0xFF } ? [] : bits
    }

    /// Answers one trapped call. `wall`: the Landlock wall's ports, when one
    /// was built; the connects this process makes for the caller are held
    /// to it too (Landlock judges the calling process, and this one has no
    /// wall), so that it bounds every TCP connect alike.
    func answer(_ call: inout safesock_kernel_call, listener: Int32, wall: [UInt8]?) {
        if let refusal = Self.refusedOutright(call) {
            report(call, nil, rules: [], reason: refusal.reason)
            if learn { safesock_kernel_continue(listener, &call) } else { safesock_kernel_fail(listener, &call, refusal.error) }
            return
        }
        // Read first in any case: it also finds the caller's name memory.
        let fromLibrary = libraryCode.contains(call)
        let connectOrSend = Int(call.op) != Int(SAFESOCK_KERNEL_BIND.rawValue) && Int(call.op) != Int(SAFESOCK_KERNEL_LISTEN.rawValue)
            && Int(call.op) != Int(SAFESOCK_KERNEL_GETPEERNAME.rawValue)
        let fastOpen = Int(call.op) != Int(SAFESOCK_KERNEL_CONNECT.rawValue) && call.flags & Int32(MSG_FASTOPEN) != 0
        if fromLibrary && connectOrSend && !fastOpen && !strict {
            // The library decided it (with the names it knows) and made the
            // call from its own code (CShim/raw.c): not judged twice. Never
            // bind, listen or getpeername: the library makes those through
            // libc, so one made from its code is not the library's. Never a
            // send with MSG_FASTOPEN: its connect passes Landlock's TCP rules
            // (seen on Linux 6.18), so the wall would not bound it; judged
            // here, it is.
            safesock_kernel_continue(listener, &call)
            return
        }
        tables.refresh()
        guard safesock_kernel_inspect(listener, &call) == 0 else { return } // the caller is gone
        let inet = call.socket >= 0 && (call.domain == AF_INET || call.domain == AF_INET6)
        let stream = call.type == Int32(SOCK_STREAM.rawValue)
        // Only TCP's sends are known to ignore the address (an SCTP socket
        // could set up an association with one; none can be made here).
        let tcp = stream && call.protocol == Int32(IPPROTO_TCP)
        guard inet else {
            // Not an inet socket (or no socket at all): its domain cannot
            // change, and the kernel refuses an inet address on it.
            safesock_kernel_continue(listener, &call)
            return
        }
        if let fault = tables.fault, connectOrSend {
            // Fail closed, as the library does: no inet call without a table.
            return refuse(&call, listener, reason: "no usable table: \(fault)")
        }
        switch Int(call.op) {
        case Int(SAFESOCK_KERNEL_CONNECT.rawValue):
            guard call.has_address == 1 else {
                safesock_kernel_fail(listener, &call, call.has_address < 0 ? -call.has_address : EINVAL)
                return
            }
            guard var destination = Destination(call) else {
                // AF_UNSPEC (a datagram socket's dissolve) or a malformed
                // address: no host is reached; the kernel answers the copy.
                safesock_kernel_connect(listener, &call)
                return
            }
            if isResolverTraffic(destination, stream: stream, pid: call.pid) {
                safesock_kernel_connect(listener, &call)
                return
            }
            if !stream && !datagrams { return refuse(&call, listener, destination, reason: "datagrams deny") }
            let verdict = judge(&destination, pid: call.pid)
            if !verdict.allow { return refuse(&call, listener, destination, rules: verdict.rules) }
            if stream && !Self.admits(wall, destination.port) { return refuse(&call, listener, destination, reason: Self.outsideTheWall) }
            safesock_kernel_connect(listener, &call)
        case Int(SAFESOCK_KERNEL_SENDTO.rawValue), Int(SAFESOCK_KERNEL_SENDMSG.rawValue), Int(SAFESOCK_KERNEL_SENDMMSG.rawValue):
            let sendto = Int(call.op) == Int(SAFESOCK_KERNEL_SENDTO.rawValue)
            if tcp && call.flags & Int32(MSG_FASTOPEN) == 0 || sendto && call.has_address == 0 {
                // TCP ignores a send's address (and control) without
                // MSG_FASTOPEN; a sendto without an address pointer (a
                // register) goes to the peer that connect judged.
                safesock_kernel_continue(listener, &call)
                return
            }
            sendForTheCaller(&call, listener, stream: tcp, wall: wall)
        case Int(SAFESOCK_KERNEL_GETPEERNAME.rawValue): // trapped unless `peername allow`, and always with a publication
            switch peername {
            case 2: safesock_kernel_continue(listener, &call)
            case 1: safesock_kernel_masked_peer(listener, &call)
            default: refuse(&call, listener, reason: tables.fault.map { "no usable table: \($0)" } ?? "peername deny")
            }
        default: // bind, listen: trapped under `servers deny`, and always with a publication
            if servers { safesock_kernel_continue(listener, &call) } else { refuse(&call, listener, reason: "servers deny") }
        }
    }

    /// The calls the filter sends only to be refused, whatever the table
    /// says: why, and the errno (what a kernel without them would say, so
    /// that programs fall back: no MPTCP, no io_uring, no raw sockets).
    static func refusedOutright(_ call: safesock_kernel_call) -> (reason: String, error: Int32)? {
        switch Int(call.op) {
        case Int(SAFESOCK_KERNEL_SOCKET.rawValue):
            switch Int32(truncatingIfNeeded: call.args.2) {
            case Int32(IPPROTO_SCTP): return ("an SCTP socket, which connects through setsockopt", EPERM)
            case 262: return ("an MPTCP socket, which goes past the Landlock wall", EPROTONOSUPPORT)
            default: return ("a raw socket, which writes packets to any host", EPERM)
            }
        case Int(SAFESOCK_KERNEL_SETSOCKOPT.rawValue): return ("source route", EPERM)
        case Int(SAFESOCK_KERNEL_IO_URING.rawValue): return ("io_uring, whose connects would not be seen", EPERM)
        default: return nil
        }
    }

    /// An inet destination copied out of a trapped call.
    struct Destination {
        var address: IPAddress
        var port: UInt16
        /// A name the program knows it by (its name memory), for reports.
        var name: String?

        init?(_ call: safesock_kernel_call) {
            var c = call
            guard let parsed = withUnsafeBytes(of: &c.address, { Destination(sockaddr: $0, length: call.address_length) }) else { return nil }
            self = parsed
        }

        /// A struct sockaddr's bytes, of which `length` were given.
        init?(sockaddr raw: UnsafeRawBufferPointer, length: UInt32) {
            guard length >= 4 else { return nil }
            let family = Int32(raw.load(as: sa_family_t.self))
            port = UInt16(bigEndian: raw.loadUnaligned(fromByteOffset: 2, as: UInt16.self))
            if family == AF_INET && length >= UInt32(MemoryLayout<sockaddr_in>.size), let a = IPAddress(bytes: Array(raw[4..<8])) {
                address = a
            } else if family == AF_INET6 && length >= UInt32(MemoryLayout<sockaddr_in6>.size), let a = IPAddress(bytes: Array(raw[8..<24])) {
                address = a
            } else {
                return nil
            }
        }
    }

    /// A send whose messages could reach a host: copied out of the caller,
    /// judged message by message, and made from the copy. A denied message
    /// ends the call there (EACCES when it is the first), as the library's
    /// sendmmsg stops; a source route is refused whatever the table says.
    func sendForTheCaller(_ call: inout safesock_kernel_call, _ listener: Int32, stream: Bool, wall: [UInt8]?) {
        var copied: OpaquePointer?
        let error = safesock_kernel_copy_send(&call, &copied)
        guard error == 0, let send = copied else {
            safesock_kernel_fail(listener, &call, error == 0 ? EFAULT : error)
            return
        }
        for i in 0..<safesock_kernel_send_count(send) {
            var message = safesock_kernel_send_message(send, i)!.pointee
            var refusal: (destination: Destination?, rules: [String], reason: String?)?
            var destination: Destination?
            if message.has_address == 1 {
                destination = withUnsafeBytes(of: &message.address) { Destination(sockaddr: $0, length: message.address_length) }
                if destination == nil {
                    // AF_UNSPEC or a malformed address: the kernel's EINVAL.
                    if i == 0 { safesock_kernel_send_free(send); safesock_kernel_fail(listener, &call, EINVAL); return }
                    safesock_kernel_send_keep(send, i)
                    break
                }
            }
            if message.source_route != 0 {
                refusal = (destination, [], "source route")
            } else if let destination, !isResolverTraffic(destination, stream: stream, pid: call.pid) {
                if !stream && !datagrams {
                    refusal = (destination, [], "datagrams deny")
                } else {
                    var named = destination
                    let verdict = judge(&named, pid: call.pid)
                    if !verdict.allow {
                        refusal = (named, verdict.rules, nil)
                    } else if stream && !Self.admits(wall, destination.port) {
                        refusal = (named, [], Self.outsideTheWall)
                    }
                }
            }
            guard let refusal else { continue }
            report(call, refusal.destination, rules: refusal.rules, reason: refusal.reason)
            if learn { continue }
            if i == 0 {
                safesock_kernel_send_free(send)
                safesock_kernel_fail(listener, &call, EACCES)
                return
            }
            safesock_kernel_send_keep(send, i)
            break
        }
        safesock_kernel_send(listener, &call, send)
    }

    /// A denial: the call fails with EACCES (in learn mode it is made all
    /// the same), and it is reported as the library reports its own: a JSON
    /// record in the --log file, else a line on standard error.
    func refuse(_ call: inout safesock_kernel_call, _ listener: Int32, _ destination: Destination? = nil,
                rules: [String] = [], reason: String? = nil) {
        report(call, destination, rules: rules, reason: reason)
        if learn, Int(call.op) == Int(SAFESOCK_KERNEL_CONNECT.rawValue), destination != nil {
            safesock_kernel_connect(listener, &call)
        } else if learn {
            safesock_kernel_continue(listener, &call)
        } else {
            safesock_kernel_fail(listener, &call, EACCES)
        }
    }

    struct AuditRecord: Encodable {
        var time: Double
        var pid: Int32
        var program: String
        var op: String
        var host: String
        var addr: String?
        var port: UInt16?
        var verdict = "deny"
        var mode: String?
        var layer = "kernel"
        var rules: [String]
        var reason: String?
    }

    func report(_ call: safesock_kernel_call, _ destination: Destination?, rules: [String], reason: String?) {
        let because = reason ?? (rules.isEmpty ? "default" : rules.joined(separator: ", "))
        guard let log else {
            var line = learn ? "safesock: kernel: learn: would deny " : "safesock: kernel: permission denied for "
            line += destination.map { "host \($0.name ?? "\($0.address)") port \($0.port)" } ?? Self.opName(call.op)
            Output.err(line + " (\(because))")
            return
        }
        let comm = (try? String(contentsOfFile: "/proc/\(call.pid)/comm", encoding: .utf8))?.trimmingCharacters(in: .newlines) ?? ""
        let record = AuditRecord(time: (Date().timeIntervalSince1970 * 1000).rounded() / 1000, pid: call.pid, program: comm,
                                 op: Self.opName(call.op), host: destination.map { $0.name ?? "\($0.address)" } ?? "",
                                 addr: destination.map { "\($0.address)" }, port: destination?.port,
                                 mode: learn ? "learn" : nil, rules: rules.isEmpty && reason == nil ? ["default"] : rules, reason: reason)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        guard var bytes = try? encoder.encode(record) else { return }
        bytes.append(UInt8(ascii: "\n"))
        let fd = open(log, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { return }
        _ = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) } // one write: records never interleave
        close(fd)
    }

    static func opName(_ op: Int32) -> String {
        switch Int(op) {
        case Int(SAFESOCK_KERNEL_CONNECT.rawValue): return "connect"
        case Int(SAFESOCK_KERNEL_SENDTO.rawValue): return "sendto"
        case Int(SAFESOCK_KERNEL_SENDMSG.rawValue): return "sendmsg"
        case Int(SAFESOCK_KERNEL_SENDMMSG.rawValue): return "sendmmsg"
        case Int(SAFESOCK_KERNEL_BIND.rawValue): return "bind"
        case Int(SAFESOCK_KERNEL_GETPEERNAME.rawValue): return "getpeername"
        case Int(SAFESOCK_KERNEL_SOCKET.rawValue): return "socket"
        case Int(SAFESOCK_KERNEL_SETSOCKOPT.rawValue): return "setsockopt"
        case Int(SAFESOCK_KERNEL_IO_URING.rawValue): return "io_uring_setup"
        default: return "listen"
        }
    }
}
