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
    /// With `fault`: a block it read does not match its sum.
    public var corrupt: Bool
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
        deciding: UnsafeMutableBufferPointer<UInt32>, blocks: BlockChecks? = nil
    ) -> MatchResult {
        func run<M>(_ decision: TableDecision<M>) -> MatchResult {
            var decision = decision
            for identity in identities { decision.add(identity) }
            return decision.result
        }
        if let blocks { return run(TableDecision(table, port: port, deciding: deciding, blocks: blocks)) }
        return run(TableDecision(table, port: port, deciding: deciding))
    }
}

/// A decision in progress, fed one identity at a time (the C entry point
/// reads identities from C memory and needs no array to hold them). Of a
/// table checked whole, or one whose blocks are checked as read: the two
/// compiled apart, so the first pays no test a read for checks.
public struct TableDecision<Mode: BlockCheckMode> {
    var d: Decider<Mode>

    @inline(__always)
    init(_ view: TableView<Mode>, port: UInt16, deciding: UnsafeMutableBufferPointer<UInt32>) {
        d = Decider(view: view, port: port, out: deciding)
        if view.bytes.count < TableLayout.headerSize { d.view.fault = true }
    }

    /// For `resolve strict`: ports are ignored and only allow rules count,
    /// so the verdict says whether any allow rule could match at some port.
    @inline(__always)
    init(anyPortOf view: TableView<Mode>) {
        self.init(view, port: 0, deciding: UnsafeMutableBufferPointer(start: nil, count: 0))
        d.anyPort = true
    }

    /// Ports are ignored and only disallow rules count: the verdict
    /// (`disallowPossible`) says whether a disallow rule could match at some
    /// port, as the kernel layer's name memory asks of a name it must keep.
    @inline(__always)
    init(anyPortDisallowOf view: TableView<Mode>) {
        self.init(anyPortOf: view)
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
                           truncated: d.truncated, fault: d.view.fault, corrupt: d.view.corrupt, allowKinds: d.allowKinds)
    }
}

extension TableDecision where Mode == WholeTableChecked {
    /// A table checked whole before (the CLI, the supervisor, a file's
    /// table after its first decision).
    @inline(__always)
    public init(_ table: UnsafeRawBufferPointer, port: UInt16, deciding: UnsafeMutableBufferPointer<UInt32>) {
        self.init(TableView(table), port: port, deciding: deciding)
    }
    public init(anyPortOf table: UnsafeRawBufferPointer) { self.init(anyPortOf: TableView(table)) }
    public init(anyPortDisallowOf table: UnsafeRawBufferPointer) { self.init(anyPortDisallowOf: TableView(table)) }
}

extension TableDecision where Mode == BlocksCheckedOnRead {
    /// `blocks`: the enforcer's checks of the table's blocks, each made at
    /// its first read.
    @inline(__always)
    public init(_ table: UnsafeRawBufferPointer, port: UInt16, deciding: UnsafeMutableBufferPointer<UInt32>,
                blocks: BlockChecks?) {
        self.init(TableView(table, blocks: blocks), port: port, deciding: deciding)
    }
    public init(anyPortOf table: UnsafeRawBufferPointer, blocks: BlockChecks?) {
        self.init(anyPortOf: TableView(table, blocks: blocks))
    }
    public init(anyPortDisallowOf table: UnsafeRawBufferPointer, blocks: BlockChecks?) {
        self.init(anyPortDisallowOf: TableView(table, blocks: blocks))
    }
}

struct Decider<Mode: BlockCheckMode> {
    var view: TableView<Mode>
    let header: MatchHeader
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
    /// The `*` and origin lists hold rules that match whatever the text:
    /// read once a decision, not once an identity.
    var allHostsRead = false
    var originRead = false
    /// MatchResult.allowKinds. Complete when the verdict is allow: no allow
    /// ends the walk early (`finished`).
    var allowKinds: UInt32 = 0

    @inline(__always)
    init(view given: TableView<Mode>, port: UInt16, out: UnsafeMutableBufferPointer<UInt32>) {
        var v = given
        header = MatchHeader(&v)
        view = v
        self.port = port
        self.out = out
    }

    var names: HashTableDescriptor { header.names }
    var prefixes: HashTableDescriptor { header.prefixes }
    var blocks: HashTableDescriptor { header.blocks }

    /// Set when nothing more can change the answer: a disallow with the
    /// output full, or the any-port question answered.
    var settled = false

    /// A disallow is final; once the output is full nothing more can change.
    var finished: Bool { settled || view.fault }

    mutating func visit(_ id: IdentityInput) {
        if id.isOrigin && !originRead {
            originRead = true
            visitList(header.originList, glob: nil)
        }
        if !allHostsRead {
            allHostsRead = true
            visitList(header.allHostsList, glob: nil)
        }
        visitNames(id.text)
        if prefixes.slotCount > 0 && !finished { visitPrefixes(id.text) }
        if !finished { visitList(header.unindexedList, glob: id.text) }
        if (id.family == 4 || id.family == 6) && !finished { visitBlocks(id) }
    }

    /// One backward pass over the text: at each dot, the suffix from there
    /// (`.b.com`), then the whole text, each looked up once in the names
    /// table, and only for a label count some key has. One probe finds a
    /// name, a `*.domain` and the globs that end in the suffix alike.
    @inline(__always)
    mutating func visitNames(_ text: UnsafeBufferPointer<UInt8>) {
        guard names.slotCount > 0 else { return }
        let dot = UInt8(ascii: ".")
        let whole = names.wholeLabels != 0
        let partLabels = names.mostPartLabels
        var h = TableHash.fnvOffset, dots = 0
        if let base = text.baseAddress {
            let end = base + text.count
            var p = end
            while p > base {
                p -= 1
                let c = p.pointee
                h = (h ^ UInt32(c)) &* TableHash.fnvPrime
                guard c == dot else { continue }
                dots &+= 1
                if dots <= partLabels && names.mayHold(part: dots) {
                    probeName(UnsafeBufferPointer(start: p, count: end - p), h, text)
                    if finished { return }
                }
                // Past the longest suffix, the rest is hashed only for the
                // whole text's lookup.
                if !whole && dots >= partLabels { return }
            }
        }
        // A text that starts with a dot was looked up whole at that dot.
        if whole && (text.isEmpty || text[0] != dot) && names.mayHold(whole: dots &+ 1) { probeName(text, h, text) }
    }

    @inline(__always)
    mutating func probeName(_ key: UnsafeBufferPointer<UInt8>, _ hash: UInt32, _ text: UnsafeBufferPointer<UInt8>) {
        guard let slot = lookup(names, TableLayout.nameSlotSize, key, hash) else { return }
        // The key decides its sure rules: the text is the name, or ends in
        // the `*.domain`'s suffix. Its candidates are globbed.
        let sure = slot.u32(8), candidates = slot.u32(12)
        if sure != TableLayout.noRules { visitRef(sure, glob: nil) }
        if candidates != TableLayout.noRules && !finished { visitRef(candidates, glob: text) }
    }

    /// One forward pass: every prefix that ends at a dot, as far as the
    /// table's longest prefix; its rules are candidates.
    mutating func visitPrefixes(_ text: UnsafeBufferPointer<UInt8>) {
        let prefixLabels = prefixes.mostPartLabels
        guard prefixLabels > 0 else { return }
        guard let base = text.baseAddress else { return }
        let end = base + text.count
        var h = TableHash.fnvOffset, dots = 0
        var p = base
        while p < end {
            let c = p.pointee
            p += 1
            h = (h ^ UInt32(c)) &* TableHash.fnvPrime
            guard c == UInt8(ascii: ".") else { continue }
            dots &+= 1
            if prefixes.mayHold(part: dots), let slot = lookup(prefixes, TableLayout.slotSize, UnsafeBufferPointer(start: base, count: p - base), h) {
                let ref = slot.u32(8)
                if ref != TableLayout.noRules { visitRef(ref, glob: text) }
                if finished { return }
            }
            if dots >= prefixLabels { return }
        }
    }

    /// One CIDR lookup per prefix length the table has for this family.
    mutating func visitBlocks(_ id: IdentityInput) {
        let size = id.family == 4 ? 4 : 16
        guard id.address.count == size, blocks.slotCount > 0 else { return }
        if size == 4 { return visitBlocks4(id.address) }
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
                    if let slot = lookup(blocks, TableLayout.slotSize, keyBytes, TableHash.forward(keyBytes)) {
                        let ref = slot.u32(8)
                        if ref != TableLayout.noRules { visitRef(ref, glob: nil) }
                    }
                }
            }
        }
    }

    /// An IPv4 address's blocks: the key (family, length, masked address)
    /// built in one word and hashed as its six bytes.
    @inline(__always)
    mutating func visitBlocks4(_ address: UnsafeBufferPointer<UInt8>) {
        let a = UInt32(address[0]) << 24 | UInt32(address[1]) << 16 | UInt32(address[2]) << 8 | UInt32(address[3])
        var bitsLeft = header.cidr4Mask & 0x1_FFFF_FFFF
        while bitsLeft != 0 && !finished {
            let bits = bitsLeft.trailingZeroBitCount
            bitsLeft &= bitsLeft &- 1
            let masked = bits == 0 ? 0 : a & ~(UInt32.max >> UInt32(bits))
            // Byte i of the value is byte i of the key: 4, the length, the
            // address in network order; stored low byte first.
            let key = UInt64(4) | UInt64(bits) << 8 | UInt64(masked.byteSwapped) << 16
            var h = TableHash.fnvOffset
            for i in 0..<6 { h = (h ^ UInt32(truncatingIfNeeded: key >> UInt64(i * 8)) & 0xFF) &* TableHash.fnvPrime }
            var stored = key.littleEndian
            let found = withUnsafeBytes(of: &stored) { raw in
                lookup(blocks, TableLayout.slotSize, UnsafeBufferPointer(start: raw.baseAddress!.assumingMemoryBound(to: UInt8.self), count: 6), h)
            }
            if let slot = found {
                let ref = slot.u32(8)
                if ref != TableLayout.noRules { visitRef(ref, glob: nil) }
            }
        }
    }

    /// The slot of `key` in table `t`, or nil; at most `longestProbe`
    /// slots, and none past an entry nearer its home than `key` would be
    /// (the compiler's Robin Hood order: were the key there, it would have
    /// taken that slot).
    @inline(__always)
    mutating func lookup(_ t: HashTableDescriptor, _ slotSize: Int, _ key: UnsafeBufferPointer<UInt8>, _ hash: UInt32) -> TableRecord? {
        let count = t.slotCount
        guard count > 0 else { return nil }
        // Most lookups are of texts no key has: one bit says so.
        let bit = TableHash.filterBit(hash, log: t.filterLog)
        guard view.u8(t.filterOffset &+ bit &>> 3) & (1 &<< UInt8(truncatingIfNeeded: bit & 7)) != 0 else { return nil }
        var slot = TableHash.home(hash, count)
        let probes = min(t.longestProbe, count)
        var distance = 0
        while distance < probes {
            let s = view.record(t.slotsOffset &+ slot &* slotSize, slotSize)
            let held = s.u32(0), keyAt = s.u32(4)
            if keyAt == TableLayout.emptySlot || view.fault { return nil }
            if held == hash {
                let stored = view.string(header, Int(keyAt))
                if view.fault { return nil }
                if equal(stored, key) { return s }
            }
            let home = TableHash.home(held, count)
            if (slot >= home ? slot &- home : slot &+ count &- home) < distance { return nil }
            distance &+= 1
            slot &+= 1
            if slot >= count { slot = 0 }
        }
        return nil
    }

    /// A slot's reference: one rule, or the list of several.
    @inline(__always)
    mutating func visitRef(_ ref: UInt32, glob text: UnsafeBufferPointer<UInt8>?) {
        if ref & TableLayout.singleRule == 0 { return visitList(Int(ref), glob: text) }
        let rule = Int(ref & ~TableLayout.singleRule)
        guard rule < header.ruleCount else { view.fault = true; return }
        visitRule(rule, glob: text)
    }

    /// Byte equality, eight bytes at a time.
    @inline(__always)
    func equal(_ a: UnsafeBufferPointer<UInt8>, _ b: UnsafeBufferPointer<UInt8>) -> Bool {
        let n = a.count
        guard n == b.count else { return false }
        guard n > 0, let pa = a.baseAddress, let pb = b.baseAddress else { return true }
        let ra = UnsafeRawPointer(pa), rb = UnsafeRawPointer(pb)
        var i = 0
        while i &+ 8 <= n {
            if ra.loadUnaligned(fromByteOffset: i, as: UInt64.self) != rb.loadUnaligned(fromByteOffset: i, as: UInt64.self) { return false }
            i &+= 8
        }
        while i < n {
            if pa[i] != pb[i] { return false }
            i &+= 1
        }
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
        // A table loaded without its structural checks may hold anything
        // here: an action or kind that is no code is a fault, never an allow.
        guard rule.action <= 1, rule.hostKind <= HostKindCode.block.rawValue else { view.fault = true; return }
        if let text {
            let pattern = view.string(header, rule.pattern)
            guard !view.fault, Glob.matches(pattern, text) else { return }
        }
        guard let ports = view.portSet(header, rule.ports) else { return }
        if anyPort {
            if rule.action == 0 && ports.count > 0 {
                anyAllow = true
                if !disallowOnly { settled = true }
            }
            if rule.action == 1 && ports.count > 0 {
                disallowSeen = true
                if disallowOnly { settled = true }
            }
            return
        }
        guard portMatches(ports.first, ports.count) else { return }
        if rule.action == 0 { allowKinds |= 1 << UInt32(rule.hostKind & 31) }
        record(UInt32(index), disallow: rule.action == 1)
    }

    /// Binary search of a port set's sorted, disjoint ranges (`first`: the
    /// byte offset of its first range).
    mutating func portMatches(_ first: Int, _ count: Int) -> Bool {
        var low = 0, high = count
        while low < high {
            let mid = (low &+ high) / 2
            let range = view.u32(first &+ mid &* 4)
            if view.fault { return false }
            let lo = UInt16(truncatingIfNeeded: range), hi = UInt16(truncatingIfNeeded: range >> 16)
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
            if anyDisallow { settled = true }
        }
    }
}
