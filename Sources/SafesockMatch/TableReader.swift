// TableReader: a bounds-checked view of table bytes, and the validator the
// loader runs before the matcher may use a table (docs/table-format.md,
// "Loading"). Every read checks its offset: a read that would leave the
// bytes returns 0 and marks the view faulted, and a faulted decision is a
// denial. Tests: Tests/SafesockTableTests/CorruptionTests.swift.

/// Why a table was refused.
public enum TableFault: UInt8, Sendable {
    case tooShort = 1, badMagic, wrongVersion, badHeaderSize, lengthMismatch, badLength, checksumMismatch,
         sectionOutOfBounds, badRule, badRange, badFile, badList, badSlot, badHashTable, badCidrMask, badLabel, formatOne

    public var reason: StaticString {
        switch self {
        case .tooShort: return "table is shorter than its header"
        case .badMagic: return "not a safesock table (bad magic)"
        case .wrongVersion: return "table format version is not the one this library reads"
        case .badHeaderSize: return "table header size is wrong"
        case .lengthMismatch: return "table length differs from the length its header records (truncated?)"
        case .badLength: return "table length is not a multiple of 8 or is too large"
        case .checksumMismatch: return "table checksum does not match (corrupt)"
        case .sectionOutOfBounds: return "a table section lies outside the table"
        case .badRule: return "a rule record is out of bounds"
        case .badRange: return "a port range is malformed"
        case .badFile: return "a file record is out of bounds"
        case .badList: return "a rule list is out of bounds"
        case .badSlot: return "a hash slot is out of bounds"
        case .badHashTable: return "a hash table header is malformed"
        case .badCidrMask: return "a CIDR length mask is malformed"
        case .badLabel: return "the policy label is out of bounds"
        case .formatOne: return "table is format 1, which this safesock no longer reads: compile the policy again (safesock compile)"
        }
    }
}

/// Table bytes with checked little-endian reads.
public struct TableView {
    public let bytes: UnsafeRawBufferPointer
    /// Set by any read outside the bytes.
    public var fault = false

    public init(_ bytes: UnsafeRawBufferPointer) { self.bytes = bytes }

    @inline(__always)
    func inBounds(_ offset: Int, _ size: Int) -> Bool {
        offset >= 0 && size >= 0 && offset <= bytes.count && size <= bytes.count - offset
    }

    @inline(__always)
    public mutating func u8(_ offset: Int) -> UInt8 {
        guard inBounds(offset, 1) else { fault = true; return 0 }
        return bytes[offset]
    }

    @inline(__always)
    public mutating func u16(_ offset: Int) -> UInt16 {
        guard inBounds(offset, 2) else { fault = true; return 0 }
        return UInt16(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: UInt16.self))
    }

    @inline(__always)
    public mutating func u32(_ offset: Int) -> UInt32 {
        guard inBounds(offset, 4) else { fault = true; return 0 }
        return UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: UInt32.self))
    }

    @inline(__always)
    public mutating func u64(_ offset: Int) -> UInt64 {
        guard inBounds(offset, 8) else { fault = true; return 0 }
        return UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: UInt64.self))
    }

    /// `size` bytes at `offset`, checked once here, for the several reads
    /// of one record; a record out of bounds reads as zeros (and faults).
    @inline(__always)
    public mutating func record(_ offset: Int, _ size: Int) -> TableRecord {
        guard inBounds(offset, size), let base = bytes.baseAddress else {
            fault = true
            return TableRecord(base: nil, size: 0)
        }
        return TableRecord(base: base + offset, size: size)
    }

    /// `length` bytes at `offset`, or an empty buffer (and a fault).
    @inline(__always)
    public mutating func slice(_ offset: Int, _ length: Int) -> UnsafeBufferPointer<UInt8> {
        guard inBounds(offset, length), let base = bytes.baseAddress else {
            fault = true
            return UnsafeBufferPointer(start: nil, count: 0)
        }
        return UnsafeBufferPointer(start: (base + offset).assumingMemoryBound(to: UInt8.self), count: length)
    }
}

/// Bytes whose bounds `TableView.record` checked: reads inside need no
/// further check against the table, only against the record's size.
public struct TableRecord {
    let base: UnsafeRawPointer?
    let size: Int

    @inline(__always)
    public func u8(_ offset: Int) -> UInt8 {
        guard let base, offset >= 0, offset < size else { return 0 }
        return base.load(fromByteOffset: offset, as: UInt8.self)
    }

    @inline(__always)
    public func u16(_ offset: Int) -> UInt16 {
        guard let base, offset >= 0, offset <= size - 2 else { return 0 }
        return UInt16(littleEndian: base.loadUnaligned(fromByteOffset: offset, as: UInt16.self))
    }

    @inline(__always)
    public func u32(_ offset: Int) -> UInt32 {
        guard let base, offset >= 0, offset <= size - 4 else { return 0 }
        return UInt32(littleEndian: base.loadUnaligned(fromByteOffset: offset, as: UInt32.self))
    }

    @inline(__always)
    public func u64(_ offset: Int) -> UInt64 {
        guard let base, offset >= 0, offset <= size - 8 else { return 0 }
        return UInt64(littleEndian: base.loadUnaligned(fromByteOffset: offset, as: UInt64.self))
    }
}

/// The header's fields, as Ints.
public struct TableHeader {
    public var generation: UInt64 = 0
    public var peername: UInt8 = 0, datagrams: UInt8 = 0, servers: UInt8 = 0, resolve: UInt8 = 0
    public var maxSockets: UInt32 = 0
    public var flags: UInt32 = 0
    public var privateNames: UInt8 = 0
    public var rulesOffset = 0, ruleCount = 0
    public var portsOffset = 0, portWords = 0
    public var listsOffset = 0, listWords = 0
    public var stringsOffset = 0, stringsLength = 0
    public var filesOffset = 0, fileCount = 0
    public var originList = 0, allHostsList = 0, unindexedList = 0
    /// The label's string (an offset in the pool).
    public var label = 0
    public var cidr4Mask: UInt64 = 0
    public var cidr6Mask: (UInt64, UInt64, UInt64) = (0, 0, 0)

    public init(_ view: inout TableView) {
        typealias L = TableLayout
        let v = view.record(0, L.headerSize)
        generation = v.u64(L.generationOffset)
        peername = v.u8(L.peernameOffset)
        datagrams = v.u8(L.datagramsOffset)
        servers = v.u8(L.serversOffset)
        resolve = v.u8(L.resolveOffset)
        maxSockets = v.u32(L.maxSocketsOffset)
        flags = v.u32(L.flagsOffset)
        privateNames = v.u8(L.privateNamesOffset)
        rulesOffset = Int(v.u32(L.rulesOffset)); ruleCount = Int(v.u32(L.rulesOffset + 4))
        portsOffset = Int(v.u32(L.portsOffset)); portWords = Int(v.u32(L.portsOffset + 4))
        listsOffset = Int(v.u32(L.listsOffset)); listWords = Int(v.u32(L.listsOffset + 4))
        stringsOffset = Int(v.u32(L.stringsOffset)); stringsLength = Int(v.u32(L.stringsOffset + 4))
        filesOffset = Int(v.u32(L.filesOffset)); fileCount = Int(v.u32(L.filesOffset + 4))
        originList = Int(v.u32(L.originListOffset))
        allHostsList = Int(v.u32(L.allHostsListOffset))
        unindexedList = Int(v.u32(L.unindexedListOffset))
        label = Int(v.u32(L.labelOffset))
        cidr4Mask = v.u64(L.cidr4MaskOffset)
        cidr6Mask = (v.u64(L.cidr6MaskOffset), v.u64(L.cidr6MaskOffset + 8), v.u64(L.cidr6MaskOffset + 16))
    }

    public func hasCidrLength(family: UInt8, _ bits: Int) -> Bool {
        if family == 4 { return bits <= 32 && (cidr4Mask >> UInt64(bits)) & 1 == 1 }
        guard bits <= 128 else { return false }
        let word = bits < 64 ? cidr6Mask.0 : bits < 128 ? cidr6Mask.1 : cidr6Mask.2
        return (word >> UInt64(bits % 64)) & 1 == 1
    }
}

extension TableView {
    /// The pool string at `offset` (its length, then its bytes), or an
    /// empty buffer and a fault when any of it lies outside the pool.
    @inline(__always)
    public mutating func string(_ header: TableHeader, _ offset: Int) -> UnsafeBufferPointer<UInt8> {
        let n = TableLayout.stringLengthSize
        guard offset >= 0, offset <= header.stringsLength &- n else {
            fault = true
            return UnsafeBufferPointer(start: nil, count: 0)
        }
        let length = Int(u16(header.stringsOffset &+ offset))
        guard length <= header.stringsLength &- offset &- n else {
            fault = true
            return UnsafeBufferPointer(start: nil, count: 0)
        }
        return slice(header.stringsOffset &+ offset &+ n, length)
    }

    /// The ranges of the port set at word `index` of the pool: its count,
    /// then one word a range (low, high: 16 bits each). The word offset of
    /// the first range and the count, or nil (and a fault) when the set
    /// lies outside the pool.
    @inline(__always)
    public mutating func portSet(_ header: TableHeader, _ index: Int) -> (first: Int, count: Int)? {
        guard index >= 0, index < header.portWords else { fault = true; return nil }
        let count = Int(u32(header.portsOffset &+ index &* 4))
        guard count <= header.portWords &- index &- 1 else { fault = true; return nil }
        return (header.portsOffset &+ (index &+ 1) &* 4, count)
    }
}

/// One hash table's descriptor.
public struct HashTableDescriptor {
    public var slotsOffset: Int
    public var slotCount: Int
    public var longestProbe: Int
    /// Bit min(labels, 63) for every key's label count: a lookup of a text
    /// with a count whose bit is clear is skipped.
    public var labels: UInt64

    public init(_ view: inout TableView, _ kind: HashTableKind) {
        let v = view.record(TableLayout.hashTablesOffset + kind.rawValue * TableLayout.hashTableDescriptorSize,
                            TableLayout.hashTableDescriptorSize)
        slotsOffset = Int(v.u32(0))
        slotCount = Int(v.u32(4))
        longestProbe = Int(v.u32(8))
        labels = v.u64(12)
    }

    @inline(__always)
    public func mayHold(labels n: Int) -> Bool { slotCount > 0 && labels & TableHash.labelBit(n) != 0 }

    /// The most labels a key has (0: no keys; bit 63, "63 or more", has no
    /// bound): a walk over a text's dots stops there.
    @inline(__always)
    public var mostLabels: Int {
        guard slotCount > 0, labels != 0 else { return 0 }
        return labels >> 63 != 0 ? Int.max : 63 &- labels.leadingZeroBitCount
    }
}

/// One rule record.
public struct RuleRecord {
    public var action: UInt8
    public var hostKind: UInt8
    public var file: Int
    /// The pattern's string: the canonical text (the glob the matcher
    /// runs, `10.0.0.0/8`, `$originSocketHost`).
    public var pattern: Int
    public var line: UInt32
    /// The port set's word index in the port pool.
    public var ports: Int

    @inline(__always)
    public init(_ view: inout TableView, _ header: TableHeader, _ index: Int) {
        let v = view.record(header.rulesOffset &+ index &* TableLayout.ruleSize, TableLayout.ruleSize)
        action = v.u8(0)
        hostKind = v.u8(1)
        file = Int(v.u16(2))
        pattern = Int(v.u32(4))
        line = v.u32(8)
        ports = Int(v.u32(12))
    }
}

public enum TableValidator {
    /// nil when the table may be used; else why not. With `structure`
    /// false, only what costs nothing to check and the checksum: the
    /// header, where the sections lie, and that the bytes are the ones
    /// their writer summed (docs/table-format.md, "Loading": the enforcers
    /// load so, the CLI checks whole tables before it writes or publishes
    /// them, and every read of the matcher is bounds-checked either way).
    public static func validate(_ bytes: UnsafeRawBufferPointer, structure: Bool = true) -> TableFault? {
        typealias L = TableLayout
        guard bytes.count >= L.headerSize else { return .tooShort }
        var v = TableView(bytes)
        for i in 0..<8 where v.u8(i) != L.magic[i] { return .badMagic }
        let version = v.u32(L.versionOffset)
        guard version != 1 else { return .formatOne }
        guard version == L.version else { return .wrongVersion }
        guard v.u32(L.headerSizeOffset) == UInt32(L.headerSize) else { return .badHeaderSize }
        guard v.u64(L.totalLengthOffset) == UInt64(bytes.count) else { return .lengthMismatch }
        guard bytes.count % 8 == 0, bytes.count <= L.maxTableBytes else { return .badLength }
        guard TableHash.checksum(bytes) == v.u64(L.checksumOffset) else { return .checksumMismatch }

        let h = TableHeader(&v)
        func section(_ offset: Int, _ count: Int, _ size: Int) -> Bool {
            count == 0 || (offset >= L.headerSize && offset % 8 == 0 && v.inBounds(offset, count * size))
        }
        guard section(h.rulesOffset, h.ruleCount, L.ruleSize), section(h.portsOffset, h.portWords, 4),
              section(h.listsOffset, h.listWords, 4), section(h.stringsOffset, h.stringsLength, 1),
              section(h.filesOffset, h.fileCount, L.fileSize) else { return .sectionOutOfBounds }
        // A reference with the single-rule bit must not reach the empty mark.
        guard h.ruleCount < Int(L.singleRule - 1) else { return .sectionOutOfBounds }
        guard h.cidr6Mask.2 <= 1, h.cidr4Mask >> 33 == 0 else { return .badCidrMask }
        if !structure { return nil }

        func isString(_ offset: Int) -> Bool {
            _ = v.string(h, offset)
            return !v.fault
        }
        guard isString(h.label) else { return .badLabel }
        for f in 0..<h.fileCount {
            guard isString(Int(v.u32(h.filesOffset + f * L.fileSize))) else { return .badFile }
        }
        // The pool's sets one after another, each range low <= high.
        var word = 0
        while word < h.portWords {
            guard let set = v.portSet(h, word) else { return .badRange }
            for r in 0..<set.count {
                let range = v.u32(set.first + r * 4)
                guard range & 0xFFFF <= range >> 16 else { return .badRange }
            }
            word += 1 + set.count
        }
        for r in 0..<h.ruleCount {
            let rule = RuleRecord(&v, h, r)
            guard rule.action <= 1, rule.hostKind <= HostKindCode.block.rawValue, isString(rule.pattern),
                  rule.file < h.fileCount, v.portSet(h, rule.ports) != nil
            else { return .badRule }
        }
        func listIsValid(_ index: Int) -> Bool {
            guard index >= 0, index < h.listWords else { return false }
            let count = Int(v.u32(h.listsOffset + index * 4))
            guard count <= h.listWords - index - 1 else { return false }
            let list = v.record(h.listsOffset + index * 4, (count + 1) * 4)
            for i in 1...max(1, count) where count > 0 && Int(list.u32(i * 4)) >= h.ruleCount { return false }
            return !v.fault
        }
        guard listIsValid(h.originList), listIsValid(h.allHostsList), listIsValid(h.unindexedList) else { return .badList }
        for kind in HashTableKind.allCases {
            let t = HashTableDescriptor(&v, kind)
            if t.slotCount == 0 {
                guard t.longestProbe == 0 else { return .badHashTable }
                continue
            }
            guard t.longestProbe <= t.slotCount, section(t.slotsOffset, t.slotCount, L.slotSize) else { return .badHashTable }
            for s in 0..<t.slotCount {
                let slot = v.record(t.slotsOffset + s * L.slotSize, L.slotSize)
                let ref = slot.u32(8)
                if ref == L.emptySlot { continue }
                guard isString(Int(slot.u32(4))) else { return .badSlot }
                if ref & L.singleRule != 0 {
                    guard Int(ref & ~L.singleRule) < h.ruleCount else { return .badList }
                } else {
                    guard listIsValid(Int(ref)) else { return .badList }
                }
            }
        }
        return v.fault ? .sectionOutOfBounds : nil
    }
}
