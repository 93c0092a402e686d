// Real programs under `run --kernel`, each with a name rule for a name in
// /etc/hosts and for a name only DNS knows (a stub nameserver), and refused
// a name the policy does not allow: the resolvers of glibc, Go (a static
// binary with its own), c-ares (node's dns), dig's, Java's, all asking
// safesock's DNS service in the program's namespace. The clients and the
// server are Tests/programs/compat (one line each: "ok" or "error: ...").

import Foundation
import Testing

@Suite(.endToEnd, .requires(.program("/usr/bin/node"), .program("/usr/bin/java"), .program("/usr/bin/ruby"), .program("/usr/bin/wget"),
                            .program("/usr/bin/git"), .program("/usr/bin/dig"), .built("\(testBin)/go_client")))
struct KernelProgramsTests {
    static let kit = "\(packageRoot)/Tests/programs/compat"

    /// The clients, each for a URL or a name and port.
    static func clients(_ url: String, _ host: String, _ port: UInt16, scratch: String) -> [(String, [String])] {
        let py = "/usr/bin/python3.11", k = kit
        return [
            ("python urllib", [py, "\(k)/py_client.py", "urllib", url]),
            ("python http.client", [py, "\(k)/py_client.py", "httpclient", url]),
            ("python asyncio", [py, "\(k)/py_client.py", "asyncio", url]),
            ("node fetch", ["/usr/bin/env", "node", "\(k)/node_client.js", "fetch", url]),
            ("node dns.resolve4 + net.connect", ["/usr/bin/env", "node", "\(k)/node_client.js", "dnsnet", host, "\(port)"]),
            ("java", ["/usr/bin/env", "java", "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC", "\(k)/Client.java", url]),
            ("perl", ["/usr/bin/perl", "\(k)/perl_client.pl", url]),
            ("perl LWP", ["/usr/bin/perl", "\(k)/lwp_client.pl", url]),
            ("ruby", ["/usr/bin/env", "ruby", "\(k)/ruby_client.rb", url]),
            ("tclsh", ["/usr/bin/tclsh", "\(k)/tcl_client.tcl", host, "\(port)"]),
            ("curl", ["/bin/sh", "\(k)/check_body.sh", "curl", "-sS", "--max-time", "5", "--noproxy", "*", url]),
            ("curl --interface", ["/bin/sh", "\(k)/check_body.sh", "curl", "-sS", "--max-time", "5", "--noproxy", "*", "--interface", "127.0.0.1", url]),
            ("wget", ["/bin/sh", "\(k)/check_body.sh", "wget", "-q", "-O", "-", "--timeout=5", "--tries=1", "--no-proxy", url]),
            ("git over http", ["/bin/sh", "\(k)/git_clone.sh", "\(url)smart/demo.git", "\(scratch)/clone"]),
            ("pip download", ["/bin/sh", "\(k)/pip_download.sh", py, "\(url)simple/", host, "\(scratch)/wheels"]),
            ("dig", ["/bin/sh", "\(k)/dig_check.sh", host]),
            ("go net/http (CGO_ENABLED=0)", ["\(testBin)/go_client", url]),
        ]
    }

    /// The kit's fixtures (a PEP 503 index, a git repository) served on
    /// 127.0.0.2:`port` by Tests/programs/compat/server.py, answering "/"
    /// with "hello"; returns once it answers (at most 5 s).
    static func site(in root: String, port: UInt16, lifetime: Int) throws -> Process {
        #expect(try run("/usr/bin/python3.11", ["\(kit)/make_fixtures.py", "\(root)/site"]).status == 0)
        let server = Process()
        server.executableURL = URL(fileURLWithPath: "/usr/bin/python3.11")
        server.arguments = ["\(kit)/server.py", "\(port)", "\(root)/site", "127.0.0.2", "--lifetime", "\(lifetime)"]
        server.standardOutput = FileHandle.nullDevice
        server.standardError = FileHandle.nullDevice
        try server.run()
        var up = false
        for _ in 0..<100 where !up {
            up = try run("/usr/bin/curl", ["-s", "-o", "/dev/null", "--noproxy", "*", "http://127.0.0.2:\(port)/"]).status == 0
            if !up { usleep(50_000) }
        }
        if !up { kill(server.processIdentifier, SIGKILL) }
        try #require(up, "the test server did not start")
        return server
    }

    @Test func realProgramsConnectWhereAllowedAndNowhereElse() throws {
        let root = try scratchDirectory()
        defer { try? FileManager.default.removeItem(atPath: root) }
        chmod(root, 0o755)
        let port = UInt16.random(in: 20_000...29_999)
        let server = try Self.site(in: root, port: port, lifetime: 300)
        defer { kill(server.processIdentifier, SIGKILL); server.waitUntilExit() } // SIGTERM may be blocked (inherited from Dispatch threads)
        // The denied name's address has a server too: reaching it would show.
        let other = try GreetingServer("127.0.0.9", port: port)
        defer { other.stop() }
        let dns = try DNSStub("127.0.0.42", answers: ["dns.allowed.test": "127.0.0.2", "dns.denied.test": "127.0.0.9"])
        let hosts = testHosts + "127.0.0.2 api.allowed.test\n127.0.0.9 api.denied.test\n127.0.0.1 \(ProcessInfo.processInfo.hostName)\n"
        let policy = "section hosts ports\n    allow api.allowed.test \(port)\n    allow dns.allowed.test \(port)\n"
        let env = ["HOME": root, "http_proxy": "", "https_proxy": "", "HTTP_PROXY": "", "no_proxy": "*", "GIT_CONFIG_GLOBAL": "/dev/null"]
        var failures: [String] = []
        for (host, allowed) in [("dns.allowed.test", true), ("api.allowed.test", true), ("api.denied.test", false), ("dns.denied.test", false)] {
            for (name, command) in Self.clients("http://\(host):\(port)/", host, port, scratch: root) {
                let r = try underKernel(policy, as: .root, command, nameserver: "127.0.0.42", hosts: hosts, env: env)
                let ok = r.stdout.hasPrefix("ok")
                if ok != allowed { failures.append("\(name) \(host): \(r.stdout) \(r.stderr.prefix(300))") }
            }
        }
        _ = dns.stop()
        #expect(failures.isEmpty, "\(failures.joined(separator: "\n"))")
        #expect(other.accepted == 0, "a denied name's address was reached")
    }

    /// As an ordinary user, in a user namespace: the same for a few.
    @Test func realProgramsAsAnOrdinaryUser() throws {
        let web = try GreetingServer("127.0.0.2")
        defer { web.stop() }
        let dns = try DNSStub("127.0.0.43", answers: ["dns.allowed.test": "127.0.0.2"])
        let policy = "section hosts ports\n    allow dns.allowed.test \(web.port)\n"
        let url = "http://dns.allowed.test:\(web.port)/"
        for command in [["/usr/bin/python3.11", "\(Self.kit)/py_client.py", "urllib", url],
                        ["/bin/sh", "\(Self.kit)/check_body.sh", "curl", "-sS", "--max-time", "5", "--noproxy", "*", url],
                        ["\(testBin)/go_client", url]] {
            let r = try underKernel(policy, as: .nobody, command, nameserver: "127.0.0.43", env: ["HOME": "/tmp", "http_proxy": ""])
            #expect(r.stdout.hasPrefix("ok"), "\(command[0]): \(r)")
        }
        _ = dns.stop()
        #expect(web.accepted == 3)
    }

    /// Learning under --kernel records only what the program needed:
    /// `suggest` from a `--kernel --learn` run of `pip download` gives the
    /// same policy as from the library alone (glibc's address-sorting
    /// probes, a datagram connect with nothing sent, leave no record).
    @Test func learningUnderTheKernelSuggestsWhatTheLibraryDoes() throws {
        let root = try scratchDirectory()
        defer { try? FileManager.default.removeItem(atPath: root) }
        chmod(root, 0o755)
        let port = UInt16.random(in: 30_000...39_999)
        let server = try Self.site(in: root, port: port, lifetime: 120)
        defer { kill(server.processIdentifier, SIGKILL); server.waitUntilExit() } // SIGTERM may be blocked (inherited from Dispatch threads)
        let hosts = testHosts + "127.0.0.2 api.allowed.test\n"
        var suggested: [String] = []
        for mode in [[], ["--kernel"]] {
            let dir = try scratchDirectory()
            defer { try? FileManager.default.removeItem(atPath: dir) }
            try hosts.write(toFile: "\(dir)/hosts", atomically: true, encoding: .utf8)
            let pip = ["/bin/sh", "\(Self.kit)/pip_download.sh", "/usr/bin/python3.11", "http://api.allowed.test:\(port)/simple/",
                       "api.allowed.test", "\(dir)/wheels"]
            let learned = try inHostsNamespace("\(dir)/hosts", [safesockBinary, "run"] + mode + ["--learn", "--log", "\(dir)/learn.log", "--"] + pip,
                                               env: ["HOME": root, "http_proxy": "", "https_proxy": ""])
            #expect(learned.stdout.hasPrefix("ok"), "\(mode): \(learned)")
            let suggestion = try run(safesockBinary, ["suggest", "\(dir)/learn.log"])
            suggested.append(suggestion.stdout.split(separator: "\n").filter { !$0.hasPrefix("#") }.joined(separator: "\n"))
        }
        #expect(suggested.count == 2 && suggested[0] == suggested[1], "\(suggested)")
        #expect(suggested.first?.contains("allow  api.allowed.test  \(port)") ?? false, "\(suggested)")
        #expect(!(suggested.last?.contains("datagrams") ?? true) && !(suggested.last?.contains("servers") ?? true), "\(suggested)")
    }
}
