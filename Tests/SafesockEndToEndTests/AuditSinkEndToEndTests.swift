// `--log journal:SOCKET` and `--log syslog:SOCKET` from real runs: a real
// program under the real library (and under `run --kernel`, where the
// supervisor writes its records and the library writes from inside the
// program's namespace) sends to a socket this test listens on. Every
// record read as the journal and a syslog daemon read them says what the
// JSON log of the same run says; a program's hostile name adds no field
// and no message; a listener that is gone or full never holds the
// program up. And `safesock log` on the logs of real runs.

import Foundation
import SafesockCLI
import Testing

/// A denied connect, and a lookup of a name made to end a journal field
/// and a syslog value and to start fields of its own. (The library
/// lowercases names: the injected lines read `priority=0`, still a line
/// a naive writer would send as a field of its own.)
let hostileProgram = """
import socket
try: socket.create_connection(("127.0.0.2", 1029), timeout=2)
except OSError as e: print("connect", e.errno)
try: socket.getaddrinfo(b'evil\\nPRIORITY=0\\nSAFESOCK_VERDICT=allow"] [x@1 v="2"]\\xe9', 80)
except OSError as e: print("resolve", e.errno)
"""
let closedPolicy = "section hosts ports\n    allow  www.sun.com  1026\n"

/// Each run's policy is a file of its own scratch directory.
func withoutPolicy(_ record: AuditRecord) -> AuditRecord {
    var r = record
    r.policy = nil
    r.explain = r.explain?.replacing(#/\s/\S*policy.cfg/#, with: " POLICY")
    return r
}

@Suite(.serialized, .endToEnd) struct AuditSinkEndToEndTests {
    /// The same run logged to a file, and to the journal's and syslog's
    /// protocols: the same records, every field.
    @Test(arguments: [false, true], RunAs.allCases)
    func journalAndSyslogSayWhatTheFileSays(kernel: Bool, user: RunAs) throws {
        let dir = try scratchDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        chmod(dir, 0o777)
        let mode = kernel ? ["--kernel"] : []
        let program = ["/usr/bin/python3.11", "-c", hostileProgram]

        let file = try underSafesock(closedPolicy, origin: nil, extra: mode + ["--log", "\(dir)/records.log"], as: user, program)
        #expect(file.stdout == "connect 13\nresolve -2\n", "\(file)")
        let records = try String(contentsOfFile: "\(dir)/records.log", encoding: .utf8).split(separator: "\n")
            .map { try AuditRecord.decode($0) }
        #expect(records.map(\.op) == ["connect", "resolve"], "\(records)")

        let journal = try UnixDatagramListener("\(dir)/journal.socket")
        let sent = try underSafesock(closedPolicy, origin: nil, extra: mode + ["--log", "journal:\(dir)/journal.socket"], as: user, program)
        #expect(sent.stdout == file.stdout && sent.stderr.isEmpty, "\(sent)")
        let entries = try journal.datagrams().map { try #require(journalFields($0), "not the journal's protocol: \($0)") }
        #expect(entries.count == 2)
        for entry in entries {
            // Only fields of ours, with names the journal takes.
            #expect(entry.allSatisfy { $0.name.allSatisfy { $0.isUppercase || $0.isNumber || $0 == "_" } && !$0.name.hasPrefix("_") },
                    "\(entry.map(\.name))")
            #expect(entry.filter { $0.name == "SAFESOCK_VERDICT" }.map(\.value) == [Array("deny".utf8)])
            #expect(entry.filter { $0.name == "PRIORITY" }.map(\.value) == [Array("4".utf8)])
            #expect(entry.filter { $0.name == "SYSLOG_IDENTIFIER" }.map(\.value) == [Array("safesock".utf8)])
            #expect(entry.last?.name == "MESSAGE" && entry.last!.value.allSatisfy { $0 >= 0x20 && $0 != 0x7f })
        }
        let fromJournal = try entries.map { try AuditRecord.decode(Substring(journalctlJSON($0))) }
        #expect(fromJournal.map(\.decision).map(withoutPolicy) == records.map(\.decision).map(withoutPolicy), "\(fromJournal) vs \(records)")
        #expect(fromJournal.allSatisfy { $0.policy?.hasSuffix("/policy.cfg") == true })
        #expect(fromJournal.last?.host.hasPrefix("evil\npriority=0\nsafesock_verdict=allow\"] [x@1 v=\"2\"]") == true)
        if kernel { #expect(fromJournal.first?.layer == "kernel") }

        let syslog = try UnixDatagramListener("\(dir)/syslog.socket")
        let said = try underSafesock(closedPolicy, origin: nil, extra: mode + ["--log", "syslog:\(dir)/syslog.socket"], as: user, program)
        #expect(said.stdout == file.stdout && said.stderr.isEmpty, "\(said)")
        let messages = syslog.datagrams()
        #expect(messages.count == 2)
        for (bytes, record) in zip(messages, records) {
            #expect(!bytes.contains { $0 < 0x20 || $0 == 0x7f }, "one message, one line")
            let message = try #require(SyslogMessage(String(decoding: bytes, as: UTF8.self)), "\(String(decoding: bytes, as: UTF8.self))")
            #expect(message.header[0] == "<12>1" && message.header[3] == "safesock" && message.header[5] == "audit")
            #expect(message.id == "safesock@32473")
            var params: [String: [String]] = [:]
            for (name, value) in message.params { params[name, default: []].append(value) }
            #expect(params["op"] == [record.op] && params["verdict"] == ["deny"] && params["port"] == record.port.map { ["\($0)"] })
            #expect(params["rule"] ?? [] == record.rules && params["reason"] == record.reason.map { [$0] })
            #expect(params["layer"] == record.layer.map { [$0] } && params["policy"]?.first?.hasSuffix("/policy.cfg") == true)
            // The host as the writer escapes it: \xHH for a control byte.
            let host = record.host.unicodeScalars.map { $0.value < 0x20 || $0.value == 0x7f ? String(format: "\\x%02x", $0.value) : String($0) }.joined()
            #expect(params["host"] == [host], "\(params)")
            #expect(message.header[1].hasSuffix("Z") && message.message.hasPrefix("safesock: "))
        }
    }

    /// A real systemd-journald, in a mount namespace of the test's own
    /// (its sockets on a fresh /run, its files on tmpfs): `--log journal`
    /// at the default socket, and `journalctl -o json` shows the records
    /// the JSON log of the same run holds, field for field, and `safesock
    /// log` reads them alike.
    @Test(.requires(.program("/lib/systemd/systemd-journald"), .program("/usr/bin/journalctl")), arguments: [false, true])
    func theRealJournalShowsWhatTheFileSays(kernel: Bool) throws {
        let dir = try scratchDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try closedPolicy.write(toFile: "\(dir)/policy.cfg", atomically: true, encoding: .utf8)
        try hostileProgram.write(toFile: "\(dir)/program.py", atomically: true, encoding: .utf8)
        let run = "\(safesockBinary) run \(kernel ? "--kernel " : "")--policy \(dir)/policy.cfg"
        let script = """
        set -eu
        mount -t tmpfs tmpfs /run
        mount -t tmpfs tmpfs /var/log
        mkdir -p /run/systemd/journal
        /lib/systemd/systemd-journald 2>\(dir)/journald.err &
        journald=$!
        for i in $(seq 100); do [ -S /run/systemd/journal/socket ] && break; sleep 0.05; done
        \(run) --log \(dir)/records.log -- /usr/bin/python3.11 \(dir)/program.py >\(dir)/file.out 2>&1
        \(run) --log journal -- /usr/bin/python3.11 \(dir)/program.py >\(dir)/journal.out 2>&1
        for i in $(seq 100); do [ "$(journalctl -q -o json SYSLOG_IDENTIFIER=safesock | wc -l)" -ge 2 ] && break; sleep 0.05; done
        journalctl -q -o json SYSLOG_IDENTIFIER=safesock >\(dir)/journal.json
        kill $journald
        wait $journald || true
        """
        let ran = try SafesockTestSupport.run("/usr/bin/unshare", ["-m", "--propagation", "private", "/bin/sh", "-c", script])
        #expect(ran.status == 0, "\(ran)")
        let read = { (name: String) in try String(contentsOfFile: "\(dir)/\(name)", encoding: .utf8) }
        #expect(try read("journal.out").contains("connect 13\nresolve -2\n") && read("file.out").contains("connect 13\nresolve -2\n"))
        let fromFile = try read("records.log").split(separator: "\n").map { try AuditRecord.decode($0) }
        let fromJournal = try read("journal.json").split(separator: "\n").map { try AuditRecord.decode($0) }
        #expect(fromFile.count == 2 && fromJournal.map(\.decision) == fromFile.map(\.decision), "\(fromJournal) vs \(fromFile)")
        #expect(fromJournal.last?.host.hasPrefix("evil\npriority=0\n") == true)
        // journalctl's own view: our fields, the priority, the identifier.
        let entries = try read("journal.json").split(separator: "\n").map {
            try #require(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])
        }
        #expect(entries.allSatisfy { $0["PRIORITY"] as? String == "4" && $0["SYSLOG_IDENTIFIER"] as? String == "safesock" && $0["SAFESOCK_V"] as? String == "1" })
        #expect(!entries.contains { $0.keys.contains { $0.lowercased() == "priority" && $0 != "PRIORITY" } })
        let journalSummary = try SafesockTestSupport.run(safesockBinary, ["log", "\(dir)/journal.json"])
        let fileSummary = try SafesockTestSupport.run(safesockBinary, ["log", "\(dir)/records.log"])
        #expect(journalSummary.stderr.isEmpty && journalSummary.stdout.split(separator: "\n").dropFirst() == fileSummary.stdout.split(separator: "\n").dropFirst(),
                "\(journalSummary) \(fileSummary)")
    }

    /// No listener, then one that never reads: every record the program
    /// makes is dropped without waiting, said once, and the program runs
    /// to its end as it would without a log.
    @Test func aListenerGoneOrFullNeverHoldsTheProgram() throws {
        let dir = try scratchDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let many = "import socket\nfor i in range(3000):\n  try: socket.create_connection(('127.0.0.2', 1029), timeout=2)\n  except OSError: pass\nprint('done')"
        let program = ["/usr/bin/python3.11", "-c", many]

        let gone = try underSafesock(closedPolicy, origin: nil, extra: ["--log", "journal:\(dir)/none.socket"], program)
        #expect(gone.status == 0 && gone.stdout == "done\n", "\(gone)")
        #expect(gone.stderr == "safesock: the audit log \(dir)/none.socket has no listener: records it does not take are dropped\n")

        // The supervisor's records (a static program: the library is not in
        // it), two denials, one supervisor: said once.
        let kernel = try underSafesock(closedPolicy, origin: nil, extra: ["--kernel", "--log", "journal:\(dir)/none.socket"],
                                       ["/bin/sh", "-c", "\(testBin)/static_client connect 127.0.0.2 1029; \(testBin)/static_client connect 127.0.0.2 1029"])
        #expect(kernel.stderr.contains("safesock: kernel: the audit log \(dir)/none.socket has no listener: records it does not take are dropped\n"),
                "\(kernel)")
        #expect(kernel.stderr.components(separatedBy: "has no listener").count == 2, "said once: \(kernel)")

        let full = try UnixDatagramListener("\(dir)/full.socket", buffer: 4096)
        let start = Date()
        let filled = try underSafesock(closedPolicy, origin: nil, extra: ["--log", "syslog:\(dir)/full.socket"], program)
        #expect(filled.status == 0 && filled.stdout == "done\n", "\(filled)")
        #expect(filled.stderr == "safesock: the audit log \(dir)/full.socket is full: records it does not take are dropped\n")
        #expect(Date().timeIntervalSince(start) < 30, "3,000 denials, each sent without waiting")
        let taken = full.datagrams(waitingUpTo: 1).count
        #expect(taken > 0 && taken < 3000, "\(taken) records taken")
    }

    /// `safesock log` on the logs of real runs, a learn run among them,
    /// with a line that is no record, and on the journal's entries of the
    /// same run as `journalctl -o json` prints them.
    @Test func logSummarisesRealRuns() throws {
        let web = try GreetingServer("127.0.0.2", port: 1026)
        defer { web.stop() }
        let dir = try scratchDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let curl = ["/bin/sh", "-c", "/usr/bin/curl -sS --max-time 5 http://www.sun.com:1026/; /usr/bin/curl -sS --max-time 5 http://www.sun.com:1024/; /usr/bin/curl -sS --max-time 5 http://127.0.0.3:1031/"]
        _ = try underSafesock(closedPolicy, origin: nil, extra: ["--log", "\(dir)/enforced.log"], curl)
        _ = try underSafesock("section hosts ports\n    disallow * *\n", origin: nil, extra: ["--learn", "--log", "\(dir)/learn.log"], curl)
        let enforced = try String(contentsOfFile: "\(dir)/enforced.log", encoding: .utf8)
        try (enforced + "not a record\n").write(toFile: "\(dir)/enforced.log", atomically: true, encoding: .utf8)

        // Enforced: curl's two getpeername calls refused (peername deny),
        // the two other destinations denied by no rule. Learned: all seven
        // decisions the closed policy would have refused, the lookups too.
        let summary = try run(safesockBinary, ["log", "\(dir)/enforced.log", "\(dir)/learn.log"])
        #expect(summary.status == 0, "\(summary)")
        #expect(summary.stderr == "\(dir)/enforced.log:5: warning: not a safesock record; skipped\n")
        let lines = summary.stdout.split(separator: "\n").map(String.init)
        let words = lines.map { $0.split(separator: " ").map(String.init) }
        #expect(lines.first == "11 records in \(dir)/enforced.log, \(dir)/learn.log (1 line skipped)", "\(summary.stdout)")
        #expect(lines.contains("verdicts: 11 deny; 7 in learn mode (nothing refused)"), "\(summary.stdout)")
        #expect(words.contains(["4", "getpeername", "-", "peername", "deny", "curl"]), "\(summary.stdout)")
        #expect(words.contains(["1", "connect", "www.sun.com", "1024", "no", "rule", "(default)", "curl"]), "\(summary.stdout)")
        #expect(words.contains(["1", "resolve", "www.sun.com", "1026", "resolve", "strict:", "no", "allow", "rule", "could", "match", "this",
                                "name", "curl"]), "\(summary.stdout)")
        #expect(words.firstIndex { $0.first == "4" }! < words.firstIndex { $0.first == "1" }!, "most first")
        #expect(lines.contains("learn mode: `safesock suggest` would write:"))
        #expect(lines.contains("    allow www.sun.com 1026  (1 time)") && lines.contains("    allow 127.0.0.3 1031  (1 time)"), "\(summary.stdout)")

        let json = try run(safesockBinary, ["log", "--json", "\(dir)/learn.log"])
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any], "\(json)")
        #expect(object["records"] as? Int == 7 && object["learn"] as? Int == 7 && object["skipped"] as? Int == 0, "\(json.stdout)")
        #expect((object["suggest"] as? [[String: Any]])?.compactMap { $0["rule"] as? String }.sorted()
                == ["allow 127.0.0.3 1031", "allow www.sun.com 1024", "allow www.sun.com 1026", "peername mask"], "\(json.stdout)")
        #expect((object["denied"] as? [[String: Any]])?.count == 6, "\(json.stdout)")

        // The journal's entries of the enforced run read the same.
        let journal = try UnixDatagramListener("\(dir)/journal.socket")
        _ = try underSafesock(closedPolicy, origin: nil, extra: ["--log", "journal:\(dir)/journal.socket"], curl)
        let exported = try journal.datagrams().map { journalctlJSON(try #require(journalFields($0))) }.joined(separator: "\n") + "\n"
        try exported.write(toFile: "\(dir)/journal.json", atomically: true, encoding: .utf8)
        try enforced.write(toFile: "\(dir)/enforced.log", atomically: true, encoding: .utf8)
        let fromJournal = try run(safesockBinary, ["log", "\(dir)/journal.json"])
        let fromFile = try run(safesockBinary, ["log", "\(dir)/enforced.log"])
        #expect(fromJournal.stdout.split(separator: "\n").dropFirst() == fromFile.stdout.split(separator: "\n").dropFirst(), "\(fromJournal) \(fromFile)")
        #expect(fromJournal.stdout.hasPrefix("4 records in \(dir)/journal.json\n"), "\(fromJournal)")
        // `-`: standard input, a pipe (journalctl -o json | safesock log -).
        let piped = try run(safesockBinary, ["log", "-"], input: exported)
        #expect(piped.status == 0 && piped.stdout == fromJournal.stdout.replacingOccurrences(of: "\(dir)/journal.json", with: "-"), "\(piped)")
        #expect(try run(safesockBinary, ["log", "\(dir)/absent.log"]).status == 1)
        #expect(try run(safesockBinary, ["log"]).status == 2)
    }
}
