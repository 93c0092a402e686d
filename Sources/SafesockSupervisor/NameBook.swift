// NameBook: the names an address is known by, for `run --kernel`, from
// trusted sources only: /etc/hosts as this process read it at start, and the
// answers safesock's own DNS service got for the program (DNSService.swift).
// Nothing the program wrote counts. Part of `safesock run --kernel`
// (Supervisor.swift has the supervisor).

import FoundationEssentials
import Glibc
import Dispatch
import Synchronization
import SafesockABI
import SafesockKernel
import SafesockMatch
import SafesockPolicy
import SafesockTable

extension IPAddress {
    /// 127.0.0.0/8 or ::1: where the program's namespace has a loopback too.
    var isLoopback: Bool { isIPv4 ? bytes[0] == 127 : bytes == [UInt8](repeating: 0, count: 15) + [1] }
}

/// Names by address, remembered for one run. A name some disallow rule
/// could match is kept for the whole run, whatever its TTL: a program that
/// kept the address could otherwise connect once the name was forgotten
/// and be judged by the address alone. Other names last as long as their
/// answer's TTL (at least 30 s, at most a day). When the book is full,
/// names that may be forgotten make room, oldest first; with none left,
/// a new name is refused (its lookup fails), never a kept one dropped.
final class NameBook: @unchecked Sendable {
    static let capacity = 16384
    private let lock = Mutex(())
    /// /etc/hosts at start, both ways.
    let hostsNames: [IPAddress: [String]]
    let hostsAddresses: [String: [IPAddress]]
    private struct Entry { var expiry: Double; var kept: Bool; var order: UInt64 }
    private var byAddress: [IPAddress: [String: Entry]] = [:]
    private var count = 0
    private var clock: UInt64 = 0

    init(hosts text: String) {
        var names: [IPAddress: [String]] = [:], addresses: [String: [IPAddress]] = [:]
        // Split as bytes: a Swift Character "\r\n" is not "\n", and a CRLF
        // file would read as one line. The reader takes '\r' as a blank.
        for line in Array(text.utf8).split(separator: UInt8(ascii: "\n")) {
            // As glibc's files source reads it, and the library (reverse.c):
            // one reader of a hosts line for both enforcers.
            var bytes = Array(line)
            var folded = [UInt8](repeating: 0, count: 16)
            var at = 0, end = 0
            let family = bytes.withUnsafeMutableBufferPointer { b in
                b.withMemoryRebound(to: CChar.self) { safesock_hosts_entry($0.baseAddress, $0.count, &folded, &at, &end) }
            }
            guard family != 0, let address = IPAddress(bytes: Array(folded.prefix(family == 4 ? 4 : 16))) else { continue }
            bytes = Array(bytes[at..<end])
            let words = bytes.split { safesock_hosts_blank(CChar(bitPattern: $0)) != 0 }.map { String(decoding: $0, as: UTF8.self) }
            for word in words {
                let name = Identity.canonicalName(String(word))
                guard NameBook.plausible(name) else { continue }
                if !(names[address]?.contains(name) ?? false) { names[address, default: []].append(name) }
                if !(addresses[name]?.contains(address) ?? false) { addresses[name, default: []].append(address) }
            }
        }
        hostsNames = names
        hostsAddresses = addresses
    }

    /// Every name `address` is known by now.
    func names(for address: IPAddress) -> [String] {
        var found = hostsNames[address] ?? []
        let now = Date().timeIntervalSince1970
        lock.withLock { _ in
            for (name, entry) in byAddress[address] ?? [:] where (entry.kept || entry.expiry > now) && !found.contains(name) {
                found.append(name)
            }
        }
        return found.sorted()
    }

    /// Every name that was an answer's, for `address` (PTR), whether or not
    /// its TTL has run out.
    func anyNames(for address: IPAddress) -> [String] {
        var found = hostsNames[address] ?? []
        lock.withLock { _ in found += (byAddress[address] ?? [:]).keys.filter { !found.contains($0) } }
        return found.sorted()
    }

    /// Remembers `name` for `addresses`; false when there is no room.
    func remember(_ name: String, _ addresses: [(IPAddress, UInt32)], kept: Bool) -> Bool {
        let now = Date().timeIntervalSince1970
        return lock.withLock { _ in
            for (address, ttl) in addresses {
                clock += 1
                let expiry = now + Double(min(max(ttl, 30), 86_400))
                if var entry = byAddress[address]?[name] {
                    entry.expiry = max(entry.expiry, expiry)
                    entry.kept = entry.kept || kept
                    byAddress[address]![name] = entry
                    continue
                }
                if count >= NameBook.capacity && !makeRoom(now) { return false }
                byAddress[address, default: [:]][name] = Entry(expiry: expiry, kept: kept, order: clock)
                count += 1
            }
            return true
        }
    }

    /// Drops the expired names, else the oldest that may be forgotten.
    private func makeRoom(_ now: Double) -> Bool {
        var oldest: (IPAddress, String, UInt64)?
        for (address, entries) in byAddress {
            for (name, entry) in entries where !entry.kept {
                if entry.expiry <= now { drop(address, name); return true }
                if oldest == nil || entry.order < oldest!.2 { oldest = (address, name, entry.order) }
            }
        }
        guard let oldest else { return false }
        drop(oldest.0, oldest.1)
        return true
    }

    private func drop(_ address: IPAddress, _ name: String) {
        byAddress[address]?[name] = nil
        if byAddress[address]?.isEmpty ?? false { byAddress[address] = nil }
        count -= 1
    }

    /// A canonical host name: lower-case letters, digits, '-', '_' and
    /// inner dots, at most 253 bytes.
    static func plausible(_ name: String) -> Bool {
        let bytes = Array(name.utf8)
        guard !bytes.isEmpty, bytes.count <= 253, bytes.first != UInt8(ascii: "."), bytes.last != UInt8(ascii: ".") else { return false }
        return bytes.allSatisfy { ($0 >= 0x61 && $0 <= 0x7A) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x2D || $0 == 0x2E || $0 == 0x5F }
    }
}

extension KernelSupervisor {
    /// The decision core's verdict (safesock_decision.h, the library's
    /// too) on a destination reached by a socket of `kind`. Its identities
    /// are the address (and loopback, for 0.0.0.0 and ::) and every name
    /// the book knows it by.
    func judge(_ destination: inout Destination, kind: safesock_socket_kind) -> Verdict {
        let known = names.names(for: destination.address)
        destination.name = known.first
        return decide(destination, names: known, kind: kind)
    }

    /// Whether some allow rule could match `name` at some port (the
    /// library's resolve gate): only such a name is looked up under
    /// `resolve strict`.
    func namePossible(_ name: String) -> Bool {
        anyPort(name) { TableDecision(anyPortOf: $0) }.result.verdict == .allow
    }

    /// Whether some disallow rule could match `name` at some port: such a
    /// name is kept in the book for the whole run.
    func disallowPossible(_ name: String) -> Bool {
        anyPort(name) { TableDecision(anyPortDisallowOf: $0) }.disallowPossible
    }

    private func anyPort(_ name: String, _ make: (UnsafeRawBufferPointer) -> TableDecision<WholeTableChecked>) -> TableDecision<WholeTableChecked> {
        var text = Array(name.utf8)
        return table.withUnsafeBytes { t in
            text.withUnsafeMutableBufferPointer { n in
                var gate = make(t)
                gate.add(IdentityInput(text: UnsafeBufferPointer(n), family: 0, address: UnsafeBufferPointer(start: nil, count: 0),
                                       isOrigin: name == origin))
                return gate
            }
        }
    }

    /// A verdict: allowed, and why not (a reason, or the deciding rules
    /// as FILE:LINE).
    struct Verdict {
        var allow: Bool
        var rules: [String]
        var reason: String?
    }

    /// The decision core asked for the address and `names`. The texts it
    /// reads are held in one buffer for the call.
    func decide(_ destination: Destination, names: [String], kind: safesock_socket_kind) -> Verdict {
        let address = Identity.address(destination.address)
        let identities = [address] + (address.alsoReached.map { [$0] } ?? []) + names.map(Identity.name)
        let decision = table.withUnsafeBytes {
            coreDecision(table: $0, identities: identities, origin: origin, port: destination.port, kind: kind)
        }
        let indexes = withUnsafeBytes(of: decision.rules) { Array($0.bindMemory(to: UInt32.self).prefix(Int(decision.rule_count))) }
        let rules = indexes.map { rule -> String in
            table.withUnsafeBytes { t in
                var file: UnsafePointer<CChar>?
                var length = 0
                var line: UInt32 = 0
                guard safesock_table_rule(t.baseAddress, t.count, nil, rule, &file, &length, &line) == 0, let file else { return "rule \(rule)" }
                return "\(String(decoding: UnsafeRawBufferPointer(start: file, count: length), as: UTF8.self)):\(line)"
            }
        }
        return Verdict(allow: decision.allowed == 1, rules: rules, reason: decision.reason.map { String(cString: $0) })
    }

    /// The decision core's word on serving at `port` (-1: a listen).
    func serving(_ port: Int32) -> Verdict {
        var options = safesock_options()
        let read = table.withUnsafeBytes { safesock_table_options($0.baseAddress, $0.count, &options) }
        if read != 0 || tables.fault != nil { options = safesock_options() } // no usable table: every option denies
        var decision = safesock_decision()
        safesock_decide_serving(&options, port, &decision)
        return Verdict(allow: decision.allowed == 1, rules: [], reason: decision.reason.map { String(cString: $0) })
    }

    /// Whether the program listens at `destination` (or the wildcard of its
    /// family) in its own namespace: /proc/PID/net/tcp shows that
    /// namespace's sockets. Unreadable: no (the connect is then made
    /// outside, as the policy allowed).
    func listensInside(_ pid: Int32, _ destination: Destination) -> Bool {
        let hex = String(destination.port, radix: 16, uppercase: true)
        let port = String(repeating: "0", count: max(0, 4 - hex.count)) + hex
        for file in ["tcp", "tcp6"] {
            guard let text = try? String(contentsOfFile: "/proc/\(pid)/net/\(file)", encoding: .utf8) else { continue }
            for line in text.split(separator: "\n").dropFirst() {
                let fields = line.split(separator: " ", omittingEmptySubsequences: true)
                guard fields.count > 3, fields[3] == "0A" else { continue } // LISTEN
                let local = fields[1].split(separator: ":")
                guard local.count == 2, local[1] == port else { continue }
                let wildcard = local[0].allSatisfy { $0 == "0" }
                if wildcard || Self.procAddress(String(local[0])) == destination.address { return true }
            }
        }
        return false
    }

    /// /proc/net/tcp's hex address: 32-bit words in host (little-endian) order.
    static func procAddress(_ hex: String) -> IPAddress? {
        guard hex.count == 8 || hex.count == 32 else { return nil }
        var bytes: [UInt8] = []
        var words = Array(hex.utf8)
        while !words.isEmpty {
            let word = words.prefix(8)
            words.removeFirst(8)
            guard let value = UInt32(String(decoding: word, as: UTF8.self), radix: 16) else { return nil }
            bytes += withUnsafeBytes(of: value.littleEndian) { Array($0) }
        }
        return IPAddress(bytes: bytes)
    }
}
