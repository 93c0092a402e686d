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
    public static let hashTablesOffset = 144
    /// Slots offset, slot count, longest probe (4 bytes each), then the
    /// label counts its keys have (8 bytes: bit min(labels, 63)).
    public static let hashTableDescriptorSize = 20

    /// Flag bit: the policy has a `hosts ports` section.
    public static let flagHasHostsPorts: UInt32 = 1

    public static let ruleSize = 16
    public static let fileSize = 4
    public static let slotSize = 12
    /// A pool string: this many bytes of length (little-endian), then its bytes.
    public static let stringLengthSize = 2
    public static let emptySlot: UInt32 = 0xFFFF_FFFF
    /// A slot's reference with this bit set is one rule's index itself; else
    /// it is a list's word index.
    public static let singleRule: UInt32 = 0x8000_0000
    /// The most files one table names (the rule record's file is 16 bits).
    public static let maxFiles = 0xFFFF
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

/// The five hash tables, in header order.
public enum HashTableKind: Int, CaseIterable, Sendable {
    // Explicit values: the position in the header is the format.
    case exact = 0, starSuffix = 1, globSuffix = 2, globPrefix = 3, cidr = 4

    /// Suffix tables hash their keys last byte first (see the format doc).
    public var hashesBackward: Bool { self == .starSuffix || self == .globSuffix }
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

    /// The label-count bit of a key with `labels` labels.
    @inline(__always)
    public static func labelBit(_ labels: Int) -> UInt64 { 1 << UInt64(min(labels, 63)) }

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

    /// The table checksum: FNV-1a's step over 8-byte little-endian words,
    /// then a shift that folds high bits down (without it, a difference in
    /// bit 63 stays in bit 63 and two such flips cancel). Word i goes to
    /// lane i mod 4, four independent chains that run side by side (one
    /// chain waited on each multiply: 1 ms for a 5 MB table, four take a
    /// fifth of that); the lanes are then stepped into one. The checksum
    /// field reads as zero. `bytes.count` is a multiple of 8.
    public static func checksum(_ bytes: UnsafeRawBufferPointer) -> UInt64 {
        @inline(__always) func step(_ h: UInt64, _ w: UInt64) -> UInt64 {
            let m = (h ^ w) &* 0x0000_0100_0000_01B3
            return m ^ (m >> 29)
        }
        @inline(__always) func word(_ i: Int) -> UInt64 {
            // The checksum field, word 3, is the one word read as zero.
            i == TableLayout.checksumOffset / 8 ? 0 : UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: i &* 8, as: UInt64.self))
        }
        let seed: UInt64 = 0xCBF2_9CE4_8422_2325
        var a = seed, b = seed ^ 1, c = seed ^ 2, d = seed ^ 3
        let words = bytes.count / 8
        var i = 0
        // The header's first four words (the field among them), then the rest
        // four at a time with no test for the field.
        while i < min(4, words) {
            switch i { case 0: a = step(a, word(0)); case 1: b = step(b, word(1)); case 2: c = step(c, word(2)); default: d = step(d, word(3)) }
            i &+= 1
        }
        while i &+ 4 <= words {
            a = step(a, UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: i &* 8, as: UInt64.self)))
            b = step(b, UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: (i &+ 1) &* 8, as: UInt64.self)))
            c = step(c, UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: (i &+ 2) &* 8, as: UInt64.self)))
            d = step(d, UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: (i &+ 3) &* 8, as: UInt64.self)))
            i &+= 4
        }
        if i < words { a = step(a, word(i)) }
        if i &+ 1 < words { b = step(b, word(i &+ 1)) }
        if i &+ 2 < words { c = step(c, word(i &+ 2)) }
        return step(step(step(step(seed, a), b), c), d)
    }
}
