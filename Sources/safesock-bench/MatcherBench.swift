// MatcherBench: parse and compile time, table size, and the matcher's
// decision time for policies of 10 to 1,000,000 rules, in process (the
// matcher is the same source the preload library links, built with -O).

import Foundation
import SafesockMatch
import SafesockPolicy
import SafesockTable

/// One policy size. Without names: the table less its string pool (the
/// names, patterns and file names themselves).
struct Row: Encodable {
    var rules: Int
    var parse_ms: Double
    var compile_ms: Double
    var table_bytes: Int
    var table_bytes_per_rule: Double
    var table_bytes_per_rule_without_names: Double
    /// What a loader pays before a table's first decision: the checksum
    /// and the structural checks (TableValidator), best of three.
    var validate_ms: Double
    /// The enforcers' check at load (header and block sums).
    var load_check_ms: Double
    var decide_median_ns: Double
    var decide_p99_ns: Double
}

enum MatcherBench {
    static func run(sizes: [Int]) throws -> [Row] {
        var rows: [Row] = []
        for count in sizes {
            var rng = SeededGenerator(seed: UInt64(count))
            let text = realisticPolicy(count, &rng)
            var t = now()
            let parsed = PolicyParser.parse(text: text, name: "bench.cfg")
            let parseMs = Double(now() - t) / 1e6
            guard !parsed.hasErrors else { fatalError("bench policy has errors: \(parsed.diagnostics.prefix(3))") }
            t = now()
            let bytes = try TableCompiler.compile(parsed.policy)
            let compileMs = Double(now() - t) / 1e6
            var validateMs = Double.infinity
            for _ in 0..<3 {
                let start = now()
                let fault = bytes.withUnsafeBytes { TableValidator.validate($0) }
                validateMs = min(validateMs, Double(now() - start) / 1e6)
                guard fault == nil else { fatalError("the bench's table was refused: \(fault!)") }
            }
            // The enforcers' check at load: the header and the block sums.
            var loadCheckMs = Double.infinity
            for _ in 0..<3 {
                let start = now()
                let fault = bytes.withUnsafeBytes { TableValidator.validate($0, structure: false) }
                loadCheckMs = min(loadCheckMs, Double(now() - start) / 1e6)
                guard fault == nil else { fatalError("the bench's table was refused: \(fault!)") }
            }
            let stringBytes = bytes.withUnsafeBytes { Int($0.loadUnaligned(fromByteOffset: TableLayout.stringsOffset + 4, as: UInt32.self)) }

            // Identities as the library passes them: canonical text, address bytes.
            let cases = destinations(count, &rng).map { (name, address, port) -> ([UInt8], [UInt8], [UInt8], UInt8, UInt16) in
                let a = IPAddress(parsing: address)!
                return (Array(name.utf8), Array(a.description.utf8), a.bytes, a.isIPv4 ? 4 : 6, port)
            }
            var perDestination: [Double] = []
            var out = [UInt32](repeating: 0, count: 8)
            var allowed = 0
            // Decided as the enforcers decide: each block checked at its first
            // read (the best of five batches leaves those first checks out).
            var checked = [UInt8](repeating: 0, count: bytes.count / TableLayout.blockSize + 1)
            checked.withUnsafeMutableBytes { c in
            let blocks = BlockChecks(c.baseAddress!, tag: 1)
            bytes.withUnsafeBytes { table in
                out.withUnsafeMutableBufferPointer { o in
                    for (name, text, address, family, port) in cases {
                        name.withUnsafeBufferPointer { n in
                            text.withUnsafeBufferPointer { tx in
                                address.withUnsafeBufferPointer { ad in
                                    let ids = [IdentityInput(text: n, family: 0, address: UnsafeBufferPointer(start: nil, count: 0), isOrigin: false),
                                               IdentityInput(text: tx, family: family, address: ad, isOrigin: false)]
                                    ids.withUnsafeBufferPointer { idp in
                                        // The best of 5 batches of 40: on a shared machine a
                                        // batch's time is its work plus whatever interrupted it.
                                        var best = Double.infinity
                                        for _ in 0..<5 {
                                            let start = now()
                                            for _ in 0..<40 {
                                                if TableMatcher.decide(table, identities: idp, port: port, deciding: o, blocks: blocks).verdict == .allow { allowed += 1 }
                                            }
                                            best = min(best, Double(now() - start) / 40)
                                        }
                                        perDestination.append(best)
                                    }
                                }
                            }
                        }
                    }
                }
            }
            }
            perDestination.sort()
            rows.append(Row(rules: count, parse_ms: parseMs, compile_ms: compileMs, table_bytes: bytes.count,
                            table_bytes_per_rule: Double(bytes.count) / Double(count),
                            table_bytes_per_rule_without_names: Double(bytes.count - stringBytes) / Double(count), validate_ms: validateMs, load_check_ms: loadCheckMs,
                            decide_median_ns: percentile(perDestination, 0.5), decide_p99_ns: percentile(perDestination, 0.99)))
            if allowed == 0 { print("warning: no destination was allowed at \(count) rules") }
        }

        return rows
    }
}
