// Differential: the table matcher and the decision model agree, verdict and
// deciding rules, on 100,000 random (policy, destination) pairs; and the
// decision core on the same table (privateNames among its options) agrees
// with the model's verdict.

import SafesockPolicy
import SafesockTable
import Testing

@Suite struct DifferentialTests {
    @Test func tableAgreesWithModel() throws {
        var rng = SeededGenerator(seed: 0xD1FF_0004)
        var pairs = 0, allowed = 0, deniedByRule = 0, deniedByPrivateNames = 0, disagreements: [String] = []
        let origin = Identity(host: "origin.test")
        while pairs < 100_000 {
            var text = randomPolicyText(&rng)
            if Bool.random(using: &rng) { text += "section options\n    privateNames deny\n" }
            let policy = parsedPolicy(text)
            let table = try compiled(policy)
            for _ in 0..<50 {
                var identities = [Identity(host: destinationHosts.randomElement(using: &rng)!)]
                if Bool.random(using: &rng) {
                    let extra = Identity(host: destinationHosts.randomElement(using: &rng)!)
                    if !identities.contains(extra) { identities.append(extra) }
                }
                let destination = Destination(identities: identities, port: destinationPorts.randomElement(using: &rng)!)
                let model = policy.decide(destination, origin: origin)
                let fromTable = table.decide(destination, origin: origin, capacity: 64)
                let tableRefs = Set(fromTable.deciding.map { policy.rules[$0].ref })
                let core = table.decideByCore(destination, origin: origin)
                // The matcher alone knows no options: compare it with the
                // rules' verdict, before privateNames.
                let byRules: Verdict = model.privateAddress != nil ? .allow : model.verdict
                if byRules != fromTable.verdict || Set(model.deciding) != tableRefs || fromTable.truncated || core.verdict != model.verdict
                    || (core.reason?.hasPrefix("privateNames deny") ?? false) != (model.privateAddress != nil) {
                    if disagreements.count < 5 {
                        disagreements.append("\(text)\n\(identities) port \(destination.port): model \(model.verdict) \(model.deciding), table \(fromTable.verdict) \(tableRefs.sorted()), core \(core)")
                    }
                }
                if model.verdict == .allow { allowed += 1 }
                if !model.disallowMatches.isEmpty { deniedByRule += 1 }
                if model.privateAddress != nil { deniedByPrivateNames += 1 }
                pairs += 1
            }
        }
        #expect(disagreements.isEmpty, "\(disagreements.joined(separator: "\n\n"))")
        #expect(allowed > 5_000 && deniedByRule > 5_000 && deniedByPrivateNames > 1_000,
                "allowed \(allowed), denied by a rule \(deniedByRule), by privateNames \(deniedByPrivateNames)")
    }

    @Test func portPatternsBecomeRanges() {
        #expect(TableCompiler.ranges(.exact(80)) == [80...80])
        #expect(TableCompiler.ranges(.above(1024)) == [1025...65535])
        #expect(TableCompiler.ranges(.above(65535)) == [])
        #expect(TableCompiler.ranges(.below(0)) == [])
        #expect(TableCompiler.ranges(.below(70000)) == [0...65535])
        #expect(TableCompiler.ranges(.range(5, 1)) == [])
        #expect(TableCompiler.ranges(.range(60000, 70000)) == [60000...65535])
        #expect(TableCompiler.ranges(.glob("8?")) == [80...89])
        #expect(TableCompiler.ranges(.glob("*")) == [0...65535])
        #expect(TableCompiler.ranges(.glob("80*")) == [80...80, 800...809, 8000...8099])
    }

    @Test func deterministicBytes() throws {
        let policy = parsedPolicy(richPolicy)
        let a = try TableCompiler.compile(policy), b = try TableCompiler.compile(parsedPolicy(richPolicy))
        #expect(a == b)
        #expect(try TableCompiler.compile(policy, generation: 2) != a)
    }

    @Test func cappedOutputStillDecides() throws {
        // Ten disallows match; a capacity of 3 reports three, says so, and denies.
        let text = "section hosts ports\n    allow * *\n" + (0..<10).map { "    disallow *.example.com \($0 + 80)-90\n" }.joined()
        let table = try compiled(parsedPolicy(text))
        let d = table.decide(Destination(identities: [Identity(host: "a.example.com")], port: 90), origin: nil, capacity: 3)
        #expect(d.verdict == .deny && d.deciding.count == 3 && d.truncated)
        let none = table.decide(Destination(identities: [Identity(host: "a.example.com")], port: 90), origin: nil, capacity: 0)
        #expect(none.verdict == .deny && none.deciding.isEmpty)
        let allowed = table.decide(Destination(identities: [Identity(host: "a.example.com")], port: 79), origin: nil, capacity: 0)
        #expect(allowed.verdict == .allow)
    }
}
