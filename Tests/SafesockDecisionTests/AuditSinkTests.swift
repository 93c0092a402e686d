// The journal and syslog forms of the audit record (safesock_audit.h),
// read as their receivers read them (SafesockTestSupport's
// AuditDatagrams): every field of the JSON record, under the field map of
// docs/audit-log.md, and nothing a program chose can add a field, end a
// value or start a second message.

import Foundation
import Synchronization
import SafesockABI
import SafesockCLI
import SafesockTestSupport
import Testing

func journal(_ line: inout safesock_line, _ d: inout safesock_denial) -> Int32 {
    guard safesock_audit_journal(&line, &d) == 0 else { return -1 }
    withUnsafeMutableBytes(of: &line.text) { $0[line.length] = UInt8(ascii: "\n") } // as the senders end it
    line.length += 1
    return 0
}
func syslog(_ line: inout safesock_line, _ d: inout safesock_denial) -> Int32 { safesock_audit_syslog(&line, &d, "host-1") }

/// The journal fields of a datagram the writer made, or nil.
func journalOf(host: String, rules: [String] = ["ci.cfg:4"], reason: String? = nil, allowed: Bool = false,
               learn: Bool = false) -> [(name: String, value: [UInt8])]? {
    writtenBytes(host: host, rules: rules, reason: reason, allowed: allowed, learn: learn, form: journal).flatMap(journalFields)
}

/// The syslog message the writer made, as a receiver reads it, or nil.
func syslogOf(host: String, learn: Bool = false) -> SyslogMessage? {
    writtenBytes(host: host, learn: learn, form: syslog).flatMap { SyslogMessage(String(decoding: $0, as: UTF8.self)) }
}

/// A name no receiver may take as more than one value.
let hostileName = "a\"b\\c]\nSAFESOCK_VERDICT=allow\n\r\t\u{1}\u{7F}é] [x@1 v=\"2\"] \nPRIORITY=0"

final class StopFlag: Sendable {
    let value = Atomic<Bool>(false)
    let done = Atomic<Bool>(false)
}

@Suite struct AuditSinkTests {
    @Test func theJournalHasEveryFieldOfTheRecord() throws {
        let datagram = try #require(writtenBytes(host: "api.example.com", form: journal))
        let fields = try #require(journalFields(datagram))
        #expect(fields.map(\.name) == ["SAFESOCK_V", "SAFESOCK_TIME", "SAFESOCK_PID", "SAFESOCK_PROGRAM", "SAFESOCK_OP", "SAFESOCK_HOST",
                                       "SAFESOCK_ADDR", "SAFESOCK_PORT", "SAFESOCK_VERDICT", "SAFESOCK_RULE", "SAFESOCK_POLICY",
                                       "SAFESOCK_EXPLAIN", "PRIORITY", "SYSLOG_IDENTIFIER", "MESSAGE"])
        let value = Dictionary(fields.map { ($0.name, String(decoding: $0.value, as: UTF8.self)) }, uniquingKeysWith: { a, _ in a })
        #expect(value["SAFESOCK_TIME"] == "1795000000.123" && value["SAFESOCK_PORT"] == "443" && value["PRIORITY"] == "4")
        #expect(value["SYSLOG_IDENTIFIER"] == "safesock")
        #expect(value["MESSAGE"] == "safesock: permission denied for host api.example.com port 443 (disallowed by ci.cfg:4; policy ci.cfg) \u{2014} safesock explain ci.cfg 192.0.2.7 443 --name api.example.com")
        // What journalctl -o json shows reads back as the JSON record.
        let json = try AuditRecord.decode(Substring(try #require(written(host: "api.example.com"))))
        #expect(try AuditRecord.decode(Substring(journalctlJSON(fields))) == json)
        // Learn mode and an allowed call: their own priorities; rules one field each.
        let learned = try #require(journalOf(host: "a.test", rules: ["a:1", "b:2"], learn: true))
        #expect(learned.filter { $0.name == "SAFESOCK_RULE" }.map { String(decoding: $0.value, as: UTF8.self) } == ["a:1", "b:2"])
        #expect(learned.contains { $0.name == "PRIORITY" && $0.value == Array("5".utf8) })
        let allowed = try #require(journalOf(host: "a.test", rules: [], reason: "peername mask", allowed: true, learn: true))
        #expect(allowed.contains { $0.name == "PRIORITY" && $0.value == Array("6".utf8) })
        #expect(!allowed.contains { $0.name == "SAFESOCK_RULE" || $0.name == "SAFESOCK_EXPLAIN" })
    }

    /// The attacker's test: a name with newlines, field lines, quotes and
    /// brackets is one value, the same value the JSON record holds.
    @Test func aHostileNameIsOneJournalValue() throws {
        let datagram = try #require(writtenBytes(host: hostileName, program: "x\ny=1", form: journal))
        let fields = try #require(journalFields(datagram))
        #expect(fields.allSatisfy { $0.name.allSatisfy { $0.isUppercase || $0.isNumber || $0 == "_" } && !$0.name.hasPrefix("_") },
                "\(fields.map(\.name))")
        #expect(fields.filter { $0.name == "SAFESOCK_VERDICT" }.map(\.value) == [Array("deny".utf8)])
        #expect(fields.filter { $0.name == "PRIORITY" }.map(\.value) == [Array("4".utf8)])
        #expect(fields.count == 14, "\(fields.map(\.name))") // no EXPLAIN: a word of it is not printable
        let message = try #require(fields.last { $0.name == "MESSAGE" }?.value)
        #expect(message.allSatisfy { $0 >= 0x20 && $0 != 0x7f }, "a person's line holds no control byte")
        let json = try AuditRecord.decode(Substring(try #require(written(host: hostileName, program: "x\ny=1"))))
        let read = try AuditRecord.decode(Substring(journalctlJSON(fields)))
        #expect(read == json && read.host.unicodeScalars.map { UInt8($0.value) } == Array(hostileName.utf8))
    }

    /// The attacker's test with a thread of the program rewriting the name
    /// while the record is written (its argv, its own buffer): every
    /// datagram still reads as one entry of the fields the record has, one
    /// PRIORITY, the right one. The writer once looked for a newline, then
    /// wrote the bytes: a newline written between the two looks ended the
    /// value and began fields of the program's choosing.
    @Test func aNameRewrittenWhileWrittenIsStillOneValue() throws {
        let calm = Array("aaaaaaaaaaaaaaaaaaaaaaaaaaaa".utf8), hostile = Array("\n\nPRIORITY=0\nSAFESOCK_X=\u{1}".utf8)
        let size = max(calm.count, hostile.count) + 1
        let name = UnsafeMutablePointer<UInt8>.allocate(capacity: size)
        defer { name.deallocate() }
        name.initialize(repeating: 0, count: size)
        calm.withUnsafeBufferPointer { name.update(from: $0.baseAddress!, count: calm.count) }
        let stop = StopFlag()
        let address = UInt(bitPattern: name)
        let flipper = Thread {
            let name = UnsafeMutablePointer<UInt8>(bitPattern: address)!
            var flips = 0
            while !stop.value.load(ordering: .relaxed) && flips < 50_000_000 {
                let text = flips % 2 == 0 ? hostile : calm
                for (i, b) in text.enumerated() { (name + i).pointee = b }
                (name + text.count).pointee = 0
                flips += 1
            }
            stop.done.store(true, ordering: .releasing)
        }
        flipper.start()
        defer {
            stop.value.store(true, ordering: .relaxed)
            // The buffer is freed after this: wait (bounded) for the thread.
            for _ in 0..<10_000 where !stop.done.load(ordering: .acquiring) { usleep(1000) }
        }
        let allowed: Set<String> = ["SAFESOCK_V", "SAFESOCK_TIME", "SAFESOCK_PID", "SAFESOCK_PROGRAM", "SAFESOCK_OP", "SAFESOCK_HOST",
                                    "SAFESOCK_ADDR", "SAFESOCK_PORT", "SAFESOCK_VERDICT", "SAFESOCK_RULE", "SAFESOCK_POLICY",
                                    "SAFESOCK_EXPLAIN", "PRIORITY", "SYSLOG_IDENTIFIER", "MESSAGE"]
        var broken = 0
        for _ in 0..<20_000 {
            let bytes: [UInt8]? = "connect".withCString { op in
                name.withMemoryRebound(to: CChar.self, capacity: size) { host in
                    var d = safesock_denial(layer: "", learn: 0, op: op, host: host, address: nil, port: 443, reason: nil, rules: nil,
                                            rules_length: 0, policy: nil, policy_length: 0, origin: nil, allowed: 0, pid: 42,
                                            program: host, time_ms: 1_795_000_000_123)
                    var line = safesock_line()
                    guard journal(&line, &d) == 0 else { return nil }
                    return withUnsafeBytes(of: &line.text) { Array($0.prefix(line.length)) }
                }
            }
            guard let bytes else { continue }
            guard let fields = journalFields(bytes), fields.allSatisfy({ allowed.contains($0.name) }),
                  fields.filter({ $0.name == "PRIORITY" }).map(\.value) == [Array("4".utf8)] else {
                broken += 1
                continue
            }
        }
        #expect(broken == 0, "\(broken) of 20,000 datagrams read as more or other than the record")
    }

    @Test func syslogIsOneRFC5424Message() throws {
        let text = String(decoding: try #require(writtenBytes(host: "api.example.com", form: syslog)), as: UTF8.self)
        let message = try #require(SyslogMessage(text), "\(text)")
        #expect(message.header == ["<12>1", "2026-11-18T11:06:40.123Z", "host-1", "safesock", "42", "audit"])
        #expect(message.id == "safesock@32473")
        #expect(message.params.map { "\($0)=\($1)" } == [
            "v=1", "time=1795000000.123", "pid=42", "program=curl", "op=connect", "host=api.example.com", "addr=192.0.2.7", "port=443",
            "verdict=deny", "rule=ci.cfg:4", "policy=ci.cfg", "explain=safesock explain ci.cfg 192.0.2.7 443 --name api.example.com",
        ])
        #expect(message.message.hasPrefix("safesock: permission denied for host api.example.com port 443 (disallowed by ci.cfg:4"))
        let learned = try #require(syslogOf(host: "a", learn: true))
        #expect(learned.header[0] == "<13>1" && learned.params.contains { $0 == "mode" && $1 == "learn" })
    }

    /// The attacker's test for syslog: the name stays inside its value, the
    /// message stays one line, the element keeps its parameters.
    @Test func aHostileNameIsOneSyslogValue() throws {
        let bytes = try #require(writtenBytes(host: hostileName, form: syslog))
        #expect(!bytes.contains { $0 < 0x20 || $0 == 0x7f }, "one message, one line")
        let text = try #require(String(validating: bytes, as: UTF8.self), "RFC 5424 values are UTF-8")
        let message = try #require(SyslogMessage(text), "\(text)")
        #expect(message.params.map(\.0) == ["v", "time", "pid", "program", "op", "host", "addr", "port", "verdict", "rule", "policy"])
        let host = try #require(message.params.first { $0.0 == "host" }?.1)
        // The value as written: controls as \xHH, a byte above 0x7e as the
        // UTF-8 of its code point (é, sent as UTF-8, is two: Ã©).
        let expected = hostileName.utf8.map { b -> String in
            b < 0x20 || b == 0x7f ? "\\x" + String(format: "%02x", b) : String(UnicodeScalar(b))
        }.joined()
        #expect(host == expected, "\(host)")
        #expect(message.params.filter { $0.0 == "verdict" }.map(\.1) == ["deny"])
    }

    @Test func theSinkALogValueNames() {
        func sink(_ spec: String) -> (safesock_audit_sink, String) {
            spec.withCString { s in
                var path: UnsafePointer<CChar>?
                let sink = safesock_audit_sink_of(s, &path)
                return (sink, String(cString: path!))
            }
        }
        #expect(sink("journal") == (SAFESOCK_AUDIT_JOURNAL, "/run/systemd/journal/socket"))
        #expect(sink("syslog") == (SAFESOCK_AUDIT_SYSLOG, "/dev/log"))
        #expect(sink("journal:/tmp/j") == (SAFESOCK_AUDIT_JOURNAL, "/tmp/j"))
        #expect(sink("syslog:/tmp/s") == (SAFESOCK_AUDIT_SYSLOG, "/tmp/s"))
        #expect(sink("journals") == (SAFESOCK_AUDIT_FILE, "journals"))
        // Not absolute: no socket at all (an empty path is the abstract
        // name any process may bind; a relative one follows chdir).
        for spec in ["journal:", "syslog:", "journal:run/j", "syslog:dev/log"] {
            let none = spec.withCString { s -> Bool in
                var path: UnsafePointer<CChar>?
                return safesock_audit_sink_of(s, &path) != SAFESOCK_AUDIT_FILE && path == nil
            }
            #expect(none, "\(spec)")
        }
        #expect(sink("/var/log/journal") == (SAFESOCK_AUDIT_FILE, "/var/log/journal"))
    }
}
