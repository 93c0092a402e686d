// TableMatcher: the one matcher. It decides from compiled table bytes with
// no parsing, no allocation and no system call; the same source is built
// into the CLI and tests, and in Embedded Swift into the preload library.
// The walk is docs/table-format.md, "Deciding, and what it costs".
// Tests: Tests/SafesockTableTests/DifferentialTests.swift (against the
// model), CorruptionTests.swift (damaged tables, under ASan).

/// One identity of a destination, canonical already (docs/decision.md,
/// "Canonical identities").
public struct IdentityInput {
    /// The canonical text: a lower-case name without trailing dot, dotted
    /// decimal, or RFC 5952 IPv6.
    public var text: UnsafeBufferPointer<UInt8>
    /// 0 for a name, 4 or 6 for an address.
    public var family: UInt8
    /// The address bytes (4 or 16, network order); empty for a name.
    public var address: UnsafeBufferPointer<UInt8>
    /// The identity is the program's origin.
    public var isOrigin: Bool

    public init(text: UnsafeBufferPointer<UInt8>, family: UInt8, address: UnsafeBufferPointer<UInt8>, isOrigin: Bool) {
        self.text = text
        self.family = family
        self.address = address
        self.isOrigin = isOrigin
    }
}

public struct MatchResult {
    public var verdict: VerdictCode
    /// How many deciding rule indexes were written (the matching disallow
    /// rules if any matched, else the matching allow rules).
    public var written: Int
    /// More deciding rules matched than the output could hold.
    public var truncated: Bool
    /// The table could not be read where it had to be: denied.
    public var fault: Bool
    /// Bit `1 << kind` (`HostKindCode`) for every host kind of an allow
    /// rule that matched: `privateNames deny` asks whether an address, a
    /// block or the origin allowed, or only names and globs.
    public var allowKinds: UInt32
}

public enum TableMatcher {
    /// Decides for `identities` and `port`. `deciding` receives distinct
    /// rule indexes, in the order found. The table should have passed
    /// `TableValidator`; if it did not, reads are still bounds-checked.
    public static func decide(
        _ table: UnsafeRawBufferPointer, identities: UnsafeBufferPointer<IdentityInput>, port: UInt16,
        deciding: UnsafeMutableBufferPointer<UInt32>
    ) -> MatchResult {
        var decision = TableDecision(table, port: port, deciding: deciding)
        for identity in identities { decision.add(identity) }
        return decision.result
    }
}

/// A decision in progress, fed one identity at a time (the C entry point
/// reads identities from C memory and needs no array to hold them).
public struct TableDecision {
    var d: Decider

    public init(_ table: UnsafeRawBufferPointer, port: UInt16, deciding: UnsafeMutableBufferPointer<UInt32>) {
        d = Decider(table: table, port: port, out: deciding)
        if table.count < TableLayout.headerSize { d.view.fault = true }
    }

    /// For `resolve strict`: ports are ignored and only allow rules count,
    /// so the verdict says whether any allow rule could match at some port.
    public init(anyPortOf table: UnsafeRawBufferPointer) {
        self.init(table, port: 0, deciding: UnsafeMutableBufferPointer(start: nil, count: 0))
        d.anyPort = true
    }

    /// Ports are ignored and only disallow rules count: the verdict
    /// (`disallowPossible`) says whether a disallow rule could match at some
    /// port, as the kernel layer's name memory asks of a name it must keep.
    public init(anyPortDisallowOf table: UnsafeRawBufferPointer) {
        self.init(anyPortOf: table)
        d.disallowOnly = true
    }

    public mutating func add(_ identity: IdentityInput) {
        if !d.finished { d.visit(identity) }
    }

    /// With `anyPortDisallowOf`: some disallow rule could match (or the
    /// table is unreadable, which must keep every name as well).
    public var disallowPossible: Bool { d.disallowSeen || d.view.fault }

    public var result: MatchResult {
        let allow = d.anyAllow && !d.anyDisallow && !d.view.fault
        return MatchResult(verdict: allow ? .allow : .deny, written: min(d.count, d.out.count),
                           truncated: d.truncated, fault: d.view.fault, allowKinds: d.allowKinds)
    }
}

struct Decider {
    var view: TableView
    let header: TableHeader
    /// The five hash tables' descriptors, read once per decision.
    let tables: (HashTableDescriptor, HashTableDescriptor, HashTableDescriptor, HashTableDescriptor, HashTableDescriptor)
    let port: UInt16
    let out: UnsafeMutableBufferPointer<UInt32>
    var count = 0
    /// Any port will do, and disallow rules are not asked (resolve gate).
    var anyPort = false
    var anyAllow = false
    var anyDisallow = false
    var truncated = false
    /// With anyPort: look for disallow rules instead of allow rules.
    var disallowOnly = false
    var disallowSeen = false
    /// MatchResult.allowKinds. Complete when the verdict is allow: no allow
    /// ends the walk early (`finished`).
    var allowKinds: UInt32 = 0

    init(table: UnsafeRawBufferPointer, port: UInt16, out: UnsafeMutableBufferPointer<UInt32>) {
        var v = TableView(table)
        header = TableHeader(&v)
        tables = (HashTableDescriptor(&v, .exact), HashTableDescriptor(&v, .starSuffix), HashTableDescriptor(&v, .globSuffix),
                  HashTableDescriptor(&v, .globPrefix), HashTableDescriptor(&v, .cidr))
        view = v
        self.port = port
        self.out = out
    }

    /// A disallow is final; once the output is full nothing more can change.
    var finished: Bool {
        view.fault || (anyDisallow && truncated) || (anyPort && !disallowOnly && anyAllow) || (disallowOnly && disallowSeen)
    }

    mutating func visit(_ id: IdentityInput) {
        let text = id.text
        if id.isOrigin { visitList(header.originList, glob: nil) }
        visitList(header.allHostsList, glob: nil)

        if tables.0.slotCount > 0, let list = lookup(tables.0, text, TableHash.forward(text)) { visitList(list, glob: nil) }

        // Backward: every suffix that starts at a dot.
        var h = TableHash.fnvOffset
        if tables.1.slotCount > 0 || tables.2.slotCount > 0 {
            var i = text.count
            while i > 0 {
                i &-= 1
                let c = text[i]
                h = (h ^ UInt32(c)) &* TableHash.fnvPrime
                guard c == UInt8(ascii: "."), !finished else { continue }
                let suffix = UnsafeBufferPointer(rebasing: text[i...])
                if let list = lookup(tables.1, suffix, h) { visitList(list, glob: nil) }
                if let list = lookup(tables.2, suffix, h) { visitList(list, glob: text) }
            }
        }
        // Forward: every prefix that ends at a dot.
        if tables.3.slotCount > 0 {
            h = TableHash.fnvOffset
            for j in 0..<text.count {
                let c = text[j]
                h = (h ^ UInt32(c)) &* TableHash.fnvPrime
                guard c == UInt8(ascii: "."), !finished else { continue }
                if let list = lookup(tables.3, UnsafeBufferPointer(rebasing: text[...j]), h) { visitList(list, glob: text) }
            }
        }
        visitList(header.unindexedList, glob: text)
        if id.family == 4 || id.family == 6 { visitBlocks(id) }
    }

    /// One CIDR lookup per prefix length the table has for this family.
    mutating func visitBlocks(_ id: IdentityInput) {
        let size = id.family == 4 ? 4 : 16
        guard id.address.count == size, tables.4.slotCount > 0 else { return }
        let masks: (UInt64, UInt64, UInt64) = id.family == 4 ? (header.cidr4Mask, 0, 0) : header.cidr6Mask
        var key: (UInt64, UInt64, UInt64) = (0, 0, 0)
        withUnsafeMutableBytes(of: &key) { raw in
            let k = raw.bindMemory(to: UInt8.self)
            for word in 0..<3 {
                var bitsLeft = word == 0 ? masks.0 : word == 1 ? masks.1 : masks.2
                // Only the lengths present: one lookup each.
                while bitsLeft != 0 && !finished {
                    let bits = word * 64 + bitsLeft.trailingZeroBitCount
                    bitsLeft &= bitsLeft - 1
                    guard bits <= size * 8 else { return }
                    k[0] = id.family
                    k[1] = UInt8(bits)
                    for b in 0..<size {
                        let keep = max(0, min(8, bits - b * 8))
                        k[2 + b] = id.address[b] & UInt8(truncatingIfNeeded: 0xFF << (8 - keep))
                    }
                    let keyBytes = UnsafeBufferPointer(rebasing: k[0..<(2 + size)])
                    if let list = lookup(tables.4, keyBytes, TableHash.forward(keyBytes)) { visitList(list, glob: nil) }
                }
            }
        }
    }

    /// The list word index for `key` in table `t`, or nil; at most
    /// `longestProbe` slots.
    @inline(__always)
    mutating func lookup(_ t: HashTableDescriptor, _ key: UnsafeBufferPointer<UInt8>, _ hash: UInt32) -> Int? {
        guard t.slotCount > 0 else { return nil }
        let mask = t.slotCount &- 1
        var slot = Int(hash) & mask
        var probes = min(t.longestProbe, t.slotCount)
        while probes > 0 {
            probes &-= 1
            let s = view.record(t.slotsOffset &+ slot &* TableLayout.slotSize, TableLayout.slotSize)
            let list = s.u32(12)
            if list == TableLayout.emptySlot || view.fault { return nil }
            if s.u32(0) == hash && Int(s.u32(8)) == key.count {
                let stored = view.slice(header.stringsOffset &+ Int(s.u32(4)), key.count)
                if !view.fault && equal(stored, key) { return Int(list) }
            }
            slot = (slot &+ 1) & mask
        }
        return nil
    }

    func equal(_ a: UnsafeBufferPointer<UInt8>, _ b: UnsafeBufferPointer<UInt8>) -> Bool {
        guard a.count == b.count else { return false }
        for i in 0..<a.count where a[i] != b[i] { return false }
        return true
    }

    /// Every rule of the list at word `index`; with `glob`, only those whose
    /// pattern matches that text.
    mutating func visitList(_ index: Int, glob text: UnsafeBufferPointer<UInt8>?) {
        let base = header.listsOffset &+ index &* 4
        let n = Int(view.u32(base))
        guard n <= header.listWords else { view.fault = true; return }
        let list = view.record(base, (n &+ 1) &* 4)
        var i = 0
        while i < n && !finished {
            i &+= 1
            let rule = Int(list.u32(i &* 4))
            guard rule < header.ruleCount, !view.fault else { view.fault = true; return }
            visitRule(rule, glob: text)
        }
    }

    mutating func visitRule(_ index: Int, glob text: UnsafeBufferPointer<UInt8>?) {
        let rule = RuleRecord(&view, header, index)
        if let text {
            let pattern = view.slice(header.stringsOffset + rule.patternOffset, rule.patternLength)
            guard !view.fault, Glob.matches(pattern, text) else { return }
        }
        if anyPort {
            if rule.action == 0 && rule.rangeCount > 0 { anyAllow = true }
            if rule.action == 1 && rule.rangeCount > 0 { disallowSeen = true }
            return
        }
        guard portMatches(rule.firstRange, rule.rangeCount) else { return }
        if rule.action == 0 { allowKinds |= 1 << UInt32(rule.hostKind & 31) }
        record(UInt32(index), disallow: rule.action == 1)
    }

    /// Binary search of the rule's sorted, disjoint ranges.
    mutating func portMatches(_ first: Int, _ count: Int) -> Bool {
        var low = 0, high = count
        while low < high {
            let mid = (low &+ high) / 2
            let range = view.record(header.rangesOffset &+ (first &+ mid) &* TableLayout.rangeSize, TableLayout.rangeSize)
            let lo = range.u16(0), hi = range.u16(2)
            if view.fault { return false }
            if port < lo { high = mid } else if port > hi { low = mid + 1 } else { return true }
        }
        return false
    }

    mutating func record(_ rule: UInt32, disallow: Bool) {
        if disallow {
            if !anyDisallow {
                anyDisallow = true
                count = 0
                truncated = false
            }
        } else {
            anyAllow = true
            if anyDisallow { return }
        }
        let held = min(count, out.count)
        for i in 0..<held where out[i] == rule { return }
        if count < out.count {
            out[count] = rule
            count += 1
        } else {
            truncated = true
        }
    }
}
