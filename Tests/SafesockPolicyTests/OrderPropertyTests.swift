// Property: for random policies and destinations the decision does not depend
// on the order of the rules (docs/decision.md, "The verdict": the order of
// the rules never matters, and a matching disallow wins).

import SafesockPolicy
import Testing

let propertyHosts = ["*", "*.example.com", "www.example.com", "a.example.com", "example.com", "10.0.0.0/8",
                     "10.1.2.3", "10.*", "::1", "fd00::/8", "$originSocketHost", "{}", "*.com", "[a-c].example.com",
                     "192.0.2.0/24", "::ffff:192.0.2.1", "WWW.Example.COM."]
let propertyPorts = ["*", "80", "443", "1024", ">1024", "<1025", "1000-2000", "8*", "80*", "<0", "2?", "65535", "0"]
let destinationHosts = ["www.example.com", "a.example.com", "b.example.com", "example.com", "x.com", "10.1.2.3",
                        "10.9.9.9", "192.0.2.1", "::1", "fd00::5", "::ffff:10.1.2.3", "origin.test", "0x0a.1.2.3"]
let destinationPorts: [UInt16] = [0, 1, 79, 80, 81, 443, 1000, 1024, 1025, 2000, 2001, 8080, 65535]

/// What a decision says, with rules named by their text, not their line.
struct DecisionSummary: Equatable {
    var verdict: Verdict
    var allows: [String]
    var disallows: [String]

    init(_ d: Decision) {
        verdict = d.verdict
        allows = d.allowMatches.map { "\($0.hostText) \($0.portText)" }.sorted()
        disallows = d.disallowMatches.map { "\($0.hostText) \($0.portText)" }.sorted()
    }
}

@Suite struct OrderPropertyTests {
    @Test func verdictIndependentOfRuleOrder() {
        var rng = SeededGenerator(seed: 0x0_0DE5)
        var checked = 0, allowed = 0, deniedByRule = 0
        for _ in 0..<1_500 {
            let lines = (0..<Int.random(in: 1...12, using: &rng)).map { _ in
                "    \(Bool.random(using: &rng) ? "allow" : "disallow") \(propertyHosts.randomElement(using: &rng)!) \(propertyPorts.randomElement(using: &rng)!)"
            }
            let original = policy("section hosts ports\n" + lines.joined(separator: "\n"))
            let shuffles = (0..<3).map { _ in policy("section hosts ports\n" + lines.shuffled(using: &rng).joined(separator: "\n")) }
            for _ in 0..<40 {
                let names = Bool.random(using: &rng) ? [destinationHosts.randomElement(using: &rng)!] : []
                let host = destinationHosts.randomElement(using: &rng)!
                let port = destinationPorts.randomElement(using: &rng)!
                let expected = DecisionSummary(decide(original, host, port, names: names, origin: "origin.test"))
                for shuffled in shuffles {
                    let got = DecisionSummary(decide(shuffled, host, port, names: names, origin: "origin.test"))
                    #expect(got == expected, "\(lines) \(host) \(names) \(port)")
                }
                if expected.verdict == .allow { allowed += 1 }
                if !expected.disallows.isEmpty {
                    deniedByRule += 1
                    #expect(expected.verdict == .deny)
                }
                checked += 1
            }
        }
        #expect(checked == 60_000)
        #expect(allowed > 5_000 && deniedByRule > 5_000, "allowed \(allowed), denied by rule \(deniedByRule)")
    }
}
