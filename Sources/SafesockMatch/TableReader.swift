// TableReader: a bounds-checked view of table bytes, and the validator the
// loader runs before the matcher may use a table (docs/table-format.md,
// "Loading"). Every read checks its offset: a read that would leave the
// bytes returns 0 and marks the view faulted, and a faulted decision is a
// denial. Tests: Tests/SafesockTableTests/CorruptionTests.swift.

/// Why a table was refused.
public enum TableFault: UInt8, Sendable {
    case tooShort = 1, badMagic, wrongVersion, badHeaderSize, lengthMismatch, badLength, checksumMismatch,
         sectionOutOfBounds, badRule, badRange, badFile, badList, badSlot, badHashTable, badCidrMask, badLabel

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
    public var rangesOffset = 0, rangeCount = 0
    public var listsOffset = 0, listWords = 0
    public var stringsOffset = 0, stringsLength = 0
    public var filesOffset = 0, fileCount = 0
    public var originList = 0, allHostsList = 0, unindexedList = 0
    public var cidr4Mask: UInt64 = 0
    public var cidr6Mask: (UInt64, UInt64, UInt64) = (0, 0, 0)
    public var labelOffset = 0, labelLength = 0

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
        rangesOffset = Int(v.u32(L.rangesOffset)); rangeCount = Int(v.u32(L.rangesOffset + 4))
        listsOffset = Int(v.u32(L.listsOffset)); listWords = Int(v.u32(L.listsOffset + 4))
        stringsOffset = Int(v.u32(L.stringsOffset)); stringsLength = Int(v.u32(L.stringsOffset + 4))
        filesOffset = Int(v.u32(L.filesOffset)); fileCount = Int(v.u32(L.filesOffset + 4))
        originList = Int(v.u32(L.originListOffset))
        allHostsList = Int(v.u32(L.allHostsListOffset))
        unindexedList = Int(v.u32(L.unindexedListOffset))
        cidr4Mask = v.u64(L.cidr4MaskOffset)
        cidr6Mask = (v.u64(L.cidr6MaskOffset), v.u64(L.cidr6MaskOffset + 8), v.u64(L.cidr6MaskOffset + 16))
        labelOffset = Int(v.u32(L.labelOffset)); labelLength = Int(v.u32(L.labelOffset + 4))
    }

    public func hasCidrLength(family: UInt8, _ bits: Int) -> Bool {
        if family == 4 { return bits <= 32 && (cidr4Mask >> UInt64(bits)) & 1 == 1 }
        guard bits <= 128 else { return false }
        let word = bits < 64 ? cidr6Mask.0 : bits < 128 ? cidr6Mask.1 : cidr6Mask.2
        return (word >> UInt64(bits % 64)) & 1 == 1
    }
}

/// One hash table's descriptor.
public struct HashTableDescriptor {
    public var slotsOffset: Int
    public var slotCount: Int
    public var longestProbe: Int

    public init(_ view: inout TableView, _ kind: HashTableKind) {
        let v = view.record(TableLayout.hashTablesOffset + kind.rawValue * TableLayout.hashTableDescriptorSize,
                            TableLayout.hashTableDescriptorSize)
        slotsOffset = Int(v.u32(0))
        slotCount = Int(v.u32(4))
        longestProbe = Int(v.u32(8))
    }
}

/// One rule record.
public struct RuleRecord {
    public var action: UInt8
    public var hostKind: UInt8
    public var patternOffset: Int
    public var patternLength: Int
    public var file: Int
    public var line: UInt32
    public var firstRange: Int
    public var rangeCount: Int

    @inline(__always)
    public init(_ view: inout TableView, _ header: TableHeader, _ index: Int) {
        let v = view.record(header.rulesOffset &+ index &* TableLayout.ruleSize, TableLayout.ruleSize)
        action = v.u8(0)
        hostKind = v.u8(1)
        patternLength = Int(v.u16(2))
        patternOffset = Int(v.u32(4))
        file = Int(v.u32(8))
        line = v.u32(12)
        firstRange = Int(v.u32(16))
        rangeCount = Int(v.u32(20))
    }
}

public enum TableValidator {
    /// nil when the table may be used; else why not.
    public static func validate(_ bytes: UnsafeRawBufferPointer) -> TableFault? {
        typealias L = TableLayout
        guard bytes.count >= L.headerSize else { return .tooShort }
        var v = TableView(bytes)
        for i in 0..<8 where v.u8(i) != L.magic[i] { return .badMagic }
        guard v.u32(L.versionOffset) == L.version else { return .wrongVersion }
        guard v.u32(L.headerSizeOffset) == UInt32(L.headerSize) else { return .badHeaderSize }
        guard v.u64(L.totalLengthOffset) == UInt64(bytes.count) else { return .lengthMismatch }
        guard bytes.count % 8 == 0, bytes.count <= L.maxTableBytes else { return .badLength }
        guard TableHash.checksum(bytes) == v.u64(L.checksumOffset) else { return .checksumMismatch }

        let h = TableHeader(&v)
        func section(_ offset: Int, _ count: Int, _ size: Int) -> Bool {
            count == 0 || (offset >= L.headerSize && offset % 8 == 0 && v.inBounds(offset, count * size))
        }
        guard section(h.rulesOffset, h.ruleCount, L.ruleSize), section(h.rangesOffset, h.rangeCount, L.rangeSize),
              section(h.listsOffset, h.listWords, 4), section(h.stringsOffset, h.stringsLength, 1),
              section(h.filesOffset, h.fileCount, L.fileSize) else { return .sectionOutOfBounds }
        guard h.cidr6Mask.2 <= 1, h.cidr4Mask >> 33 == 0 else { return .badCidrMask }

        func inStrings(_ offset: Int, _ length: Int) -> Bool {
            offset >= 0 && length >= 0 && offset <= h.stringsLength && length <= h.stringsLength - offset
        }
        guard inStrings(h.labelOffset, h.labelLength) else { return .badLabel }
        for f in 0..<h.fileCount {
            let at = h.filesOffset + f * L.fileSize
            guard inStrings(Int(v.u32(at)), Int(v.u32(at + 4))) else { return .badFile }
        }
        for r in 0..<h.rangeCount {
            let range = v.record(h.rangesOffset + r * L.rangeSize, L.rangeSize)
            guard range.u16(0) <= range.u16(2) else { return .badRange }
        }
        for r in 0..<h.ruleCount {
            let rule = RuleRecord(&v, h, r)
            guard rule.action <= 1, rule.hostKind <= HostKindCode.block.rawValue,
                  inStrings(rule.patternOffset, rule.patternLength), rule.file < h.fileCount,
                  rule.firstRange <= h.rangeCount, rule.rangeCount <= h.rangeCount - rule.firstRange
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
            guard t.slotCount & (t.slotCount - 1) == 0, t.longestProbe <= t.slotCount,
                  section(t.slotsOffset, t.slotCount, L.slotSize) else { return .badHashTable }
            for s in 0..<t.slotCount {
                let slot = v.record(t.slotsOffset + s * L.slotSize, L.slotSize)
                let list = slot.u32(12)
                if list == L.emptySlot { continue }
                guard inStrings(Int(slot.u32(4)), Int(slot.u32(8))) else { return .badSlot }
                guard listIsValid(Int(list)) else { return .badList }
            }
        }
        return v.fault ? .sectionOutOfBounds : nil
    }
}
