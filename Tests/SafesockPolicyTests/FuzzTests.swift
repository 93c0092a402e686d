// Fuzz: 100,000 random and mutated policy texts. The parser never crashes,
// always returns (a loop would hang the run), and every diagnostic points at
// a real line and column of a real file.

import SafesockPolicy
import Testing

let fuzzTokens: [String] = [
    "section", "hosts", "ports", "options", "features", "allow", "disallow", "include", "constant",
    "{", "}", "{}", "\"", "$", "${", "}", "$originSocketHost", "${originHost}", "$foo", "*", "?", "[", "]",
    "[a-", "-", "\\", "#", "\n", "\n", "\n", " ", " ", " ", "\t", "\r", "80", ">1024", "<1025", "1-2", "080",
    "65536", "http", "10.0.0.0/8", "10/8", "::1", "fd00::/8", "::ffff:1.2.3.4/120", "www.sun.com", "*.x.org",
    "0x7f.1", "2130706433", "peername", "mask", "maxSockets", "resolve", "open", "inc.cfg", "p.cfg", "é", "\u{0}",
]

let fuzzSeeds: [String] = [
    pageExample,
    "section hosts ports\n    allow $originSocketHost >1023\ninclude inc.cfg\n",
    "section features\n    allow persist unless {[string match {UNKNOWN *} [getattr originURL]]}\nsection hosts ports\n    disallow * *\n",
    "section options\n    peername mask # comment\n    maxSockets 4\n    resolve open\nsection hosts ports\n    allow {a[b-c]*} \"8?\"\n",
]

struct Fuzzer {
    var rng: SeededGenerator

    mutating func soup() -> [UInt8] {
        var out: [UInt8] = []
        for _ in 0..<Int.random(in: 0...60, using: &rng) {
            if Int.random(in: 0..<10, using: &rng) == 0 {
                out.append(UInt8.random(in: 0...255, using: &rng))
            } else {
                out += Array(fuzzTokens.randomElement(using: &rng)!.utf8)
                if Bool.random(using: &rng) { out.append(UInt8(ascii: " ")) }
            }
        }
        return out
    }

    /// A well-formed policy of random rules, options and ignored sections.
    mutating func wellFormed() -> String {
        var text = "# generated\n"
        for _ in 0..<Int.random(in: 1...4, using: &rng) {
            switch Int.random(in: 0..<4, using: &rng) {
            case 0:
                text += "section features\n    allow network\n"
            case 1 where !text.contains("section options"):
                text += "section options\n    peername \(["deny", "mask", "allow"].randomElement(using: &rng)!)\n"
            default:
                text += "section hosts ports\n"
                for _ in 0..<Int.random(in: 0...6, using: &rng) {
                    text += "    \(Bool.random(using: &rng) ? "allow" : "disallow") \(propertyHosts.randomElement(using: &rng)!) \(propertyPorts.randomElement(using: &rng)!)\n"
                }
            }
        }
        return text
    }

    mutating func mutate(_ seed: String) -> [UInt8] {
        var b = Array(seed.utf8)
        for _ in 0..<Int.random(in: 1...3, using: &rng) {
            let at = Int.random(in: 0...b.count, using: &rng)
            switch Int.random(in: 0..<5, using: &rng) {
            case 0 where !b.isEmpty:
                b[min(at, b.count - 1)] = UInt8.random(in: 0...255, using: &rng)
            case 1:
                b.insert(contentsOf: Array(fuzzTokens.randomElement(using: &rng)!.utf8), at: at)
            case 2 where !b.isEmpty:
                let end = min(b.count, at + Int.random(in: 1...12, using: &rng))
                b.removeSubrange(min(at, end)..<end)
            case 3:
                let end = min(b.count, at + Int.random(in: 1...40, using: &rng))
                b.insert(contentsOf: b[at..<end], at: at)
            default:
                b.insert(UInt8(ascii: "\n"), at: at)
            }
        }
        return b
    }
}

/// Every diagnostic names a file that was given and a place inside it.
func diagnosticsPointInside(_ result: ParseResult, _ files: [String: [UInt8]]) -> String? {
    for d in result.diagnostics {
        guard let bytes = files[d.location.file] else { return "unknown file in \(d)" }
        let lines = bytes.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false)
        guard d.location.line >= 1, d.location.line <= lines.count else { return "line out of range: \(d)" }
        let length = lines[d.location.line - 1].count
        guard d.location.column >= 1, d.location.column <= length + 1 else { return "column out of range: \(d)" }
    }
    return nil
}

@Suite struct FuzzTests {
    @Test func hundredThousandHostileTexts() {
        var fuzzer = Fuzzer(rng: SeededGenerator(seed: 0xF022_0001))
        var parsed = 0, withErrors = 0, decided = 0
        var failures: [String] = []
        for i in 0..<100_000 {
            let top: [UInt8]
            switch i % 3 {
            case 0: top = fuzzer.soup()
            case 1: top = fuzzer.mutate(fuzzSeeds[i % fuzzSeeds.count])
            default:
                let text = fuzzer.wellFormed()
                top = i % 9 == 2 ? fuzzer.mutate(text) : Array(text.utf8)
            }
            var files = ["p.cfg": top]
            if i % 4 == 0 { files["inc.cfg"] = fuzzer.mutate(fuzzSeeds[(i / 3) % fuzzSeeds.count]) }
            let result = PolicyParser.parse(path: "p.cfg", loader: MemoryLoader(bytes: files))
            parsed += 1
            if result.hasErrors { withErrors += 1 }
            if let problem = diagnosticsPointInside(result, files), failures.count < 5 {
                failures.append("text #\(i): \(problem)")
            }
            if !result.hasErrors {
                let d = result.policy.decide(Destination(identities: [Identity(host: "www.sun.com")], port: 1030),
                                             origin: Identity(host: "tclet.example"))
                if d.verdict == .allow && !d.disallowMatches.isEmpty { failures.append("text #\(i): disallow lost") }
                decided += 1
            }
        }
        #expect(failures.isEmpty, "\(failures)")
        #expect(parsed == 100_000)
        // The corpus must reach both sides, or it tests little.
        #expect(withErrors > 10_000 && decided > 10_000, "errors \(withErrors), clean \(decided)")
    }
}
