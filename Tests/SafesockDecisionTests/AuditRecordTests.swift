// The one audit record writer (safesock_audit_record, denial.c) against
// its schema (docs/audit-log.md) and the one reader (AuditRecord): what a
// program chose (its host, its name) can never make a record that is not
// JSON, and a record too long for the buffer is refused, never cut.

import Foundation
import SafesockABI
import SafesockCLI
import Testing

/// The record the writer makes of these fields, or nil when it refused.
func written(host: String, program: String = "curl", rules: [String] = ["ci.cfg:4"], reason: String? = nil,
             allowed: Bool = false, learn: Bool = false, layer: String = "") -> String? {
    writtenBytes(host: host, program: program, rules: rules, reason: reason, allowed: allowed, learn: learn, layer: layer)
        .map { String(decoding: $0, as: UTF8.self) }
}

/// The bytes `form` writes of these fields (the JSON record, the journal's
/// datagram, the syslog message), or nil when it refused.
func writtenBytes(host: String, program: String = "curl", rules: [String] = ["ci.cfg:4"], reason: String? = nil,
                  allowed: Bool = false, learn: Bool = false, layer: String = "",
                  form: (inout safesock_line, inout safesock_denial) -> Int32 = { safesock_audit_record(&$0, &$1) }) -> [UInt8]? {
    let ruleBytes = Array(rules.map { $0 + "\0" }.joined().utf8)
    let label = Array("ci.cfg".utf8)
    return layer.withCString { layer in "connect".withCString { op in host.withCString { host in "192.0.2.7".withCString { address in
        (reason ?? "").withCString { because in program.withCString { program in
            ruleBytes.withUnsafeBufferPointer { r in label.withUnsafeBufferPointer { l in
                r.withMemoryRebound(to: CChar.self) { r in l.withMemoryRebound(to: CChar.self) { l in
                    var d = safesock_denial(layer: layer, learn: learn ? 1 : 0, op: op, host: host, address: address, port: 443,
                                            reason: reason == nil ? nil : because, rules: r.baseAddress, rules_length: r.count,
                                            policy: l.baseAddress, policy_length: l.count, origin: nil,
                                            allowed: allowed ? 1 : 0, pid: 42, program: program, time_ms: 1_795_000_000_123)
                    var line = safesock_line()
                    guard form(&line, &d) == 0 else { return nil }
                    return withUnsafeBytes(of: &line.text) { Array($0.prefix(line.length)) }
                } }
            } }
        } }
    } } } }
}

@Suite struct AuditRecordTests {
    @Test func everyFieldAsTheSchemaSays() throws {
        let text = try #require(written(host: "api.example.com"))
        #expect(text == #"{"v":1,"time":1795000000.123,"pid":42,"program":"curl","op":"connect","host":"api.example.com","addr":"192.0.2.7","port":443,"verdict":"deny","rules":["ci.cfg:4"],"policy":"ci.cfg","explain":"safesock explain ci.cfg 192.0.2.7 443 --name api.example.com"}"#)
        let record = try AuditRecord.decode(Substring(text))
        #expect(record.v == 1 && record.time == 1_795_000_000.123 && record.rules == ["ci.cfg:4"] && record.layer == nil)
        let kernel = try AuditRecord.decode(Substring(try #require(written(host: "a.test", learn: true, layer: "kernel"))))
        #expect(kernel.layer == "kernel" && kernel.mode == "learn" && kernel.verdict == "deny")
        let allowed = try AuditRecord.decode(Substring(try #require(written(host: "a.test", rules: [], reason: "peername mask", allowed: true))))
        #expect(allowed.verdict == "allow" && allowed.rules == [] && allowed.reason == "peername mask" && allowed.explain == nil)
        let byDefault = try AuditRecord.decode(Substring(try #require(written(host: "a.test", rules: []))))
        #expect(byDefault.rules == ["default"])
    }

    /// Every byte a program could put in a name, quotes, backslashes,
    /// controls and non-ASCII among them: the record stays JSON, ASCII,
    /// one line, and reads back as the bytes written (a byte above 0x7e as
    /// the code point of its value: the bytes sent, not their UTF-8 meaning).
    @Test func whatAProgramChoseStaysInsideItsString() throws {
        let hostile = "a\"b\\c\n\r\t\u{1}\u{7F}é\u{2028}}\",\"verdict\":\"allow"
        let text = try #require(written(host: hostile, program: "x\"y\n"))
        #expect(text.utf8.allSatisfy { $0 >= 0x20 && $0 < 0x7F })
        let record = try AuditRecord.decode(Substring(text))
        #expect(record.host.unicodeScalars.map { UInt8($0.value) } == Array(hostile.utf8))
        #expect(record.program == "x\"y\n" && record.verdict == "deny")
        // The explain command is left out: a word of it is not printable ASCII.
        #expect(record.explain == nil)
    }

    /// A record longer than the buffer is refused whole.
    @Test func aRecordThatDoesNotFitIsNotWritten() {
        #expect(written(host: String(repeating: "a", count: 250)) != nil)
        #expect(written(host: String(repeating: "\u{1}", count: 400)) == nil)
    }
}
