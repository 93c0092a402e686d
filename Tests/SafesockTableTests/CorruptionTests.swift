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

/// Repairs a damaged table's sums and checksums, as anyone who can write
/// a table can (the compiler's own last step).
func resealed(_ table: [UInt8]) -> [UInt8] {
    var t = table
    t.withUnsafeMutableBytes { TableHash.seal($0) }
    return t
}

/// Decides a spread of destinations (names, both families, the origin),
/// as the tests and the CLI do (the table checked whole) and as the
/// enforcers do (each block checked at its first read, `BlockChecks`);
/// whether any decision faulted: a read outside the table or, in the
/// second pass, a block whose sum is wrong.
func decideSpread(_ table: UnsafeRawBufferPointer) -> Bool {
    let checked = UnsafeMutableRawBufferPointer.allocate(byteCount: table.count / TableLayout.blockSize + 1, alignment: 1)
    defer { checked.deallocate() }
    checked.initializeMemory(as: UInt8.self, repeating: 0)
    let first = decideSpread(table, blocks: nil)
    let second = decideSpread(table, blocks: BlockChecks(checked.baseAddress!, tag: 7))
    return first || second
}

func decideSpread(_ table: UnsafeRawBufferPointer, blocks: BlockChecks?) -> Bool {
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
                            TableMatcher.decide(table, identities: $0, port: port, deciding: o, blocks: blocks)
                        }
                    }
                }
            }
            if result.fault { faulted = true }
            // What the enforcers read besides a decision: the deciding
            // rules' files and lines, the label, the options, the any-port
            // questions.
            withCBlocks(blocks) { c in
                for k in 0..<result.written {
                    var file: UnsafePointer<UInt8>?, fileLength = 0, line: UInt32 = 0
                    _ = safesockTableRule(table.baseAddress, table.count, c, out[k], &file, &fileLength, &line)
                }
                var label: UnsafePointer<UInt8>?, labelLength = 0
                _ = safesockTableLabel(table.baseAddress, table.count, c, &label, &labelLength)
            }
            var options = [UInt8](repeating: 0, count: 16)
            _ = options.withUnsafeMutableBytes { safesockTableOptions(table.baseAddress, table.count, $0.baseAddress) }
            t.withUTF8 { tp in
                a.withUnsafeBufferPointer { ap in
                    for disallow in [false, true] {
                        var d = disallow ? TableDecision(anyPortDisallowOf: table, blocks: blocks) : TableDecision(anyPortOf: table, blocks: blocks)
                        d.add(IdentityInput(text: tp, family: family, address: ap, isOrigin: origin))
                        if d.result.fault { faulted = true }
                    }
                }
            }
        }
    }
    return faulted
}

/// `blocks` as the C entries take it (a `struct safesock_blocks`), or nil.
func withCBlocks(_ blocks: BlockChecks?, _ body: (UnsafeRawPointer?) -> Void) {
    guard let blocks else { return body(nil) }
    // checked, tag (and buffer), fetch (none: the bytes are all there), sequence.
    var c: (UInt, UInt64, UInt, UInt64) = (UInt(bitPattern: blocks.checkedAddress), UInt64(blocks.tagValue), 0, 0)
    withUnsafeBytes(of: &c) { body($0.baseAddress) }
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

    /// Someone who can write the table can also fix its sums and checksums:
    /// then the structural checks must stand alone, and what they accept
    /// the matcher must read without one out-of-bounds read. The enforcers
    /// load with the integrity check, which accepts every one of these:
    /// under the address sanitizer, each is decided on whatever the check
    /// says.
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
            damaged = resealed(damaged)
            withExactCopy(damaged[...]) { raw in
                let faulted = decideSpread(raw)
                if TableValidator.validate(raw) != nil { refused += 1 } else if faulted { acceptedFaults += 1 }
            }
        }
        #expect(acceptedFaults == 0, "tables the loader accepted made the matcher read out of bounds")
        #expect(refused > 10_000, "the structural checks refused only \(refused)")
    }

    /// The enforcers' check at load reads the header and the block sums,
    /// whatever the rules; a block is checked at its first read. A damaged
    /// block (its sum left as it was) passes that check, denies every
    /// decision that reads it, saying the table is corrupt, and leaves the
    /// others alone; blocks no decision read stay unchecked.
    @Test func aDamagedBlockDeniesTheDecisionsThatReadIt() {
        // The damaged rule first: its record is in block 0, which no other
        // decision below reads (the port pool follows the last rule).
        var text = "section hosts ports\n    allow damaged.example.com 443\n"
        for i in 0..<3000 { text += "    allow host\(i).example.com 443\n" }
        let t = try! TableCompiler.compile(parsedPolicy(text))
        func u32(_ at: Int) -> Int { Int(t[at]) | Int(t[at + 1]) << 8 | Int(t[at + 2]) << 16 | Int(t[at + 3]) << 24 }
        let sumsAt = u32(244), blockCount = TableLayout.blockCount(sumsAt: sumsAt)
        var damaged = t
        damaged[u32(56) + 8] ^= 1 // the line of the first rule
        #expect(damaged.withUnsafeBytes { TableValidator.validate($0, structure: false) } == nil)
        #expect(damaged.withUnsafeBytes { TableValidator.validate($0) } == .checksumMismatch)
        #expect(resealed(damaged).withUnsafeBytes { TableValidator.validate($0) } == nil, "only the sums were wrong")

        var checked = [UInt8](repeating: 0, count: blockCount)
        func decide(_ name: String) -> MatchResult {
            var text = name
            var out = [UInt32](repeating: 0, count: 4)
            return checked.withUnsafeMutableBytes { c in
                text.withUTF8 { tp in
                    out.withUnsafeMutableBufferPointer { o in
                        [IdentityInput(text: tp, family: 0, address: UnsafeBufferPointer(start: nil, count: 0), isOrigin: false)]
                            .withUnsafeBufferPointer { ids in
                                damaged.withUnsafeBytes {
                                    TableMatcher.decide($0, identities: ids, port: 443, deciding: o, blocks: BlockChecks(c.baseAddress!, tag: 3))
                                }
                            }
                    }
                }
            }
        }
        let bad = decide("damaged.example.com")
        #expect(bad.verdict == .deny && bad.fault && bad.corrupt)
        let other = decide("host2999.example.com")
        #expect(other.verdict == .allow && !other.fault, "a decision that never reads the damaged block")
        #expect(decide("damaged.example.com").corrupt, "a damaged block stays unchecked: every decision that reads it denies")
        let marked = checked.filter { $0 == 3 }.count
        #expect(marked > 0 && marked < blockCount / 2, "\(marked) of \(blockCount) blocks checked for three decisions")
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
            t = resealed(t)
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
            if fixSum { t = resealed(t) }
            return t.withUnsafeBytes { TableValidator.validate($0) }
        }
        #expect(fault({ $0 = Array($0[0..<100]) }) == .tooShort)
        #expect(fault({ $0[0] = UInt8(ascii: "X") }) == .badMagic)
        #expect(fault({ $0[8] = 3 }) == .wrongVersion)
        #expect(fault({ $0[8] = 1 }) == .formatOne)
        #expect(fault({ $0[12] = 1 }) == .badHeaderSize)
        #expect(fault({ $0 += [0, 0, 0, 0, 0, 0, 0, 0] }) == .lengthMismatch)
        #expect(fault({ $0[200] ^= 1 }, fixSum: false) == .checksumMismatch)
        let sumsAt = Int(table[244]) | Int(table[245]) << 8 | Int(table[246]) << 16
        // The whole checksum repaired, not the index's or a block's.
        func wholeSumOnly(_ edit: (inout [UInt8]) -> Void) -> TableFault? {
            var t = table
            edit(&t)
            let sum = t.withUnsafeBytes { TableHash.checksum($0) }
            withUnsafeBytes(of: sum.littleEndian) { t.replaceSubrange(24..<32, with: $0) }
            return t.withUnsafeBytes { TableValidator.validate($0) }
        }
        #expect(wholeSumOnly({ $0[244] ^= 8 }) == .badBlockSums)
        #expect(wholeSumOnly({ $0[244] = 0; $0[245] = 0; $0[246] = 0 }) == .badBlockSums) // an earlier format 2's table: no sums
        #expect(wholeSumOnly({ $0[sumsAt] ^= 1 }) == .indexChecksumMismatch)
        #expect(wholeSumOnly({ $0[300] ^= 1 }) == .blockSumMismatch)
        #expect(fault({ $0[59] = 0x7F }) == .sectionOutOfBounds)
        #expect(fault({ $0[113] = 0xFF; $0[116] = 2 }) == .badCidrMask)
        let rulesAt = Int(table[56]) | Int(table[57]) << 8
        #expect(fault({ $0[rulesAt + 1] = 9 }) == .badRule)
        #expect(fault({ $0[rulesAt + 3] = 1 }) == .badRule) // a file past the one file
        #expect(fault({ $0[rulesAt + 15] = 1 }) == .badRule) // a port set past the pool
        let listsAt = Int(table[72]) | Int(table[73]) << 8
        #expect(fault({ $0[listsAt + 2] = 1 }) == .badList)
        #expect(fault({ $0[144 + 8] = 0xFF }) == .badHashTable) // a longest probe over the slot count
        #expect(fault({ $0[53] = 0 }) == .earlierLayout) // a table of the builds before the names table
        #expect(fault({ $0[144 + 16] = 40 }) == .badHashTable) // a filter of 2^40 bits
        func u32(_ t: [UInt8], _ at: Int) -> Int { Int(t[at]) | Int(t[at + 1]) << 8 | Int(t[at + 2]) << 16 | Int(t[at + 3]) << 24 }
        let namesAt = u32(table, 144), filterAt = u32(table, 144 + 12), filterLog = u32(table, 144 + 16)
        #expect(fault({ t in for i in 0..<((1 << filterLog) / 8) { t[filterAt + i] = 0 } }) == .badHashTable) // no key's filter bit
        let occupied = (0..<u32(table, 148)).map { namesAt + $0 * 16 }.first { u32(table, $0 + 4) != 0xFFFF_FFFF }!
        #expect(fault({ $0[occupied] ^= 1 }) == .badSlot) // a hash that is not its key's
        #expect(fault({ t in for i in 4..<8 { t[occupied + i] = 0xFF } }) == .badSlot) // an empty slot with rules
    }
}
