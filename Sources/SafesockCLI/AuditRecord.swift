// AuditRecord: the one reader of audit records (docs/audit-log.md), which
// both enforcers write through safesock_audit_record. `suggest` and `log`
// read logs through it: JSON lines, or the journal's entries as
// `journalctl -o json` prints them (SAFESOCK_HOST and the others); the
// tests decode the library's and the supervisor's records of one denial
// with it and compare them.

import FoundationEssentials

public struct AuditRecord: Decodable, Equatable, Sendable {
    /// The version this reader knows (SAFESOCK_AUDIT_VERSION).
    public static let version = 1

    public var v: Int?
    public var time: Double
    public var pid: Int
    public var program: String
    public var op: String
    public var host: String
    public var addr: String?
    public var port: Int?
    public var verdict: String
    public var mode: String?
    public var layer: String?
    public var rules: [String]
    public var reason: String?
    public var policy: String?
    public var explain: String?

    public enum Fault: Error, Equatable, CustomStringConvertible {
        case notARecord
        case unknownVersion(Int)

        public var description: String {
            switch self {
            case .notARecord: return "not a safesock record"
            case .unknownVersion(let v): return "a version \(v) record, which this safesock cannot read (it reads version \(AuditRecord.version))"
            }
        }
    }

    /// One line of a log. A record without `v` predates numbered versions
    /// and is version 1.
    public static func decode(_ line: Substring) throws(Fault) -> AuditRecord {
        // The version first, alone: a later version may change any other field.
        struct Version: Decodable { var v: Int?; var SAFESOCK_V: JournalValue? }
        let data = Data(line.utf8)
        guard let version = try? JSONDecoder().decode(Version.self, from: data) else { throw .notARecord }
        if version.SAFESOCK_V != nil { return try journalEntry(data) }
        if let v = version.v, v != AuditRecord.version { throw .unknownVersion(v) }
        guard let record = try? JSONDecoder().decode(AuditRecord.self, from: data) else { throw .notARecord }
        return record
    }

    /// A journal entry of ours (`journalctl -o json`): the field map of
    /// docs/audit-log.md read back, SAFESOCK_RULE once per rule.
    static func journalEntry(_ data: Data) throws(Fault) -> AuditRecord {
        guard let fields = try? JSONDecoder().decode([String: JournalValue].self, from: data) else { throw .notARecord }
        func text(_ key: String) -> String? { fields["SAFESOCK_" + key]?.texts.first }
        guard let v = text("V").flatMap({ Int($0) }) else { throw .notARecord }
        if v != AuditRecord.version { throw .unknownVersion(v) }
        guard let time = text("TIME").flatMap({ Double($0) }), let pid = text("PID").flatMap({ Int($0) }),
              let program = text("PROGRAM"), let op = text("OP"), let host = text("HOST"), let verdict = text("VERDICT") else {
            throw .notARecord
        }
        var port: Int?
        if let given = text("PORT") {
            guard let number = Int(given) else { throw .notARecord }
            port = number
        }
        return AuditRecord(v: v, time: time, pid: pid, program: program, op: op, host: host, addr: text("ADDR"), port: port,
                           verdict: verdict, mode: text("MODE"), layer: text("LAYER"), rules: fields["SAFESOCK_RULE"]?.texts ?? [],
                           reason: text("REASON"), policy: text("POLICY"), explain: text("EXPLAIN"))
    }

    /// The record as a decision, the fields that say who and when left out:
    /// two enforcers' records of one denial are equal in this.
    public var decision: AuditRecord {
        var d = self
        d.time = 0
        d.pid = 0
        d.program = ""
        d.layer = nil
        return d
    }
}

/// A field as `journalctl -o json` prints it: a string; an array of byte
/// values where it is not printable UTF-8 (a name with a control byte);
/// an array of those where the entry has the field more than once.
enum JournalValue: Decodable, Sendable {
    case text(String)
    case bytes([UInt8])
    case many([JournalValue])

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let text = try? container.decode(String.self) {
            self = .text(text)
        } else if let bytes = try? container.decode([UInt8].self) {
            self = .bytes(bytes)
        } else {
            self = .many(try container.decode([JournalValue].self))
        }
    }

    /// Its values as text: the writer sends UTF-8 (docs/audit-log.md).
    var texts: [String] {
        switch self {
        case .text(let text): return [text]
        case .bytes(let bytes): return [String(decoding: bytes, as: UTF8.self)]
        case .many(let values): return values.flatMap(\.texts)
        }
    }
}
