// TableLayout: the compiled table's byte layout, the constants of
// docs/table-format.md. The encoder, the reader, the matcher and the golden
// test all read this one definition; change them together.

public enum TableLayout {
    public static let magic: [UInt8] = Array("SAFESOCK".utf8)
    public static let version: UInt32 = 2
    public static let headerSize = 256
    /// Offsets are 32-bit; a bound keeps 64-bit sums of them far from overflow.
    public static let maxTableBytes = 1 << 30

    // Header fields (byte offsets).
    public static let versionOffset = 8
    public static let headerSizeOffset = 12
    public static let totalLengthOffset = 16
    public static let checksumOffset = 24
    public static let generationOffset = 32
    public static let peernameOffset = 40
    public static let datagramsOffset = 41
    public static let serversOffset = 42
    public static let resolveOffset = 43
    public static let maxSocketsOffset = 44
    public static let flagsOffset = 48
    public static let privateNamesOffset = 52
    /// Which build of format 2 wrote the table: `layoutRevision`. The
    /// builds before the merged names table left it 0, and their hash
    /// tables lie elsewhere in the header: refused, never misread.
    public static let layoutRevisionOffset = 53
    public static let layoutRevision: UInt8 = 1
    public static let rulesOffset = 56
    /// The port pool: offset, and its length in 32-bit words.
    public static let portsOffset = 64
    public static let listsOffset = 72
    public static let stringsOffset = 80
    public static let filesOffset = 88
    public static let originListOffset = 96
    public static let allHostsListOffset = 100
    public static let unindexedListOffset = 104
    /// The policy's label, a string of the pool: explain's arguments that
    /// name the policy, separated by NUL bytes, for denial lines and
    /// records (empty when the table has none).
    public static let labelOffset = 108
    public static let cidr4MaskOffset = 112
    public static let cidr6MaskOffset = 120
    /// The three hash tables' descriptors (`HashTableKind` order), each:
    /// slots offset, slot count, longest probe, filter offset, filter
    /// size as log2 of its bits, reserved (4 bytes each).
    public static let hashTablesOffset = 144
    public static let hashTableDescriptorSize = 24
    /// Label counts (8 bytes each: bit min(labels, 63)): of the names
    /// table's whole-text keys (a name's dots + 1), of its suffixes (a
    /// dot each), of the prefix table's keys (a dot each).
    public static let wholeLabelsOffset = 216
    public static let suffixLabelsOffset = 224
    public static let prefixLabelsOffset = 232
    /// A filter has 2^L bits, L in this range (8 bytes to 256 MiB), about
    /// eight a key.
    public static let filterLogRange: ClosedRange<UInt32> = 6...31

    /// Flag bit: the policy has a `hosts ports` section.
    public static let flagHasHostsPorts: UInt32 = 1

    public static let ruleSize = 16
    public static let fileSize = 4
    /// A names slot: hash, key, then two references (the rules the key
    /// decides, the rules it makes candidates to glob).
    public static let nameSlotSize = 16
    /// A prefix or CIDR slot: hash, key, reference.
    public static let slotSize = 12
    /// A pool string: this many bytes of length (little-endian), then its bytes.
    public static let stringLengthSize = 2
    /// A slot's key field when the slot is empty (no pool string is there:
    /// the pool is under 1 GiB), and a reference to no rules.
    public static let emptySlot: UInt32 = 0xFFFF_FFFF
    public static let noRules: UInt32 = 0xFFFF_FFFF
    /// A slot's reference with this bit set is one rule's index itself; else
    /// it is a list's word index.
    public static let singleRule: UInt32 = 0x8000_0000
    /// The most files one table names (the rule record's file is 16 bits).
    public static let maxFiles = 0xFFFF

    /// Blocks (docs/table-format.md, "Blocks"): the bytes from the end of
    /// the header to the block sums, in 4 KiB blocks, each with its sum;
    /// an enforcer checks a block at its first read, not the whole table
    /// at load. The header holds where the sums are, and the index
    /// checksum: the header's words and the sums, in one chain.
    public static let blockSumsOffset = 244
    public static let indexChecksumOffset = 248
    public static let blockShift = 12
    public static let blockSize = 1 << blockShift

    /// The number of blocks of a table whose sums start at `sumsAt`.
    @inline(__always)
    public static func blockCount(sumsAt: Int) -> Int { (sumsAt &- headerSize &+ blockSize &- 1) >> blockShift }
}

/// The options' byte values. Written out here, never taken from a Swift
/// enum's case order, so reordering a `case` cannot change the format;
/// CShim reads them as the SAFESOCK_OPTION_* names of safesock_match.h.
public enum OptionCode {
    public static let peernameDeny: UInt8 = 0, peernameMask: UInt8 = 1, peernameAllow: UInt8 = 2
    /// `datagrams`, `servers` and `privateNames`.
    public static let deny: UInt8 = 0, allow: UInt8 = 1
    public static let resolveStrict: UInt8 = 0, resolveOpen: UInt8 = 1
}

/// The three hash tables, in header order (docs/table-format.md, "Hash
/// tables").
public enum HashTableKind: Int, CaseIterable, Sendable {
    // Explicit values: the position in the header is the format.
    /// Names, addresses and the dotted suffixes of globs, hashed last byte
    /// first: one backward pass over a text hashes the text and every
    /// suffix, and one probe a label finds all three kinds.
    case names = 0
    /// The dotted heads of globs (`api.`), hashed first byte first.
    case prefixes = 1
    /// CIDR blocks: family, length, masked address.
    case cidr = 2

    public var slotSize: Int { self == .names ? TableLayout.nameSlotSize : TableLayout.slotSize }
}

/// A rule's host kind byte (the C side's enum safesock_host_kind, a test
/// holds the two equal).
public enum HostKindCode: UInt8, CaseIterable, Sendable {
    case nothing = 0, origin = 1, name = 2, glob = 3, address = 4, block = 5
}

/// Verdicts as the C entry points return them.
public enum VerdictCode: Int32, Sendable {
    case deny = 0, allow = 1
}

public enum TableHash {
    public static let fnvOffset: UInt32 = 2_166_136_261
    public static let fnvPrime: UInt32 = 16_777_619

    /// The slot a lookup starts from: the hash scaled to the slot count
    /// (any count, not only powers of two, so the load stays near 2/3).
    @inline(__always)
    public static func home(_ hash: UInt32, _ slotCount: Int) -> Int {
        Int(truncatingIfNeeded: (UInt64(hash) &* UInt64(truncatingIfNeeded: slotCount)) >> 32)
    }

    /// The filter bit of a hash, in a filter of 2^`log` bits: its top
    /// bits, as the home slot takes, so that slots read in order read the
    /// filter in order too (the compiler's writes and the validator's
    /// reads of a 1 MB filter, in random order, missed the cache each).
    @inline(__always)
    public static func filterBit(_ hash: UInt32, log: UInt32) -> Int {
        Int(truncatingIfNeeded: hash >> (32 &- log))
    }

    /// The label-count bit of a key with `labels` labels.
    @inline(__always)
    public static func labelBit(_ labels: Int) -> UInt64 { 1 << UInt64(min(labels, 63)) }

    /// A key's hash in its table: the names table's last byte first, the
    /// others' first byte first.
    public static func of(_ key: UnsafeBufferPointer<UInt8>, _ kind: HashTableKind) -> UInt32 {
        kind == .names ? backward(key) : forward(key)
    }

    /// 32-bit FNV-1a, first byte to last.
    public static func forward(_ bytes: UnsafeBufferPointer<UInt8>) -> UInt32 {
        var h = fnvOffset
        for b in bytes { h = (h ^ UInt32(b)) &* fnvPrime }
        return h
    }

    /// 32-bit FNV-1a, last byte to first.
    public static func backward(_ bytes: UnsafeBufferPointer<UInt8>) -> UInt32 {
        var h = fnvOffset
        var i = bytes.count
        while i > 0 {
            i -= 1
            h = (h ^ UInt32(bytes[i])) &* fnvPrime
        }
        return h
    }

    @inline(__always) static func step(_ h: UInt64, _ w: UInt64) -> UInt64 {
        let m = (h ^ w) &* 0x0000_0100_0000_01B3
        return m ^ (m >> 29)
    }

    static let seed: UInt64 = 0xCBF2_9CE4_8422_2325

    /// Four chains over words [first, last) of `bytes`, word i in chain
    /// i mod 4 (from `first`), started at `lanes`, stepped into one.
    @inline(__always)
    static func lanes(_ bytes: UnsafeRawBufferPointer, _ first: Int, _ last: Int,
                      _ lanes: (UInt64, UInt64, UInt64, UInt64)) -> UInt64 {
        @inline(__always) func word(_ i: Int) -> UInt64 {
            UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: i &* 8, as: UInt64.self))
        }
        var (a, b, c, d) = lanes
        var i = first
        while i &+ 4 <= last {
            a = step(a, word(i))
            b = step(b, word(i &+ 1))
            c = step(c, word(i &+ 2))
            d = step(d, word(i &+ 3))
            i &+= 4
        }
        if i < last { a = step(a, word(i)) }
        if i &+ 1 < last { b = step(b, word(i &+ 1)) }
        if i &+ 2 < last { c = step(c, word(i &+ 2)) }
        return step(step(step(step(seed, a), b), c), d)
    }

    /// The table checksum: FNV-1a's step over 8-byte little-endian words,
    /// then a shift that folds high bits down (without it, a difference in
    /// bit 63 stays in bit 63 and two such flips cancel). Word i goes to
    /// lane i mod 4, four independent chains that run side by side (one
    /// chain waited on each multiply: 1 ms for a 5 MB table, four take a
    /// fifth of that); the lanes are then stepped into one. The checksum
    /// field reads as zero. `bytes.count` is a multiple of 8.
    public static func checksum(_ bytes: UnsafeRawBufferPointer) -> UInt64 {
        let words = bytes.count / 8
        @inline(__always) func word(_ i: Int) -> UInt64 {
            // The checksum field, word 3, is the one word read as zero.
            i == TableLayout.checksumOffset / 8 || i >= words ? 0 : UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: i &* 8, as: UInt64.self))
        }
        guard words >= 4 else {
            // Shorter than any table: summed as the lanes would, for the
            // validator's sake.
            var (a, b, c) = (seed, seed ^ 1, seed ^ 2)
            if words > 0 { a = step(a, word(0)) }
            if words > 1 { b = step(b, word(1)) }
            if words > 2 { c = step(c, word(2)) }
            return step(step(step(step(seed, a), b), c), seed ^ 3)
        }
        // The header's first four words (the field among them), then the
        // rest four at a time with no test for the field.
        return lanes(bytes, 4, words, (step(seed, word(0)), step(seed ^ 1, word(1)), step(seed ^ 2, word(2)), step(seed ^ 3, word(3))))
    }

    /// Block `block`'s sum: its words in four chains seeded with its
    /// number, so a block copied to another place does not keep its sum.
    /// The table's bytes up to `sumsAt` (a multiple of 8).
    @inline(__always)
    public static func blockSum(_ bytes: UnsafeRawBufferPointer, block: Int, sumsAt: Int) -> UInt64 {
        let start = TableLayout.headerSize &+ block &<< TableLayout.blockShift
        let end = min(start &+ TableLayout.blockSize, sumsAt)
        let s = seed ^ (UInt64(truncatingIfNeeded: block) &+ 1) &<< 8
        return lanes(bytes, start / 8, end / 8, (s, s ^ 1, s ^ 2, s ^ 3))
    }

    /// The index checksum: one chain over the header's words, the two
    /// checksum fields read as zero, then the block sums from `sumsAt` to
    /// the end. An enforcer checks it at load: its cost is the header and
    /// one word a block (8 bytes a 4 KiB).
    public static func indexChecksum(_ bytes: UnsafeRawBufferPointer, sumsAt: Int) -> UInt64 {
        var h = seed
        let skip = (TableLayout.checksumOffset / 8, TableLayout.indexChecksumOffset / 8)
        var i = 0
        while i < bytes.count / 8 {
            let w = i == skip.0 || i == skip.1 ? 0 : UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: i &* 8, as: UInt64.self))
            h = step(h, w)
            i = i &+ 1 == TableLayout.headerSize / 8 ? max(i &+ 1, sumsAt / 8) : i &+ 1
        }
        return h
    }

    /// Writes a table's block sums, then its index checksum, then its
    /// checksum, over the bytes as they are: the compiler's last step, and
    /// the tests' repair of a table they damaged (as anyone who can write
    /// a table can). Its block sums' offset must already be in the header.
    public static func seal(_ bytes: UnsafeMutableRawBufferPointer) {
        let view = UnsafeRawBufferPointer(bytes)
        guard bytes.count >= TableLayout.headerSize else { return }
        let sumsAt = Int(UInt32(littleEndian: view.loadUnaligned(fromByteOffset: TableLayout.blockSumsOffset, as: UInt32.self)))
        guard sumsAt >= TableLayout.headerSize, sumsAt % 8 == 0, sumsAt <= bytes.count else { return }
        for b in 0..<TableLayout.blockCount(sumsAt: sumsAt) where sumsAt &+ b &* 8 &+ 8 <= bytes.count {
            bytes.storeBytes(of: blockSum(view, block: b, sumsAt: sumsAt).littleEndian, toByteOffset: sumsAt &+ b &* 8, as: UInt64.self)
        }
        bytes.storeBytes(of: indexChecksum(view, sumsAt: sumsAt).littleEndian, toByteOffset: TableLayout.indexChecksumOffset, as: UInt64.self)
        bytes.storeBytes(of: checksum(view).littleEndian, toByteOffset: TableLayout.checksumOffset, as: UInt64.self)
    }
}
