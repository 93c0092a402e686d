// Enforcement in real programs (docs/enforcement.md, "The preload library"):
// real tclsh, python3.11, curl, a C probe and a Swift program, under
// `safesock run`, with names from a test /etc/hosts in a private mount
// namespace and real listeners on 127.0.0.x. The page's example in Tcl is the
// acceptance test.

import Foundation
import Testing

/// The manual page's example, as policies/example.cfg ships it.
let pagePolicy = pageExample

@Suite(.serialized, .endToEnd) struct EnforcementTests {
    /// The page's example, end to end, in real tclsh 8.6.
    @Test func tclBehavesAsSafeTclDoes() throws {
        let sun = try GreetingServer("127.0.0.2", port: 1025), origin = try GreetingServer("127.0.0.4", port: 5000)
        let privileged = try Listener("127.0.0.2", port: 1024), mysite = try GreetingServer("127.0.0.3", port: 1030)
        defer { sun.stop(); origin.stop(); mysite.stop() }
        let script = """
        set s [socket www.sun.com 1025]; puts "1025: [gets $s]"
        puts "1024: [catch {socket www.sun.com 1024} e] $e"
        set o [socket "" 5000]; puts "origin: [gets $o]"
        puts "http: [catch {socket www.sun.com http} e] $e"
        puts "peername: [catch {fconfigure $s -peername} e] $e"
        puts "still open: [expr {[catch {fconfigure $s -sockname}] == 0}]"
        set m [socket A.CS.MySite.EDU. 1030]; puts "mysite 1030: [gets $m]"
        puts "mysite 80: [catch {socket a.cs.mysite.edu 80} e] $e"
        puts "evil: [catch {socket evil.example 1025} e] $e"
        """
        let r = try underSafesock(pagePolicy, ["/usr/bin/tclsh"], input: script)
        #expect(r.stdout == """
        1025: HTTP/1.0 200 OK
        1024: 1 couldn't open socket: permission denied
        origin: HTTP/1.0 200 OK
        http: 1 expected integer but got "http"
        peername: 1 can't get peername: permission denied
        still open: 1
        mysite 1030: HTTP/1.0 200 OK
        mysite 80: 1 couldn't open socket: permission denied
        evil: 1 couldn't open socket: Name or service not known

        """, "\(r.stderr)")
        #expect(privileged.arrivals() == 0, "the denied connect reached the listener")
        // The line names the policy and the command that shows why.
        #expect(r.stderr.contains("safesock: permission denied for host www.sun.com port 1024 (no rule allows it; policy /"), "\(r.stderr)")
        #expect(r.stderr.contains("/policy.cfg) \u{2014} safesock explain /"), "\(r.stderr)")
        #expect(r.stderr.contains("/policy.cfg 127.0.0.2 1024 --name www.sun.com --origin tclet.example\n"), "\(r.stderr)")
        #expect(r.stderr.contains("(disallowed by /") && r.stderr.contains("/policy.cfg:\(lineNumber(of: "disallow", in: pagePolicy)); policy /"), "\(r.stderr)")
        #expect(r.stderr.contains("safesock: permission denied for resolve of host evil.example port 1025 (resolve strict"))
    }

    @Test func pythonSocketsAndUrllib() throws {
        let sun = try GreetingServer("127.0.0.2", port: 1025), origin = try GreetingServer("127.0.0.4", port: 5000)
        let privileged = try Listener("127.0.0.2", port: 1024)
        defer { sun.stop(); origin.stop() }
        let script = #"""
        import json, socket, urllib.error, urllib.request
        out = {}
        def attempt(name, f):
            try:
                out[name] = f()
            except urllib.error.URLError as e:
                out[name] = "urlerror %s" % getattr(e.reason, "errno", e.reason)
            except OSError as e:
                out[name] = "errno %s" % e.errno
        def connect(host, port):
            socket.create_connection((host, port), timeout=5).close()
            return "ok"
        attempt("sun 1025", lambda: connect("www.sun.com", 1025))
        attempt("sun 1024", lambda: connect("www.sun.com", 1024))
        attempt("SUN 1025", lambda: connect("WWW.SUN.COM.", 1025))
        attempt("origin 5000", lambda: connect("", 5000))
        attempt("urllib", lambda: urllib.request.urlopen("http://www.sun.com:1025/", timeout=5).read().decode())
        attempt("urllib 1024", lambda: urllib.request.urlopen("http://www.sun.com:1024/", timeout=5).read().decode())
        attempt("service name", lambda: socket.getaddrinfo("www.sun.com", "http"))
        attempt("getservbyname", lambda: socket.getservbyname("http"))
        attempt("peername", lambda: socket.create_connection(("www.sun.com", 1025), timeout=5).getpeername())
        attempt("evil", lambda: connect("evil.example", 1025))
        print(json.dumps(out, sort_keys=True))
        """#
        let policy = pagePolicy + "section options\n    peername mask\n"
        let r = try underSafesock(policy, ["/usr/bin/python3.11", "-c", script])
        let out = try #require(JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any], "\(r)")
        #expect(out["sun 1025"] as? String == "ok")
        #expect(out["sun 1024"] as? String == "errno \(EACCES)")
        #expect(out["SUN 1025"] as? String == "ok")
        #expect(out["origin 5000"] as? String == "ok")
        #expect(out["urllib"] as? String == "hello\n")
        #expect(out["urllib 1024"] as? String == "urlerror \(EACCES)")
        #expect(out["service name"] as? String == "errno \(EAI_SERVICE)")
        #expect(out["getservbyname"] as? String == "errno None")
        #expect(out["peername"] as? [AnyHashable] == ["0.0.0.0", 0] as [AnyHashable])
        #expect(out["evil"] as? String == "errno \(EAI_NONAME)")
        #expect(privileged.arrivals() == 0)
    }

    @Test func curl() throws {
        let sun = try GreetingServer("127.0.0.2", port: 1025)
        let privileged = try Listener("127.0.0.2", port: 1024)
        defer { sun.stop() }
        let allowed = try underSafesock(pagePolicy, ["/usr/bin/curl", "-sS", "--max-time", "10", "http://www.sun.com:1025/"])
        #expect(allowed.status == 0 && allowed.stdout == "hello\n", "\(allowed)")
        let denied = try underSafesock(pagePolicy, ["/usr/bin/curl", "-sS", "--max-time", "10", "http://www.sun.com:1024/"])
        #expect(denied.status == 7, "\(denied)")
        #expect(denied.stderr.contains("safesock: permission denied for host www.sun.com port 1024 (no rule allows it"))
        let unresolvable = try underSafesock(pagePolicy, ["/usr/bin/curl", "-sS", "--max-time", "10", "http://evil.example:1025/"])
        #expect(unresolvable.status == 6, "\(unresolvable)")
        #expect(privileged.arrivals() == 0)
    }

    /// Every other path to a host: numeric spellings, IPv4-mapped, __connect,
    /// UDP by sendto, sendmsg and sendmmsg, TCP Fast Open, bind and listen.
    @Test func everyCallFamilyIsDecidedByThePolicy() throws {
        let open = try Listener("127.0.0.1"), closed = try Listener("127.0.0.1")
        let policy = """
        section options
            datagrams allow
        section hosts ports
            allow    127.0.0.1  \(open.port)
            allow    127.0.0.1  5353
            allow    *          \(closed.port)
            disallow 127.0.0.1  \(closed.port)

        """
        let probe = "\(testBin)/probe"
        func attempt(_ words: [String]) throws -> String {
            try underSafesock(policy, origin: nil, [probe] + words).stdout
        }
        for host in ["127.0.0.1", "2130706433", "0x7f.1", "0177.0.0.1", "127.1", "::ffff:127.0.0.1"] {
            #expect(try attempt(["connect", host, "\(open.port)"]) == "ok\n", "\(host)")
            #expect(try attempt(["connect", host, "\(closed.port)"]) == "errno \(EACCES)\n", "\(host)")
        }
        #expect(try attempt(["dunder", "127.0.0.1", "\(open.port)"]) == "ok\n")
        #expect(try attempt(["dunder", "::ffff:127.0.0.1", "\(closed.port)"]) == "errno \(EACCES)\n")
        for way in ["udp-sendto", "udp-sendmsg", "udp-sendmmsg"] {
            #expect(try attempt([way, "127.0.0.1", "5353"]) == "ok\n", "\(way)")
            #expect(try attempt([way, "127.0.0.1", "5354"]) == "errno \(EACCES)\n", "\(way)")
            #expect(try attempt([way, "::ffff:127.0.0.1", "5354"]) == "errno \(EACCES)\n", "\(way)")
        }
        #expect(try attempt(["tfo", "127.0.0.1", "\(open.port)"]) == "ok\n")
        #expect(try attempt(["tfo", "127.0.0.1", "\(closed.port)"]) == "errno \(EACCES)\n")
        #expect(closed.arrivals() == 0, "a denied call reached the listener")
        #expect(open.arrivals() > 0)
        #expect(try attempt(["bind", "0"]) == "ok\n")
        #expect(try attempt(["bind", "4444"]) == "errno \(EACCES)\n")
        #expect(try attempt(["listen"]) == "errno \(EACCES)\n")
        let servers = try underSafesock("section options\n    servers allow\n", origin: nil, [probe, "listen"])
        #expect(servers.stdout == "ok\n")
        #expect(try underSafesock("section options\n    servers allow\n", origin: nil, [probe, "bind", "4444"]).stdout == "ok\n")
        let noDatagrams = try underSafesock("section hosts ports\n    allow * *\n", origin: nil, [probe, "udp-sendto", "127.0.0.1", "5353"])
        #expect(noDatagrams.stdout == "errno \(EACCES)\n" && noDatagrams.stderr.contains("(datagrams deny; policy "))
    }

    /// IPv6: a name for ::1 is judged by the name and the address.
    @Test func ipv6ListenerByNameAndAddress() throws {
        let v6 = try GreetingServer("::1"), other = try Listener("::1")
        defer { v6.stop() }
        let policy = "section hosts ports\n    allow v6.example \(v6.port)\n    allow ::1 \(other.port)\n    disallow ::1 \(v6.port)\n"
        let probe = "\(testBin)/probe"
        let byName = try underSafesock(policy, origin: nil, [probe, "connect", "v6.example", "\(v6.port)"])
        #expect(byName.stdout == "errno \(EACCES)\n", "the disallow on ::1 wins over the allow by name: \(byName)")
        #expect(try underSafesock(policy, origin: nil, [probe, "connect", "::1", "\(other.port)"]).stdout == "ok\n")
        #expect(try underSafesock(policy, origin: nil, [probe, "connect", "0:0:0:0:0:0:0:1", "\(other.port)"]).stdout == "ok\n")
        let allowByName = "section hosts ports\n    allow V6.Example. \(v6.port)\n"
        #expect(try underSafesock(allowByName, origin: nil, [probe, "connect", "v6.example", "\(v6.port)"]).stdout == "ok\n")
        #expect(try underSafesock(allowByName, origin: nil, [probe, "connect", "::1", "\(v6.port)"]).stdout == "errno \(EACCES)\n")
        #expect(v6.accepted == 1 && other.arrivals() == 2)
    }

    /// resolve strict refuses a lookup no allow rule could use; resolve open
    /// looks it up and leaves the decision to connect.
    @Test func resolveStrictAndOpen() throws {
        let probe = "\(testBin)/probe"
        let strict = try underSafesock(pagePolicy, [probe, "connect", "mail.example", "25"])
        #expect(strict.stdout == "gai \(EAI_NONAME)\n")
        let open = try underSafesock(pagePolicy + "section options\n    resolve open\n", [probe, "connect", "mail.example", "25"])
        #expect(open.stdout == "errno \(EACCES)\n" && open.stderr.contains("for host mail.example port 25 (no rule allows it"), "\(open)")
        // A name an allow rule could match passes the gate, whatever the port
        // (here the lookup itself then finds nothing).
        let passes = try underSafesock(pagePolicy, [probe, "connect", "x.cs.mysite.edu", "80"])
        #expect(passes.stdout == "gai \(EAI_NONAME)\n" && !passes.stderr.contains("resolve strict"), "\(passes)")
        #expect(strict.stderr.contains("resolve of host mail.example port 25 (resolve strict"))
    }

    @Test func serviceNamesAreRefusedEveryWay() throws {
        let probe = "\(testBin)/probe"
        let byName = try underSafesock(pagePolicy, [probe, "getservbyname", "http"])
        #expect(byName.stdout == "none\n" && byName.stderr.contains("service names are refused, only numeric ports: http"))
        let viaGetaddrinfo = try underSafesock(pagePolicy, [probe, "connect", "www.sun.com", "http"])
        #expect(viaGetaddrinfo.stdout == "gai \(EAI_SERVICE)\n")
        for service in ["80x", "+80", " 80", "65536", ""] {
            #expect(try underSafesock(pagePolicy, [probe, "connect", "www.sun.com", service]).stdout == "gai \(EAI_SERVICE)\n", "'\(service)'")
        }
        // Without the library the same lookups succeed: the refusal is ours.
        #expect(try run(probe, ["getservbyname", "http"]).stdout == "ok 80\n")
        let legacy = try underSafesock(pagePolicy, [probe, "gethostbyname", "evil.example"])
        #expect(legacy.stdout == "h_errno \(HOST_NOT_FOUND)\n")
        #expect(try underSafesock(pagePolicy, [probe, "gethostbyname", "WWW.SUN.COM"]).stdout == "ok 127.0.0.2\n")
    }

    /// A Swift host: Foundation and a task group, connecting in parallel.
    @Test func swiftHostProgram() throws {
        let sun = try GreetingServer("127.0.0.2", port: 1025)
        defer { sun.stop() }
        let r = try underSafesock(pagePolicy, ["\(testBin)/swift_probe", "www.sun.com", "1025", "www.sun.com", "1024",
                                               "evil.example", "1025", "", "1000"])
        #expect(r.status == 0, "\(r)")
        #expect(r.stdout == "[\"ok\",\"errno \(EACCES)\",\"gai \(EAI_NONAME)\",\"errno \(EACCES)\"]\n", "\(r)")
    }

    @Test func sixteenThreadsAndForkedChildren() throws {
        let sun = try GreetingServer("127.0.0.2", port: 1025)
        defer { sun.stop() }
        let probe = "\(testBin)/probe"
        let r = try underSafesock(pagePolicy, [probe, "threads", "16", "www.sun.com", "1025", "www.sun.com", "1024", "25"])
        #expect(r.stdout == "A ok 400 eacces 0 other 0\nB ok 0 eacces 400 other 0\n", "\(r.stdout)")
        // Connections complete in the backlog before the server accepts them.
        #expect(sun.waitForAccepted(400, seconds: 10))
        #expect(try underSafesock(pagePolicy, [probe, "fork", "www.sun.com", "1024"]).stdout == "errno \(EACCES)\n")
        #expect(try underSafesock(pagePolicy, [probe, "fork", "www.sun.com", "1025"]).stdout == "ok\n")
    }

    @Test func auditLogAndLearnMode() throws {
        let sun = try GreetingServer("127.0.0.2", port: 1025)
        defer { sun.stop() }
        let dir = try scratchDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let probe = "\(testBin)/probe"
        let log = "\(dir)/audit.log"
        let r = try underSafesock(pagePolicy, extra: ["--log", log], [probe, "connect", "www.sun.com", "1024"])
        #expect(r.stdout == "errno \(EACCES)\n" && r.stderr.isEmpty, "\(r)")
        let lines = try String(contentsOfFile: log, encoding: .utf8).split(separator: "\n")
        #expect(lines.count == 1)
        let record = try #require(JSONSerialization.jsonObject(with: Data(lines[0].utf8)) as? [String: Any])
        #expect(record["op"] as? String == "connect" && record["host"] as? String == "www.sun.com")
        #expect(record["addr"] as? String == "127.0.0.2" && record["port"] as? Int == 1024)
        #expect(record["verdict"] as? String == "deny" && record["rules"] as? [String] == ["default"])
        #expect(record["program"] as? String == "probe" && (record["pid"] as? Int ?? 0) > 0 && record["time"] is Double)

        let learn = "\(dir)/learn.log"
        let l = try underSafesock(pagePolicy, extra: ["--log", learn, "--learn"], [probe, "connect", "www.sun.com", "1024"])
        #expect(l.stdout == "errno \(ECONNREFUSED)\n", "learn mode denies nothing: \(l)")
        #expect(try underSafesock(pagePolicy, extra: ["--log", learn, "--learn"], [probe, "connect", "www.sun.com", "1025"]).stdout == "ok\n")
        let learned = try String(contentsOfFile: learn, encoding: .utf8).split(separator: "\n").map {
            try #require(JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])
        }
        #expect(learned.map { $0["verdict"] as? String } == ["deny", "allow"])
        #expect(learned.map { $0["mode"] as? String } == ["learn", "learn"])
        #expect(learned.map { $0["port"] as? Int } == [1024, 1025])
    }

    @Test func runReportsAndPassesOn() throws {
        let r = try underSafesock(pagePolicy, ["/bin/sh", "-c", "echo $SAFESOCK_MODE $SAFESOCK_ORIGIN; exit 7"])
        #expect(r.status == 7 && r.stdout == "enforce tclet.example\n")
        let missing = try run(safesockBinary, ["run", "--", "/nonexistent/program"])
        #expect(missing.status == 127 && missing.stderr.contains("cannot run /nonexistent/program"))
        let bad = try run(safesockBinary, ["run", "--policy", "/nonexistent.cfg", "--", "/bin/true"])
        #expect(bad.status == 1 && bad.stderr.contains("nothing was run"))
        #expect(try run(safesockBinary, ["run", "--policy", "a", "--table", "b", "--", "/bin/true"]).status == 2)
        #expect(try run(safesockBinary, ["run"]).status == 2)
        // The built-in default: nothing but the origin, so curl is refused.
        let closed = try inHostsNamespace("/etc/hosts", [safesockBinary, "run", "--", "/usr/bin/curl", "-sS", "http://127.0.0.1:9/"])
        #expect(closed.status == 7 && closed.stderr.contains("permission denied for host 127.0.0.1 port 9 (no rule allows it; policy builtin:default) \u{2014} safesock explain builtin:default 127.0.0.1 9"))
    }

    /// Rules on the command line, enforced: curl reaches what `--allow`
    /// names and nothing else, and a `--deny` wins over the allow and over
    /// a profile; under the library and under `--kernel`, as root and as
    /// an ordinary user. Counted at real listeners.
    @Test(arguments: [(false, RunAs.root), (false, RunAs.nobody), (true, RunAs.root), (true, RunAs.nobody)])
    func rulesOnTheCommandLineAreEnforced(kernel: Bool, user: RunAs) throws {
        let web = try GreetingServer("127.0.0.2"), other = try GreetingServer("127.0.0.5")
        defer { web.stop(); other.stop() }
        let who = user == .nobody ? ["/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"] : []
        let mode = kernel ? ["--kernel"] : []
        func curl(_ rules: [String], _ host: String, _ port: UInt16) throws -> Run {
            withoutProtectionLine(try run(who.first ?? safesockBinary, Array(who.dropFirst()) + (who.isEmpty ? [] : [safesockBinary]) +
                                          ["run"] + mode + rules + ["--", "/usr/bin/curl", "-sS", "--max-time", "10", "http://\(host):\(port)/"]))
        }
        let allowed = try curl(["--allow", "127.0.0.2:\(web.port)"], "127.0.0.2", web.port)
        #expect(allowed.status == 0 && allowed.stdout == "hello\n", "\(allowed)")
        let elsewhere = try curl(["--allow", "127.0.0.2:\(web.port)"], "127.0.0.5", other.port)
        #expect(elsewhere.status == 7 && elsewhere.stderr.contains("127.0.0.5"), "\(elsewhere)")
        let denied = try curl(["--allow", "127.0.0.2:\(web.port)", "--deny", "127.0.0.2"], "127.0.0.2", web.port)
        #expect(denied.status == 7 && denied.stderr.contains("command line:1"), "\(denied)")
        let overProfile = try curl(["--profile", "pypi", "--allow", "127.0.0.2:\(web.port)", "--deny", "127.0.0.2:\(web.port)"],
                                   "127.0.0.2", web.port)
        #expect(overProfile.status == 7, "\(overProfile)")
        #expect(web.accepted == 1 && other.accepted == 0)
    }

    /// The special ranges a name may not lead to, each with a name for it
    /// in the test's hosts file; `public` is the control.
    static let specialNames: [(name: String, address: String)] = [
        ("loop", "127.0.0.9"), ("ten", "10.0.0.1"), ("meta", "169.254.169.254"), ("cgnat", "100.64.0.1"),
        ("nat64", "64:ff9b::a00:1"), ("sixtofour", "2002:a00:1::1"), ("ula", "fd00::1"), ("teredo", "2001:0:1:2::f5ff:fffe"),
        ("mapped", "::ffff:10.0.0.2"), ("public", "1.2.3.4"),
    ]

    /// privateNames: inside a network namespace of the test's own, each
    /// special address (loopback, private, metadata, CGNAT, and IPv4
    /// carried by NAT64, 6to4, Teredo and IPv4-mapped) is on the loopback
    /// with a listener, and an allowed name points at it. Under a policy
    /// of command-line rules (privateNames deny) curl reaches none of them
    /// and does reach the public control; with an address rule for each,
    /// a policy file that does not set the option (the plugin's meaning),
    /// or the name as the origin, it reaches them. Counted at the
    /// listeners; under the library and `--kernel`, as root and as nobody.
    @Test(arguments: [(false, RunAs.root), (false, RunAs.nobody), (true, RunAs.root), (true, RunAs.nobody)])
    func namesNeverReachSpecialAddresses(kernel: Bool, user: RunAs) throws {
        let dir = try scratchDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        chmod(dir, 0o755)
        let port = 8443
        let names = Self.specialNames
        try (["127.0.0.1 localhost"] + names.map { "\($0.address) \($0.name).good.test" }).joined(separator: "\n")
            .appending("\n").write(toFile: "\(dir)/hosts", atomically: true, encoding: .utf8)
        try "section hosts ports\n    allow *.good.test \(port)\n".write(toFile: "\(dir)/plugin.cfg", atomically: true, encoding: .utf8)
        chmod("\(dir)/plugin.cfg", 0o644)
        // The listener's addresses: a mapped address arrives at its IPv4 one.
        let listening = names.map { $0.address.hasPrefix("::ffff:") ? String($0.address.dropFirst(7)) : $0.address }
        let byAddress = names.filter { $0.name != "public" }.map { n -> String in
            n.address.contains(":") && !n.address.hasPrefix("::ffff:") ? "--allow [\(n.address)]:\(port)" : "--allow \(n.address.replacingOccurrences(of: "::ffff:", with: "")):\(port)"
        }.joined(separator: " ")
        let who = user == .nobody ? "setpriv --reuid=65534 --regid=65534 --clear-groups " : ""
        let safesock = "\(who)\(safesockBinary) run \(kernel ? "--kernel " : "")"
        let script = """
        set -e
        ip link set lo up
        \(listening.filter { !$0.contains(":") && !$0.hasPrefix("127.") }.map { "ip addr add \($0)/32 dev lo" }.joined(separator: "\n"))
        \(listening.filter { $0.contains(":") }.map { "ip -6 addr add \($0)/128 dev lo nodad" }.joined(separator: "\n"))
        mount --bind "\(dir)/hosts" /etc/hosts
        /usr/bin/python3.11 "\(packageRoot)/Tests/programs/counting_listener.py" \(port) "\(dir)/counts" \(listening.joined(separator: " ")) > "\(dir)/ready" &
        listener=$!
        for i in $(seq 100); do [ -s "\(dir)/ready" ] && break; sleep 0.1; done
        set +e
        fetch() { phase=$1; name=$2; shift 2; "$@" -- /usr/bin/curl -sS --max-time 10 "http://$name.good.test:\(port)/" > /dev/null 2>> "\(dir)/stderr"; echo "$phase $name $?"; }
        for n in \(names.map(\.name).joined(separator: " ")); do
            fetch names $n \(safesock)--allow '*.good.test:\(port)'
            fetch addressed $n \(safesock)--allow '*.good.test:\(port)' \(byAddress)
            fetch plugin $n \(safesock)--policy "\(dir)/plugin.cfg"
        done
        fetch origin ten \(safesock)--allow '*.good.test:\(port)' --origin ten.good.test
        kill $listener
        cat "\(dir)/counts"
        """
        let r = try run("/usr/bin/unshare", ["-m", "-n", "--", "/bin/sh", "-c", script])
        let stderr = (try? String(contentsOfFile: "\(dir)/stderr", encoding: .utf8)) ?? ""
        var status: [String: String] = [:], counts: [String: Int] = [:]
        for line in r.stdout.split(separator: "\n") {
            let words = line.split(separator: " ").map(String.init)
            if words.count == 3 { status["\(words[0]) \(words[1])"] = words[2] }
            if words.count == 2, let n = Int(words[1]) { counts[words[0]] = n }
        }
        for (n, address) in zip(names, listening) {
            let special = n.name != "public"
            #expect(status["names \(n.name)"] == (special ? "7" : "0"), "\(n.name) under names only: \(r) \(stderr)")
            #expect(status["addressed \(n.name)"] == "0" && status["plugin \(n.name)"] == "0", "\(n.name): \(r) \(stderr)")
            // Arrivals: public 3 (every policy), a special address 2 (not
            // under names alone), and 10.0.0.1 once more as the origin.
            #expect(counts[address] == (special ? (n.name == "ten" ? 3 : 2) : 3), "\(address): \(counts) \(r) \(stderr)")
        }
        #expect(status["origin ten"] == "0", "\(r) \(stderr)")
        #expect(stderr.contains("(privateNames deny: a name led to a cloud metadata address; command line:1 allows the name, not the address; policy --allow '*.good.test:\(port)') \u{2014} safesock explain --allow '*.good.test:\(port)' 169.254.169.254 \(port) --name meta.good.test"), "\(stderr)")
    }

    /// An IPv4-compatible answer (`::127.0.0.1` in the hosts file) is one
    /// host for every part: the library once filed the name under the IPv6
    /// address while its connect judged the folded IPv4 one, so `disallow
    /// evil.test` missed and the address rule let curl through. In a
    /// namespace of the test's own, with a listener at ::127.0.0.1; under
    /// the library and --kernel, root and nobody; explain agrees.
    @Test(arguments: [(false, RunAs.root), (false, RunAs.nobody), (true, RunAs.root), (true, RunAs.nobody)])
    func anIPv4CompatibleAnswerKeepsItsName(kernel: Bool, user: RunAs) throws {
        let dir = try scratchDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        chmod(dir, 0o755)
        // resolve open: the name is looked up though no allow rule names it.
        let policy = "section hosts ports\n    allow 127.0.0.1 9\n    disallow evil.test 9\nsection options\n    resolve open\n"
        try policy.write(toFile: "\(dir)/p.cfg", atomically: true, encoding: .utf8)
        chmod("\(dir)/p.cfg", 0o644)
        try "127.0.0.1 localhost\n::127.0.0.1 evil.test\n".write(toFile: "\(dir)/hosts", atomically: true, encoding: .utf8)
        let explained = try run(safesockBinary, ["explain", "\(dir)/p.cfg", "::127.0.0.1", "9", "--name", "evil.test"])
        #expect(explained.status == 1 && explained.stdout.hasPrefix("deny: 127.0.0.1 port 9"), "\(explained)")
        let who = user == .nobody ? "setpriv --reuid=65534 --regid=65534 --clear-groups " : ""
        let script = """
        set -e
        ip link set lo up
        ip -6 addr add ::127.0.0.1/128 dev lo nodad
        mount --bind "\(dir)/hosts" /etc/hosts
        /usr/bin/python3.11 "\(packageRoot)/Tests/programs/counting_listener.py" 9 "\(dir)/counts" ::127.0.0.1 > "\(dir)/ready" &
        listener=$!
        for i in $(seq 100); do [ -s "\(dir)/ready" ] && break; sleep 0.1; done
        set +e
        \(who)\(safesockBinary) run \(kernel ? "--kernel " : "")--policy "\(dir)/p.cfg" -- /usr/bin/curl -sS --max-time 10 http://evil.test:9/ > /dev/null 2> "\(dir)/stderr"
        echo "curl $?"
        kill $listener
        cat "\(dir)/counts"
        """
        let r = try run("/usr/bin/unshare", ["-m", "-n", "--", "/bin/sh", "-c", script])
        let stderr = (try? String(contentsOfFile: "\(dir)/stderr", encoding: .utf8)) ?? ""
        #expect(r.stdout.contains("curl 7\n") && r.stdout.hasSuffix("::127.0.0.1 0\n"), "\(r) \(stderr)")
        #expect(stderr.contains("disallowed by \(dir)/p.cfg:3"), "\(stderr)")
    }
}
