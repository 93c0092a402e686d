// AuditRecord: the one reader of audit records (docs/audit-log.md), which
// both enforcers write through safesock_audit_record. `suggest` reads
// logs through it; the tests decode the library's and the supervisor's
// records of one denial with it and compare them.

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
        struct Version: Decodable { var v: Int? }
        let data = Data(line.utf8)
        guard let version = try? JSONDecoder().decode(Version.self, from: data) else { throw .notARecord }
        if let v = version.v, v != AuditRecord.version { throw .unknownVersion(v) }
        guard let record = try? JSONDecoder().decode(AuditRecord.self, from: data) else { throw .notARecord }
        return record
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
