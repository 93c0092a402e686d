// KernelNames: how the supervisor judges a destination with the names a process
// claims for it (its name memory), and checks them with its own lookups.
// Part of `safesock run --kernel` (Kernel.swift has the supervisor).

import Foundation
import SafesockKernel
import SafesockMatch
import SafesockPolicy

extension KernelSupervisor {
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
