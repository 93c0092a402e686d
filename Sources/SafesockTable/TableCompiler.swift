// TableCompiler: Policy model -> table bytes (docs/table-format.md). Its one
// interface is `compile`; everything it emits comes out in an order the
// policy fixes (rule order, keys in the order of their first rule), so the
// same policy always gives the same bytes.
// Tests: Tests/SafesockTableTests (golden bytes, differential, corruption).

import SafesockMatch
import SafesockPolicy

public struct TableCompileError: Error, CustomStringConvertible {
    public var description: String
}

public enum TableCompiler {
    public static func compile(_ policy: Policy, generation: UInt64 = 1) throws(TableCompileError) -> [UInt8] {
        var builder = TableBuilder(capacity: policy.rules.count)
        for (index, rule) in policy.rules.enumerated() { builder.add(rule, index: UInt32(index), files: policy.files) }
        return try builder.emit(policy, generation: generation)
    }

    /// The port ranges a port pattern stands for: sorted, disjoint.
    public static func ranges(_ pattern: PortPattern) -> [ClosedRange<UInt16>] { pattern.ranges }
}

/// Where a glob can be looked up from (docs/table-format.md, hash tables).
enum GlobIndex: Equatable {
    /// No meta character: the unescaped text, looked up exactly.
    case literal([UInt8])
    /// `*`
    case everything
    /// `*.domain`: the text ends in this key; no glob run needed.
    case starSuffix([UInt8])
    /// The literal tail from its first dot: candidates to glob.
    case globSuffix([UInt8])
    /// The literal head up to its last dot: candidates to glob.
    case globPrefix([UInt8])
    case unindexed

    init(_ glob: [UInt8]) {
        // Elements as Glob reads them: nil for `*`, `?` and classes.
        var elements: [UInt8?] = []
        var stars: [Bool] = []
        var i = 0
        while i < glob.count {
            switch glob[i] {
            case UInt8(ascii: "*"):
                if stars.last != true { elements.append(nil); stars.append(true) }
                i += 1
            case UInt8(ascii: "?"):
                elements.append(nil); stars.append(false)
                i += 1
            case UInt8(ascii: "["):
                while i < glob.count && glob[i] != UInt8(ascii: "]") { i += 1 }
                elements.append(nil); stars.append(false)
                i += 1
            case UInt8(ascii: "\\"):
                elements.append(i + 1 < glob.count ? glob[i + 1] : nil); stars.append(false)
                i += 2
            default:
                elements.append(glob[i]); stars.append(false)
                i += 1
            }
        }
        let dot = UInt8(ascii: ".")
        if elements.allSatisfy({ $0 != nil }) {
            self = .literal(elements.map { $0! })
            return
        }
        if elements.count == 1 && stars[0] {
            self = .everything
            return
        }
        let tail = Array(elements.reversed().prefix { $0 != nil }.reversed()).map { $0! }
        if stars[0] && tail.count == elements.count - 1 && tail.first == dot {
            self = .starSuffix(tail)
            return
        }
        if let firstDot = tail.firstIndex(of: dot) {
            self = .globSuffix(Array(tail[firstDot...]))
            return
        }
        let head = elements.prefix { $0 != nil }.map { $0! }
        if let lastDot = head.lastIndex(of: dot) {
            self = .globPrefix(Array(head[...lastDot]))
            return
        }
        self = .unindexed
    }
}

/// Bytes as a dictionary key, hashed in one call rather than byte by byte.
struct ByteKey: Hashable {
    var bytes: [UInt8]

    func hash(into hasher: inout Hasher) { bytes.withUnsafeBytes { hasher.combine(bytes: $0) } }
}

/// One hash table's keys in the order first seen (policy order: the same
/// policy, the same order, with no sort), each with its rules, chained
/// through `TableBuilder.previousRule` rather than an array per key.
struct KeyedRules {
    var index: [ByteKey: Int] = [:]
    var keys: [[UInt8]] = []
    /// Where each key's bytes are in the string pool (a rule whose pattern
    /// is its key points there too).
    var stringAt: [Int] = []
    var lastRule: [UInt32] = []
    var ruleCount: [Int] = []
}

struct TableBuilder {
    var rules: [UInt8] = []
    var ranges: [UInt8] = []
    var rangeCount = 0
    var strings: [UInt8] = []
    var stringOffsets: [ByteKey: Int] = [:]
    var fileNames: [String] = []
    var originRules: [UInt32] = []
    var allHostsRules: [UInt32] = []
    var unindexedRules: [UInt32] = []
    var keys = [KeyedRules](repeating: KeyedRules(), count: HashTableKind.allCases.count)
    /// For each rule, the rule before it under the same key.
    var previousRule: [UInt32] = []

    /// Room for `rules` rules up front: growing by doubling copied a 1M-rule
    /// policy's arrays and rehashed its dictionaries several times over.
    init(capacity rules: Int) {
        self.rules.reserveCapacity(rules * TableLayout.ruleSize)
        ranges.reserveCapacity(rules * TableLayout.rangeSize)
        strings.reserveCapacity(rules * 24)
        stringOffsets.reserveCapacity(rules)
        previousRule.reserveCapacity(rules)
        keys[HashTableKind.exact.rawValue].index.reserveCapacity(rules)
    }
    var cidr4Mask: UInt64 = 0
    var cidr6Mask: [UInt64] = [0, 0, 0]
    var globRangeCache: [String: [ClosedRange<UInt16>]] = [:]

    mutating func string(_ bytes: [UInt8]) -> Int {
        let key = ByteKey(bytes: bytes)
        if let at = stringOffsets[key] { return at }
        let at = strings.count
        strings += bytes
        stringOffsets[key] = at
        return at
    }

    /// Files `rule` under `key`; where the key's bytes are in the string pool.
    @discardableResult
    mutating func index(_ kind: HashTableKind, _ key: [UInt8], _ rule: UInt32) -> Int {
        while previousRule.count <= Int(rule) { previousRule.append(TableLayout.emptySlot) }
        let k = ByteKey(bytes: key)
        if let i = keys[kind.rawValue].index[k] {
            previousRule[Int(rule)] = keys[kind.rawValue].lastRule[i]
            keys[kind.rawValue].lastRule[i] = rule
            keys[kind.rawValue].ruleCount[i] += 1
            return keys[kind.rawValue].stringAt[i]
        }
        // Keys are distinct already: their bytes go in without the pool's
        // dictionary (one lookup a rule fewer).
        let at = strings.count
        strings += key
        keys[kind.rawValue].index[k] = keys[kind.rawValue].keys.count
        keys[kind.rawValue].keys.append(key)
        keys[kind.rawValue].stringAt.append(at)
        keys[kind.rawValue].lastRule.append(rule)
        keys[kind.rawValue].ruleCount.append(1)
        return at
    }

    mutating func add(_ rule: Rule, index: UInt32, files: [String]) {
        let kind: HostKindCode
        let pattern: [UInt8]
        var patternAt: Int? // known when the pattern is an exact key
        switch rule.host {
        case .nothing:
            kind = .nothing
            pattern = []
        case .origin:
            kind = .origin
            pattern = Array("$originSocketHost".utf8)
            originRules.append(index)
        case .name(let name):
            kind = .name
            pattern = Array(name.utf8)
            patternAt = self.index(.exact, pattern, index)
        case .address(let address):
            kind = .address
            pattern = Array(address.description.utf8)
            patternAt = self.index(.exact, pattern, index)
        case .block(let network, let bits):
            kind = .block
            pattern = Array("\(network)/\(bits)".utf8)
            let family: UInt8 = network.isIPv4 ? 4 : 6
            self.index(.cidr, [family, UInt8(bits)] + network.bytes, index)
            if family == 4 { cidr4Mask |= 1 << UInt64(bits) } else { cidr6Mask[bits / 64] |= 1 << UInt64(bits % 64) }
        case .glob(let glob):
            kind = .glob
            pattern = Array(glob.utf8)
            switch GlobIndex(pattern) {
            case .literal(let key): self.index(.exact, key, index)
            case .everything: allHostsRules.append(index)
            case .starSuffix(let key): self.index(.starSuffix, key, index)
            case .globSuffix(let key): self.index(.globSuffix, key, index)
            case .globPrefix(let key): self.index(.globPrefix, key, index)
            case .unindexed: unindexedRules.append(index)
            }
        }
        let portRanges: [ClosedRange<UInt16>]
        if case .glob(let g) = rule.port {
            if let cached = globRangeCache[g] { portRanges = cached } else {
                portRanges = TableCompiler.ranges(rule.port)
                globRangeCache[g] = portRanges
            }
        } else {
            portRanges = TableCompiler.ranges(rule.port)
        }
        let file: Int
        if let known = fileNames.firstIndex(of: rule.ref.file) { file = known } else {
            file = fileNames.count
            fileNames.append(rule.ref.file)
        }
        rules.append(rule.action == .disallow ? 1 : 0)
        rules.append(kind.rawValue)
        rules.appendLE(UInt16(pattern.count))
        rules.appendLE(UInt32(patternAt ?? string(pattern)))
        rules.appendLE(UInt32(file))
        rules.appendLE(UInt32(rule.ref.line))
        rules.appendLE(UInt32(rangeCount))
        rules.appendLE(UInt32(portRanges.count))
        for r in portRanges {
            ranges.appendLE(r.lowerBound)
            ranges.appendLE(r.upperBound)
        }
        rangeCount += portRanges.count
    }

    /// Consumes the builder: its dictionaries are not copied.
    consuming func emit(_ policy: Policy, generation: UInt64) throws(TableCompileError) -> [UInt8] {
        // Lists: the three fixed ones, then each table's keys in first-seen order.
        var lists: [UInt32] = []
        func list(_ rules: [UInt32]) -> UInt32 {
            let at = UInt32(lists.count)
            lists.append(UInt32(rules.count))
            lists += rules
            return at
        }
        let origin = list(self.originRules), allHosts = list(self.allHostsRules), unindexed = list(self.unindexedRules)
        var tables: [(slots: [UInt8], count: Int, probe: Int)] = []
        // A key's rules, ascending: its chain walked back from the last.
        func keyList(_ kind: HashTableKind, _ i: Int) -> UInt32 {
            let at = UInt32(lists.count)
            let n = self.keys[kind.rawValue].ruleCount[i]
            lists.append(UInt32(n))
            lists.append(contentsOf: repeatElement(0, count: n))
            var rule = self.keys[kind.rawValue].lastRule[i]
            for k in stride(from: n, to: 0, by: -1) {
                lists[Int(at) + k] = rule
                rule = Int(rule) < self.previousRule.count ? self.previousRule[Int(rule)] : TableLayout.emptySlot
            }
            return at
        }
        for kind in HashTableKind.allCases {
            let entries = self.keys[kind.rawValue].keys
            guard !entries.isEmpty else {
                tables.append(([], 0, 0))
                continue
            }
            var slotCount = 1
            // Load at most 3/4: at 1M rules the rounding to a power of two at
            // load 1/2 made the slots a third of the table.
            while slotCount * 3 < entries.count * 4 { slotCount <<= 1 }
            var slots = [(hash: UInt32, key: Int, length: Int, list: UInt32)?](repeating: nil, count: slotCount)
            var longest = 0
            for (i, key) in entries.enumerated() {
                let hash = key.withUnsafeBufferPointer { kind.hashesBackward ? TableHash.backward($0) : TableHash.forward($0) }
                var slot = Int(hash) & (slotCount - 1)
                var probe = 1
                while slots[slot] != nil {
                    slot = (slot + 1) & (slotCount - 1)
                    probe += 1
                }
                slots[slot] = (hash, self.keys[kind.rawValue].stringAt[i], key.count, keyList(kind, i))
                longest = max(longest, probe)
            }
            var bytes: [UInt8] = []
            bytes.reserveCapacity(slotCount * TableLayout.slotSize)
            for s in slots {
                bytes.appendLE(s?.hash ?? 0)
                bytes.appendLE(UInt32(s?.key ?? 0))
                bytes.appendLE(UInt32(s?.length ?? 0))
                bytes.appendLE(s?.list ?? TableLayout.emptySlot)
            }
            tables.append((bytes, slotCount, longest))
        }
        var files: [UInt8] = []
        for name in self.fileNames {
            let bytes = Array(name.utf8)
            files += le32(UInt32(self.string(bytes))) + le32(UInt32(bytes.count))
        }
        // Words separated by NUL bytes (no argument holds one); the one
        // writer of denial lines quotes them (Sources/SafesockDecision/denial.c).
        let labelBytes = Array(Array(policy.label.joined(separator: "\0").utf8).prefix(Int(UInt16.max)))
        let label = labelBytes.isEmpty ? 0 : self.string(labelBytes)

        // Layout: header, then each section 8-aligned.
        var table = [UInt8](repeating: 0, count: TableLayout.headerSize)
        func place(_ section: [UInt8]) -> UInt32 {
            while table.count % 8 != 0 { table.append(0) }
            let at = UInt32(table.count)
            table += section
            return at
        }
        let rulesAt = place(self.rules)
        let rangesAt = place(self.ranges)
        var listBytes: [UInt8] = []
        listBytes.reserveCapacity(lists.count * 4)
        for word in lists { listBytes.appendLE(word) }
        let listsAt = place(listBytes)
        let filesAt = place(files)
        let slotsAt = tables.map { place($0.slots) }
        let stringsAt = place(self.strings)
        while table.count % 8 != 0 { table.append(0) }
        guard table.count <= TableLayout.maxTableBytes else {
            throw TableCompileError(description: "the table would be \(table.count) bytes, over the 1 GiB limit")
        }

        typealias L = TableLayout
        func put(_ bytes: [UInt8], at offset: Int) { table.replaceSubrange(offset..<(offset + bytes.count), with: bytes) }
        put(L.magic, at: 0)
        put(le32(L.version), at: L.versionOffset)
        put(le32(UInt32(L.headerSize)), at: L.headerSizeOffset)
        put(le64(UInt64(table.count)), at: L.totalLengthOffset)
        put(le64(generation), at: L.generationOffset)
        let o = policy.options, c = o.codes
        put([c.peername, c.datagrams, c.servers, c.resolve], at: L.peernameOffset)
        put([c.privateNames], at: L.privateNamesOffset)
        put(le32(o.maxSockets), at: L.maxSocketsOffset)
        put(le32(policy.hasHostsPorts ? L.flagHasHostsPorts : 0), at: L.flagsOffset)
        put(le32(rulesAt) + le32(UInt32(policy.rules.count)), at: L.rulesOffset)
        put(le32(rangesAt) + le32(UInt32(self.rangeCount)), at: L.rangesOffset)
        put(le32(listsAt) + le32(UInt32(lists.count)), at: L.listsOffset)
        put(le32(stringsAt) + le32(UInt32(self.strings.count)), at: L.stringsOffset)
        put(le32(filesAt) + le32(UInt32(self.fileNames.count)), at: L.filesOffset)
        put(le32(UInt32(label)) + le32(UInt32(labelBytes.count)), at: L.labelOffset)
        put(le32(origin) + le32(allHosts) + le32(unindexed), at: L.originListOffset)
        put(le64(self.cidr4Mask) + le64(self.cidr6Mask[0]) + le64(self.cidr6Mask[1]) + le64(self.cidr6Mask[2]), at: L.cidr4MaskOffset)
        for (i, t) in tables.enumerated() {
            put(le32(t.count == 0 ? 0 : slotsAt[i]) + le32(UInt32(t.count)) + le32(UInt32(t.probe)),
                at: L.hashTablesOffset + i * L.hashTableDescriptorSize)
        }
        let sum = table.withUnsafeBytes { TableHash.checksum($0) }
        put(le64(sum), at: L.checksumOffset)
        return table
    }
}

extension Array where Element == UInt8 {
    /// Appends `v` little-endian, without a temporary array.
    mutating func appendLE<T: FixedWidthInteger>(_ v: T) {
        var x = v // low byte first, whatever the host's order
        for _ in 0..<MemoryLayout<T>.size {
            append(UInt8(truncatingIfNeeded: x))
            x >>= 8
        }
    }
}

func le32(_ v: UInt32) -> [UInt8] { withUnsafeBytes(of: v.littleEndian) { Array($0) } }
func le64(_ v: UInt64) -> [UInt8] { withUnsafeBytes(of: v.littleEndian) { Array($0) } }
