// Golden tables: the page's example (policies/example.cfg) compiles to
// exactly the bytes in Golden/page-example.hex, and a policy that sets
// every option away from its default, with a label, to
// Golden/options-example.hex; those bytes
// read, by hand at the offsets docs/table-format.md gives, as the policy
// says. A layout change must
// change the doc, TableLayout.swift and this file together.
// To regenerate after a deliberate change: SAFESOCK_UPDATE_GOLDEN=1 make test.

import Foundation
import SafesockMatch
import SafesockPolicy
import SafesockTable
import Testing

let goldenDirectory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Golden").path
let goldenPath = "\(goldenDirectory)/page-example.hex"

func hex(_ bytes: [UInt8]) -> String {
    stride(from: 0, to: bytes.count, by: 32).map { line in
        bytes[line..<min(line + 32, bytes.count)].map { String(format: "%02x", $0) }.joined()
    }.joined(separator: "\n") + "\n"
}

@Suite struct GoldenTableTests {
    let table = try! TableCompiler.compile(parsedPolicy(pageExample, name: "example.cfg"))

    func u16(_ at: Int) -> Int { Int(table[at]) | Int(table[at + 1]) << 8 }
    func u32(_ at: Int) -> Int { u16(at) | u16(at + 2) << 16 }
    func u64(_ at: Int) -> UInt64 { UInt64(u32(at)) | UInt64(u32(at + 4)) << 32 }
    /// The pool string at `at`: a 16-bit length, then its bytes.
    func string(_ at: Int) -> String {
        let start = u32(80) + at + 2
        return String(decoding: table[start..<(start + u16(start - 2))], as: UTF8.self)
    }

    @Test func bytesAreTheGoldenOnes() throws {
        if ProcessInfo.processInfo.environment["SAFESOCK_UPDATE_GOLDEN"] == "1" {
            try hex(table).write(toFile: goldenPath, atomically: true, encoding: .utf8)
        }
        let golden = try String(contentsOfFile: goldenPath, encoding: .utf8)
        #expect(hex(table) == golden, "the table layout changed: update docs/table-format.md and the golden file together")
    }

    @Test func headerReadsAsDocumented() {
        #expect(Array(table[0..<8]) == Array("SAFESOCK".utf8))
        #expect(u32(8) == 2 && u32(12) == 256)
        #expect(u64(16) == UInt64(table.count) && table.count % 8 == 0)
        #expect(u64(32) == 1, "generation")
        #expect(Array(table[40..<44]) == [0, 0, 0, 0], "peername deny, datagrams deny, servers deny, resolve strict")
        #expect(u32(48) == 1, "has a hosts ports section")
        #expect(table[52] == 1, "privateNames allow: a file that does not set it keeps the plugin's meaning")
        #expect(Array(table[53..<56]) == [1, 0, 0], "the layout revision, then two reserved bytes")
        #expect(string(u32(108)) == "", "no label: compiled from a model, not a command line")
        #expect(u32(60) == 4, "four rules")
        for section in [56, 64, 72, 80, 88] { #expect(u32(section) % 8 == 0 && u32(section) >= 256) }
        // The block sums end the table: one 8-byte sum a 4 KiB block from
        // the end of the header, each as docs/table-format.md, "Blocks", says.
        let sums = u32(244), blocks = (sums - 256 + 4095) / 4096
        #expect(sums % 8 == 0 && sums > 256 && table.count == sums + 8 * blocks, "block sums at \(sums)")
        for section in [56, 64, 72, 80, 88] { #expect(u32(section) + 8 <= sums) }
        table.withUnsafeBytes { raw in
            for b in 0..<blocks { #expect(u64(sums + 8 * b) == TableHash.blockSum(raw, block: b, sumsAt: sums)) }
            #expect(u64(248) == TableHash.indexChecksum(raw, sumsAt: sums))
            #expect(u64(24) == TableHash.checksum(raw))
        }
    }

    @Test func rulesReadAsDocumented() {
        let rules = u32(56), ports = u32(64)
        struct Record: Equatable {
            var action: Int, kind: Int, pattern: String, file: Int, line: Int, ranges: [ClosedRange<Int>]
            init(_ action: Int, _ kind: Int, _ pattern: String, _ file: Int, _ line: Int, _ ranges: [ClosedRange<Int>]) {
                (self.action, self.kind, self.pattern, self.file, self.line, self.ranges) = (action, kind, pattern, file, line, ranges)
            }
        }
        func set(_ i: Int) -> Int { u32(rules + i * 16 + 12) }
        func rule(_ i: Int) -> Record {
            let at = rules + i * 16
            let first = ports + set(i) * 4
            let ranges = (0..<u32(first)).map { k in u16(first + 4 + k * 4)...u16(first + 4 + k * 4 + 2) }
            return Record(Int(table[at]), Int(table[at + 1]), string(u32(at + 4)), u16(at + 2), u32(at + 8), ranges)
        }
        let line = lineNumber(of: "allow    $originSocketHost", in: pageExample) // the four rules follow one another
        #expect(rule(0) == Record(0, 1, "$originSocketHost", 0, line, [1025...65535]))
        #expect(rule(1) == Record(0, 2, "www.sun.com", 0, line + 1, [1025...65535]))
        #expect(rule(2) == Record(1, 3, "*.cs.mysite.edu", 0, line + 2, [0...1024]))
        #expect(rule(3) == Record(0, 3, "*.cs.mysite.edu", 0, line + 3, [1030...1030]))
        #expect(set(0) == set(1) && u32(68) == 6, "one port set a distinct set of ranges: three sets, six words")
        #expect(string(u32(u32(88))) == "example.cfg")
        // The origin list: count 1, rule 0.
        let lists = u32(72)
        #expect(u32(lists + u32(96) * 4) == 1 && u32(lists + u32(96) * 4 + 4) == 0)
        func descriptor(_ k: Int) -> (slots: Int, count: Int, probe: Int, filter: Int, filterLog: Int) {
            (u32(144 + k * 24), u32(144 + k * 24 + 4), u32(144 + k * 24 + 8), u32(144 + k * 24 + 12), u32(144 + k * 24 + 16))
        }
        func slot(holding key: String) -> Int {
            let d = descriptor(0)
            return (0..<d.count).map { d.slots + $0 * 16 }.first { u32($0 + 4) != 0xFFFF_FFFF && string(u32($0 + 4)) == key }!
        }
        // The names table: one name, www.sun.com (three labels), whose one
        // rule is in its slot, and one star suffix, .cs.mysite.edu (three
        // dots), whose two rules (2 and 3) the key decides, in a list;
        // neither has candidates to glob. Its filter: 64 bits, the two
        // keys' bits set.
        #expect(descriptor(0).count == 3 && u64(216) == 1 << 3 && u64(224) == 1 << 3 && u64(232) == 0)
        #expect(UInt32(u32(slot(holding: "www.sun.com") + 8)) == 0x8000_0001 && UInt32(u32(slot(holding: "www.sun.com") + 12)) == 0xFFFF_FFFF)
        let list = u32(slot(holding: ".cs.mysite.edu") + 8)
        #expect(UInt32(u32(slot(holding: ".cs.mysite.edu") + 12)) == 0xFFFF_FFFF)
        let words: [Int] = (0..<3).map { u32(lists + (list + $0) * 4) }
        #expect(words == [2, 2, 3])
        #expect(descriptor(0).filterLog == 6)
        let filterBits = (0..<8).map { table[descriptor(0).filter + $0] }.reduce(0) { $0 + $1.nonzeroBitCount }
        #expect(filterBits == 2)
        #expect(table[53] == 1, "the layout revision")
        #expect((1..<3).allSatisfy { descriptor($0).count == 0 && descriptor($0).filterLog == 0 }, "no other keys")
    }
}

/// Every option set away from its default (the codes of TableLayout's
/// OptionCode), and a label of two words.
@Suite struct OptionsGoldenTableTests {
    static let text = """
    section hosts ports
        allow 10.0.0.0/8 443
    section options
        peername      allow
        datagrams     allow
        servers       allow
        resolve       open
        maxSockets    7
        privateNames  deny
    """
    let table: [UInt8] = {
        var policy = parsedPolicy(text, name: "options.cfg")
        policy.label = ["--profile", "pypi"]
        return try! TableCompiler.compile(policy)
    }()

    func u32(_ at: Int) -> Int { Int(table[at]) | Int(table[at + 1]) << 8 | Int(table[at + 2]) << 16 | Int(table[at + 3]) << 24 }

    @Test func bytesAreTheGoldenOnes() throws {
        let path = "\(goldenDirectory)/options-example.hex"
        if ProcessInfo.processInfo.environment["SAFESOCK_UPDATE_GOLDEN"] == "1" {
            try hex(table).write(toFile: path, atomically: true, encoding: .utf8)
        }
        let golden = try String(contentsOfFile: path, encoding: .utf8)
        #expect(hex(table) == golden, "the table layout changed: update docs/table-format.md and the golden file together")
    }

    @Test func optionsReadAsDocumented() {
        #expect(Array(table[40..<44]) == [2, 1, 1, 1], "peername allow, datagrams allow, servers allow, resolve open")
        #expect(u32(44) == 7, "maxSockets")
        #expect(table[52] == 0, "privateNames deny")
        let label = u32(80) + u32(108)
        let length = Int(table[label]) | Int(table[label + 1]) << 8
        #expect(length == 14)
        #expect(Array(table[(label + 2)..<(label + 2 + length)]) == Array("--profile\0pypi".utf8))
        #expect(try! CompiledTable(validating: table).options == parsedPolicy(Self.text, name: "options.cfg").options)
    }
}
