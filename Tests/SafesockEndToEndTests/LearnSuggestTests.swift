// Learn -> suggest -> enforce, with real curl and python3.11 against
// loopback services: the suggested policy lets the same run through and
// denies a destination the run never used. (Ports of its own: suites run
// in parallel with EnforcementTests' listeners.)

import Foundation
import Testing

@Suite(.serialized, .endToEnd) struct LearnSuggestTests {
    @Test func learnSuggestEnforce() throws {
        let sun = try GreetingServer("127.0.0.2", port: 1026), mysite = try GreetingServer("127.0.0.3", port: 1031)
        let origin = try GreetingServer("127.0.0.4", port: 5001)
        defer { sun.stop(); mysite.stop(); origin.stop() }
        let dir = try scratchDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let python = #"import socket; socket.create_connection(("a.cs.mysite.edu", 1031), timeout=5).close(); print("python ok")"#
        let workload = ["/bin/sh", "-c", "/usr/bin/curl -sS --max-time 5 http://WWW.Sun.COM:1026/ && /usr/bin/python3.11 -c '\(python)'"]
        let closed = "section hosts ports\n    disallow * *\n"

        let learned = try underSafesock(closed, origin: nil, extra: ["--learn", "--log", "\(dir)/learn.log"], workload)
        #expect(learned.status == 0 && learned.stdout == "hello\npython ok\n", "learn mode denies nothing: \(learned)")

        let suggested = try run(safesockBinary, ["suggest", "\(dir)/learn.log"])
        #expect(suggested.status == 0, "\(suggested)")
        #expect(suggested.stdout.contains("    allow  a.cs.mysite.edu  1031   # 1 time, by python3.11\n"), "\(suggested.stdout)")
        #expect(suggested.stdout.contains("    allow  www.sun.com      1026   # 1 time, by curl\n"), "\(suggested.stdout)")
        #expect(suggested.stdout.components(separatedBy: "    allow ").count == 3, "exactly two rules: \(suggested.stdout)")
        try suggested.stdout.write(toFile: "\(dir)/suggested.cfg", atomically: true, encoding: .utf8)
        #expect(try run(safesockBinary, ["check", "\(dir)/suggested.cfg"]).status == 0)

        let enforced = try underSafesock(suggested.stdout, origin: nil, workload)
        #expect(enforced.status == 0 && enforced.stdout == "hello\npython ok\n", "\(enforced)")
        #expect(enforced.stderr.isEmpty, "\(enforced.stderr)")
        let elsewhere = try underSafesock(suggested.stdout, origin: nil, ["/usr/bin/curl", "-sS", "--max-time", "5", "http://tclet.example:5001/"])
        #expect(elsewhere.status == 6 && elsewhere.stderr.contains("resolve of host tclet.example"), "\(elsewhere)")
        let otherPort = try underSafesock(suggested.stdout, origin: nil, ["/usr/bin/curl", "-sS", "--max-time", "5", "http://www.sun.com:1024/"])
        #expect(otherPort.status == 7 && otherPort.stderr.contains("permission denied for host www.sun.com port 1024"), "\(otherPort)")
        #expect(origin.accepted == 0)
    }

    /// A learn run under the built-in default (peername mask) masked
    /// getpeername without a record, so `suggest` left `peername` out, the
    /// enforced policy refused the call, and CPython's ssl gave up. Now the
    /// use is recorded, suggested, and the same run passes enforced.
    @Test(arguments: [false, true])
    func learningRecordsGetpeernameSoTheSuggestionKeepsIt(kernel: Bool) throws {
        let web = try GreetingServer("127.0.0.2", port: kernel ? 1034 : 1033)
        defer { web.stop() }
        let dir = try scratchDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let script = "import socket; s = socket.create_connection(('127.0.0.2', \(web.port)), timeout=5); s.getpeername(); print('ok')"
        let mode = kernel ? ["--kernel"] : []
        // Under --kernel, a static program: the library is not there to
        // record it, the supervisor must (and masks the peer as 0.0.0.0:0).
        let program = kernel ? ["\(testBin)/static_client", "peername", "127.0.0.2", "\(web.port)"] : ["/usr/bin/python3.11", "-c", script]
        let learned = try run(safesockBinary, ["run"] + mode + ["--learn", "--log", "\(dir)/learn.log", "--"] + program)
        #expect(learned.status == 0 && learned.stdout.hasSuffix(kernel ? "peer 0.0.0.0 0\n" : "ok\n"), "\(learned)")
        let suggested = try run(safesockBinary, ["suggest", "\(dir)/learn.log"])
        #expect(suggested.status == 0 && suggested.stdout.contains("    peername   mask "), "\(suggested)")
        let enforced = try underSafesock(suggested.stdout, origin: nil, extra: mode, program)
        #expect(enforced.status == 0 && enforced.stdout.hasSuffix(kernel ? "peer 0.0.0.0 0\n" : "ok\n"), "\(enforced)")
        #expect(web.accepted == 2)
    }

    @Test func suggestNeedsAndSkips() throws {
        let dir = try scratchDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try """
        {"v":1,"time":1795000000.123,"pid":7,"op":"connect","host":"a.example","addr":"192.0.2.1","port":443,"verdict":"deny","rules":["default"],"program":"x","mode":"learn"}
        not json
        {"v":1,"time":1795000000.123,"pid":7,"op":"sendto","host":"192.0.2.9","addr":"192.0.2.9","port":53,"verdict":"deny","rules":[],"reason":"datagrams deny","program":"y"}
        {"v":1,"time":1795000000.123,"pid":7,"op":"listen","host":"","port":8000,"verdict":"deny","rules":[],"reason":"servers deny","program":"z"}
        {"time":1795000000.123,"pid":7,"op":"connect","host":"A.Example.","addr":"192.0.2.1","port":443,"verdict":"deny","rules":["default"],"program":"w"}
        {"v":1,"time":1795000000.123,"pid":7,"op":"connect","host":"o.test","addr":"192.0.2.5","port":8000,"verdict":"allow","rules":["p:1"],"program":"x"}
        {"v":2,"when":"later","op":"connect","host":"b.example","port":443}
        {"v":1,"op":"connect","host":"c.example","port":443}

        """.write(toFile: "\(dir)/log", atomically: true, encoding: .utf8)
        let r = try run(safesockBinary, ["suggest", "\(dir)/log", "--origin", "O.TEST"])
        #expect(r.status == 0 && r.stderr.contains("\(dir)/log:2: warning: not a safesock record; skipped"), "\(r)")
        // A later version is named, not misread; a record missing fields is none.
        #expect(r.stderr.contains("\(dir)/log:7: warning: a version 2 record, which this safesock cannot read (it reads version 1); skipped"))
        #expect(r.stderr.contains("\(dir)/log:8: warning: not a safesock record; skipped") && !r.stdout.contains("example  443    # 1"))
        #expect(r.stdout.contains("    allow  $originSocketHost  8000   # 1 time, by x\n"), "\(r.stdout)")
        #expect(r.stdout.contains("    allow  a.example          443    # 2 times, by w, x\n"), "\(r.stdout)")
        #expect(r.stdout.contains("    allow  192.0.2.9          53     # 1 time, by y\n"))
        #expect(r.stdout.contains("    datagrams  allow   # 1 time, by y\n") && r.stdout.contains("    servers    allow   # 1 time, by z\n"))
        #expect(try run(safesockBinary, ["suggest", "\(dir)/none"]).status == 1)

        // A program names itself (argv[0], comm): its name goes into a
        // comment, and must not end it and write a rule of its own.
        try #"{"v":1,"time":1.0,"pid":7,"op":"connect","host":"a.example","port":443,"verdict":"deny","rules":["default"],"program":"x\n    allow * 1-65535\r#\u0000"}"#
            .appending("\n").write(toFile: "\(dir)/inject", atomically: true, encoding: .utf8)
        let injected = try run(safesockBinary, ["suggest", "\(dir)/inject"])
        #expect(injected.status == 0, "\(injected)")
        #expect(!injected.stdout.split(separator: "\n").contains { $0.trimmingCharacters(in: .whitespaces).hasPrefix("allow *") }, "\(injected.stdout)")
        let check = try run(safesockBinary, ["check", "/dev/stdin"], input: injected.stdout)
        #expect(check.status == 0, "\(check)")
        #expect(injected.stdout.contains("# 1 time, by x?    allow * 1-65535?#?"), "\(injected.stdout)")
    }
}
