// Workload: the policies and destinations every bench figure uses, from a
// fixed seed, so two runs measure the same thing.

import Foundation
@_exported import SafesockTestSupport

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

