// SupervisedTable: what the supervisor decides with: the table (a file's, or a
// publication followed through reloads), and the system's nameservers.
// Part of `safesock run --kernel` (Supervisor.swift has the supervisor).

import FoundationEssentials
import Glibc
import Dispatch
import SafesockKernel
import SafesockMatch
import SafesockPolicy
import SafesockABI

/// The table the supervisor decides with. A file's is read once, at start.
/// A publication's is followed: at each trapped call the control is read
/// again (one pread), and a new table is copied out, checked unchanged, and
/// its header, index checksum and every block's sum checked before it is
/// used (its publisher checked its structure; the matcher's reads are
/// bounds-checked); one that fails, or a
/// publication that can no longer be read (truncated, say), leaves the
/// supervisor failing closed (every inet connect and send refused) until a
/// good table can be read.
public final class SupervisedTable: @unchecked Sendable {
    private(set) var bytes: [UInt8]
    private(set) var fault: String?
    private var object: Int32 = -1
    private var seen: safesock_pub_active?
    let published: Bool

    public init(file bytes: [UInt8]) {
        self.bytes = bytes
        published = false
    }

    public init(publication name: String) throws {
        var error = [CChar](repeating: 0, count: 512)
        object = safesock_pub_open_reader(name, &error, error.count)
        guard object >= 0 else { throw SupervisorError(description: "no publication '\(name)': \(text(error))") }
        bytes = []
        published = true
        fault = "no table read yet"
        refresh()
        if let fault { throw SupervisorError(description: "publication '\(name)': \(fault)") }
    }

    deinit { if object >= 0 { close(object) } }

    func refresh() {
        guard published else { return }
        switch PublishedTable.read(object, unless: seen) {
        case .unchanged:
            return
        case .unreadable(let reason):
            if fault != reason { say("safesock: kernel: the published table cannot be read (\(reason)): denying every inet connection") }
            bytes = []
            fault = reason
            seen = nil
        case .table(let copy, let active):
            seen = active
            // Every block now, as the library checks each at its first read:
            // the decisions here hand the matcher no block checks.
            if let problem = copy.withUnsafeBytes({ TableValidator.validate($0, structure: false) ?? TableValidator.blocksFault($0) }) {
                let reason = "\(problem.reason)"
                if fault != reason { say("safesock: kernel: generation \(active.generation) of the published table is not usable (\(reason)): denying every inet connection") }
                bytes = []
                fault = reason
            } else {
                bytes = copy
                fault = nil
            }
        }
    }
}

/// A publication's current table, read with pread (safesock_publication.h:
/// never mapped, so an object truncated under the reader is a refusal, not
/// SIGBUS). `safesock show` and the supervisor read it here.
public enum PublishedTable {
    public enum Outcome {
        /// The table and the slot it was read from.
        case table([UInt8], safesock_pub_active)
        /// Still the one `unless` names.
        case unchanged
        case unreadable(String)
    }

    public static func read(_ object: Int32, unless seen: safesock_pub_active? = nil) -> Outcome {
        for _ in 0..<8 {
            var active = safesock_pub_active()
            guard safesock_pub_look(object, &active) == 0 else {
                return .unreadable("its control cannot be read: truncated, or mid-write for too long")
            }
            if let seen, seen.generation == active.generation, seen.slot == active.slot, seen.sequence == active.sequence {
                return .unchanged
            }
            // SAFESOCK_PUB_RESERVE: no slot of a publication reaches further.
            guard active.length <= 1 << 31 else { return .unreadable("its table is too large") }
            let look = active
            var copy = [UInt8](repeating: 0, count: Int(look.length))
            let got = copy.withUnsafeMutableBytes { out in withUnsafePointer(to: look) { safesock_pub_read(object, $0, out.baseAddress) } }
            switch got {
            case 0: return .table(copy, look)
            case 1: continue // rewritten while read
            default: return .unreadable("generation \(active.generation) cannot be read: the publication was truncated")
            }
        }
        return .unreadable("its table kept changing")
    }

    /// Opens `name` and reads its table once.
    public static func read(name: String) throws -> (bytes: [UInt8], generation: UInt64) {
        var error = [CChar](repeating: 0, count: 512)
        let object = safesock_pub_open_reader(name, &error, error.count)
        guard object >= 0 else { throw SupervisorError(description: "no publication '\(name)': \(text(error))") }
        defer { close(object) }
        switch read(object) {
        case .table(let bytes, let active): return (bytes, active.generation)
        case .unchanged: throw SupervisorError(description: "publication '\(name)' has no readable table")
        case .unreadable(let reason): throw SupervisorError(description: "publication '\(name)': \(reason)")
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
