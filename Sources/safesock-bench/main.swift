// safesock-bench: `make bench`. For policies of 10 to 1,000,000 rules of a
// realistic mix it measures parse and compile time, table size, and the
// matcher's decision time (per destination, name and address identities).
// Prints one table and writes build/bench.json. Times are this machine's.

import Foundation
import SafesockMatch
import SafesockPolicy
import SafesockTable

struct SeededGenerator: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// A policy of `count` rules: mostly exact names and domains, addresses
/// and CIDR blocks, some globs, a few disallows (the kinds a site lists).
func realisticPolicy(_ count: Int, _ rng: inout SeededGenerator) -> String {
    var lines = ["section hosts ports", "    disallow * 25", "    disallow 169.254.169.254 *"]
    let domains = max(1, count / 50)
    for i in 0..<max(0, count - 2) {
        let d = Int.random(in: 0..<domains, using: &rng)
        let port = ["80", "443", "8080", "3000-3999", "443"].randomElement(using: &rng)!
        switch Int.random(in: 0..<100, using: &rng) {
        case 0..<45: lines.append("    allow host\(i).domain\(d).com \(port)")
        case 45..<60: lines.append("    allow *.domain\(d).org 443")
        case 60..<70: lines.append("    allow 10.\(i >> 16 & 255).\(i >> 8 & 255).\(i & 255) \(port)")
        case 70..<80: lines.append("    allow 11.\(i >> 8 & 255).\(i & 255).0/24 *")
        case 80..<85: lines.append("    allow 12.\(i & 255).0.0/16 443")
        case 85..<90: lines.append("    disallow host\(i).domain\(d).com 8080")
        case 90..<95: lines.append("    allow 2001:db8:\(String(i & 0xffff, radix: 16))::/48 443")
        case 95..<99: lines.append("    allow api-*.svc\(d).net 8443")
        default: lines.append("    allow 172.\(i & 255).*.* 80")
        }
    }
    return lines.joined(separator: "\n") + "\n"
}

/// Destinations that hit each kind of rule, and misses: (name, address).
func destinations(_ count: Int, _ rng: inout SeededGenerator) -> [(String, String, UInt16)] {
    let domains = max(1, count / 50)
    return (0..<1000).map { k in
        let i = Int.random(in: 0..<max(1, count), using: &rng)
        let d = Int.random(in: 0..<domains, using: &rng)
        switch k % 8 {
        case 0: return ("host\(i).domain\(d).com", "10.\(i >> 16 & 255).\(i >> 8 & 255).\(i & 255)", 443)
        case 1: return ("www.domain\(d).org", "11.\(i >> 8 & 255).\(i & 255).7", 443)
        case 2: return ("api-7.svc\(d).net", "12.\(i & 255).3.4", 8443)
        case 3: return ("x\(i).example", "2001:db8:\(String(i & 0xffff, radix: 16))::9", 443)
        case 4: return ("a.b.c.d.e.f.miss\(i).net", "192.0.2.\(i & 255)", 80)
        case 5: return ("host\(i).domain\(d).com", "172.\(i & 255).9.9", 80)
        case 6: return ("mail.domain\(d).com", "10.9.9.9", 25)
        default: return ("metadata.internal", "169.254.169.254", 80)
        }
    }
}

func now() -> UInt64 {
    var t = timespec()
    clock_gettime(CLOCK_MONOTONIC, &t)
    return UInt64(t.tv_sec) * 1_000_000_000 + UInt64(t.tv_nsec)
}

func percentile(_ sorted: [Double], _ p: Double) -> Double {
    sorted[min(sorted.count - 1, Int(Double(sorted.count - 1) * p + 0.5))]
}

struct Row: Encodable {
    var rules: Int
    var parse_ms: Double
    var compile_ms: Double
    var table_bytes: Int
    var table_bytes_per_rule: Double
    var decide_median_ns: Double
    var decide_p99_ns: Double
}

var rows: [Row] = []
let sizes = CommandLine.arguments.dropFirst().compactMap { Int($0) }
for count in sizes.isEmpty ? [10, 1_000, 100_000, 1_000_000] : sizes {
    var rng = SeededGenerator(state: UInt64(count))
    let text = realisticPolicy(count, &rng)
    var t = now()
    let parsed = PolicyParser.parse(text: text, name: "bench.cfg")
    let parseMs = Double(now() - t) / 1e6
    guard !parsed.hasErrors else { fatalError("bench policy has errors: \(parsed.diagnostics.prefix(3))") }
    t = now()
    let bytes = try TableCompiler.compile(parsed.policy)
    let compileMs = Double(now() - t) / 1e6

    // Identities as the library passes them: canonical text, address bytes.
    let cases = destinations(count, &rng).map { (name, address, port) -> ([UInt8], [UInt8], [UInt8], UInt8, UInt16) in
        let a = IPAddress(parsing: address)!
        return (Array(name.utf8), Array(a.description.utf8), a.bytes, a.isIPv4 ? 4 : 6, port)
    }
    var perDestination: [Double] = []
    var out = [UInt32](repeating: 0, count: 8)
    var allowed = 0
    bytes.withUnsafeBytes { table in
        out.withUnsafeMutableBufferPointer { o in
            for (name, text, address, family, port) in cases {
                name.withUnsafeBufferPointer { n in
                    text.withUnsafeBufferPointer { tx in
                        address.withUnsafeBufferPointer { ad in
                            let ids = [IdentityInput(text: n, family: 0, address: UnsafeBufferPointer(start: nil, count: 0), isOrigin: false),
                                       IdentityInput(text: tx, family: family, address: ad, isOrigin: false)]
                            ids.withUnsafeBufferPointer { idp in
                                let repeats = 200
                                let start = now()
                                for _ in 0..<repeats {
                                    if TableMatcher.decide(table, identities: idp, port: port, deciding: o).verdict == .allow { allowed += 1 }
                                }
                                perDestination.append(Double(now() - start) / Double(repeats))
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
                    decide_median_ns: percentile(perDestination, 0.5), decide_p99_ns: percentile(perDestination, 0.99)))
    if allowed == 0 { print("warning: no destination was allowed at \(count) rules") }
}

func cell(_ s: String, _ w: Int) -> String { String(repeating: " ", count: max(0, w - s.count)) + s }
print("matcher and compiler (\(ProcessInfo.processInfo.processorCount) cores; decision = name + address identities, median/p99 over 1,000 destinations)")
print([cell("rules", 9), cell("parse ms", 10), cell("compile ms", 11), cell("table bytes", 13), cell("bytes/rule", 11),
       cell("decide median ns", 17), cell("decide p99 ns", 14)].joined(separator: " "))
for r in rows {
    print([cell("\(r.rules)", 9), cell(String(format: "%.1f", r.parse_ms), 10), cell(String(format: "%.1f", r.compile_ms), 11),
           cell("\(r.table_bytes)", 13), cell(String(format: "%.1f", r.table_bytes_per_rule), 11),
           cell(String(format: "%.0f", r.decide_median_ns), 17), cell(String(format: "%.0f", r.decide_p99_ns), 14)].joined(separator: " "))
}
let encoder = JSONEncoder()
encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
try FileManager.default.createDirectory(atPath: "build", withIntermediateDirectories: true)
try encoder.encode(["matcher": rows]).write(to: URL(fileURLWithPath: "build/bench.json"))
print("written: build/bench.json")
