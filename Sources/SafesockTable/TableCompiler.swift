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
        let table = try builder.emit(policy, generation: generation)
        // The whole check, once, here: the enforcers load tables with the
        // integrity check alone (docs/table-format.md, "Loading"), so every
        // table this writes must pass the structural one.
        if let fault = table.withUnsafeBytes({ TableValidator.validate($0) }) {
            throw TableCompileError(description: "the compiled table failed its own check (\(fault.reason)): a bug in safesock")
        }
        return table
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
        // Elements as Glob reads them, in one array: a byte, or `anyOne`
        // for `?` and classes, `anyRun` for `*` (a policy has many globs:
        // an array a kind of element was most of a compile's cost here).
        let anyOne: Int16 = -1, anyRun: Int16 = -2
        var elements: [Int16] = []
        elements.reserveCapacity(glob.count)
        var i = 0
        while i < glob.count {
            switch glob[i] {
            case UInt8(ascii: "*"):
                if elements.last != anyRun { elements.append(anyRun) }
                i += 1
            case UInt8(ascii: "?"):
                elements.append(anyOne)
                i += 1
            case UInt8(ascii: "["):
                while i < glob.count && glob[i] != UInt8(ascii: "]") { i += 1 }
                elements.append(anyOne)
                i += 1
            case UInt8(ascii: "\\"):
                elements.append(i + 1 < glob.count ? Int16(glob[i + 1]) : anyOne)
                i += 2
            default:
                elements.append(Int16(glob[i]))
                i += 1
            }
        }
        func bytes(_ r: Range<Int>) -> [UInt8] { elements[r].map { UInt8(truncatingIfNeeded: $0) } }
        let dot = Int16(UInt8(ascii: "."))
        guard let firstMeta = elements.firstIndex(where: { $0 < 0 }) else {
            self = .literal(bytes(0..<elements.count))
            return
        }
        if elements.count == 1 && elements[0] == anyRun {
            self = .everything
            return
        }
        // The literal tail: what follows the last meta element.
        let tail = elements.lastIndex(where: { $0 < 0 })! + 1
        if elements[0] == anyRun && tail == 1 && tail < elements.count && elements[tail] == dot {
            self = .starSuffix(bytes(tail..<elements.count))
            return
        }
        if let firstDot = elements[tail...].firstIndex(of: dot) {
            self = .globSuffix(bytes(firstDot..<elements.count))
            return
        }
        // The literal head: what precedes the first meta element.
        if let lastDot = elements[..<firstMeta].lastIndex(of: dot) {
            self = .globPrefix(bytes(0..<(lastDot + 1)))
            return
        }
        self = .unindexed
    }
}

/// Strings of the pool found by their bytes: an open-addressed table of
/// entry numbers, hashed with the table's FNV-1a and compared against the
/// pool itself, so a key's bytes are kept once, in the pool (no `Hasher`,
/// no array a key). Entries are numbered in the order first seen.
struct PoolIndex {
    /// Each slot: the entry's hash (high 32 bits) and its number + 1 (low
    /// 32; 0 is an empty slot), so a probe compares hashes in the slot
    /// alone and reads the pool only when they are equal.
    private var slots: [UInt64] = []
    /// Each entry's string: its offset in the pool.
    private(set) var at: [Int] = []

    var count: Int { at.count }

    init(capacity: Int = 0) {
        var n = 16
        while n < capacity * 2 { n <<= 1 }
        slots = [UInt64](repeating: 0, count: n)
        at.reserveCapacity(capacity)
    }

    /// Where a hash starts: its product with 2^64/φ, top bits (FNV-1a's low
    /// bits mix poorly: each depends only on the low bits of the bytes).
    func home(_ hash: UInt32, _ count: Int) -> Int {
        Int(truncatingIfNeeded: (UInt64(hash) &* 0x9E37_79B9_7F4A_7C15) >> UInt64(64 - count.trailingZeroBitCount))
    }

    /// The entry of `key` (hashed to `hash`), or the slot to insert it at.
    func find(_ key: UnsafeBufferPointer<UInt8>, _ hash: UInt32, in pool: UnsafeBufferPointer<UInt8>) -> (entry: Int?, slot: Int) {
        let mask = slots.count - 1
        var slot = home(hash, slots.count)
        while true {
            let held = slots[slot]
            if held == 0 { return (nil, slot) }
            if UInt32(truncatingIfNeeded: held >> 32) == hash {
                let e = Int(truncatingIfNeeded: held & 0xFFFF_FFFF) - 1
                let o = at[e], n = Int(pool[o]) | Int(pool[o + 1]) << 8
                if n == key.count && UnsafeBufferPointer(rebasing: pool[(o + 2)..<(o + 2 + n)]).elementsEqual(key) { return (e, slot) }
            }
            slot = (slot + 1) & mask
        }
    }

    /// Adds an entry for the string at `offset` where `find` said; its number.
    mutating func insert(_ hash: UInt32, at offset: Int, slot: Int) -> Int {
        let e = at.count
        slots[slot] = UInt64(hash) << 32 | UInt64(e + 1)
        at.append(offset)
        if at.count * 2 > slots.count { grow() }
        return e
    }

    private mutating func grow() {
        let old = slots
        slots = [UInt64](repeating: 0, count: old.count * 2)
        let mask = slots.count - 1
        for held in old where held != 0 {
            var slot = home(UInt32(truncatingIfNeeded: held >> 32), slots.count)
            while slots[slot] != 0 { slot = (slot + 1) & mask }
            slots[slot] = held
        }
    }
}

/// Which of a names slot's two references a rule is filed under.
enum KeyField: Int {
    /// The key decides: a name or address equal to it, or `*.domain`
    /// when the key is `.domain` (a prefix or CIDR key has only this one).
    case sure = 0
    /// The key makes the rule a candidate, run through its glob.
    case candidates = 1
}

/// One hash table's keys in the order first seen (policy order: the same
/// policy, the same order, with no sort), each with its rules, chained
/// through `TableBuilder.previousRule` rather than an array per key.
struct KeyedRules {
    var index = PoolIndex()
    /// References a slot holds: two for names, one for prefixes and CIDR.
    var fields = 1
    /// Per entry and field: its last rule (`noRules` for none) and count.
    var lastRule: [UInt32] = []
    var ruleCount: [Int] = []
}

struct TableBuilder {
    var rules: [UInt8] = []
    /// The port pool's words, and where each distinct set is in it.
    var ports: [UInt32] = []
    var portSets: [[UInt32]: UInt32] = [:]
    var portPatterns: [PortPattern: UInt32] = [:]
    var strings: [UInt8] = []
    var stringOffsets = PoolIndex()
    var fileNames: [String] = []
    var originRules: [UInt32] = []
    var allHostsRules: [UInt32] = []
    var unindexedRules: [UInt32] = []
    var keys: [KeyedRules] = [KeyedRules(fields: 2), KeyedRules(), KeyedRules()]
    /// For each rule, the rule before it under the same key.
    var previousRule: [UInt32] = []

    /// Room for `rules` rules up front: growing by doubling copied a 1M-rule
    /// policy's arrays and rehashed its indexes several times over.
    init(capacity rules: Int) {
        self.rules.reserveCapacity(rules * TableLayout.ruleSize)
        strings.reserveCapacity(rules * 26)
        previousRule.reserveCapacity(rules)
        keys[HashTableKind.names.rawValue].index = PoolIndex(capacity: rules)
        keys[HashTableKind.names.rawValue].lastRule.reserveCapacity(rules * 2)
        keys[HashTableKind.names.rawValue].ruleCount.reserveCapacity(rules * 2)
    }
    var cidr4Mask: UInt64 = 0
    var cidr6Mask: [UInt64] = [0, 0, 0]

    /// Strings longer than a pool string's 16-bit length; refused at emit.
    var tooLong: Int?

    /// Appends a pool string: its length (16 bits), then its bytes.
    mutating func appendString(_ bytes: UnsafeBufferPointer<UInt8>) -> Int {
        let at = strings.count
        if bytes.count > Int(UInt16.max) { tooLong = max(tooLong ?? 0, bytes.count) }
        strings.appendLE(UInt16(truncatingIfNeeded: bytes.count))
        strings.append(contentsOf: bytes)
        return at
    }

    /// A string of the pool with these bytes, added once.
    mutating func string(_ bytes: UnsafeBufferPointer<UInt8>) -> Int {
        let hash = TableHash.forward(bytes)
        let found = strings.withUnsafeBufferPointer { stringOffsets.find(bytes, hash, in: $0) }
        if let e = found.entry { return stringOffsets.at[e] }
        let at = appendString(bytes)
        _ = stringOffsets.insert(hash, at: at, slot: found.slot)
        return at
    }

    mutating func string(_ bytes: [UInt8]) -> Int { bytes.withUnsafeBufferPointer { string($0) } }

    mutating func string(_ text: String) -> Int {
        var text = text
        return text.withUTF8 { string($0) }
    }

    /// The port pool's word index of a set of ranges, each set once.
    mutating func portSet(_ ranges: [ClosedRange<UInt16>]) -> UInt32 {
        let words = ranges.map { UInt32($0.lowerBound) | UInt32($0.upperBound) << 16 }
        if let at = portSets[words] { return at }
        let at = UInt32(ports.count)
        ports.append(UInt32(words.count))
        ports += words
        portSets[words] = at
        return at
    }

    /// Files `rule` under `key`, in `field` of its slot; where the key's
    /// bytes are in the string pool.
    @discardableResult
    mutating func index(_ kind: HashTableKind, _ key: UnsafeBufferPointer<UInt8>, _ rule: UInt32,
                        _ field: KeyField = .sure) -> Int {
        while previousRule.count <= Int(rule) { previousRule.append(TableLayout.noRules) }
        let k = kind.rawValue
        let hash = TableHash.of(key, kind)
        let found = strings.withUnsafeBufferPointer { keys[k].index.find(key, hash, in: $0) }
        let at: Int, entry: Int
        if let i = found.entry {
            at = keys[k].index.at[i]
            entry = i
        } else {
            // Keys are distinct already: their bytes go in without the
            // pool's own index (one lookup a rule fewer).
            at = appendString(key)
            entry = keys[k].index.insert(hash, at: at, slot: found.slot)
            keys[k].lastRule.append(contentsOf: repeatElement(TableLayout.noRules, count: keys[k].fields))
            keys[k].ruleCount.append(contentsOf: repeatElement(0, count: keys[k].fields))
        }
        let f = entry * keys[k].fields + (keys[k].fields == 1 ? 0 : field.rawValue)
        previousRule[Int(rule)] = keys[k].lastRule[f]
        keys[k].lastRule[f] = rule
        keys[k].ruleCount[f] += 1
        return at
    }

    @discardableResult
    mutating func index(_ kind: HashTableKind, _ key: [UInt8], _ rule: UInt32, _ field: KeyField = .sure) -> Int {
        key.withUnsafeBufferPointer { index(kind, $0, rule, field) }
    }

    /// A name, an address or a literal glob: decided by its key when a
    /// text equals it. A key that starts with a dot is also a suffix some
    /// longer text is probed with, so its rules are candidates there (a
    /// name holds no glob character: its glob is equality).
    @discardableResult
    mutating func indexExact(_ key: String, _ rule: UInt32) -> Int {
        var key = key
        return key.withUTF8 { indexExact($0, rule) }
    }

    @discardableResult
    mutating func indexExact(_ key: UnsafeBufferPointer<UInt8>, _ rule: UInt32) -> Int {
        index(.names, key, rule, key.first == UInt8(ascii: ".") ? .candidates : .sure)
    }

    mutating func add(_ rule: Rule, index: UInt32, files: [String]) {
        let kind: HostKindCode
        let patternAt: Int
        switch rule.host {
        case .nothing:
            kind = .nothing
            patternAt = string("")
        case .origin:
            kind = .origin
            patternAt = string("$originSocketHost")
            originRules.append(index)
        case .name(let name):
            kind = .name
            patternAt = indexExact(name, index) // the pattern is its key
        case .address(let address):
            kind = .address
            patternAt = indexExact(address.description, index)
        case .block(let network, let bits):
            kind = .block
            let family: UInt8 = network.isIPv4 ? 4 : 6
            self.index(.cidr, [family, UInt8(bits)] + network.bytes, index)
            if family == 4 { cidr4Mask |= 1 << UInt64(bits) } else { cidr6Mask[bits / 64] |= 1 << UInt64(bits % 64) }
            patternAt = string("\(network)/\(bits)") // after the key: the pool's order is the format's
        case .glob(let glob):
            kind = .glob
            let pattern = Array(glob.utf8)
            switch GlobIndex(pattern) {
            case .literal(let key): key.withUnsafeBufferPointer { _ = indexExact($0, index) }
            case .everything: allHostsRules.append(index)
            case .starSuffix(let key): self.index(.names, key, index, .sure)
            case .globSuffix(let key): self.index(.names, key, index, .candidates)
            case .globPrefix(let key): self.index(.prefixes, key, index, .candidates)
            case .unindexed: unindexedRules.append(index)
            }
            patternAt = string(pattern)
        }
        // A port pattern's set, found once (a glob's by trying every port).
        let ports: UInt32
        if let known = portPatterns[rule.port] { ports = known } else {
            ports = portSet(TableCompiler.ranges(rule.port))
            portPatterns[rule.port] = ports
        }
        let file: Int
        if let known = fileNames.firstIndex(of: rule.ref.file) { file = known } else {
            file = fileNames.count
            fileNames.append(rule.ref.file)
        }
        rules.append(rule.action == .disallow ? 1 : 0)
        rules.append(kind.rawValue)
        rules.appendLE(UInt16(truncatingIfNeeded: file)) // more than maxFiles is refused at emit
        rules.appendLE(UInt32(patternAt))
        rules.appendLE(UInt32(rule.ref.line))
        rules.appendLE(ports)
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
        var tables: [(slots: [UInt32], count: Int, probe: Int, filter: [UInt8], filterLog: UInt32, labels: (UInt64, UInt64))] = []
        // A key's reference: its one rule itself, or the list of its rules,
        // ascending (its chain walked back from the last).
        func keyRef(_ kind: HashTableKind, _ f: Int) -> UInt32 {
            let n = self.keys[kind.rawValue].ruleCount[f]
            var rule = self.keys[kind.rawValue].lastRule[f]
            if n == 0 { return TableLayout.noRules }
            if n == 1 { return TableLayout.singleRule | rule }
            let at = UInt32(lists.count)
            lists.append(UInt32(n))
            lists.append(contentsOf: repeatElement(0, count: n))
            for k in stride(from: n, to: 0, by: -1) {
                lists[Int(at) + k] = rule
                rule = Int(rule) < self.previousRule.count ? self.previousRule[Int(rule)] : TableLayout.noRules
            }
            return at
        }
        for kind in HashTableKind.allCases {
            let entries = self.keys[kind.rawValue].index.at
            let fields = self.keys[kind.rawValue].fields
            guard !entries.isEmpty else {
                tables.append(([], 0, 0, [], 0, (0, 0)))
                continue
            }
            // Load 2/3, at any count (the home slot scales the hash).
            let slotCount = entries.count + (entries.count + 1) / 2
            // The slots as the table holds them, a word a field (hash, key,
            // one or two references), so they go in with one copy: an array
            // of optional tuples was twice the size, then written byte by byte.
            let words = kind.slotSize / 4
            var slots = [UInt32](repeating: TableLayout.noRules, count: slotCount * words)
            for slot in 0..<slotCount {
                slots[slot * words] = 0
                slots[slot * words + 1] = TableLayout.emptySlot
            }
            var labels: (whole: UInt64, parts: UInt64) = (0, 0)
            // About eight filter bits a key (a miss passes one time in
            // eight or nine), at least 64.
            var filterLog = TableLayout.filterLogRange.lowerBound
            while (1 << Int(filterLog)) < entries.count * 8 && filterLog < TableLayout.filterLogRange.upperBound { filterLog += 1 }
            var filter = [UInt8](repeating: 0, count: (1 << Int(filterLog)) >> 3)
            /// How far a slot is from where its hash would start.
            func distance(_ slot: Int, _ hash: UInt32) -> Int {
                let home = TableHash.home(hash, slotCount)
                return slot >= home ? slot - home : slot + slotCount - home
            }
            func store(_ slot: Int, _ e: (UInt32, UInt32, UInt32, UInt32)) {
                let w = slot * words
                (slots[w], slots[w + 1], slots[w + 2]) = (e.0, e.1, e.2)
                if words == 4 { slots[w + 3] = e.3 }
            }
            for (i, at) in entries.enumerated() {
                let (hash, dots, leadingDot) = self.strings.withUnsafeBufferPointer { pool in
                    let key = UnsafeBufferPointer(rebasing: pool[(at + 2)..<(at + 2 + (Int(pool[at]) | Int(pool[at + 1]) << 8))])
                    return (TableHash.of(key, kind), key.reduce(0) { $0 + ($1 == UInt8(ascii: ".") ? 1 : 0) },
                            key.first == UInt8(ascii: "."))
                }
                // A whole name counts its labels (`www.sun.com`: 3); a
                // suffix (`.b.com`) or a prefix (`www.`) has one a dot.
                switch kind {
                case .names where !leadingDot: labels.whole |= TableHash.labelBit(dots + 1)
                case .names, .prefixes: labels.parts |= TableHash.labelBit(dots)
                case .cidr: break
                }
                // Robin Hood: an entry farther from its home takes the slot
                // of one nearer to its own, so along every run distances
                // never fall by more than one, and a lookup may stop at the
                // first entry nearer home than itself.
                var entry = (hash, UInt32(at), keyRef(kind, i * fields), fields == 2 ? keyRef(kind, i * fields + 1) : TableLayout.noRules)
                var slot = TableHash.home(hash, slotCount), d = 0
                while slots[slot * words + 1] != TableLayout.emptySlot {
                    let w = slot * words
                    let heldDistance = distance(slot, slots[w])
                    if heldDistance < d {
                        let held = (slots[w], slots[w + 1], slots[w + 2], words == 4 ? slots[w + 3] : TableLayout.noRules)
                        store(slot, entry)
                        entry = held
                        d = heldDistance
                    }
                    slot = slot + 1 == slotCount ? 0 : slot + 1
                    d += 1
                }
                store(slot, entry)
            }
            var longest = 0
            for slot in 0..<slotCount where slots[slot * words + 1] != TableLayout.emptySlot {
                let hash = slots[slot * words]
                longest = max(longest, distance(slot, hash) + 1)
                // In slot order, the bits come in order too.
                let bit = TableHash.filterBit(hash, log: filterLog)
                filter[bit >> 3] |= 1 << UInt8(bit & 7)
            }
            tables.append((slots, slotCount, longest, filter, filterLog, labels))
        }
        guard self.fileNames.count <= TableLayout.maxFiles else {
            throw TableCompileError(description: "the policy reads \(self.fileNames.count) files; a table can name at most \(TableLayout.maxFiles)")
        }
        var files: [UInt8] = []
        for name in self.fileNames { files += le32(UInt32(self.string(Array(name.utf8)))) }
        // Words separated by NUL bytes (no argument holds one); the one
        // writer of denial lines quotes them (Sources/SafesockDecision/denial.c).
        let labelBytes = Array(Array(policy.label.joined(separator: "\0").utf8).prefix(Int(UInt16.max)))
        let label = self.string(labelBytes)
        if let tooLong = self.tooLong {
            throw TableCompileError(description: "a host pattern or file name of \(tooLong) bytes is longer than a table holds (\(UInt16.max))")
        }

        // Layout: header, then each section 8-aligned.
        var table = [UInt8](repeating: 0, count: TableLayout.headerSize)
        // Room for all of it at once: grown by appends, a 50 MB table was
        // copied and its fresh pages zeroed several times over.
        func padded(_ n: Int) -> Int { (n + 7) / 8 * 8 }
        table.reserveCapacity(TableLayout.headerSize + padded(self.rules.count) + padded(self.ports.count * 4) + padded(lists.count * 4)
                              + padded(files.count) + tables.reduce(0) { $0 + padded($1.slots.count * 4) + padded($1.filter.count) }
                              + padded(self.strings.count)
                              + (self.rules.count + self.strings.count) / TableLayout.blockSize * 8 + 4096)
        func place(_ section: [UInt8]) -> UInt32 {
            while table.count % 8 != 0 { table.append(0) }
            let at = UInt32(table.count)
            table += section
            return at
        }
        /// A pool of words, written straight into the table: copied whole
        /// where the host is little-endian, as the table is.
        func place(words: [UInt32]) -> UInt32 {
            while table.count % 8 != 0 { table.append(0) }
            let at = UInt32(table.count)
            if UInt32(1).littleEndian == 1 {
                words.withUnsafeBytes { table.append(contentsOf: $0) }
            } else {
                for word in words { table.appendLE(word) }
            }
            return at
        }
        let rulesAt = place(self.rules)
        let portsAt = place(words: self.ports)
        let listsAt = place(words: lists)
        let filesAt = place(files)
        let slotsAt = tables.map { place(words: $0.slots) }
        let filtersAt = tables.map { place($0.filter) }
        let stringsAt = place(self.strings)
        while table.count % 8 != 0 { table.append(0) }
        // The block sums last, written by `seal` below.
        let sumsAt = table.count
        table.append(contentsOf: repeatElement(0, count: TableLayout.blockCount(sumsAt: sumsAt) * 8))
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
        put([c.privateNames, L.layoutRevision], at: L.privateNamesOffset)
        put(le32(o.maxSockets), at: L.maxSocketsOffset)
        put(le32(policy.hasHostsPorts ? L.flagHasHostsPorts : 0), at: L.flagsOffset)
        put(le32(rulesAt) + le32(UInt32(policy.rules.count)), at: L.rulesOffset)
        put(le32(portsAt) + le32(UInt32(self.ports.count)), at: L.portsOffset)
        put(le32(listsAt) + le32(UInt32(lists.count)), at: L.listsOffset)
        put(le32(stringsAt) + le32(UInt32(self.strings.count)), at: L.stringsOffset)
        put(le32(filesAt) + le32(UInt32(self.fileNames.count)), at: L.filesOffset)
        put(le32(origin) + le32(allHosts) + le32(unindexed) + le32(UInt32(label)), at: L.originListOffset)
        put(le64(self.cidr4Mask) + le64(self.cidr6Mask[0]) + le64(self.cidr6Mask[1]) + le64(self.cidr6Mask[2]), at: L.cidr4MaskOffset)
        for (i, t) in tables.enumerated() {
            put(le32(t.count == 0 ? 0 : slotsAt[i]) + le32(UInt32(t.count)) + le32(UInt32(t.probe))
                + le32(t.count == 0 ? 0 : filtersAt[i]) + le32(t.filterLog), at: L.hashTablesOffset + i * L.hashTableDescriptorSize)
        }
        let names = tables[HashTableKind.names.rawValue], prefixes = tables[HashTableKind.prefixes.rawValue]
        put(le64(names.labels.0) + le64(names.labels.1) + le64(prefixes.labels.1), at: L.wholeLabelsOffset)
        put(le32(UInt32(sumsAt)), at: L.blockSumsOffset)
        table.withUnsafeMutableBytes { TableHash.seal($0) }
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
