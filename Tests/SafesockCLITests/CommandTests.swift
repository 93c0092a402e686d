// The `safesock` binary, run as a user runs it: exit codes, output, JSON.
// `make test` sets SAFESOCK_BIN to the binary `make` built.

import Foundation
import SafesockCLI
@_exported import SafesockTestSupport
import Testing

/// Runs safesock from the repository's top, as a user would type it there.
func safesock(_ arguments: String...) throws -> Run {
    try run(safesockBinary, arguments, directory: packageRoot)
}

func jsonObject(_ text: String) throws -> [String: Any] {
    try #require(JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
}

@Suite(.serialized) struct CommandTests {
    /// A host the enforcers refuse to look up (too long; it may be a
    /// zero-padded address inet_aton reads) is denied by explain too.
    @Test func explainDeniesWhatNoEnforcerWouldLookUp() throws {
        let padded = "0x" + String(repeating: "0", count: 260) + "a.0.0.1"
        let r = try safesock("explain", "policies/home.cfg", padded, "443")
        #expect(r.status == 1 && r.stdout.contains("a host of 269 bytes: longer than any name or address"), "\(r)")
        let named = try safesock("explain", "policies/home.cfg", "10.0.0.1", "443", "--name", String(repeating: "a", count: 300))
        #expect(named.status == 1 && named.stdout.contains("a host of 300 bytes"), "\(named)")
    }

    @Test func explainPageExample() throws {
        let allowed = try safesock("explain", "policies/example.cfg", "www.sun.com", "1025")
        #expect(allowed.status == 0)
        #expect(allowed.stdout == """
        allow: www.sun.com port 1025
          allow     www.sun.com  >1024  policies/example.cfg:11
        decided by policies/example.cfg:11

        """)
        let denied = try safesock("explain", "policies/example.cfg", "www.sun.com", "1024")
        #expect(denied.status == 1)
        #expect(denied.stdout.hasPrefix("deny: www.sun.com port 1024\n  no rule matched\ndecided by default"))
        let disallowed = try safesock("explain", "policies/example.cfg", "A.CS.MySite.Edu.", "80")
        #expect(disallowed.status == 1)
        #expect(disallowed.stdout.contains("disallow  *.cs.mysite.edu  <1025  policies/example.cfg:12  (disallow wins)"))
    }

    @Test func explainEmptyHostIsTheOrigin() throws {
        let withOrigin = try safesock("explain", "policies/example.cfg", "", "5000", "--origin", "tclet.example")
        #expect(withOrigin.status == 0)
        #expect(withOrigin.stdout.contains("$originSocketHost  >1024  policies/example.cfg:10"))
        let without = try safesock("explain", "policies/example.cfg", "", "5000")
        #expect(without.status == 1)
        #expect(without.stdout.contains("the empty host means the origin, and no --origin was given"))
    }

    /// 0.0.0.0 and :: reach loopback: explain judges them so, as the library does.
    @Test func explainJudgesTheUnspecifiedAddressAsLoopback() throws {
        let r = try safesock("explain", "policies/home.cfg", "0.0.0.0", "8000", "--origin", "127.0.0.1")
        #expect(r.status == 0 && r.stdout.contains("known as: 0.0.0.0, 127.0.0.1"), "\(r.stdout)")
        let v6 = try safesock("explain", "policies/home.cfg", "::", "8000", "--origin", "::1", "--json")
        #expect(v6.status == 0 && v6.stdout.contains("\"identities\":[\"::\",\"::1\"]"), "\(v6.stdout)")
    }

    @Test func explainRefusesServiceNames() throws {
        for port in ["http", "80x", "+80", " 80", "65536", "-1", ""] {
            let r = try safesock("explain", "policies/javascript.cfg", "www.sun.com", port)
            #expect(r.status == 1, "\(port)")
            #expect(r.stdout.contains("service names are refused, only numeric ports"), "\(port)")
        }
        #expect(try safesock("explain", "policies/javascript.cfg", "www.sun.com", "080").status == 0)
    }

    @Test func explainJSON() throws {
        let r = try safesock("explain", "policies/example.cfg", "192.0.2.7", "1030", "--name", "X.CS.mysite.edu", "--json")
        #expect(r.status == 0)
        let o = try jsonObject(r.stdout)
        #expect(o["verdict"] as? String == "allow")
        #expect(o["identities"] as? [String] == ["192.0.2.7", "x.cs.mysite.edu"])
        #expect(o["rules"] as? [String] == ["policies/example.cfg:13"])
        let denied = try jsonObject(try safesock("explain", "policies/inside.cfg", "a", "1", "--json").stdout)
        #expect(denied["verdict"] as? String == "deny")
        #expect(denied["rules"] as? [String] == ["policies/inside.cfg:11"])
    }

    @Test func explainAPolicyWithErrorsDecidesNothing() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("safesock-cli-\(getpid())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let bad = dir.appendingPathComponent("bad.cfg").path
        try "section hosts ports\n    allow * *\n    allow x http\n    allow $nope 1\n".write(toFile: bad, atomically: true, encoding: .utf8)
        let r = try safesock("explain", bad, "x", "80")
        #expect(r.status == 1)
        #expect(r.stdout.isEmpty)
        #expect(r.stderr.contains("\(bad):3:13: error: 'http' is not a port number"))
        #expect(r.stderr.contains("\(bad):4:11: error: unknown variable $nope"))
        let check = try safesock("check", bad, "policies/home.cfg")
        #expect(check.status == 1)
        #expect(check.stdout.contains("\(bad): 2 errors; not usable"))
        #expect(check.stdout.contains("policies/home.cfg: ok: 1 allow, 4 disallow"))
        let json = try #require(JSONSerialization.jsonObject(with: Data(try safesock("check", "--json", bad).stdout.utf8)) as? [[String: Any]])
        let diagnostics = try #require(json.first?["diagnostics"] as? [[String: Any]])
        #expect(diagnostics.map { $0["line"] as? Int } == [3, 4])
        #expect(diagnostics.map { $0["column"] as? Int } == [13, 11])
    }

    @Test func checkShippedPoliciesAndBuiltinDefault() throws {
        let r = try safesock("check", "policies/default.cfg", "policies/example.cfg", "policies/home.cfg",
                             "policies/inside.cfg", "policies/outside.cfg", "policies/javascript.cfg", DefaultPolicy.name)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(!r.stderr.contains("error"))
        #expect(r.stderr.contains("policies/home.cfg:12:9: note: section 'features' is not used by safesock"))
        let file = try String(contentsOfFile: "\(packageRoot)/policies/default.cfg", encoding: .utf8)
        #expect(file == DefaultPolicy.text, "policies/default.cfg and the built-in default must be one text")
        #expect(try safesock("explain", DefaultPolicy.name, "", "8000", "--origin", "o.example").status == 0)
        #expect(try safesock("explain", DefaultPolicy.name, "", "8080", "--origin", "o.example").status == 1)
        #expect(try safesock("explain", DefaultPolicy.name, "", "80", "--origin", "o.example").status == 1)
        #expect(try safesock("explain", DefaultPolicy.name, "www.sun.com", "8000", "--origin", "o.example").status == 1)
    }

    @Test func helpAndUsage() throws {
        let main = try safesock("--help")
        #expect(main.status == 0 && main.stdout.contains("check") && main.stdout.contains("explain"))
        for command in ["check", "explain", "compile", "show"] {
            let help = try safesock(command, "--help")
            #expect(help.status == 0 && help.stdout.hasPrefix("usage: safesock \(command)"), "\(command)")
            #expect(try safesock("help", command).stdout == help.stdout)
        }
        #expect(try safesock("--version").stdout == "safesock \(CLI.version)\n")
        let none = try safesock()
        #expect(none.status == 2 && none.stderr.contains("usage: safesock COMMAND"))
        let unknown = try safesock("frobnicate")
        #expect(unknown.status == 2 && unknown.stderr.contains("unknown command 'frobnicate'"))
        let badOption = try safesock("explain", "p", "h", "1", "--bogus")
        #expect(badOption.status == 2 && badOption.stderr.contains("unknown option --bogus"))
        let fewArguments = try safesock("explain", "policies/home.cfg", "h")
        #expect(fewArguments.status == 2 && fewArguments.stderr.contains("usage: safesock explain"))
        #expect(try safesock("check").status == 2)
        for log in ["journal:", "syslog:dev/log"] {
            let relative = try safesock("run", "--log", log, "--", "/bin/true")
            #expect(relative.status == 2 && relative.stderr.contains("socket is an absolute path"), "\(log): \(relative)")
        }
        let missing = try safesock("check", "no/such.cfg")
        #expect(missing.status == 1 && missing.stderr.contains("no/such.cfg:1:1: error: cannot read policy: No such file or directory"))
    }
}

@Suite(.serialized) struct LintCommandTests {
    @Test func exitStatusAndOutput() throws {
        let home = try safesock("lint", "policies/home.cfg")
        #expect(home.status == 0 && home.stdout == "policies/home.cfg: no findings\n")
        let example = try safesock("lint", "policies/example.cfg")
        #expect(example.status == 1)
        #expect(example.stdout.contains("policies/example.cfg:11:33: warning: allow of the port range >1024 on www.sun.com; name the ports the program needs [range-in-allow]\n    If you do not have complete control"))
        let json = try #require(JSONSerialization.jsonObject(with: Data(try safesock("lint", "--json", "policies/example.cfg").stdout.utf8)) as? [[String: Any]])
        #expect(json.count == 5 && json.allSatisfy { $0["advice"] is String && $0["line"] is Int && $0["column"] is Int })
        #expect(try safesock("lint").status == 2)
        // Several files at once: each its findings and its summary line;
        // --json one array of them all.
        let both = try safesock("lint", "policies/home.cfg", "policies/example.cfg")
        #expect(both.status == 1 && both.stdout.contains("policies/home.cfg: no findings")
                && both.stdout.contains("policies/example.cfg: ") && both.stdout.contains("policies/example.cfg:11:"), "\(both)")
        let bothJSON = try #require(JSONSerialization.jsonObject(with: Data(try safesock("lint", "--json", "policies/home.cfg", "policies/example.cfg").stdout.utf8)) as? [[String: Any]])
        #expect(!bothJSON.isEmpty && bothJSON.allSatisfy { ($0["file"] as? String) == "policies/example.cfg" })
    }
}
