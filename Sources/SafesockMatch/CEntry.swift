// CEntry: the matcher's C interface, which the decision core calls in both
// enforcers: in the preload library (Embedded Swift) and, through SwiftPM,
// in the CLI's supervisor and the table tests.
// Sources/SafesockABI/include/safesock_match.h declares them; its `struct safesock_identity` layout is read here at the
// offsets below, and the header static-asserts them.

let identitySize = 32
let identityTextOffset = 0
let identityLengthOffset = 8
let identityFamilyOffset = 12
let identityOriginOffset = 13
let identityAddressOffset = 16

/// 0 when the table may be used, else a `TableFault` code.
@_cdecl("safesock_table_check")
public func safesockTableCheck(_ table: UnsafeRawPointer?, _ length: Int) -> Int32 {
    guard let table, length >= 0 else { return Int32(TableFault.tooShort.rawValue) }
    return Int32(TableValidator.validate(UnsafeRawBufferPointer(start: table, count: length))?.rawValue ?? 0)
}

/// The loader's check of the enforcers: the header, the sections' and
/// the block sums' places and the index checksum (TableValidator.validate
/// with `structure` false), whose cost does not grow with the rules; the
/// blocks are checked as the entries below first read them, through the
/// enforcer's `struct safesock_blocks`. 0 or a fault code.
@_cdecl("safesock_table_check_integrity")
public func safesockTableCheckIntegrity(_ table: UnsafeRawPointer?, _ length: Int) -> Int32 {
    guard let table, length >= 0 else { return Int32(TableFault.tooShort.rawValue) }
    return Int32(TableValidator.validate(UnsafeRawBufferPointer(start: table, count: length), structure: false)?.rawValue ?? 0)
}

/// Every block's sum, of a table that passed the integrity check (its
/// sums' place known good); 0 or a fault code.
@_cdecl("safesock_table_check_blocks")
public func safesockTableCheckBlocks(_ table: UnsafeRawPointer?, _ length: Int) -> Int32 {
    guard let table, length >= TableLayout.headerSize else { return Int32(TableFault.tooShort.rawValue) }
    return Int32(TableValidator.blocksFault(UnsafeRawBufferPointer(start: table, count: length))?.rawValue ?? 0)
}

/// 1 when block `block` of a table whose header and sums passed the
/// integrity check matches its sum; 0 when not, or when it has no such
/// block. The enforcer's fetch asks it of each block it copies in.
@_cdecl("safesock_table_block_matches")
public func safesockTableBlockMatches(_ table: UnsafeRawPointer?, _ length: Int, _ block: Int) -> Int32 {
    guard let table, length >= TableLayout.headerSize, block >= 0 else { return 0 }
    let bytes = UnsafeRawBufferPointer(start: table, count: length)
    let sumsAt = Int(UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: TableLayout.blockSumsOffset, as: UInt32.self)))
    // The integrity check placed the sums; checked again, as this reads by them.
    guard sumsAt >= TableLayout.headerSize, sumsAt % 8 == 0, sumsAt <= length,
          length &- sumsAt == TableLayout.blockCount(sumsAt: sumsAt) &* 8, block < TableLayout.blockCount(sumsAt: sumsAt) else { return 0 }
    let stored = UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: sumsAt &+ block &* 8, as: UInt64.self))
    return TableHash.blockSum(bytes, block: block, sumsAt: sumsAt) == stored ? 1 : 0
}

/// A static, NUL-terminated sentence for a `safesock_table_check` code.
@_cdecl("safesock_table_fault_reason")
public func safesockTableFaultReason(_ code: Int32) -> UnsafePointer<UInt8> {
    guard code > 0, code <= 255, let fault = TableFault(rawValue: UInt8(code)) else {
        return ("unknown table fault" as StaticString).utf8Start
    }
    return fault.reason.utf8Start
}

/// 1 allow, 0 deny. Writes up to `capacity` deciding rule indexes to
/// `rules` and their number to `written`, and the host kinds of the allow
/// rules that matched to `allowKinds` (MatchResult.allowKinds); returns -1
/// (deny) when the table could not be read, -2 (deny) when a block it read
/// does not match its sum. Allocates nothing, takes no
/// lock, makes no call.
@_cdecl("safesock_table_decide")
public func safesockTableDecide(
    _ table: UnsafeRawPointer?, _ length: Int, _ blocks: UnsafeRawPointer?, _ identities: UnsafeRawPointer?, _ count: Int,
    _ port: UInt16, _ rules: UnsafeMutablePointer<UInt32>?, _ capacity: Int, _ written: UnsafeMutablePointer<Int>?,
    _ allowKinds: UnsafeMutablePointer<UInt32>?
) -> Int32 {
    written?.pointee = 0
    allowKinds?.pointee = 0
    guard let table, length >= 0, count >= 0, capacity >= 0 else { return -1 }
    let out = UnsafeMutableBufferPointer(start: capacity > 0 ? rules : nil, count: rules == nil ? 0 : capacity)
    func run<M>(_ decision: TableDecision<M>) -> MatchResult {
        var decision = decision
        if let identities {
            for i in 0..<count { decision.add(identityInput(identities + i * identitySize)) }
        }
        return decision.result
    }
    let bytes = UnsafeRawBufferPointer(start: table, count: length)
    let result = if let checks = BlockChecks(c: blocks) {
        run(TableDecision(bytes, port: port, deciding: out, blocks: checks))
    } else {
        run(TableDecision(bytes, port: port, deciding: out))
    }
    written?.pointee = result.written
    if result.fault { return result.corrupt ? -2 : -1 }
    allowKinds?.pointee = result.allowKinds
    return result.verdict.rawValue
}

/// `resolve strict`: 1 when some allow rule could match one of the
/// identities at some port, 0 when none could, -1 when the table could
/// not be read.
@_cdecl("safesock_table_name_possible")
public func safesockTableNamePossible(_ table: UnsafeRawPointer?, _ length: Int, _ blocks: UnsafeRawPointer?,
                                      _ identities: UnsafeRawPointer?, _ count: Int) -> Int32 {
    anyPortAnswer(table, length, blocks, identities, count, disallow: false)
}

/// The any-port questions on C identities: 1 yes, 0 no, -1 unreadable.
func anyPortAnswer(_ table: UnsafeRawPointer?, _ length: Int, _ blocks: UnsafeRawPointer?, _ identities: UnsafeRawPointer?,
                   _ count: Int, disallow: Bool) -> Int32 {
    guard let table, length >= 0, count >= 0 else { return -1 }
    let bytes = UnsafeRawBufferPointer(start: table, count: length)
    // Not hot (resolve strict, the name memory's question): one build, with
    // block checks when the enforcer has them.
    let checks = BlockChecks(c: blocks)
    var decision = disallow ? TableDecision(anyPortDisallowOf: bytes, blocks: checks) : TableDecision(anyPortOf: bytes, blocks: checks)
    if let identities {
        for i in 0..<count { decision.add(identityInput(identities + i * identitySize)) }
    }
    if decision.result.fault { return -1 }
    return (disallow ? decision.disallowPossible : decision.d.anyAllow) ? 1 : 0
}

/// 1 when some disallow rule could match one of the identities at some
/// port (a name the library's name memory must never forget), 0 when none
/// could, -1 when the table could not be read.
@_cdecl("safesock_table_disallow_possible")
public func safesockTableDisallowPossible(_ table: UnsafeRawPointer?, _ length: Int, _ blocks: UnsafeRawPointer?,
                                          _ identities: UnsafeRawPointer?, _ count: Int) -> Int32 {
    anyPortAnswer(table, length, blocks, identities, count, disallow: true)
}

/// A `struct safesock_identity` in C memory, as the matcher takes it.
func identityInput(_ at: UnsafeRawPointer) -> IdentityInput {
    let text = UnsafePointer<UInt8>(bitPattern: at.loadUnaligned(fromByteOffset: identityTextOffset, as: UInt.self))
    let textLength = Int(at.loadUnaligned(fromByteOffset: identityLengthOffset, as: UInt32.self))
    let family = at.load(fromByteOffset: identityFamilyOffset, as: UInt8.self)
    let addressBytes = family == 4 ? 4 : family == 6 ? 16 : 0
    let address = UnsafeBufferPointer(start: (at + identityAddressOffset).assumingMemoryBound(to: UInt8.self), count: addressBytes)
    return IdentityInput(text: UnsafeBufferPointer(start: text, count: text == nil ? 0 : textLength),
                         family: family, address: address,
                         isOrigin: at.load(fromByteOffset: identityOriginOffset, as: UInt8.self) != 0)
}

/// The `SpecialRange` code of an address (`family` 4 or 6, 16 bytes at
/// `address`, network order; IPv4 in the first 4): 0 for a public one.
@_cdecl("safesock_address_special")
public func safesockAddressSpecial(_ family: UInt8, _ address: UnsafeRawPointer?) -> Int32 {
    guard let address else { return Int32(SpecialRange.reserved.rawValue) }
    return Int32(SpecialAddress.classify(family: family, UnsafeRawBufferPointer(start: address, count: family == 4 ? 4 : 16)).range.rawValue)
}

/// A static, NUL-terminated reason for a `safesock_address_special` code.
@_cdecl("safesock_special_reason")
public func safesockSpecialReason(_ code: Int32) -> UnsafePointer<UInt8> {
    guard code > 0, code <= 255, let range = SpecialRange(rawValue: UInt8(code)) else { return SpecialRange.reserved.reason.utf8Start }
    return range.reason.utf8Start
}

/// The policy's label (TableLayout.labelOffset): how `safesock explain`
/// names it; length 0 when the table has none. 0 on success.
@_cdecl("safesock_table_label")
public func safesockTableLabel(
    _ table: UnsafeRawPointer?, _ length: Int, _ blocks: UnsafeRawPointer?, _ text: UnsafeMutablePointer<UnsafePointer<UInt8>?>?,
    _ textLength: UnsafeMutablePointer<Int>?
) -> Int32 {
    text?.pointee = nil
    textLength?.pointee = 0
    guard let table, length >= TableLayout.headerSize else { return -1 }
    var v = TableView(UnsafeRawBufferPointer(start: table, count: length), blocks: BlockChecks(c: blocks))
    let h = TableHeader(&v)
    let label = v.string(h, h.label)
    guard !v.fault else { return -1 }
    guard label.count > 0 else { return 0 }
    text?.pointee = label.baseAddress
    textLength?.pointee = label.count
    return 0
}

/// The file and line of rule `index`, for audit records; 0 on success.
@_cdecl("safesock_table_rule")
public func safesockTableRule(
    _ table: UnsafeRawPointer?, _ length: Int, _ blocks: UnsafeRawPointer?, _ index: UInt32,
    _ file: UnsafeMutablePointer<UnsafePointer<UInt8>?>?, _ fileLength: UnsafeMutablePointer<Int>?,
    _ line: UnsafeMutablePointer<UInt32>?
) -> Int32 {
    guard let table, length >= TableLayout.headerSize else { return -1 }
    var v = TableView(UnsafeRawBufferPointer(start: table, count: length), blocks: BlockChecks(c: blocks))
    let h = TableHeader(&v)
    guard Int(index) < h.ruleCount else { return -1 }
    let rule = RuleRecord(&v, h, Int(index))
    guard rule.file < h.fileCount else { return -1 }
    let name = v.string(h, Int(v.u32(h.filesOffset + rule.file * TableLayout.fileSize)))
    guard !v.fault else { return -1 }
    file?.pointee = name.baseAddress
    fileLength?.pointee = name.count
    line?.pointee = rule.line
    return 0
}

/// The table's options, into `struct safesock_options` (safesock_match.h):
/// peername, datagrams, servers, resolve (one byte each), maxSockets,
/// flags, privateNames (one byte) and three reserved bytes, left as they are.
@_cdecl("safesock_table_options")
public func safesockTableOptions(_ table: UnsafeRawPointer?, _ length: Int, _ out: UnsafeMutableRawPointer?) -> Int32 {
    // Read per connect: only the seven fields, not the whole header.
    guard let table, let out, length >= TableLayout.headerSize else { return -1 }
    var v = TableView(UnsafeRawBufferPointer(start: table, count: length))
    out.storeBytes(of: v.u8(TableLayout.peernameOffset), toByteOffset: 0, as: UInt8.self)
    out.storeBytes(of: v.u8(TableLayout.datagramsOffset), toByteOffset: 1, as: UInt8.self)
    out.storeBytes(of: v.u8(TableLayout.serversOffset), toByteOffset: 2, as: UInt8.self)
    out.storeBytes(of: v.u8(TableLayout.resolveOffset), toByteOffset: 3, as: UInt8.self)
    out.storeBytes(of: v.u32(TableLayout.maxSocketsOffset), toByteOffset: 4, as: UInt32.self)
    out.storeBytes(of: v.u32(TableLayout.flagsOffset), toByteOffset: 8, as: UInt32.self)
    out.storeBytes(of: v.u8(TableLayout.privateNamesOffset), toByteOffset: 12, as: UInt8.self)
    return v.fault ? -1 : 0
}
