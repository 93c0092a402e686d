// Kernel: `safesock run --kernel`, the backstop under the preload library.
// This process stays as the parent: it starts the command under a seccomp
// filter (Sources/SafesockKernel), answers every trapped call from the same
// compiled table the library uses, and exits with the command's status.
// What it judges (addresses, from the kernel's side) and what it trusts
// are in docs/enforcement.md, "The kernel backstop".

import Foundation
import SafesockKernel
import SafesockMatch
import SafesockPolicy
import SafesockPublication

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
    var peername: UInt8 {
        guard tables.fault == nil else { return 0 }
        return table.withUnsafeBytes { bytes in
            var view = TableView(bytes)
            return TableHeader(&view).peername
        }
    }

    /// The calls the filter traps beyond connect and the sends: those some
    /// option restricts, and all of them when a reload may change options.
    var trappedBeyondSends: Int32 {
        var trap: Int32 = 0
        if !servers || tables.published { trap |= Int32(SAFESOCK_KERNEL_TRAP_SERVERS) }
        if peername != 2 || tables.published { trap |= Int32(SAFESOCK_KERNEL_TRAP_PEERNAME) }
        return trap
    }

    /// An option of the current table, 1 meaning allow (none: deny).
    func option(_ field: KeyPath<TableHeader, UInt8>) -> Bool {
        guard tables.fault == nil else { return false }
        return table.withUnsafeBytes { bytes in
            var view = TableView(bytes)
            return TableHeader(&view)[keyPath: field] == 1
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
        // Read first in any case: it also finds the caller's name memory.
        let fromLibrary = libraryCode.contains(call)
        let connectOrSend = Int(call.op) != Int(SAFESOCK_KERNEL_BIND.rawValue) && Int(call.op) != Int(SAFESOCK_KERNEL_LISTEN.rawValue)
            && Int(call.op) != Int(SAFESOCK_KERNEL_GETPEERNAME.rawValue)
        let fastOpen = Int(call.op) != Int(SAFESOCK_KERNEL_CONNECT.rawValue) && call.flags & Int32(MSG_FASTOPEN) != 0
        if fromLibrary && connectOrSend && !fastOpen && !strict {
            // The library decided it (with the names it knows) and made the
            // call from its own code (CShim/raw.c): not judged twice. Never
            // bind, listen or getpeername: the library makes those through
            // libc, so one made from its code is not the library's. Never a send with
            // MSG_FASTOPEN: its connect passes Landlock's TCP rules (seen on
            // Linux 6.18), so the wall would not bound it; judged here, it is.
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

    /// The verdict on a destination of a call the library did not make,
    /// with the deciding rules as FILE:LINE. Its identities are the address
    /// (and loopback, for 0.0.0.0 and ::) and the names the caller's name
    /// memory holds for it. Those are the program's word: a name counts
    /// for an allow only when this process's own resolver gives it the same
    /// address (`NameCheck`); any name it claims counts for a disallow,
    /// since claiming one can only cost the program.
    func judge(_ destination: inout Destination, pid: Int32) -> (allow: Bool, rules: [String]) {
        let claimed = libraryCode.nameMemory(pid).map { names(in: $0, pid: pid, for: destination.address) } ?? []
        destination.name = claimed.first
        let confirmed = claimed.filter { nameCheck.confirms($0, destination.address, possible: { namePossible($0) }) }
        let strict = decide(destination, names: confirmed)
        guard strict.allow, confirmed.count < claimed.count else { return strict }
        let claims = decide(destination, names: claimed)
        return claims.allow ? strict : claims
    }

    /// The names a process remembered for an address, canonical and
    /// plausible as host names (anything else it wrote there is dropped).
    func names(in memory: UInt64, pid: Int32, for address: IPAddress) -> [String] {
        var buffer = [CChar](repeating: 0, count: Int(SAFESOCK_NAME_NEIGHBOURHOOD) * (Int(SAFESOCK_NAME_MAX) + 1))
        let count = address.bytes.withUnsafeBufferPointer { bytes in
            safesock_kernel_names(pid, memory, bytes.baseAddress, bytes.count, &buffer, buffer.count)
        }
        var names: [String] = []
        var start = 0
        for _ in 0..<max(0, Int(count)) {
            guard let end = buffer[start...].firstIndex(of: 0) else { break }
            let name = String(decoding: buffer[start..<end].map { UInt8(bitPattern: $0) }, as: UTF8.self)
            if NameCheck.plausible(name) { names.append(name) }
            start = end + 1
        }
        return names
    }

    /// Whether some allow rule could match `name` at some port (the
    /// library's resolve gate): only such a name is worth a lookup.
    func namePossible(_ name: String) -> Bool {
        var text = Array(name.utf8)
        return table.withUnsafeBytes { t in
            text.withUnsafeMutableBufferPointer { n in
                var gate = TableDecision(anyPortOf: t)
                gate.add(IdentityInput(text: UnsafeBufferPointer(n), family: 0, address: UnsafeBufferPointer(start: nil, count: 0),
                                       isOrigin: name == origin))
                return gate.result.verdict == .allow
            }
        }
    }

    /// The table's verdict for the address and `names`, and the deciding
    /// rules as FILE:LINE.
    func decide(_ destination: Destination, names: [String]) -> (allow: Bool, rules: [String]) {
        var identities = [Identity.address(destination.address)]
        if let also = Identity.address(destination.address).alsoReached { identities.append(also) }
        var inputs: [(text: [UInt8], address: [UInt8])] = identities.map { identity in
            if case .address(let a) = identity { return (Array(identity.description.utf8), a.bytes) }
            return (Array(identity.description.utf8), [])
        }
        inputs += names.map { (Array($0.utf8), []) }
        var deciding = [UInt32](repeating: 0, count: 8)
        let result: MatchResult = table.withUnsafeBytes { t in
            deciding.withUnsafeMutableBufferPointer { out in
                var decision = TableDecision(t, port: destination.port, deciding: out)
                for input in inputs {
                    input.text.withUnsafeBufferPointer { text in
                        input.address.withUnsafeBufferPointer { address in
                            let family: UInt8 = address.count == 4 ? 4 : address.count == 16 ? 6 : 0
                            decision.add(IdentityInput(text: text, family: family, address: address,
                                                       isOrigin: origin == String(decoding: text, as: UTF8.self)))
                        }
                    }
                }
                return decision.result
            }
        }
        let rules = deciding.prefix(result.written).map { rule -> String in
            table.withUnsafeBytes { t in
                var file: UnsafePointer<UInt8>?
                var length = 0
                var line: UInt32 = 0
                guard safesockTableRule(t.baseAddress, t.count, rule, &file, &length, &line) == 0, let file else { return "rule \(rule)" }
                return "\(String(decoding: UnsafeBufferPointer(start: file, count: length), as: UTF8.self)):\(line)"
            }
        }
        return (result.verdict == .allow, rules)
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
        default: return "listen"
        }
    }
}

/// The nameservers glibc's resolver reads from resolv.conf: the first three
/// `nameserver` lines (an IPv6 zone dropped), or 127.0.0.1 when there is
/// none (resolv/res_init.c).
public enum Nameservers {
    public static func parse(_ text: String) -> Set<IPAddress> {
        var found: [IPAddress] = []
        for line in text.split(whereSeparator: \.isNewline) where found.count < 3 {
            let words = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            guard words.count >= 2, words[0] == "nameserver" else { continue }
            let text = words[1].split(separator: "%", maxSplits: 1)[0]
            if let address = IPAddress(parsing: String(text)) { found.append(address) }
        }
        return found.isEmpty ? [IPAddress(bytes: [127, 0, 0, 1])!] : Set(found)
    }
}

/// Whether a call was made from the preload library's code in its caller:
/// an executable mapping of the library's file holds the instruction. What
/// /proc/PID/maps showed is remembered per process, with the program it
/// was running (/proc/PID/exe), and used while that link is unchanged and,
/// for a mapping, while /proc/PID/map_files still shows it (each one
/// readlink; after an exec or an unmap the maps are read anew). This
/// trusts the program not to jump into the library's code
/// (docs/enforcement.md).
final class LibraryCode: @unchecked Sendable {
    let file: String
    private var known: [Int32: (program: String, code: (low: UInt64, high: UInt64)?, names: UInt64?)] = [:]

    init(file: String) { self.file = file }

    /// Where the library keeps its name memory in process `pid`, as last
    /// read from its maps (by `contains`, which each call meets first).
    func nameMemory(_ pid: Int32) -> UInt64? { known[pid]?.names }

    /// Whether the library's code is mapped in process `pid` (as above).
    func isLoaded(_ pid: Int32) -> Bool { known[pid]?.code != nil }

    func contains(_ call: safesock_kernel_call) -> Bool {
        let program = System.readLink("/proc/\(call.pid)/exe")
        if let seen = known[call.pid], seen.program == program {
            guard let code = seen.code else { return false }
            if System.readLink("/proc/\(call.pid)/map_files/\(String(code.low, radix: 16))-\(String(code.high, radix: 16))") == file {
                return call.instruction >= code.low && call.instruction < code.high
            }
        }
        known[call.pid] = nil
        guard let program, let maps = try? String(contentsOfFile: "/proc/\(call.pid)/maps", encoding: .utf8) else { return false }
        var found: (low: UInt64, high: UInt64)?
        var names: UInt64?
        let namesFile = "/memfd:\(SAFESOCK_NAME_MEMORY_FILE) (deleted)"
        let namesSize = UInt64(SAFESOCK_NAME_SLOTS) * UInt64(SAFESOCK_NAME_ENTRY_SIZE)
        for line in maps.split(separator: "\n") where line.hasSuffix(namesFile) {
            let bounds = line.prefix(while: { $0 != " " }).split(separator: "-")
            guard bounds.count == 2, let low = UInt64(bounds[0], radix: 16), let high = UInt64(bounds[1], radix: 16),
                  high - low >= namesSize else { continue }
            names = low
        }
        for line in maps.split(separator: "\n") where line.hasSuffix(file) {
            let fields = line.split(separator: " ", maxSplits: 5, omittingEmptySubsequences: true)
            guard fields.count == 6, fields[1].contains("x"), fields[5].drop(while: { $0 == " " }) == file else { continue }
            let bounds = fields[0].split(separator: "-")
            guard bounds.count == 2, let low = UInt64(bounds[0], radix: 16), let high = UInt64(bounds[1], radix: 16) else { continue }
            found = (low, high)
            if call.instruction >= low && call.instruction < high { break }
        }
        known[call.pid] = (program, found, names)
        guard let found else { return false }
        return call.instruction >= found.low && call.instruction < found.high
    }
}


/// Names a program claims for an address, checked by this process's own
/// resolver (getaddrinfo, outside the program): a name counts for an allow
/// only if its answer holds the address. Answers are kept 30 seconds, for
/// at most 4,096 names. Only names some allow rule could match are looked
/// up, so a program cannot make the supervisor ask DNS about anything the
/// policy would not let it ask itself.
final class NameCheck: @unchecked Sendable {
    private var answers: [String: (addresses: Set<IPAddress>, time: Double)] = [:]

    func confirms(_ name: String, _ address: IPAddress, possible: (String) -> Bool) -> Bool {
        let now = Date().timeIntervalSince1970
        if let known = answers[name], now - known.time < 30, known.addresses.contains(address) { return true }
        guard possible(name) else { return false }
        if let known = answers[name], now - known.time < 30 { return known.addresses.contains(address) }
        if answers.count >= 4096 { answers.removeAll() }
        let found = Self.lookUp(name)
        answers[name] = (found, now)
        return found.contains(address)
    }

    /// A canonical host name: lower-case letters, digits, '-', '_' and
    /// inner dots, at most 253 bytes.
    static func plausible(_ name: String) -> Bool {
        let bytes = Array(name.utf8)
        guard !bytes.isEmpty, bytes.count <= 253, bytes.first != UInt8(ascii: "."), bytes.last != UInt8(ascii: ".") else { return false }
        return bytes.allSatisfy { ($0 >= 0x61 && $0 <= 0x7A) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x2D || $0 == 0x2E || $0 == 0x5F }
    }

    static func lookUp(_ name: String) -> Set<IPAddress> {
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(name, nil, &hints, &list) == 0 else { return [] }
        defer { freeaddrinfo(list) }
        var found: Set<IPAddress> = []
        var next = list
        while let entry = next?.pointee {
            next = entry.ai_next
            guard let sa = entry.ai_addr else { continue }
            let raw = UnsafeRawBufferPointer(start: sa, count: Int(entry.ai_addrlen))
            if let destination = KernelSupervisor.Destination(sockaddr: raw, length: UInt32(entry.ai_addrlen)) {
                found.insert(destination.address)
            }
        }
        return found
    }
}

/// The table the supervisor decides with. A file's is read once, at start.
/// A publication's is followed: at each trapped call the current
/// generation is compared with the last one seen (atomic loads), and a new
/// table is copied out, checked unchanged, and validated whole before it is
/// used; one that fails validation leaves the supervisor failing closed
/// (every inet connect and send refused) until a good one is published.
final class SupervisedTable: @unchecked Sendable {
    private(set) var bytes: [UInt8]
    private(set) var fault: String?
    private var view: safesock_pub_view
    private var generation: UInt64?
    let published: Bool

    init(file bytes: [UInt8]) {
        self.bytes = bytes
        view = safesock_pub_view()
        published = false
    }

    init(publication name: String) throws {
        view = safesock_pub_view()
        var error = [CChar](repeating: 0, count: 512)
        guard safesock_pub_attach(name, &view, &error, error.count) == 0 else {
            throw SystemError(description: "no publication '\(name)': \(System.text(error))")
        }
        bytes = []
        published = true
        fault = "no table read yet"
        refresh()
        if let fault { throw SystemError(description: "publication '\(name)': \(fault)") }
    }

    func refresh() {
        guard published else { return }
        var current = safesock_pub_table()
        // Mid-write for now: the last table stands, and the next call looks again.
        guard safesock_pub_current(&view, &current) == 0, current.generation != generation else { return }
        let copy = [UInt8](UnsafeRawBufferPointer(start: current.bytes, count: current.length))
        guard safesock_pub_unchanged(&view, &current) == 1 else { return }
        generation = current.generation
        if let problem = copy.withUnsafeBytes({ TableValidator.validate($0) }) {
            let reason = "\(problem.reason)"
            if fault != reason { Output.err("safesock: kernel: generation \(current.generation) of the published table is not usable (\(reason)): denying every inet connection") }
            bytes = []
            fault = reason
        } else {
            bytes = copy
            fault = nil
        }
    }
}
