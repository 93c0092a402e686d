// CompiledTable: validated table bytes, read back through the same reader
// and matcher the preload library uses. For `show`, `explain --table` and
// the tests that hold the table to the model.

import SafesockABI
import SafesockMatch
import SafesockPolicy

public struct TableLoadError: Error, CustomStringConvertible {
    public var fault: TableFault
    public var description: String { fault.reason.description }
}

/// A compiled rule as the table holds it.
public struct TableRule: Equatable, Sendable {
    public var index: Int
    public var action: Rule.Action
    public var hostKind: HostKindCode
    /// The canonical host pattern (`$originSocketHost`, `10.0.0.0/8`, ...).
    public var host: String
    public var ports: [ClosedRange<UInt16>]
    public var ref: RuleRef
}

public struct CompiledTable: Sendable {
    public let bytes: [UInt8]

    /// Refuses bytes that fail any check of the loader.
    public init(validating bytes: [UInt8]) throws(TableLoadError) {
        if let fault = bytes.withUnsafeBytes({ TableValidator.validate($0) }) { throw TableLoadError(fault: fault) }
        self.bytes = bytes
    }

    public var header: TableHeader {
        bytes.withUnsafeBytes { raw in
            var v = TableView(raw)
            return TableHeader(&v)
        }
    }

    public var options: Options { Options(header: header) }

    public var rules: [TableRule] {
        bytes.withUnsafeBytes { raw in
            var v = TableView(raw)
            let h = TableHeader(&v)
            return (0..<h.ruleCount).map { i in
                let r = RuleRecord(&v, h, i)
                let pattern = v.string(h, r.pattern)
                let file = v.string(h, Int(v.u32(h.filesOffset + r.file * TableLayout.fileSize)))
                let set = v.portSet(h, r.ports) ?? (0, 0)
                let ports = (0..<set.count).map { k in
                    let range = v.u32(set.first + k * 4)
                    return UInt16(truncatingIfNeeded: range)...UInt16(truncatingIfNeeded: range >> 16)
                }
                return TableRule(index: i, action: r.action == 1 ? .disallow : .allow,
                                 hostKind: HostKindCode(rawValue: r.hostKind) ?? .nothing,
                                 host: String(decoding: pattern, as: UTF8.self), ports: ports,
                                 ref: RuleRef(file: String(decoding: file, as: UTF8.self), line: Int(r.line)))
            }
        }
    }

    /// Decides as the preload library will: every identity canonical, the
    /// origin flagged. `capacity` bounds the deciding rules reported.
    public func decide(_ destination: Destination, origin: Identity?, capacity: Int = 8)
        -> (verdict: Verdict, deciding: [Int], truncated: Bool)
    {
        // One buffer for every identity's text and address bytes.
        var storage: [UInt8] = []
        var spans: [(text: Range<Int>, address: Range<Int>, family: UInt8, origin: Bool)] = []
        for identity in destination.identities {
            let text = Array(identity.description.utf8)
            let textRange = storage.count..<(storage.count + text.count)
            storage += text
            var family: UInt8 = 0
            var addressRange = storage.count..<storage.count
            if case .address(let a) = identity {
                family = a.isIPv4 ? 4 : 6
                addressRange = storage.count..<(storage.count + a.bytes.count)
                storage += a.bytes
            }
            spans.append((textRange, addressRange, family, identity == origin))
        }
        var out = [UInt32](repeating: 0, count: capacity)
        let result = bytes.withUnsafeBytes { table in
            storage.withUnsafeBufferPointer { s in
                out.withUnsafeMutableBufferPointer { o in
                    let inputs = spans.map {
                        IdentityInput(text: UnsafeBufferPointer(rebasing: s[$0.text]), family: $0.family,
                                      address: UnsafeBufferPointer(rebasing: s[$0.address]), isOrigin: $0.origin)
                    }
                    return inputs.withUnsafeBufferPointer {
                        TableMatcher.decide(table, identities: $0, port: destination.port, deciding: o)
                    }
                }
            }
        }
        return (result.verdict == .allow ? .allow : .deny, out.prefix(result.written).map(Int.init), result.truncated)
    }

    /// The verdict of the one decision core both enforcers call
    /// (safesock_decide) for a stream connect, and its reason: what the
    /// library and the supervisor would decide with this table.
    public func decideByCore(_ destination: Destination, origin: Identity?) -> (verdict: Verdict, reason: String?) {
        let decision = bytes.withUnsafeBytes {
            coreDecision(table: $0, identities: destination.identities, origin: origin?.description, port: destination.port,
                         kind: SAFESOCK_KIND_STREAM)
        }
        return (decision.allowed == 1 ? .allow : .deny, decision.reason.map { String(cString: $0) })
    }
}
