// Support for the table tests: random policies that
// reach every index of the table (docs/table-format.md).

import SafesockMatch
import SafesockPolicy
import SafesockTable
@_exported import SafesockTestSupport
import Testing

/// Host patterns covering each way the table finds a rule: exact names and
/// addresses, `*`, star suffixes, glob suffixes and prefixes, unindexed
/// globs, escaped literals, CIDR blocks of many lengths, the origin, `{}`.
/// 64 labels: past the 63 a label-count bit can name.
let manyLabels = Array(repeating: "z", count: 64).joined(separator: ".")
let tableHosts = [
    // Suffixes and prefixes of more labels, and of more than 63 (the
    // matcher's label filters and the walks that stop at the longest).
    "*.c.b.example.com", "a.b.*", "c.b.*.com", "*.\(manyLabels).example.com", "\(manyLabels).*",
    "*", "www.example.com", "a.example.com", "example.com", "*.example.com", "*.com", "*example.com",
    "www.*.com", "[a-c].example.com", "?.example.com", "a\\.example.com", "*.b.example.com", "10.*", "192.0.2.*",
    "*example*", "a*", "10.1.2.3", "192.0.2.1", "::1", "2001:db8::5", "10.0.0.0/8", "10.1.0.0/16", "10.1.2.0/24",
    "0.0.0.0/0", "192.0.2.0/25", "192.0.2.128/25", "fd00::/8", "2001:db8::/32", "2001:db8::4/127", "::/0",
    "$originSocketHost", "{}", "*.1.2.3", "origin.test", "x.org", "*.x.org", "[x-z].org",
    // Keys the names table holds once for several kinds: a name and a
    // literal that start with a dot are also the suffix of `*.example.com`
    // and of `a*.example.com` (a longer text ending in it must not match them).
    ".example.com", "\\.example.com", "a*.example.com", ".x.org",
]
let tablePorts = ["*", "80", "443", "0", "65535", ">1024", "<1025", "1000-2000", "8*", "80*", "<0", "2?", "[1-3]0", ">65535", "5-1"]
let destinationHosts = [
    "d.c.b.example.com", "a.b.c", "a.b.c.b.x.com", "c.b.a.com", "q.\(manyLabels).example.com", "\(manyLabels).example.com",
    "z.\(manyLabels)", "www.example.com", "a.example.com", "b.example.com", "c.b.example.com", "example.com", "x.com", "wwwexample.com",
    "a.example.com.evil", "x.org", "y.org", "a.x.org", "10.1.2.3", "10.1.3.3", "10.9.9.9", "11.0.0.1", "192.0.2.1",
    "192.0.2.200", "::1", "2001:db8::5", "2001:db8::4", "2001:db9::1", "fd00::5", "::ffff:10.1.2.3", "origin.test",
    "0x0a.1.2.3", "a.example.com", "aexample.com", "a", "", ".example.com", "ab.example.com", ".x.org",
    // Special addresses, some carried in IPv6 (privateNames).
    "127.0.0.5", "169.254.169.254", "100.64.1.1", "64:ff9b::a01:203", "2002:a01:203::1", "8.8.8.8", "64:ff9b::808:808",
]
let destinationPorts: [UInt16] = [0, 1, 10, 20, 29, 79, 80, 81, 443, 800, 999, 1000, 1024, 1025, 2000, 2001, 8080, 65535]

func randomPolicyText(_ rng: inout SeededGenerator, rules: ClosedRange<Int> = 1...14) -> String {
    var text = "section hosts ports\n"
    for _ in 0..<Int.random(in: rules, using: &rng) {
        text += "    \(Int.random(in: 0..<10, using: &rng) < 7 ? "allow" : "disallow") \(tableHosts.randomElement(using: &rng)!) \(tablePorts.randomElement(using: &rng)!)\n"
    }
    return text
}

func parsedPolicy(_ text: String, name: String = "p.cfg") -> Policy {
    let result = PolicyParser.parse(path: name, loader: MemoryLoader([name: text]))
    if result.hasErrors { Issue.record("fixture has errors: \(result.diagnostics)") }
    return result.policy
}

func compiled(_ policy: Policy) throws -> CompiledTable {
    try CompiledTable(validating: try TableCompiler.compile(policy))
}

/// The policy text of the page's example, for tables with every kind of rule.
let richPolicy = """
section options
    peername mask
    maxSockets 7
section hosts ports
    allow    $originSocketHost  >1024
    allow    www.sun.com        >1024
    disallow *.cs.mysite.edu    <1025
    allow    *.cs.mysite.edu    1030
    allow    www.*.com          80*
    allow    10.*               [1-3]0
    allow    *example*          443
    allow    192.0.2.0/24       22
    disallow 192.0.2.128/25     *
    allow    2001:db8::/32      3000-4000
    allow    ::1                8080
    allow    {}                 *
    allow    a\\.b               1
    disallow *                  25
"""
