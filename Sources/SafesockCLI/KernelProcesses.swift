// KernelProcesses: what the supervisor knows of each process it answers: where
// the library's code and name memory are mapped.
// Part of `safesock run --kernel` (Kernel.swift has the supervisor).

import Foundation
import SafesockKernel
import SafesockMatch
import SafesockPolicy

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
