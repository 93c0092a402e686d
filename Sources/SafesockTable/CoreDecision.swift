// CoreDecision: the decision core (safesock_decision.h), asked from Swift.
// The supervisor and the table tests hand it Swift identities; they are
// laid out as `struct safesock_identity` here, once.

import SafesockABI
import SafesockPolicy

/// The decision core's answer on `table` for a destination known by
/// `identities` (its address first, then its names), reached at `port` by
/// a socket of `kind`, for a program whose origin is `origin` (canonical).
/// Options that cannot be read are all at their most restrictive (zero).
/// The table's every block was checked (no `struct safesock_blocks`): the
/// supervisor checks each table whole when it reads it (SupervisedTable).
public func coreDecision(table: UnsafeRawBufferPointer, identities: [Identity], origin: String?, port: UInt16,
                         kind: safesock_socket_kind) -> safesock_decision {
    let texts = identities.map { Array($0.description.utf8) }
    let joined = texts.flatMap { $0 }
    let originText = Array((origin ?? "").utf8)
    var options = safesock_options()
    if safesock_table_options(table.baseAddress, table.count, &options) != 0 { options = safesock_options() }
    var decision = safesock_decision()
    joined.withUnsafeBufferPointer { all in
        var at = 0
        var laid = identities.enumerated().map { i, identity -> safesock_identity in
            var id = safesock_identity()
            id.text = all.baseAddress.map { $0 + at }
            id.text_length = UInt32(texts[i].count)
            at += texts[i].count
            if case .address(let a) = identity {
                id.family = a.isIPv4 ? 4 : 6
                withUnsafeMutableBytes(of: &id.address) { $0.copyBytes(from: a.bytes) }
            }
            return id
        }
        originText.withUnsafeBufferPointer { o in
            o.withMemoryRebound(to: CChar.self) { o in
                safesock_decide(table.baseAddress, table.count, nil, &options, &laid, laid.count, o.baseAddress, o.count, port, kind, &decision)
            }
        }
    }
    return decision
}
