// SupervisedTable: what the supervisor decides with: the table (a file's, or a
// publication followed through reloads), and the system's nameservers.
// Part of `safesock run --kernel` (Supervisor.swift has the supervisor).

import FoundationEssentials
import Glibc
import Dispatch
import SafesockKernel
import SafesockMatch
import SafesockPolicy
import SafesockPublication

/// The table the supervisor decides with. A file's is read once, at start.
/// A publication's is followed: at each trapped call the current
/// generation is compared with the last one seen (atomic loads), and a new
/// table is copied out, checked unchanged, and validated whole before it is
/// used; one that fails validation leaves the supervisor failing closed
/// (every inet connect and send refused) until a good one is published.
public final class SupervisedTable: @unchecked Sendable {
    private(set) var bytes: [UInt8]
    private(set) var fault: String?
    private var view: safesock_pub_view
    private var generation: UInt64?
    let published: Bool

    public init(file bytes: [UInt8]) {
        self.bytes = bytes
        view = safesock_pub_view()
        published = false
    }

    public init(publication name: String) throws {
        view = safesock_pub_view()
        var error = [CChar](repeating: 0, count: 512)
        guard safesock_pub_attach(name, &view, &error, error.count) == 0 else {
            throw SupervisorError(description: "no publication '\(name)': \(text(error))")
        }
        bytes = []
        published = true
        fault = "no table read yet"
        refresh()
        if let fault { throw SupervisorError(description: "publication '\(name)': \(fault)") }
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
            if fault != reason { say("safesock: kernel: generation \(current.generation) of the published table is not usable (\(reason)): denying every inet connection") }
            bytes = []
            fault = reason
        } else {
            bytes = copy
            fault = nil
        }
    }
}

/// The nameservers glibc's resolver reads from resolv.conf: the first three
/// `nameserver` lines (an IPv6 zone dropped), or 127.0.0.1 when there is
/// none (resolv/res_init.c).
public enum Nameservers {
    public static func parse(_ text: String) -> [IPAddress] {
        var found: [IPAddress] = []
        for line in text.split(whereSeparator: \.isNewline) where found.count < 3 {
            let words = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            guard words.count >= 2, words[0] == "nameserver" else { continue }
            let text = words[1].split(separator: "%", maxSplits: 1)[0]
            if let address = IPAddress(parsing: String(text)), !found.contains(address) { found.append(address) }
        }
        return found.isEmpty ? [IPAddress(bytes: [127, 0, 0, 1])!] : found
    }
}
