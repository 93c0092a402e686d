// Supervisor: `safesock run --kernel`, for code that may be hostile. This process
// stays as the parent: it starts the command in a network namespace of its own
// (only a loopback: nothing the program does by itself reaches anything
// outside), under a seccomp filter (Sources/SafesockKernel), with no
// capability; it answers every trapped call from the same compiled table the
// library uses, makes every outside connection itself from what it judged,
// answers the program's DNS (DNSService.swift), and exits with the command's
// status. docs/enforcement.md, "The kernel backstop", says what each layer
// trusts. Beside it: NameBook.swift (the names an address is known by),
// DNSService.swift, SupervisedTable.swift (the table followed, the nameservers).

import FoundationEssentials
import Glibc
import Dispatch
import Synchronization
import SafesockABI
import SafesockKernel
import SafesockMatch
import SafesockPolicy

public final class KernelSupervisor: @unchecked Sendable {
    /// The table decided with: a file's, or a publication's current one.
    let tables: SupervisedTable
    var table: [UInt8] { tables.bytes }
    /// The origin host's canonical text.
    let origin: String?
    /// --log: the JSON audit log; nil, lines on standard error.
    let log: String?
    /// --log journal or syslog: the socket records are sent to.
    let logSocket: AuditSocket?
    /// --learn: record what would be denied, deny nothing.
    let learn: Bool
    /// --require-namespace: no seccomp-only fallback.
    let requireNamespace: Bool
    /// resolv.conf's nameservers, as read at start: where the program's
    /// resolvers send their queries, and safesock answers them.
    let nameservers: [IPAddress]
    /// Every name an address is known by, from trusted sources only.
    let names: NameBook
    /// What the wall is, once the program started.
    private(set) var child = safesock_kernel_child()
    /// Set once a datagram socket of ours is in the program (only under
    /// `datagrams allow`): from then on no call is let go on whose
    /// descriptor could be swapped for it (see `letGoOn`).
    private var outsideDatagrams = false
    /// Set once the program listens on an inet socket (listen is always
    /// trapped): before that no listener of its own can be connected to,
    /// and /proc/PID/net/tcp (a millisecond a read) is not asked.
    private var programListens = false

    public init(table: SupervisedTable, origin: String?, log: String?, learn: Bool, requireNamespace: Bool) {
        tables = table
        self.log = log
        logSocket = log.flatMap(AuditSocket.init)
        self.learn = learn
        self.requireNamespace = requireNamespace
        nameservers = Nameservers.parse((try? String(contentsOfFile: "/etc/resolv.conf", encoding: .utf8)) ?? "")
        names = NameBook(hosts: (try? String(contentsOfFile: "/etc/hosts", encoding: .utf8)) ?? "")
        self.origin = origin.map { Identity(host: $0).description }
    }

    /// `peername`: 0 deny, 1 mask, 2 allow (no usable table: deny).
    var peername: UInt8 { optionValue(\.peername) }

    /// The calls the filter traps beyond connect and the sends: bind and
    /// listen always (a bind on a socket of ours, and `servers`), and
    /// getpeername unless `peername allow` (always with a publication).
    var trapped: Int32 {
        var trap = Int32(SAFESOCK_KERNEL_TRAP_SERVERS)
        // SAFESOCK_NO_NAMESPACE=1 asks for the fallback, as where no
        // namespace can be made (the tests try both; its reader is the user
        // who runs safesock, not the program).
        if ProcessInfo.processInfo.environment["SAFESOCK_NO_NAMESPACE"] != "1" { trap |= Int32(SAFESOCK_KERNEL_NAMESPACE) }
        if peername != UInt8(SAFESOCK_PEERNAME_ALLOW) || tables.published { trap |= Int32(SAFESOCK_KERNEL_TRAP_PEERNAME) }
        if requireNamespace { trap |= Int32(SAFESOCK_KERNEL_REQUIRE_NAMESPACE) }
        if tables.published { trap |= Int32(SAFESOCK_KERNEL_READ_ONLY_PUBLICATIONS) }
        return trap
    }

    /// An option field of the current table; 0 (deny) with no usable table.
    func optionValue(_ field: KeyPath<TableHeader, UInt8>) -> UInt8 {
        guard tables.fault == nil else { return 0 }
        return table.withUnsafeBytes { bytes in
            var view = TableView(bytes)
            return TableHeader(&view)[keyPath: field]
        }
    }

    static let outsideTheWall = "outside the Landlock wall: a port no allow rule permitted at start"

    /// Whether the fallback's wall (a bitmap of ports, or none) lets TCP reach `port`.
    static func admits(_ wall: [UInt8]?, _ port: UInt16) -> Bool {
        guard let wall else { return true }
        return wall[Int(port) / 8] & UInt8(1 << (Int(port) % 8)) != 0
    }

    var inNamespace: Bool { child.namespace == 1 }

    /// Runs `path` with `argv` and `environment` under the filter; its exit
    /// status, or 127 when it could not be started.
    public func run(path: String, argv: [String], environment: [String: String]) -> Int32 {
        let cArgs: [UnsafeMutablePointer<CChar>?] = argv.map { strdup($0) } + [nil]
        let cEnv: [UnsafeMutablePointer<CChar>?] = environment.sorted { $0.key < $1.key }.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { (cArgs + cEnv).forEach { free($0) } }
        var error = [CChar](repeating: 0, count: 512)
        let ports = allowedPorts()
        var servers = nameservers.prefix(Int(SAFESOCK_KERNEL_MAX_NAMESERVERS)).map { address -> safesock_kernel_nameserver in
            var ns = safesock_kernel_nameserver()
            ns.family = address.isIPv4 ? 4 : 6
            withUnsafeMutableBytes(of: &ns.address) { $0.copyBytes(from: address.bytes) }
            return ns
        }
        let dns = DNSService(supervisor: self) // before the program runs: it reads resolv.conf
        var started = safesock_kernel_child()
        let spawned = ports.withUnsafeBufferPointer { p in
            safesock_kernel_spawn(path, cArgs, cEnv, trapped, &servers, Int32(servers.count),
                                  p.isEmpty ? nil : p.baseAddress, &started, &error, error.count)
        }
        guard spawned == 0 else {
            say("safesock run: --kernel: \(text(error))")
            return 127
        }
        child = started
        say("safesock: kernel: " + protection(wallPorts: !ports.isEmpty))
        let wall = !inNamespace && child.landlock >= 0 && !ports.isEmpty ? ports : nil
        if inNamespace {
            let udp = withUnsafeBytes(of: child.dns_udp) { Array($0.bindMemory(to: Int32.self).prefix(Int(child.dns_count))) }
            let tcp = withUnsafeBytes(of: child.dns_tcp) { Array($0.bindMemory(to: Int32.self).prefix(Int(child.dns_count))) }
            dns.serve(udp: udp, tcp: tcp)
        }
        var call = safesock_kernel_call()
        while safesock_kernel_receive(&child, &call) == 1 {
            answer(&call, wall: wall)
        }
        return safesock_kernel_wait(&child)
    }

    /// The one line that says what is in force.
    func protection(wallPorts: Bool) -> String {
        var parts: [String] = []
        if inNamespace {
            parts.append("network namespace" + (child.user_namespace == 1 ? " (in a user namespace)" : "") + " with only a loopback")
            parts.append("DNS answered by safesock at " + nameservers.prefix(Int(child.dns_count)).map { "\($0)" }.joined(separator: ", "))
        } else {
            let why = child.namespace_error != 0 ? String(cString: strerror(child.namespace_error)) : "SAFESOCK_NO_NAMESPACE=1"
            parts.append("NO network namespace (\(why)): seccomp-only fallback, libc's DNS to the nameservers passes")
        }
        parts.append("seccomp notification")
        switch child.capabilities {
        case 0: parts.append("capabilities dropped")
        case 1: parts.append("capabilities dropped (bounding set kept: no privilege to empty it)")
        default: parts.append("capabilities NOT dropped")
        }
        if child.landlock >= 0 {
            parts.append("Landlock ABI \(child.landlock) " + (inNamespace ? "(no TCP connect of the program's own)" : "(TCP to allowed ports only)"))
        } else {
            parts.append(inNamespace || wallPorts ? "no Landlock" : "no Landlock wall (every port allowed)")
        }
        if tables.published {
            parts.append(child.read_only_publications == 1 ? "publications read-only to the program"
                                                            : "publications WRITABLE by the program (no mount namespace)")
        }
        var line = parts.joined(separator: ", ")
        if tables.published && !inNamespace && child.landlock >= 0 && wallPorts {
            line += "; the Landlock wall admits TCP to the ports allowed now: a reload can narrow them, not widen them"
        }
        return line
    }

    /// The ports some allow rule could permit, as a bitmap for the
    /// fallback's Landlock wall; empty when every port is.
    func allowedPorts() -> [UInt8] {
        var bits = [UInt8](repeating: 0, count: 65536 / 8)
        table.withUnsafeBytes { bytes in
            var view = TableView(bytes)
            let header = TableHeader(&view)
            for i in 0..<header.ruleCount {
                let rule = RuleRecord(&view, header, i)
                guard rule.action == 0, let set = view.portSet(header, rule.ports) else { continue }
                for r in 0..<set.count {
                    let range = view.u32(set.first + r * 4)
                    let low = Int(range & 0xFFFF), high = Int(range >> 16)
                    guard low <= high else { continue }
                    for port in low...high { bits[port / 8] |= UInt8(1 << (port % 8)) }
                }
            }
        }
        return bits.allSatisfy { $0 == 0xFF } ? [] : bits
    }

    /// Whether a call may be let go on (SECCOMP_USER_NOTIF_FLAG_CONTINUE)
    /// at all. The kernel then reads the call's descriptor and memory
    /// again, after the check, and another thread may have swapped in any
    /// socket the program holds, one of our TCP sockets among them (which
    /// may be unconnected: a non-blocking connect refused later). Only
    /// sends without MSG_FASTOPEN (a register) are ever let go on, never a
    /// connect: on a TCP socket of ours such a send reaches its peer or
    /// nothing, and Landlock refuses every TCP connect of the program's
    /// own. A datagram socket of ours could send anywhere, so once one is
    /// there, and in the fallback, sends are made here from copies too.
    var letGoOn: Bool { inNamespace && child.landlock >= 0 && !outsideDatagrams }

    /// Answers one trapped call. `wall`: the fallback's Landlock ports;
    /// the connects this process makes are held to them too.
    func answer(_ call: inout safesock_kernel_call, wall: [UInt8]?) {
        let listener = child.listener
        if let refusal = Self.refusedOutright(call) {
            report(call, nil, rules: [], reason: refusal.reason)
            if learn { safesock_kernel_continue(listener, &call) } else { safesock_kernel_fail(listener, &call, refusal.error) }
            return
        }
        tables.refresh()
        guard safesock_kernel_inspect(listener, &call, &child) == 0 else { return } // the caller is gone
        guard call.socket >= 0 else {
            // No duplicate of the caller's socket: nothing is judged, so
            // nothing is made. No such descriptor, or not a socket, fails as
            // the kernel fails it; anything else (pidfd_getfd refused) denies.
            let error = call.socket_error
            if error == EBADF || error == ENOTSOCK { safesock_kernel_fail(listener, &call, error); return }
            return refuse(&call, reason: "cannot take the caller's socket: \(String(cString: strerror(error)))")
        }
        let inet = call.domain == AF_INET || call.domain == AF_INET6
        switch Int(call.op) {
        case Int(SAFESOCK_KERNEL_CONNECT.rawValue):
            guard call.has_address == 1 else {
                safesock_kernel_fail(listener, &call, call.has_address < 0 ? -call.has_address : EINVAL)
                return
            }
            guard inet else {
                // Not inet: its domain was fixed when it was made, but the
                // number may hold another socket by the time a call let go
                // on is made again (an AF_UNSPEC or inet name in memory on a
                // socket of ours). Made here, on the socket looked at, from
                // the copy: never let go on.
                safesock_kernel_connect_here(listener, &call, nil)
                return
            }
            connect(&call, wall: wall)
        case Int(SAFESOCK_KERNEL_SENDTO.rawValue), Int(SAFESOCK_KERNEL_SENDMSG.rawValue), Int(SAFESOCK_KERNEL_SENDMMSG.rawValue):
            let fastOpen = call.flags & Int32(MSG_FASTOPEN) != 0
            if Int(call.op) == Int(SAFESOCK_KERNEL_SENDTO.rawValue) && call.has_address == 0 && !fastOpen {
                // No address pointer (a register, not memory) and no Fast
                // Open: whatever socket the number holds by then, the data
                // goes to the peer its connect was judged for.
                safesock_kernel_continue(listener, &call)
                return
            }
            send(&call, inet: inet, fastOpen: fastOpen, wall: wall)
        case Int(SAFESOCK_KERNEL_BIND.rawValue):
            bind(&call, inet: inet)
        case Int(SAFESOCK_KERNEL_LISTEN.rawValue):
            if inet, case let verdict = serving(-1), !verdict.allow { return refuse(&call, reason: verdict.reason) }
            if inet && inNamespace && call.inside == 0 { safesock_kernel_fail(listener, &call, EINVAL); return } // ours are connected
            // A listen reads no memory; swapped for one of our sockets, it
            // fails (connected) or, under servers allow, listens as allowed.
            if inet { programListens = true }
            safesock_kernel_continue(listener, &call)
        case Int(SAFESOCK_KERNEL_GETPEERNAME.rawValue): // trapped unless `peername allow`, and always with a publication
            // deny is answered as mask: the program learns nothing, and a
            // getpeername that fails makes Go's runtime wait for the
            // connect for ever (it takes a failure for a spurious wake-up).
            if peername == UInt8(SAFESOCK_PEERNAME_ALLOW) && inet { safesock_kernel_continue(listener, &call) } // reads, reaches nothing
            else if inet {
                // Learning: the run needed getpeername, so `suggest` keeps
                // `peername mask` (as the library records it).
                if learn { report(pid: call.pid, op: "getpeername", host: nil, destination: nil, rules: [], reason: "peername mask", allowed: true) }
                safesock_kernel_masked_peer(listener, &call)
            }
            else { safesock_kernel_continue(listener, &call) }
        default:
            safesock_kernel_fail(listener, &call, ENOSYS)
        }
    }

    /// A bind: a local effect. In the namespace the program's own sockets
    /// bind there; one of ours is bound already (EINVAL, as the kernel would
    /// say of a socket bound by its connect). Under `servers deny`, only
    /// port 0 (a client choosing its source address: tclsh, curl
    /// --interface).
    func bind(_ call: inout safesock_kernel_call, inet: Bool) {
        let listener = child.listener
        guard inet else { safesock_kernel_continue(listener, &call); return } // its domain cannot change; a local name
        if inNamespace && call.inside == 0 { safesock_kernel_fail(listener, &call, EINVAL); return }
        guard call.has_address == 1 else {
            safesock_kernel_fail(listener, &call, call.has_address < 0 ? -call.has_address : EINVAL)
            return
        }
        let port = call.address_length >= 4
            ? withUnsafeBytes(of: call.address) { UInt16(bigEndian: $0.loadUnaligned(fromByteOffset: 2, as: UInt16.self)) } : 0
        let verdict = serving(Int32(port))
        if !verdict.allow { return refuse(&call, reason: verdict.reason) }
        // Let go on: should the memory change to another port after this
        // look, the socket binds in the namespace (or, in the fallback, on
        // the host), and a listen on it is judged on its own.
        safesock_kernel_continue(listener, &call)
    }

    /// A connect on an inet socket: judged from the copy, and made from
    /// the destination judged, never from the caller's bytes.
    func connect(_ call: inout safesock_kernel_call, wall: [UInt8]?) {
        let listener = child.listener
        var to = safesock_kernel_destination()
        let error = withUnsafeBytes(of: call.address) { raw in
            safesock_kernel_destination(call.domain, call.type, 1, raw.bindMemory(to: UInt8.self).baseAddress, call.address_length, &to)
        }
        guard error == 0 else { safesock_kernel_fail(listener, &call, error); return }
        if to.kind == Int32(SAFESOCK_KERNEL_DISSOLVE) {
            // AF_UNSPEC dissolves an association: on the program's own
            // socket, here on our duplicate; one of ours stays as it is, or
            // it could be connected again past the check.
            if call.inside == 1 || !inNamespace { safesock_kernel_connect_here(listener, &call, &to); return }
            return refuse(&call, reason: "dissolving a connection safesock made")
        }
        let stream = call.type == Int32(SOCK_STREAM.rawValue)
        guard (stream && call.protocol == Int32(IPPROTO_TCP)) || (call.type == Int32(SOCK_DGRAM.rawValue) && call.protocol == Int32(IPPROTO_UDP)) else {
            return refuse(&call, Destination(to), reason: "only TCP and UDP sockets connect")
        }
        var destination = Destination(to)
        if inNamespace && call.inside == 1 && destination.port == 53 && nameservers.contains(destination.address) {
            // safesock's own DNS, at the nameserver's address in the
            // namespace: made on the program's socket, it stays inside.
            safesock_kernel_connect_here(listener, &call, &to)
            return
        }
        if let fault = tables.fault { return refuse(&call, destination, reason: "no usable table: \(fault)") }
        let verdict = judge(&destination, kind: stream ? SAFESOCK_KIND_STREAM : SAFESOCK_KIND_DATAGRAM)
        // Outside the namespace (the fallback), or a socket of ours already:
        // connected here, on that socket, to the destination judged (a
        // second connect of a non-blocking one says EALREADY or EISCONN).
        let ours = !inNamespace || call.inside == 0
        if !stream {
            if verdict.allow || learn && ours {
                if ours { safesock_kernel_connect_here(listener, &call, &to); return }
                outsideDatagrams = true
                safesock_kernel_connect_outside(listener, &call, &to)
            } else if inNamespace && call.inside == 1 {
                // A datagram connect sends nothing (glibc sorts getaddrinfo's
                // answers with such probes): made in the namespace, where it
                // reaches nothing, and not reported; the sends are.
                safesock_kernel_connect_here(listener, &call, &to)
            } else {
                refuse(&call, destination, rules: verdict.rules, reason: verdict.reason)
            }
            return
        }
        if !verdict.allow {
            report(call, destination, rules: verdict.rules, reason: verdict.reason)
            if !learn { safesock_kernel_fail(listener, &call, EACCES); return }
        } else if !Self.admits(wall, destination.port) {
            return refuse(&call, destination, reason: Self.outsideTheWall)
        }
        if ours { safesock_kernel_connect_here(listener, &call, &to); return }
        if programListens && destination.address.isLoopback && listensInside(call.pid, destination) {
            // The program's own listener in its namespace: it stays there.
            safesock_kernel_connect_here(listener, &call, &to)
            return
        }
        safesock_kernel_connect_outside(listener, &call, &to)
    }

    /// A send that is not to the connected peer: copied whole, judged
    /// message by message, and sent from the copies with destinations
    /// built from what was judged. A denied message ends the call there
    /// (EACCES when it is the first), as the library's sendmmsg stops.
    func send(_ call: inout safesock_kernel_call, inet: Bool, fastOpen: Bool, wall: [UInt8]?) {
        let listener = child.listener
        let tcp = call.type == Int32(SOCK_STREAM.rawValue) && call.protocol == Int32(IPPROTO_TCP)
        if fastOpen {
            // TCP Fast Open connects in the send, past Landlock's TCP rules:
            // refused on any socket (the flags are registers; a unix socket
            // swapped for one of ours would connect it), as a kernel without
            // it refuses it; programs fall back to connect.
            return refuse(&call, reason: "TCP Fast Open", error: EOPNOTSUPP)
        }
        if (!inet || tcp) && letGoOn {
            // Not inet, or TCP (which ignores a send's address and IP
            // control): whatever the number holds by then, see `letGoOn`.
            safesock_kernel_continue(listener, &call)
            return
        }
        var copied: OpaquePointer?
        let error = safesock_kernel_copy_send(&call, &copied)
        guard error == 0, let copy = copied else {
            safesock_kernel_fail(listener, &call, error == 0 ? EFAULT : error)
            return
        }
        if !inet || tcp {
            if safesock_kernel_send_passes_descriptors(copy) != 0 {
                safesock_kernel_send_free(copy)
                return refuse(&call, reason: "a send passing descriptors or credentials, which safesock would pass as its own", error: EPERM)
            }
            if tcp { safesock_kernel_send_strip(copy) }
            safesock_kernel_send(listener, &call, copy, 0) // from the copies, on the caller's socket
            return
        }
        guard call.protocol == Int32(IPPROTO_UDP) else {
            safesock_kernel_send_free(copy)
            return refuse(&call, reason: "only TCP and UDP sockets send")
        }
        var allInside = inNamespace && call.inside == 1
        var keep = safesock_kernel_send_count(copy)
        for i in 0..<safesock_kernel_send_count(copy) {
            var message = safesock_kernel_send_message(copy, i)!.pointee
            var refusal: (destination: Destination?, rules: [String], reason: String?)?
            var to = safesock_kernel_destination()
            to.kind = Int32(SAFESOCK_KERNEL_PEER)
            if message.has_address == 1 {
                let parsed = withUnsafeBytes(of: &message.address) { raw in
                    safesock_kernel_destination(call.domain, call.type, 0, raw.bindMemory(to: UInt8.self).baseAddress,
                                                message.address_length, &to)
                }
                if parsed != 0 {
                    // As the kernel fails it: the messages before are sent.
                    if i == 0 { safesock_kernel_send_free(copy); safesock_kernel_fail(listener, &call, parsed); return }
                    keep = i
                    break
                }
            }
            if to.kind == Int32(SAFESOCK_KERNEL_PEER) && allInside, let peer = Self.peer(of: call.socket) {
                // The program's own socket, connected in its namespace (a
                // datagram connect to a host not allowed stays there): what
                // it sends is judged as a send to that peer, and reported.
                to = peer
            }
            if message.source_route != 0 {
                refusal = (nil, [], "source route")
            } else if to.kind == 4 || to.kind == 6 {
                var destination = Destination(to)
                if allInside && destination.port == 53 && nameservers.contains(destination.address) {
                    // safesock's DNS, inside: no policy, it answers per policy.
                } else if let fault = tables.fault {
                    allInside = false
                    refusal = (destination, [], "no usable table: \(fault)")
                } else {
                    allInside = false
                    let verdict = judge(&destination, kind: SAFESOCK_KIND_DATAGRAM)
                    if !verdict.allow { refusal = (destination, verdict.rules, verdict.reason) }
                }
            }
            safesock_kernel_send_address(copy, i, call.domain, &to)
            guard let refusal else { continue }
            report(call, refusal.destination, rules: refusal.rules, reason: refusal.reason)
            if learn && refusal.reason != "source route" { continue }
            if i == 0 {
                safesock_kernel_send_free(copy)
                safesock_kernel_fail(listener, &call, EACCES)
                return
            }
            keep = i
            break
        }
        safesock_kernel_send_keep(copy, keep)
        // To hosts outside: from a socket of ours, put in the program's
        // socket's place, so that replies come back to it.
        let install = inNamespace && call.inside == 1 && !allInside
        if install { outsideDatagrams = true }
        safesock_kernel_send(listener, &call, copy, install ? 1 : 0)
    }

    /// The peer our duplicate `fd` is connected to, as a destination.
    static func peer(of fd: Int32) -> safesock_kernel_destination? {
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let got = withUnsafeMutablePointer(to: &storage) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getpeername(fd, $0, &length) } }
        guard got == 0 else { return nil }
        var to = safesock_kernel_destination()
        let family = Int32(storage.ss_family)
        let parsed = withUnsafeBytes(of: &storage) { raw in
            safesock_kernel_destination(family, Int32(SOCK_DGRAM.rawValue), 1, raw.bindMemory(to: UInt8.self).baseAddress,
                                        UInt32(length), &to)
        }
        return parsed == 0 && (to.kind == 4 || to.kind == 6) ? to : nil
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

    /// An inet destination as judged.
    struct Destination {
        var address: IPAddress
        var port: UInt16
        /// A name it is known by, for reports.
        var name: String?

        init(_ to: safesock_kernel_destination) {
            var bytes = withUnsafeBytes(of: to.address) { Array($0) }
            bytes = to.kind == 4 ? Array(bytes.prefix(4)) : bytes
            address = IPAddress(bytes: bytes) ?? IPAddress(bytes: [0, 0, 0, 0])!
            port = to.port
        }
    }

    /// A denial: the call fails with `error` (in learn mode it is let go
    /// on, as learning denies nothing, when that is safe; else failed too),
    /// and it is reported as the library reports its own: a JSON record in
    /// the --log file, else a line on standard error.
    func refuse(_ call: inout safesock_kernel_call, _ destination: Destination? = nil, rules: [String] = [], reason: String? = nil,
                error: Int32 = EACCES) {
        report(call, destination, rules: rules, reason: reason)
        if learn && letGoOn && destination == nil && Int(call.op) != Int(SAFESOCK_KERNEL_CONNECT.rawValue) {
            safesock_kernel_continue(child.listener, &call)
        } else {
            safesock_kernel_fail(child.listener, &call, error)
        }
    }

    /// What the one writer both enforcers use (safesock_denial.h) makes of
    /// a decision: the denial line, or the audit record (docs/audit-log.md)
    /// when `record` says who and when.
    func denialText(op: String, host: String?, destination: Destination?, rules: [String], reason: String?,
                    record: (pid: Int32, program: String, allowed: Bool)? = nil) -> String {
        withDenial(op: op, host: host, destination: destination, rules: rules, reason: reason, record: record) { d in
            var line = safesock_line()
            if record == nil {
                safesock_denial_line(&line, &d)
            } else if safesock_audit_record(&line, &d) != 0 {
                return "" // cut short by the buffer: no JSON, not written
            }
            return withUnsafeBytes(of: &line.text) { String(decoding: $0.prefix(line.length), as: UTF8.self) }
        }
    }

    /// The decision as the C writer takes it, for `body`.
    func withDenial<R>(op: String, host: String?, destination: Destination?, rules: [String], reason: String?,
                       record: (pid: Int32, program: String, allowed: Bool)?, _ body: (inout safesock_denial) -> R) -> R {
        let label: [UInt8] = table.withUnsafeBytes { t in
            var text: UnsafePointer<CChar>?
            var length = 0
            guard safesock_table_label(t.baseAddress, t.count, nil, &text, &length) == 0, let text else { return [] }
            return Array(UnsafeRawBufferPointer(start: text, count: length))
        }
        let ruleBytes = Array(rules.map { $0 + "\0" }.joined().utf8)
        let hostText = host ?? destination.map { "\($0.address)" } ?? ""
        let address = destination.map { "\($0.address)" }
        var clock = timespec()
        clock_gettime(CLOCK_REALTIME, &clock)
        let now = UInt64(clock.tv_sec) * 1000 + UInt64(clock.tv_nsec) / 1_000_000
        return "kernel".withCString { layer in op.withCString { op in hostText.withCString { host in (address ?? "").withCString { address in
            (reason ?? "").withCString { because in (origin ?? "").withCString { origin in (record?.program ?? "").withCString { program in
                ruleBytes.withUnsafeBufferPointer { r in label.withUnsafeBufferPointer { l in
                    r.withMemoryRebound(to: CChar.self) { r in l.withMemoryRebound(to: CChar.self) { l in
                        var d = safesock_denial(layer: layer, learn: learn ? 1 : 0, op: op, host: host,
                                                address: destination == nil ? nil : address, port: Int32(destination.map { Int($0.port) } ?? -1),
                                                reason: reason == nil ? nil : because, rules: r.baseAddress, rules_length: r.count,
                                                policy: l.baseAddress, policy_length: l.count, origin: origin,
                                                allowed: record?.allowed == true ? 1 : 0, pid: record?.pid ?? 0, program: program,
                                                time_ms: now)
                        return body(&d)
                    } }
                } }
            } } }
        } } } }
    }

    func report(_ call: safesock_kernel_call, _ destination: Destination?, rules: [String], reason: String?) {
        report(pid: call.pid, op: Self.opName(call.op), host: destination.map { $0.name ?? "\($0.address)" }, destination: destination,
               rules: rules, reason: reason)
    }

    private let reportLock = Mutex(())

    /// One record (the DNS service reports refused names here too).
    /// `allowed`: a learn-mode record of something let through that a
    /// suggested policy must allow (a masked getpeername); never a line.
    func report(pid: Int32, op: String, host: String?, destination: Destination?, rules: [String], reason: String?, allowed: Bool = false) {
        guard let log else {
            if !allowed { say(denialText(op: op, host: host, destination: destination, rules: rules, reason: reason)) }
            return
        }
        var comm = (try? String(contentsOfFile: "/proc/\(pid)/comm", encoding: .utf8)) ?? ""
        while comm.last?.isNewline == true { comm.removeLast() }
        if let socket = logSocket {
            withDenial(op: op, host: host, destination: destination, rules: rules, reason: reason, record: (pid, comm, allowed)) { d in
                socket.send(&d)
            }
            return
        }
        let record = denialText(op: op, host: host, destination: destination, rules: rules, reason: reason,
                                record: (pid, comm, allowed))
        guard !record.isEmpty else { return }
        let bytes = Array((record + "\n").utf8)
        reportLock.withLock { _ in
            let fd = open(log, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o600)
            guard fd >= 0 else { return }
            _ = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) } // one write: records never interleave
            close(fd)
        }
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

/// One line on standard error: the protection line, refusals without a
/// --log, and faults of a followed table.
func say(_ line: String) {
    let bytes = Array((line.hasSuffix("\n") ? line : line + "\n").utf8)
    var done = 0
    while done < bytes.count {
        let n = bytes[done...].withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
        if n < 0 && errno == EINTR { continue }
        if n <= 0 { return }
        done += n
    }
}

/// A NUL-terminated C message buffer as text.
func text(_ buffer: [CChar]) -> String {
    String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
}

/// Why the supervisor could not start: said by `safesock run` as it is.
public struct SupervisorError: Error, CustomStringConvertible {
    public let description: String
}
