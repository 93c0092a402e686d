// Corruption: damaged tables are refused by the loader, and the matcher,
// even on tables nobody validated, never reads outside them. `make test`
// runs this suite a second time under the address sanitizer, where every
// table sits in an allocation of exactly its size.

import SafesockMatch
import SafesockPolicy
import SafesockTable
import Testing

/// Runs `body` on a copy of `bytes` in a heap block of exactly that size.
func withExactCopy<R>(_ bytes: ArraySlice<UInt8>, _ body: (UnsafeRawBufferPointer) -> R) -> R {
    let block = UnsafeMutableRawBufferPointer.allocate(byteCount: bytes.count, alignment: 8)
    defer { block.deallocate() }
    block.copyBytes(from: bytes)
    return body(UnsafeRawBufferPointer(block))
}

/// Decides a spread of destinations (names, both families, the origin);
/// whether any decision hit a read outside the table.
func decideSpread(_ table: UnsafeRawBufferPointer) -> Bool {
    var faulted = false
    let cases: [(String, UInt8, [UInt8], Bool)] = [
        ("www.sun.com", 0, [], false), ("a.b.cs.mysite.edu", 0, [], false), ("www.x.com", 0, [], false),
        ("10.1.2.3", 4, [10, 1, 2, 3], false), ("192.0.2.200", 4, [192, 0, 2, 200], false),
        ("2001:db8::1", 6, [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1], false),
        ("tclet.example", 0, [], true), ("a.b", 0, [], false),
    ]
    var out = [UInt32](repeating: 0, count: 8)
    for (text, family, address, origin) in cases {
        for port: UInt16 in [22, 25, 80, 443, 1030, 3000, 8080] {
            var t = text, a = address
            let result = t.withUTF8 { tp in
                a.withUnsafeBufferPointer { ap in
                    out.withUnsafeMutableBufferPointer { o in
                        [IdentityInput(text: tp, family: family, address: ap, isOrigin: origin)].withUnsafeBufferPointer {
                            TableMatcher.decide(table, identities: $0, port: port, deciding: o)
                        }
                    }
                }
            }
            if result.fault { faulted = true }
            // What the enforcers read besides a decision: the deciding
            // rules' files and lines, the label, the options, the any-port
            // questions.
            for k in 0..<result.written {
                var file: UnsafePointer<UInt8>?, fileLength = 0, line: UInt32 = 0
                _ = safesockTableRule(table.baseAddress, table.count, out[k], &file, &fileLength, &line)
            }
            var label: UnsafePointer<UInt8>?, labelLength = 0
            _ = safesockTableLabel(table.baseAddress, table.count, &label, &labelLength)
            var options = [UInt8](repeating: 0, count: 16)
            _ = options.withUnsafeMutableBytes { safesockTableOptions(table.baseAddress, table.count, $0.baseAddress) }
            t.withUTF8 { tp in
                a.withUnsafeBufferPointer { ap in
                    for disallow in [false, true] {
                        var d = disallow ? TableDecision(anyPortDisallowOf: table) : TableDecision(anyPortOf: table)
                        d.add(IdentityInput(text: tp, family: family, address: ap, isOrigin: origin))
                        if d.result.fault { faulted = true }
                    }
                }
            }
        }
    }
    return faulted
}

@Suite struct CorruptionTests {
    let table = try! TableCompiler.compile(parsedPolicy(richPolicy))

    @Test func theUndamagedTableIsAcceptedAndNeverFaults() {
        #expect(withExactCopy(table[...]) { TableValidator.validate($0) } == nil)
        #expect(withExactCopy(table[...]) { decideSpread($0) } == false)
    }

    @Test func everyTruncationIsRefused() {
        for length in 0..<table.count {
            let fault = withExactCopy(table[..<length]) { raw -> TableFault? in
                _ = decideSpread(raw)
                return TableValidator.validate(raw)
            }
            #expect(fault != nil, "a table cut to \(length) bytes was accepted")
        }
    }

    @Test func randomFlipsAreRefused() {
        var rng = SeededGenerator(seed: 0xC0_4407)
        var accepted = 0
        for _ in 0..<100_000 {
            var damaged = table
            for _ in 0..<Int.random(in: 1...4, using: &rng) {
                damaged[Int.random(in: 0..<damaged.count, using: &rng)] ^= UInt8.random(in: 1...255, using: &rng)
            }
            let fault = withExactCopy(damaged[...]) { raw -> TableFault? in
                _ = decideSpread(raw)
                return TableValidator.validate(raw)
            }
            if fault == nil && damaged != table { accepted += 1 }
        }
        #expect(accepted == 0)
    }

    /// Someone who can write the table can also fix its checksum: then the
    /// structural checks must stand alone, and what they accept the matcher
    /// must read without one out-of-bounds read. The enforcers load with
    /// the integrity check, which accepts every one of these: under the
    /// address sanitizer, each is decided on whatever the check says.
    @Test func flipsWithARepairedChecksum() {
        var rng = SeededGenerator(seed: 0xC0_4408)
        var refused = 0, acceptedFaults = 0
        for i in 0..<100_000 {
            var damaged = table
            // Aim half the flips at the header and indexes, where they bite.
            let limit = i % 2 == 0 ? min(damaged.count, 512) : damaged.count
            for _ in 0..<Int.random(in: 1...3, using: &rng) {
                damaged[Int.random(in: 0..<limit, using: &rng)] ^= UInt8.random(in: 1...255, using: &rng)
            }
            let sum = damaged.withUnsafeBytes { TableHash.checksum($0) }
            withUnsafeBytes(of: sum.littleEndian) { damaged.replaceSubrange(24..<32, with: $0) }
            withExactCopy(damaged[...]) { raw in
                let faulted = decideSpread(raw)
                if TableValidator.validate(raw) != nil { refused += 1 } else if faulted { acceptedFaults += 1 }
            }
        }
        #expect(acceptedFaults == 0, "tables the loader accepted made the matcher read out of bounds")
        #expect(refused > 10_000, "the structural checks refused only \(refused)")
    }

    /// A table of the old format is refused by both checks, saying what to
    /// do, never read as today's (this one, `allow * *`, would allow all).
    @Test func aFormatOneTableIsRefusedSayingCompileAgain() {
        let old = formatOneAllowAll
        #expect(old.count == 328 && old[8] == 1, "the fixture is the format-1 table")
        for structure in [true, false] {
            #expect(withExactCopy(old[...]) { TableValidator.validate($0, structure: structure) } == .formatOne)
        }
        #expect("\(TableFault.formatOne.reason)".contains("compile the policy again"))
    }

    /// The enforcers load with the integrity check alone, so the matcher
    /// itself must deny on a record it cannot read as a code: an `allow`
    /// whose action byte says neither allow nor disallow (checksum
    /// repaired, as its writer could) is a fault, never an allow.
    @Test func aRuleOfNoActionDeniesUnderTheIntegrityCheck() {
        var t = try! TableCompiler.compile(parsedPolicy("section hosts ports\n    allow * *\n"))
        let rulesAt = Int(t[56]) | Int(t[57]) << 8
        func decide(_ t: [UInt8]) -> MatchResult {
            var text = "www.example.com"
            var out = [UInt32](repeating: 0, count: 4)
            return text.withUTF8 { tp in
                out.withUnsafeMutableBufferPointer { o in
                    [IdentityInput(text: tp, family: 0, address: UnsafeBufferPointer(start: nil, count: 0), isOrigin: false)]
                        .withUnsafeBufferPointer { ids in t.withUnsafeBytes { TableMatcher.decide($0, identities: ids, port: 443, deciding: o) } }
                }
            }
        }
        #expect(decide(t).verdict == .allow)
        for action: UInt8 in [2, 0x80, 0xFF] {
            t[rulesAt] = action
            let sum = t.withUnsafeBytes { TableHash.checksum($0) }
            withUnsafeBytes(of: sum.littleEndian) { t.replaceSubrange(24..<32, with: $0) }
            #expect(t.withUnsafeBytes { TableValidator.validate($0, structure: false) } == nil)
            #expect(t.withUnsafeBytes { TableValidator.validate($0) } == .badRule)
            let d = decide(t)
            #expect(d.verdict == .deny && d.fault, "action \(action)")
        }
    }

    @Test func eachFaultHasItsReason() {
        func fault(_ edit: (inout [UInt8]) -> Void, fixSum: Bool = true) -> TableFault? {
            var t = table
            edit(&t)
            if fixSum {
                let sum = t.withUnsafeBytes { TableHash.checksum($0) }
                withUnsafeBytes(of: sum.littleEndian) { t.replaceSubrange(24..<32, with: $0) }
            }
            return t.withUnsafeBytes { TableValidator.validate($0) }
        }
        #expect(fault({ $0 = Array($0[0..<100]) }) == .tooShort)
        #expect(fault({ $0[0] = UInt8(ascii: "X") }) == .badMagic)
        #expect(fault({ $0[8] = 3 }) == .wrongVersion)
        #expect(fault({ $0[8] = 1 }) == .formatOne)
        #expect(fault({ $0[12] = 1 }) == .badHeaderSize)
        #expect(fault({ $0 += [0, 0, 0, 0, 0, 0, 0, 0] }) == .lengthMismatch)
        #expect(fault({ $0[200] ^= 1 }, fixSum: false) == .checksumMismatch)
        #expect(fault({ $0[59] = 0x7F }) == .sectionOutOfBounds)
        #expect(fault({ $0[113] = 0xFF; $0[116] = 2 }) == .badCidrMask)
        let rulesAt = Int(table[56]) | Int(table[57]) << 8
        #expect(fault({ $0[rulesAt + 1] = 9 }) == .badRule)
        #expect(fault({ $0[rulesAt + 3] = 1 }) == .badRule) // a file past the one file
        #expect(fault({ $0[rulesAt + 15] = 1 }) == .badRule) // a port set past the pool
        let listsAt = Int(table[72]) | Int(table[73]) << 8
        #expect(fault({ $0[listsAt + 2] = 1 }) == .badList)
        #expect(fault({ $0[144 + 8] = 0xFF }) == .badHashTable) // a longest probe over the slot count
    }
}
