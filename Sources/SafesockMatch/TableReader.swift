// TableReader: a bounds-checked view of table bytes, and the validator the
// loader runs before the matcher may use a table (docs/table-format.md,
// "Loading"). Every read checks its offset: a read that would leave the
// bytes returns 0 and marks the view faulted, and a faulted decision is a
// denial. Tests: Tests/SafesockTableTests/CorruptionTests.swift.

import Synchronization

/// Why a table was refused.
public enum TableFault: UInt8, Sendable {
    case tooShort = 1, badMagic, wrongVersion, badHeaderSize, lengthMismatch, badLength, checksumMismatch,
         sectionOutOfBounds, badRule, badRange, badFile, badList, badSlot, badHashTable, badCidrMask, badLabel, formatOne,
         badBlockSums, indexChecksumMismatch, blockSumMismatch, earlierLayout

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
        case .badBlockSums: return "the table's block sums are missing or out of place (a table of an earlier format 2: compile the policy again)"
        case .indexChecksumMismatch: return "table header or block sums do not match their checksum (corrupt)"
        case .blockSumMismatch: return "a block of the table does not match its sum (corrupt)"
        case .earlierLayout: return "table is of an earlier build of format 2, which this safesock no longer reads: compile the policy again (safesock compile)"
        }
    }
}

/// Which of a table's blocks an enforcer has found right (the C side's
/// `struct safesock_blocks`): a byte a block, `tag` once its sum matched.
/// Threads that meet a block unchecked each sum it; the byte only ever
/// goes from "not `tag`" to `tag`, after a sum that matched, so a race
/// costs a second sum, never a block taken unchecked. With `fetch` (a
/// publication's table, copied in a block at a time), the enforcer's
/// function copies, sums and marks the block instead.
public struct BlockChecks {
    public typealias Fetch = @convention(c) (UnsafeRawPointer?, Int) -> Int32
    let checked: UnsafeMutablePointer<Atomic<UInt8>>
    let tag: UInt8
    /// The C struct, passed back to `fetch`.
    let source: UnsafeRawPointer?
    let fetch: Fetch?

    public init(_ checked: UnsafeMutableRawPointer, tag: UInt8) {
        self.checked = checked.assumingMemoryBound(to: Atomic<UInt8>.self)
        self.tag = tag
        source = nil
        fetch = nil
    }

    /// The checked bytes' address and the tag, as a `struct
    /// safesock_blocks` holds them.
    public var checkedAddress: UnsafeMutableRawPointer { UnsafeMutableRawPointer(checked) }
    public var tagValue: UInt8 { tag }

    /// A `struct safesock_blocks *` of C memory (its pointer, its tag, its
    /// fetch at byte 16), or nil for none.
    init?(c: UnsafeRawPointer?) {
        guard let c, let checked = UnsafeMutableRawPointer(bitPattern: c.loadUnaligned(fromByteOffset: 0, as: UInt.self)) else { return nil }
        self.checked = checked.assumingMemoryBound(to: Atomic<UInt8>.self)
        tag = c.load(fromByteOffset: 8, as: UInt8.self)
        source = c
        fetch = c.load(fromByteOffset: 16, as: Fetch?.self)
    }
}

/// Codes of a `Fetch` (safesock_match.h).
enum FetchCode {
    static let fetched: Int32 = 0, corrupt: Int32 = 1
}

/// How a view checks the table's blocks, fixed when the view's type is:
/// a decision is compiled once for each, so a table checked whole pays no
/// test a read for checks it does not need.
public protocol BlockCheckMode {
    static var checksBlocks: Bool { get }
}

/// Every block was checked before the view was made (a file's table at
/// its first decision, the CLI, the supervisor, the tests): reads are
/// bounds-checked only.
public enum WholeTableChecked: BlockCheckMode {
    @inline(__always) public static var checksBlocks: Bool { false }
}

/// Each block is checked at its first read (a publication's table; with
/// no `BlockChecks`, none, as with WholeTableChecked).
public enum BlocksCheckedOnRead: BlockCheckMode {
    @inline(__always) public static var checksBlocks: Bool { true }
}

/// Table bytes with checked little-endian reads.
public struct TableView<Mode: BlockCheckMode> {
    public let bytes: UnsafeRawBufferPointer
    /// Set by any read outside the bytes, or of a block whose sum is wrong.
    public var fault = false
    /// Set, with `fault`, by a block whose sum is wrong.
    public var corrupt = false
    /// nil: every block was checked before (the CLI, the tests). Else each
    /// block is checked at its first read (docs/table-format.md, "Blocks"):
    /// a byte a block, `tag` once checked.
    let checked: UnsafeMutablePointer<Atomic<UInt8>>?
    let tag: UInt8
    /// With these, blocks are copied in by the enforcer (BlockChecks.fetch).
    let source: UnsafeRawPointer?
    let fetch: BlockChecks.Fetch?
    /// The blocks' length: from the end of the header to the sums.
    let blocksLength: UInt
    /// Where the block sums start (0 with no block checks).
    let sumsAt: Int

    init(unchecked bytes: UnsafeRawBufferPointer) {
        self.bytes = bytes
        checked = nil
        tag = 0
        source = nil
        fetch = nil
        blocksLength = 0
        sumsAt = 0
    }

    /// A view that checks blocks as it reads them. The header must have
    /// passed the integrity check (TableValidator, `structure` false): a
    /// header whose block sums are out of place faults every read.
    init(_ bytes: UnsafeRawBufferPointer, checking blocks: BlockChecks?) {
        self.bytes = bytes
        checked = blocks?.checked
        tag = blocks?.tag ?? 0
        source = blocks?.source
        fetch = blocks?.fetch
        var at = 0
        if blocks != nil, bytes.count >= TableLayout.headerSize {
            at = Int(UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: TableLayout.blockSumsOffset, as: UInt32.self)))
        }
        let placed = at >= TableLayout.headerSize && at % 8 == 0 && at <= bytes.count
            && bytes.count &- at == TableLayout.blockCount(sumsAt: at) &* 8
        sumsAt = placed ? at : 0
        blocksLength = placed ? UInt(at &- TableLayout.headerSize) : 0
        if blocks != nil && !placed { fault = true }
    }

    /// Compared unsigned: a negative offset or size reads as a huge one,
    /// out of bounds, and two tests do the work of four.
    @inline(__always)
    func inBounds(_ offset: Int, _ size: Int) -> Bool {
        UInt(bitPattern: offset) <= UInt(bitPattern: bytes.count) && UInt(bitPattern: size) <= UInt(bitPattern: bytes.count &- offset)
    }

    /// A read in bounds of `size` bytes at `offset`: the blocks it covers
    /// are checked first, each once. Reads of the header and of the sums
    /// (which the integrity check covered) need none. Every read pays this:
    /// one test with no block checks, a dozen instructions with them.
    @inline(__always)
    mutating func touch(_ offset: Int, _ size: Int) {
        guard Mode.checksBlocks, _slowPath(checked != nil), let checked else { return }
        // One unsigned test for "in the header" and "in the sums".
        let at = UInt(bitPattern: offset &- TableLayout.headerSize)
        guard at < blocksLength else { return }
        let first = Int(truncatingIfNeeded: at &>> UInt(TableLayout.blockShift))
        let last = Int(truncatingIfNeeded: (at &+ UInt(bitPattern: size) &- 1) &>> UInt(TableLayout.blockShift))
        // Acquiring: a fetched block's bytes were written just before its
        // mark (a plain load on x86-64).
        if last == first && checked[first].load(ordering: .acquiring) == tag { return }
        check(at, size)
    }

    /// The blocks of a read at `at` (from the end of the header) of `size`
    /// bytes, each summed (or fetched) unless its byte says it was.
    @inline(never)
    mutating func check(_ at: UInt, _ size: Int) {
        guard let checked else { return }
        let end = min(at &+ UInt(max(size, 1)), blocksLength)
        var b = Int(truncatingIfNeeded: at &>> UInt(TableLayout.blockShift))
        let last = Int(truncatingIfNeeded: (end &- 1) &>> UInt(TableLayout.blockShift))
        while b <= last {
            if checked[b].load(ordering: .acquiring) != tag {
                if let fetch {
                    // The enforcer copies the block in, sums it and marks it
                    // (the mark is its to set: it knows when the bytes
                    // under it are the table's). Anything but "fetched"
                    // is a fault: the read is of bytes not known right.
                    let code = fetch(source, b)
                    guard code == FetchCode.fetched else {
                        fault = true
                        corrupt = code == FetchCode.corrupt
                        return
                    }
                } else {
                    let stored = UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: sumsAt &+ b &* 8, as: UInt64.self))
                    guard TableHash.blockSum(bytes, block: b, sumsAt: sumsAt) == stored else {
                        fault = true
                        corrupt = true
                        return
                    }
                    checked[b].store(tag, ordering: .relaxed)
                }
            }
            b &+= 1
        }
    }

    @inline(__always)
    public mutating func u8(_ offset: Int) -> UInt8 {
        guard inBounds(offset, 1) else { fault = true; return 0 }
        touch(offset, 1)
        return bytes[offset]
    }

    @inline(__always)
    public mutating func u16(_ offset: Int) -> UInt16 {
        guard inBounds(offset, 2) else { fault = true; return 0 }
        touch(offset, 2)
        return UInt16(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: UInt16.self))
    }

    @inline(__always)
    public mutating func u32(_ offset: Int) -> UInt32 {
        guard inBounds(offset, 4) else { fault = true; return 0 }
        touch(offset, 4)
        return UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: UInt32.self))
    }

    @inline(__always)
    public mutating func u64(_ offset: Int) -> UInt64 {
        guard inBounds(offset, 8) else { fault = true; return 0 }
        touch(offset, 8)
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
        touch(offset, size)
        return TableRecord(base: base + offset, size: size)
    }

    /// `length` bytes at `offset`, or an empty buffer (and a fault).
    @inline(__always)
    public mutating func slice(_ offset: Int, _ length: Int) -> UnsafeBufferPointer<UInt8> {
        guard inBounds(offset, length), let base = bytes.baseAddress else {
            fault = true
            return UnsafeBufferPointer(start: nil, count: 0)
        }
        touch(offset, length)
        return UnsafeBufferPointer(start: (base + offset).assumingMemoryBound(to: UInt8.self), count: length)
    }
}

extension TableView where Mode == WholeTableChecked {
    /// A view of a table checked whole before (TableValidator).
    public init(_ bytes: UnsafeRawBufferPointer) { self.init(unchecked: bytes) }
}

extension TableView where Mode == BlocksCheckedOnRead {
    /// A view that checks each block at its first read (nil: none).
    public init(_ bytes: UnsafeRawBufferPointer, blocks: BlockChecks?) { self.init(bytes, checking: blocks) }
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

/// Where a table's sections are: what a read of a rule, a string or a
/// port set needs of its header.
public protocol TableSections {
    var rulesOffset: Int { get }
    var ruleCount: Int { get }
    var portsOffset: Int { get }
    var portWords: Int { get }
    var stringsOffset: Int { get }
    var stringsLength: Int { get }
}

/// The header's fields a decision reads, and no others: the matcher's
/// state is copied as it is set up, and the options, the label and the
/// files are not its business.
public struct MatchHeader: TableSections {
    public let rulesOffset: Int, ruleCount: Int
    public let portsOffset: Int, portWords: Int
    public let listsOffset: Int, listWords: Int
    public let stringsOffset: Int, stringsLength: Int
    public let originList: Int, allHostsList: Int, unindexedList: Int
    public let cidr4Mask: UInt64
    public let cidr6Mask: (UInt64, UInt64, UInt64)
    /// The three hash tables.
    public let names: HashTableDescriptor, prefixes: HashTableDescriptor, blocks: HashTableDescriptor

    /// One read of the header's 256 bytes for all of it.
    @inline(__always)
    public init<M>(_ view: inout TableView<M>) {
        typealias L = TableLayout
        let v = view.record(0, L.headerSize)
        names = HashTableDescriptor(v, .names)
        prefixes = HashTableDescriptor(v, .prefixes)
        blocks = HashTableDescriptor(v, .cidr)
        rulesOffset = Int(v.u32(L.rulesOffset)); ruleCount = Int(v.u32(L.rulesOffset + 4))
        portsOffset = Int(v.u32(L.portsOffset)); portWords = Int(v.u32(L.portsOffset + 4))
        listsOffset = Int(v.u32(L.listsOffset)); listWords = Int(v.u32(L.listsOffset + 4))
        stringsOffset = Int(v.u32(L.stringsOffset)); stringsLength = Int(v.u32(L.stringsOffset + 4))
        originList = Int(v.u32(L.originListOffset))
        allHostsList = Int(v.u32(L.allHostsListOffset))
        unindexedList = Int(v.u32(L.unindexedListOffset))
        cidr4Mask = v.u64(L.cidr4MaskOffset)
        cidr6Mask = (v.u64(L.cidr6MaskOffset), v.u64(L.cidr6MaskOffset + 8), v.u64(L.cidr6MaskOffset + 16))
    }
}

/// The header's fields, as Ints.
public struct TableHeader: TableSections {
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

    public init<M>(_ view: inout TableView<M>) {
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
    public mutating func string<H: TableSections>(_ header: H, _ offset: Int) -> UnsafeBufferPointer<UInt8> {
        let n = TableLayout.stringLengthSize
        let at = header.stringsOffset &+ offset
        guard offset >= 0, offset <= header.stringsLength &- n, inBounds(at, n), let base = bytes.baseAddress else {
            fault = true
            return UnsafeBufferPointer(start: nil, count: 0)
        }
        // The length's block first: a publication's block is copied in at
        // its first read, so bytes read before their touch are not the table's.
        touch(at, n)
        let length = Int(UInt16(littleEndian: bytes.loadUnaligned(fromByteOffset: at, as: UInt16.self)))
        guard length <= header.stringsLength &- offset &- n, inBounds(at &+ n, length) else {
            fault = true
            return UnsafeBufferPointer(start: nil, count: 0)
        }
        // Its bytes (nearly always the same block: the fast test).
        touch(at, n &+ length)
        return UnsafeBufferPointer(start: (base + (at &+ n)).assumingMemoryBound(to: UInt8.self), count: length)
    }

    /// The ranges of the port set at word `index` of the pool: its count,
    /// then one word a range (low, high: 16 bits each). The word offset of
    /// the first range and the count, or nil (and a fault) when the set
    /// lies outside the pool.
    @inline(__always)
    public mutating func portSet<H: TableSections>(_ header: H, _ index: Int) -> (first: Int, count: Int)? {
        guard index >= 0, index < header.portWords else { fault = true; return nil }
        let count = Int(u32(header.portsOffset &+ index &* 4))
        guard count <= header.portWords &- index &- 1 else { fault = true; return nil }
        return (header.portsOffset &+ (index &+ 1) &* 4, count)
    }
}

/// One hash table's descriptor, with the label counts its lookups test.
public struct HashTableDescriptor {
    public var slotsOffset: Int
    public var slotCount: Int
    public var longestProbe: Int
    /// A bit a hash: a key's bit is set, so a text whose bit is clear is
    /// in no slot, and is looked up no further.
    public var filterOffset: Int
    public var filterLog: UInt32
    /// Bit min(labels, 63) for every whole-text key's label count (names
    /// and addresses: dots + 1): a lookup of a text whose count's bit is
    /// clear is skipped.
    public var wholeLabels: UInt64 = 0
    /// The same for the keys that are parts of a text, suffixes
    /// (`.b.com`) and prefixes (`www.`): one a dot.
    public var partLabels: UInt64 = 0

    @inline(__always)
    public init<M>(_ view: inout TableView<M>, _ kind: HashTableKind) {
        self.init(view.record(0, TableLayout.headerSize), kind)
    }

    /// From the header's bytes (`record`: all 256 of them).
    @inline(__always)
    public init(_ header: TableRecord, _ kind: HashTableKind) {
        let at = TableLayout.hashTablesOffset + kind.rawValue * TableLayout.hashTableDescriptorSize
        slotsOffset = Int(header.u32(at))
        slotCount = Int(header.u32(at + 4))
        longestProbe = Int(header.u32(at + 8))
        filterOffset = Int(header.u32(at + 12))
        filterLog = header.u32(at + 16)
        switch kind {
        case .names:
            wholeLabels = header.u64(TableLayout.wholeLabelsOffset)
            partLabels = header.u64(TableLayout.suffixLabelsOffset)
        case .prefixes:
            partLabels = header.u64(TableLayout.prefixLabelsOffset)
        case .cidr:
            break
        }
    }

    @inline(__always)
    public func mayHold(whole n: Int) -> Bool { wholeLabels & TableHash.labelBit(n) != 0 }

    @inline(__always)
    public func mayHold(part n: Int) -> Bool { partLabels & TableHash.labelBit(n) != 0 }

    /// The most labels a part key has (0: none; bit 63, "63 or more", has
    /// no bound): a walk over a text's dots for parts stops there.
    @inline(__always)
    public var mostPartLabels: Int {
        guard partLabels != 0 else { return 0 }
        return partLabels >> 63 != 0 ? Int.max : 63 &- partLabels.leadingZeroBitCount
    }

    /// The filter's length in bytes (0 with no slots).
    public var filterBytes: Int { slotCount == 0 ? 0 : (1 << Int(min(filterLog, 31))) >> 3 }
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
    public init<M, H: TableSections>(_ view: inout TableView<M>, _ header: H, _ index: Int) {
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
    /// `.blockSumMismatch` when some block's sum is wrong, of a table that
    /// passed the integrity check (`validate` with `structure` false).
    public static func blocksFault(_ bytes: UnsafeRawBufferPointer) -> TableFault? {
        let sumsAt = Int(UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: TableLayout.blockSumsOffset, as: UInt32.self)))
        for b in 0..<TableLayout.blockCount(sumsAt: sumsAt) {
            let stored = UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: sumsAt &+ b &* 8, as: UInt64.self))
            if TableHash.blockSum(bytes, block: b, sumsAt: sumsAt) != stored { return .blockSumMismatch }
        }
        return nil
    }

    /// nil when the table may be used; else why not. With `structure`
    /// false, the integrity check, whose cost does not grow with the
    /// rules: the header, where the sections and the block sums lie, and
    /// the index checksum over the header and the sums; the enforcers load
    /// so and check each block at its first read (TableView with
    /// `BlockChecks`). With `structure`, every block, the whole checksum
    /// and every record (docs/table-format.md, "Loading": the CLI checks
    /// whole tables before it writes or publishes them, and every read of
    /// the matcher is bounds-checked either way).
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
        if structure {
            guard TableHash.checksum(bytes) == v.u64(L.checksumOffset) else { return .checksumMismatch }
        }
        let sumsAt = Int(v.u32(L.blockSumsOffset))
        guard sumsAt >= L.headerSize, sumsAt % 8 == 0, sumsAt <= bytes.count,
              bytes.count - sumsAt == L.blockCount(sumsAt: sumsAt) * 8 else { return .badBlockSums }
        guard TableHash.indexChecksum(bytes, sumsAt: sumsAt) == v.u64(L.indexChecksumOffset) else { return .indexChecksumMismatch }
        // After the sums: a damaged byte here is damage, not an old build.
        guard v.u8(L.layoutRevisionOffset) == L.layoutRevision else { return .earlierLayout }
        if structure, let fault = blocksFault(bytes) { return fault }

        let h = TableHeader(&v)
        // Every section lies in the blocks, before the sums.
        func section(_ offset: Int, _ count: Int, _ size: Int) -> Bool {
            count == 0 || (offset >= L.headerSize && offset % 8 == 0 && v.inBounds(offset, count * size) && offset + count * size <= sumsAt)
        }
        guard section(h.rulesOffset, h.ruleCount, L.ruleSize), section(h.portsOffset, h.portWords, 4),
              section(h.listsOffset, h.listWords, 4), section(h.stringsOffset, h.stringsLength, 1),
              section(h.filesOffset, h.fileCount, L.fileSize) else { return .sectionOutOfBounds }
        // A reference with the single-rule bit must not reach the empty mark.
        guard h.ruleCount < Int(L.singleRule - 1) else { return .sectionOutOfBounds }
        guard h.cidr6Mask.2 <= 1, h.cidr4Mask >> 33 == 0 else { return .badCidrMask }
        // The slot references a lookup may follow: none, one rule, a list.
        // A table without structural checks is still read safely (every
        // read bounds-checked); the sections' places are what this checks.
        for kind in HashTableKind.allCases {
            let t = HashTableDescriptor(&v, kind)
            guard t.slotCount == 0 || t.longestProbe <= t.slotCount && section(t.slotsOffset, t.slotCount, kind.slotSize)
                    && L.filterLogRange.contains(t.filterLog) && section(t.filterOffset, t.filterBytes, 1),
                  t.slotCount != 0 || t.longestProbe == 0 && t.filterLog == 0 else { return .badHashTable }
        }
        if !structure { return nil }

        // The view passed in, not captured: a captured `var` is checked
        // for exclusive access at run time, on every call.
        func isString(_ v: inout TableView<WholeTableChecked>, _ offset: Int) -> Bool {
            _ = v.string(h, offset)
            return !v.fault
        }
        guard isString(&v, h.label) else { return .badLabel }
        for f in 0..<h.fileCount {
            guard isString(&v, Int(v.u32(h.filesOffset + f * L.fileSize))) else { return .badFile }
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
            guard rule.action <= 1, rule.hostKind <= HostKindCode.block.rawValue, isString(&v, rule.pattern),
                  rule.file < h.fileCount, v.portSet(h, rule.ports) != nil
            else { return .badRule }
        }
        func listIsValid(_ v: inout TableView<WholeTableChecked>, _ index: Int) -> Bool {
            guard index >= 0, index < h.listWords else { return false }
            let count = Int(v.u32(h.listsOffset + index * 4))
            guard count <= h.listWords - index - 1 else { return false }
            let list = v.record(h.listsOffset + index * 4, (count + 1) * 4)
            for i in 1...max(1, count) where count > 0 && Int(list.u32(i * 4)) >= h.ruleCount { return false }
            return !v.fault
        }
        guard listIsValid(&v, h.originList), listIsValid(&v, h.allHostsList), listIsValid(&v, h.unindexedList) else { return .badList }
        func refIsValid(_ v: inout TableView<WholeTableChecked>, _ ref: UInt32) -> Bool {
            if ref == L.noRules { return true }
            if ref & L.singleRule != 0 { return Int(ref & ~L.singleRule) < h.ruleCount }
            return listIsValid(&v, Int(ref))
        }
        for kind in HashTableKind.allCases {
            let t = HashTableDescriptor(&v, kind)
            for s in 0..<t.slotCount {
                let slot = v.record(t.slotsOffset + s * kind.slotSize, kind.slotSize)
                let key = slot.u32(4), first = slot.u32(8), second = kind == .names ? slot.u32(12) : L.noRules
                if key == L.emptySlot {
                    guard first == L.noRules, second == L.noRules else { return .badSlot }
                    continue
                }
                guard isString(&v, Int(key)), first != L.noRules || second != L.noRules else { return .badSlot }
                // The key's own hash, and its filter bit: either wrong, a
                // lookup would never reach it.
                guard slot.u32(0) == TableHash.of(v.string(h, Int(key)), kind) else { return .badSlot }
                let bit = TableHash.filterBit(slot.u32(0), log: t.filterLog)
                guard v.u8(t.filterOffset + bit >> 3) & (1 << UInt8(bit & 7)) != 0 else { return .badHashTable }
                guard refIsValid(&v, first), refIsValid(&v, second) else { return .badList }
            }
        }
        return v.fault ? .sectionOutOfBounds : nil
    }
}
