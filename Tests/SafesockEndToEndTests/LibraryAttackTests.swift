// LibraryAttackTests: what an ordinary program can do around the preload
// library through plain libc calls (issue 15), each tried in a real process
// under the library alone, counting what reaches a denied listener; and
// each tried bare too, to show the attempt does reach it when nothing
// judges it. Run as root and as an ordinary user.

import Foundation
import SafesockABI
import Testing

@Suite(.endToEnd) struct LibraryAttackTests {
    let client = "\(testBin)/client"

    /// `command` bare, in a private mount namespace with the tests' hosts
    /// file and a resolv.conf naming only `nameserver`: the contrast.
    func bare(_ command: [String], nameserver: String) throws -> Run {
        let dir = try scratchDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try testHosts.write(toFile: "\(dir)/hosts", atomically: true, encoding: .utf8)
        try "nameserver \(nameserver)\noptions timeout:1 attempts:1\n".write(toFile: "\(dir)/resolv.conf", atomically: true, encoding: .utf8)
        return try inHostsNamespace("\(dir)/hosts", resolvConf: "\(dir)/resolv.conf", command)
    }

    /// `command` under the library (`policy`), or bare with nil, while a
    /// stub nameserver at `nameserver` answers `answers`.
    func withStub(_ policy: String?, as user: RunAs = .root, _ command: [String], answers: [String: String],
                  nameserver: String) throws -> Run {
        let dns = try DNSStub(nameserver, answers: answers)
        defer { _ = dns.stop() }
        guard let policy else { return try bare(command, nameserver: nameserver) }
        return try underSafesock(policy, origin: nil, as: user, command, nameserver: nameserver)
    }

    /// A stub nameserver's address of its own for each user's case (the
    /// two run at once).
    func stubAddress(_ base: Int, _ user: RunAs) -> String { "127.0.0.\(user == .root ? base : base + 20)" }

    /// Under the library, safesock and the command run as `user`, in a private mount
    /// namespace with the tests' hosts file.
    func underLibrary(_ policy: String, as user: RunAs, _ command: [String]) throws -> Run {
        return try underSafesock(policy, origin: nil, as: user, command)
    }

    /// A send's name with the family AF_UNSPEC and an address set: Linux's
    /// udp_sendmsg reads it as AF_INET and sends there. The library once
    /// passed it as "no inet host", under `datagrams deny`, and under
    /// `datagrams allow` to a host no rule allows.
    @Test(arguments: RunAs.allCases, [false, true])
    func anUnspecifiedFamilyWithAnAddressIsJudged(user: RunAs, datagrams: Bool) throws {
        let udp = try DatagramListener("127.0.0.2")
        let options = datagrams ? "section options\n    datagrams allow\n" : ""
        let policy = options + "section hosts ports\n    allow 127.0.0.3 \(udp.port)\n"
        let kinds = ["sendto", "sendmsg", "sendmmsg"]
        for kind in kinds {
            let r = try underLibrary(policy, as: user, [client, "unspec-send-libc", kind, "127.0.0.2", "\(udp.port)"])
            #expect(r.stdout.hasPrefix("errno \(EACCES)"), "\(kind): \(r)")
        }
        // And on a raw socket (raw_sendmsg reads it as AF_INET too); an
        // ordinary user gets no raw socket at all.
        let raw = try underLibrary(policy, as: user, [client, "unspec-raw-libc", "127.0.0.2", "\(udp.port)"])
        #expect(raw.stdout == (user == .root ? "errno \(EACCES)\n" : "errno \(EPERM)\n"), "raw: \(raw)")
        #expect(udp.arrivals() == 0)
        // Bare, each one arrives.
        for kind in kinds { _ = try run(client, ["unspec-send-libc", kind, "127.0.0.2", "\(udp.port)"]) }
        _ = try run(client, ["unspec-raw-libc", "127.0.0.2", "\(udp.port)"])
        #expect(udp.arrivals() >= kinds.count + 1)
    }

    /// The same name allowed: sent, from the copy judged.
    @Test func anUnspecifiedFamilyToAnAllowedHostIsSent() throws {
        let udp = try DatagramListener("127.0.0.2")
        let policy = "section options\n    datagrams allow\nsection hosts ports\n    allow 127.0.0.2 \(udp.port)\n"
        let r = try underLibrary(policy, as: .root, [client, "unspec-send-libc", "sendto", "127.0.0.2", "\(udp.port)"])
        #expect(r.stdout.hasPrefix("ok"), "\(r)")
        #expect(udp.arrivals() == 1)
    }

    /// A second thread flips the caller's sockaddr between AF_UNIX and
    /// AF_INET while the first connects: the library judged the family it
    /// read, and libc read the caller's memory again (2,635 of 40,000
    /// reached the denied host). Now the family is read from the copy,
    /// and the copy is what libc gets.
    @Test(arguments: RunAs.allCases)
    func aFamilyFlippedAfterTheCheckReachesNothing(user: RunAs) throws {
        let denied = try Listener("127.0.0.2")
        let policy = "section hosts ports\n    allow 127.0.0.3 \(denied.port)\n"
        var arrived = 0
        for _ in 0..<8 {
            let r = try underLibrary(policy, as: user, [client, "family-race", "127.0.0.2", "\(denied.port)", "400"])
            #expect(r.stdout == "reached 0\n", "\(r)")
            arrived += denied.arrivals()
        }
        #expect(arrived == 0)
        // Bare, connects get through (the family is AF_INET half the time);
        // up to five runs, on loaded cores.
        var bare = 0
        for _ in 0..<5 where bare == 0 {
            _ = try run(client, ["family-race", "127.0.0.2", "\(denied.port)", "200"])
            bare += denied.arrivals()
        }
        #expect(bare > 0)
    }

    /// The exec family, posix_spawn, system and popen from a thread with a
    /// 16 KiB stack and from a handler on a SIGSTKSZ alternate stack: the
    /// wrappers once put 48 KiB of arrays on the stack and the program died
    /// of SIGSEGV where, bare, it works. Now they take what the call needs.
    @Test(arguments: ["thread", "signal"])
    func theExecWrappersRunOnASmallStack(where place: String) throws {
        let policy = "section hosts ports\n    allow 127.0.0.2 80\n"
        var results: [String] = []
        for call in ["execv", "execl", "execle", "execvp", "posix_spawn", "system", "popen"] {
            let program = ["execv", "execl", "execle", "execvp"].contains(call) ? ["/bin/echo", "ok"] : ["/bin/true"]
            let r = try underLibrary(policy, as: .nobody, ["\(testBin)/probe", "small-stack", place, call] + program)
            results.append("\(call): \(r.stdout.trimmingCharacters(in: .newlines)) \(r.status)")
            let bare = try run("\(testBin)/probe", ["small-stack", place, call] + program)
            #expect(bare.stdout == "ok\n", "bare \(call): \(bare)")
        }
        #expect(results.allSatisfy { $0.hasSuffix(": ok 0") }, "\(results)")
    }

    /// `maxSockets` counts a TCP socket connected by a Fast Open send as
    /// it counts a connect: 6 of 6 once connected under a limit of 2.
    @Test(arguments: RunAs.allCases)
    func fastOpenSendsCountForMaxSockets(user: RunAs) throws {
        let web = try Listener("127.0.0.2")
        let policy = "section options\n    maxSockets 2\nsection hosts ports\n    allow 127.0.0.2 \(web.port)\n"
        let r = try underLibrary(policy, as: user, ["\(testBin)/probe", "tfo-many", "127.0.0.2", "\(web.port)", "6"])
        #expect(r.stdout == "connected 2\n", "\(r)")
        #expect(r.stderr.contains("maxSockets 2"), "\(r)")
        #expect(web.arrivals() == 2)
        let bare = try run("\(testBin)/probe", ["tfo-many", "127.0.0.2", "\(web.port)", "6"])
        #expect(bare.stdout == "connected 6\n", "\(bare)")
    }

    /// A blocking connect cut off by a signal fails with EINTR while the
    /// kernel goes on connecting: it keeps its place under `maxSockets`,
    /// so a second connect under a limit of 1 is refused (it was let
    /// through when EINTR gave the place back). A Fast Open send the same.
    @Test(arguments: RunAs.allCases, [false, true])
    func anInterruptedConnectKeepsItsPlace(user: RunAs, fastOpen: Bool) throws {
        let web = try Listener("127.0.0.2")
        let policy = "section options\n    maxSockets 1\nsection hosts ports\n    allow 127.0.0.2 *\n"
        let probe = ["interrupted-connect", "127.0.0.2", "\(web.port)"] + (fastOpen ? ["tfo"] : [])
        let r = try underLibrary(policy, as: user, ["\(testBin)/probe"] + probe)
        #expect(r.stdout == "first errno \(EINTR)\nsecond errno \(EMFILE)\n", "\(r)")
        #expect(r.stderr.contains("maxSockets 1"), "\(r)")
        #expect(web.arrivals() == 0)
        // Bare, the second connect arrives.
        let bare = try run("\(testBin)/probe", probe)
        #expect(bare.stdout == "first errno \(EINTR)\nsecond ok 0\n", "\(bare)")
        #expect(web.arrivals() == 1)
    }

    /// glibc's resolver reads escapes in a name: `e\\118il.example.test`
    /// was judged as written while glibc asked the nameserver for
    /// `evil.example.test`, which a disallow rule names. Now a name with a
    /// backslash is refused, and no query leaves.
    @Test(arguments: RunAs.allCases)
    func anEscapedNameIsNotAskedAbout(user: RunAs) throws {
        let stub = stubAddress(40, user)
        let policy = "section hosts ports\n    allow *.example.test 80\n    disallow evil.example.test *\n"
        let name = "e\\118il.example.test"
        let dns = try DNSStub(stub, answers: ["evil.example.test": "127.0.0.5"])
        let r = try underSafesock(policy, origin: nil, as: user, ["\(testBin)/probe", "connect", name, "80"], nameserver: stub)
        let asked = dns.stop()
        #expect(r.stdout.hasPrefix("gai "), "\(r)")
        #expect(r.stderr.contains("a name with a backslash"), "\(r)")
        #expect(asked == 0)
        // Bare, glibc asks for evil.example.test.
        let counting = try DNSStub(stub, answers: ["evil.example.test": "127.0.0.5"])
        _ = try bare(["\(testBin)/probe", "connect", name, "80"], nameserver: stub)
        #expect(counting.stop() >= 1)
    }

    /// A numeric string given to getservbyname (nc and ssh do this with the
    /// port's text) is no service name: answered as glibc answers it, with
    /// no denial line. A real service name is still refused.
    @Test func aNumericServiceIsNoServiceName() throws {
        let policy = "section hosts ports\n    allow 127.0.0.2 80\n"
        let numeric = try underLibrary(policy, as: .root, ["\(testBin)/probe", "getservbyname", "7000"])
        let bare = try run("\(testBin)/probe", ["getservbyname", "7000"])
        #expect(numeric.stdout == bare.stdout, "\(numeric)")
        #expect(!numeric.stderr.contains("service names are refused"), "\(numeric)")
        let named = try underLibrary(policy, as: .root, ["\(testBin)/probe", "getservbyname", "http"])
        #expect(named.stderr.contains("service names are refused, only numeric ports: http"), "\(named)")
    }

    /// Under `resolve strict` a reverse lookup is a PTR query carrying 32
    /// or 128 bits the program chooses: getnameinfo and gethostbyaddr sent
    /// them to the nameserver. Now they are answered from the names the
    /// program looked up and the hosts file, and no query leaves; under
    /// `resolve open` libc asks as bare.
    @Test(arguments: RunAs.allCases)
    func reverseLookupsAskNoNameserverUnderResolveStrict(user: RunAs) throws {
        let stub = stubAddress(45, user)
        let policy = "section hosts ports\n    allow www.sun.com 80\n"
        let probe = "\(testBin)/probe"
        let dns = try DNSStub(stub, answers: [:])
        let numeric = try underSafesock(policy, origin: nil, as: user, [probe, "getnameinfo", "10.1.2.3"], nameserver: stub)
        let required = try underSafesock(policy, origin: nil, as: user, [probe, "getnameinfo", "10.1.2.3", "namereqd"], nameserver: stub)
        let byAddress = try underSafesock(policy, origin: nil, as: user, [probe, "gethostbyaddr", "10.1.2.4"], nameserver: stub)
        let remembered = try underSafesock(policy, origin: nil, as: user, [probe, "reverse-after", "www.sun.com"], nameserver: stub)
        let hostsFile = try underSafesock(policy, origin: nil, as: user, [probe, "gethostbyaddr", "127.0.0.4"], nameserver: stub)
        let asked = dns.stop()
        #expect(numeric.stdout == "name 10.1.2.3\n", "\(numeric)")
        #expect(required.stdout.hasPrefix("gai "), "\(required)")
        #expect(required.stderr.contains("resolve strict: a reverse lookup"), "\(required)")
        #expect(byAddress.stdout.hasPrefix("h_errno "), "\(byAddress)")
        #expect(remembered.stdout == "name www.sun.com\n", "\(remembered)")
        #expect(hostsFile.stdout == "name tclet.example\n", "\(hostsFile)")
        #expect(asked == 0, "no PTR query left: \(asked)")
        // resolve open, and bare: libc asks the nameserver.
        let open = try DNSStub(stub, answers: [:])
        _ = try underSafesock("section options\n    resolve open\n" + policy, origin: nil, as: user, [probe, "gethostbyaddr", "10.1.2.4"],
                              nameserver: stub)
        #expect(open.stop() >= 1)
    }

    /// `0xdeadbeef` is an address to inet_aton and getaddrinfo, and a name
    /// to gethostbyname, which asks DNS for it: the library called it
    /// numeric and let the query leave under `resolve strict`. Now a name
    /// is numeric only if the call being made reads it so.
    @Test(arguments: RunAs.allCases)
    func aNameIsNumericOnlyIfTheCallReadsItSo(user: RunAs) throws {
        let stub = stubAddress(46, user)
        let policy = "section hosts ports\n    allow www.sun.com 80\n"
        let dns = try DNSStub(stub, answers: [:])
        let r = try underSafesock(policy, origin: nil, as: user, ["\(testBin)/probe", "gethostbyname", "0xdeadbeef"], nameserver: stub)
        let numeric = try underSafesock(policy, origin: nil, as: user, ["\(testBin)/probe", "gethostbyname", "127.0.0.2"], nameserver: stub)
        let asked = dns.stop()
        #expect(r.stdout.hasPrefix("h_errno "), "\(r)")
        #expect(r.stderr.contains("resolve strict"), "\(r)")
        #expect(numeric.stdout == "ok 127.0.0.2\n", "\(numeric)")
        #expect(asked == 0)
        // Bare, glibc asks the nameserver.
        let counting = try DNSStub(stub, answers: [:])
        _ = try bare(["\(testBin)/probe", "gethostbyname", "0xdeadbeef"], nameserver: stub)
        #expect(counting.stop() >= 1)
    }

    /// Go programs and static binaries run under the library alone were
    /// not told apart: a Go client reached the denied listener with no
    /// word. Now `safesock run`, and the library at each exec, say in one
    /// line that the library cannot see the program and name `--kernel`;
    /// under `--kernel` (which holds them) nothing is said.
    @Test func programsTheLibraryCannotSeeAreNamed() throws {
        let policy = "section hosts ports\n    allow 127.0.0.2 80\n"
        let go = try underLibrary(policy, as: .root, ["\(testBin)/go_client", "dial", "127.0.0.9", "1"])
        #expect(go.stderr.contains("go_client is a Go program") && go.stderr.contains("safesock run --kernel"), "\(go)")
        let direct = try underLibrary(policy, as: .root, ["\(testBin)/static_client", "uring"])
        #expect(direct.stderr.contains("static_client is statically linked"), "\(direct)")
        // Started by a program under the library: its exec wrapper says it.
        let child = try underLibrary(policy, as: .nobody, ["/bin/sh", "-c", "\(testBin)/static_client uring"])
        #expect(child.stderr.contains("static_client is statically linked"), "\(child)")
        let spawned = try underLibrary(policy, as: .root, ["/usr/bin/env", "\(testBin)/go_client", "dial", "127.0.0.9", "1"])
        #expect(spawned.stderr.contains("go_client is a Go program"), "\(spawned)")
        let dynamic = try underLibrary(policy, as: .root, ["/bin/sh", "-c", "/bin/true"])
        #expect(!dynamic.stderr.contains("warning"), "\(dynamic)")
        let held = try underKernel(policy, as: .root, ["/bin/sh", "-c", "\(testBin)/static_client uring"])
        #expect(!held.stderr.contains("warning"), "\(held)")
    }

    /// A program that sets LOCALDOMAIN and RES_OPTIONS=ndots:5 makes glibc
    /// ask for `x.good.test.attacker.example` first, where the library
    /// judged `x.good.test`: the answer was remembered under the judged
    /// name and the connect to the attacker's address allowed. Now, once
    /// the program changed the resolver's environment, every lookup is made
    /// for the judged name itself (absolute).
    @Test(arguments: RunAs.allCases)
    func aSearchListTheProgramSetsAsksForNoOtherName(user: RunAs) throws {
        let stub = stubAddress(47, user)
        let good = try Listener("127.0.0.2"), evil = try Listener("127.0.0.5", port: good.port)
        let policy = "section hosts ports\n    allow *.good.test \(good.port)\n"
        let script = """
            import os, socket
            os.environ["LOCALDOMAIN"] = "attacker.example"
            os.environ["RES_OPTIONS"] = "ndots:5"
            family, kind, proto, _, address = socket.getaddrinfo("x.good.test", \(good.port), socket.AF_INET, socket.SOCK_STREAM)[0]
            socket.create_connection(address, timeout=5).close()
            print("connected", address[0])
            """
        let answers = ["x.good.test": "127.0.0.2", "x.good.test.attacker.example": "127.0.0.5"]
        let r = try withStub(policy, as: user, ["/usr/bin/python3.11", "-c", script], answers: answers, nameserver: stub)
        #expect(r.stdout == "connected 127.0.0.2\n", "\(r)")
        #expect(evil.arrivals() == 0 && good.arrivals() == 1)
        // Bare, glibc asks for the attacker's name first and connects there.
        let unjudged = try withStub(nil, ["/usr/bin/python3.11", "-c", script], answers: answers, nameserver: stub)
        #expect(unjudged.stdout == "connected 127.0.0.5\n", "\(unjudged)")
        #expect(evil.arrivals() == 1)
    }

    /// Every name the program looked up for an address counts, and a name
    /// a disallow rule needs is never forgotten: the library once read only
    /// three names an address (a fourth, disallowed, was ignored) and let
    /// eight others push a disallowed name out. When the memory cannot keep
    /// such a name, its lookup fails.
    @Test(arguments: RunAs.allCases)
    func everyRememberedNameCountsAndDisallowedOnesStay(user: RunAs) throws {
        let stub = stubAddress(48, user)
        let evil = try Listener("127.0.0.5")
        let policy = "section hosts ports\n    allow *.test \(evil.port)\n    allow 127.0.0.5 \(evil.port)\n    disallow *.evil.test *\n"
        let script = """
            import socket, sys
            for name in sys.argv[1:]:
                try:
                    socket.getaddrinfo(name, \(evil.port), socket.AF_INET, socket.SOCK_STREAM)
                except socket.gaierror as e:
                    print("lookup", name, "failed")
            try:
                socket.create_connection(("127.0.0.5", \(evil.port)), timeout=3).close()
                print("connected")
            except OSError as e:
                print("refused", e.errno)
            """
        var answers: [String: String] = [:]
        for name in ["a", "b", "c", "d", "e", "f", "g", "h", "i"] { answers["\(name).plain.test"] = "127.0.0.5" }
        for k in 1...9 { answers["\(k).evil.test"] = "127.0.0.5" }
        let fourth = ["a.plain.test", "b.plain.test", "c.plain.test", "1.evil.test"]
        let pushed = ["1.evil.test"] + ["a", "b", "c", "d", "e", "f", "g", "h", "i"].map { "\($0).plain.test" }
        let full = (1...9).map { "\($0).evil.test" }
        var results: [String] = []
        for names in [fourth, pushed, full] {
            let dns = try DNSStub(stub, answers: answers)
            let r = try underSafesock(policy, origin: nil, as: user, ["/usr/bin/python3.11", "-c", script] + names, nameserver: stub)
            _ = dns.stop()
            results.append(r.stdout)
            #expect(r.stdout.hasSuffix("refused 13\n"), "\(names): \(r)")
        }
        #expect(results[2].contains("lookup 9.evil.test failed"), "\(results[2])")
        #expect(evil.arrivals() == 0)
        // Bare, each connect arrives.
        let dns = try DNSStub(stub, answers: answers)
        let unjudged = try bare(["/usr/bin/python3.11", "-c", script] + fourth, nameserver: stub)
        _ = dns.stop()
        #expect(unjudged.stdout == "connected\n", "\(unjudged)")
        #expect(evil.arrivals() == 1)
    }

    /// A block of a table damaged where its sums were not repaired (a
    /// half-written file, a writer outside the publication protocol). A
    /// publication's table the library loads (its header and block sums
    /// are sound), checks each block at the first decision that reads it,
    /// and denies every connect that needs the damaged one, saying the
    /// table is corrupt, while the rest of the policy holds. A file's it
    /// checks whole at the first decision: fail closed, saying why.
    @Test(arguments: RunAs.allCases)
    func aDamagedBlockDeniesWhatNeedsItAndNothingElse(user: RunAs) throws {
        let other = try Listener("127.0.0.2"), needs = try Listener("127.0.0.3")
        let dir = try scratchDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        chmod(dir, 0o755)
        func probe(_ arguments: [String], table: String) throws -> Run {
            try probeAs(user, arguments, env: ["LD_PRELOAD": libraryPath, "SAFESOCK_TABLE": table])
        }
        let filler = (0..<3000).map { "    allow 10.\($0 >> 8 & 255).\($0 & 255).1 80\n" }.joined()
        // The damaged rule first (its record in the first block, which the
        // other destination's decision never reads).
        let text = "section hosts ports\n    allow 127.0.0.3 \(needs.port)\n" + filler + "    allow 127.0.0.2 \(other.port)\n"
        let path = try tableFile(text, in: dir)
        var table = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        func u32(_ at: Int) -> Int { Int(table[at]) | Int(table[at + 1]) << 8 | Int(table[at + 2]) << 16 | Int(table[at + 3]) << 24 }
        let damage = u32(56) + 8 // the first rule's line
        table[damage] ^= 1
        try Data(table).write(to: URL(fileURLWithPath: path))
        chmod(path, 0o644)
        let corrupt = "table corrupt: a block does not match its sum"

        for port in [other.port, needs.port] {
            let file = try probe(["connect", "127.0.0.\(port == other.port ? 2 : 3)", "\(port)"], table: path)
            #expect(file.stdout == "errno \(EACCES)\n" && file.stderr.contains("a block of the table does not match its sum (corrupt)")
                    && file.stderr.contains("every network connection is denied"), "\(file)")
        }

        // The same table published, then its object written behind the
        // publisher's back (the library reads it at its first decision).
        let name = "attack-block-\(user)-\(getpid())"
        let policy = "\(dir)/published.cfg"
        try text.write(toFile: policy, atomically: true, encoding: .utf8)
        defer { shm_unlink("/safesock.\(name)") }
        let reload = try run(safesockBinary, ["reload", name, policy])
        try #require(reload.status == 0, "\(reload)")
        var error = [CChar](repeating: 0, count: 256)
        let reader = safesock_pub_open_reader(name, &error, error.count)
        try #require(reader >= 0)
        var active = safesock_pub_active()
        try #require(safesock_pub_look(reader, &active) == 0)
        close(reader)
        let object = open("/dev/shm/safesock.\(name)", O_RDWR)
        try #require(object >= 0)
        var byte: UInt8 = 0
        try #require(pread(object, &byte, 1, off_t(active.offset) + off_t(damage)) == 1)
        byte ^= 1
        try #require(pwrite(object, &byte, 1, off_t(active.offset) + off_t(damage)) == 1)
        close(object)
        let pubGood = try probe(["connect", "127.0.0.2", "\(other.port)"], table: name)
        #expect(pubGood.stdout == "ok\n" && pubGood.stderr.isEmpty, "\(pubGood)")
        let pubBad = try probe(["connect", "127.0.0.3", "\(needs.port)"], table: name)
        #expect(pubBad.stdout == "errno \(EACCES)\n" && pubBad.stderr.contains(corrupt), "\(pubBad)")

        #expect(other.arrivals() == 1, "the publication's other destination, only")
        #expect(needs.arrivals() == 0, "a connect that needed the damaged block reached the listener")
    }

    /// A publication's blocks are read into the program at the first
    /// decision that needs each, not all at once: a program that can
    /// write the object flips a byte of a block it has not read yet (a
    /// disallow rule's action, to allow) after its first connect. The
    /// block is summed against the sums read with the table's header:
    /// the connect that needs it is denied as corrupt, and nothing
    /// reaches the listener the rule denied. (With the block taken
    /// unsummed, the flipped rule allowed it.)
    @Test(arguments: RunAs.allCases)
    func aBlockRewrittenAfterTheTableWasReadInIsRefused(user: RunAs) throws {
        let other = try Listener("127.0.0.2"), denied = try Listener("127.0.0.3")
        let dir = try scratchDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        chmod(dir, 0o755)
        let filler = (0..<3000).map { "    allow 10.\($0 >> 8 & 255).\($0 & 255).1 80\n" }.joined()
        // The disallow first: its record in the rules' first block, which
        // the first connect's decision never reads.
        let text = "section hosts ports\n    disallow 127.0.0.3 \(denied.port)\n" + filler + "    allow 127.0.0.2 \(other.port)\n"
        let name = "attack-fetch-\(user)-\(getpid())"
        let policy = "\(dir)/published.cfg"
        try text.write(toFile: policy, atomically: true, encoding: .utf8)
        defer { shm_unlink("/safesock.\(name)") }
        let reload = try run(safesockBinary, ["reload", name, policy])
        try #require(reload.status == 0, "\(reload)")
        chmod("/dev/shm/safesock.\(name)", 0o666) // the program can write it
        var error = [CChar](repeating: 0, count: 256)
        let reader = safesock_pub_open_reader(name, &error, error.count)
        try #require(reader >= 0)
        defer { close(reader) }
        var active = safesock_pub_active()
        try #require(safesock_pub_look(reader, &active) == 0)
        var field = [UInt8](repeating: 0, count: 4)
        try #require(pread(reader, &field, 4, off_t(active.offset) + 56) == 4) // the rules' offset
        let rules = Int(field[0]) | Int(field[1]) << 8 | Int(field[2]) << 16 | Int(field[3]) << 24
        var action: UInt8 = 0
        try #require(pread(reader, &action, 1, off_t(active.offset) + off_t(rules)) == 1 && action == 1, "rule 0 is the disallow")
        let r = try probeAs(user, ["rewrite-between", "127.0.0.2", "\(other.port)", "127.0.0.3", "\(denied.port)"],
                            env: ["LD_PRELOAD": libraryPath, "SAFESOCK_TABLE": name, "PROBE_REWRITE_AT": "\(Int(active.offset) + rules)"])
        #expect(r.stdout == "ok\nerrno \(EACCES)\n" && r.stderr.contains("table corrupt: a block does not match its sum"), "\(r)")
        try #require(pread(reader, &action, 1, off_t(active.offset) + off_t(rules)) == 1 && action == 0, "the probe flipped the rule")
        #expect(other.arrivals() == 1)
        #expect(denied.arrivals() == 0, "a rule rewritten behind the publisher's back was decided on")
    }

    /// A table file truncated under a running program killed it with
    /// SIGBUS at its next connect. The library now reads the file once, at
    /// load, into sealed memory (a memfd no one can shrink, grow or write):
    /// the program goes on with the policy it started with.
    @Test func aTableTruncatedUnderTheProgramKillsNothing() throws {
        let web = try Listener("127.0.0.2"), other = try Listener("127.0.0.2")
        let dir = try scratchDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let table = try tableFile("section hosts ports\n    allow 127.0.0.2 \(web.port)\n", in: dir)
        let r = try SafesockEndToEndTests.client(["truncate-table", "127.0.0.2", "\(web.port)"], table: table)
        #expect(r.status == 0 && r.stdout == "ok\nok\n", "\(r)")
        let denied = try tableFile("section hosts ports\n    allow 127.0.0.2 \(web.port)\n", in: dir, name: "again.cfg")
        let d = try SafesockEndToEndTests.client(["truncate-table", "127.0.0.2", "\(other.port)"], table: denied)
        #expect(d.status == 0 && d.stdout == "errno \(EACCES)\nerrno \(EACCES)\n", "\(d)")
        #expect(web.arrivals() == 2 && other.arrivals() == 0)
    }

    /// The same with a table of more than a megabyte (60,000 rules), which
    /// the library mapped as the file itself: truncated, it killed the
    /// program. Copied whatever its size, it stands.
    @Test func aLargeTableTruncatedUnderTheProgramKillsNothing() throws {
        let web = try Listener("127.0.0.2"), other = try Listener("127.0.0.2")
        let dir = try scratchDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let many = (0..<60_000).map { "    allow 10.\($0 >> 8 & 255).\($0 & 255).1 80\n" }.joined()
        let table = try tableFile("section hosts ports\n    allow 127.0.0.2 \(web.port)\n" + many, in: dir)
        var st = stat()
        try #require(stat(table, &st) == 0 && st.st_size > 1 << 20, "the table is \(st.st_size) bytes")
        let r = try SafesockEndToEndTests.client(["truncate-table", "127.0.0.2", "\(web.port)"], table: table)
        #expect(r.status == 0 && r.stdout == "ok\nok\n", "\(r)")
        let big = try tableFile("section hosts ports\n    allow 127.0.0.2 \(web.port)\n" + many, in: dir, name: "again.cfg")
        let d = try SafesockEndToEndTests.client(["truncate-table", "127.0.0.2", "\(other.port)"], table: big)
        #expect(d.status == 0 && d.stdout == "errno \(EACCES)\nerrno \(EACCES)\n", "\(d)")
        #expect(web.arrivals() == 2 && other.arrivals() == 0)
    }

    /// A publication truncated under a running program killed it with
    /// SIGBUS (the library mapped the object). Now the library reads it
    /// with pread into copies of its own: truncated to nothing, the next
    /// connect is refused with one line saying why; truncated to its
    /// control page alone, the table the control still names stands. The
    /// program runs on in both, and nothing reaches a denied listener.
    @Test func aPublicationTruncatedUnderTheProgramFailsClosed() throws {
        let web = try Listener("127.0.0.2"), other = try Listener("127.0.0.2")
        let dir = try scratchDirectory()
        let name = "attack-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        defer { try? FileManager.default.removeItem(atPath: dir); unlink("/dev/shm/safesock.\(name)") }
        try "section hosts ports\n    allow 127.0.0.2 \(web.port)\n".write(toFile: "\(dir)/p.cfg", atomically: true, encoding: .utf8)
        for (size, second) in [(0, "errno \(EACCES)"), (4096, "ok")] {
            let published = try run(safesockBinary, ["reload", name, "\(dir)/p.cfg"])
            try #require(published.status == 0, "\(published)")
            let r = try SafesockEndToEndTests.client(["truncate-table", "127.0.0.2", "\(web.port)"], table: name,
                                                 env: ["PROBE_TRUNCATE_TO": "\(size)"])
            #expect(r.status == 0 && r.stdout == "ok\n\(second)\n", "size \(size): \(r)")
            if size == 0 { #expect(r.stderr.contains("publication"), "size \(size): \(r)") }
            let d = try SafesockEndToEndTests.client(["truncate-table", "127.0.0.2", "\(other.port)"], table: name,
                                                 env: ["PROBE_TRUNCATE_TO": "\(size)"])
            #expect(d.status == 0 && d.stdout.hasPrefix("errno"), "size \(size): \(d)")
            unlink("/dev/shm/safesock.\(name)")
        }
        #expect(web.arrivals() == 3 && other.arrivals() == 0)
    }

    /// `run` shares one sealed copy of the table with every program it
    /// starts (SAFESOCK_TABLE_FD): the library maps it rather than making
    /// a copy of its own. A program that puts something else at that
    /// number (here, a permissive table, as an ordinary file) gains
    /// nothing: what is not a sealed memfd of the same table is ignored,
    /// the table file is copied, and the denied listener counts nothing.
    @Test func theSharedTableIsMappedAndAReplacedOneIsIgnored() throws {
        let web = try GreetingServer("127.0.0.2"), other = try GreetingServer("127.0.0.2")
        defer { web.stop(); other.stop() }
        let dir = try scratchDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        chmod(dir, 0o755)
        let policy = "section hosts ports\n    allow 127.0.0.2 \(web.port)\n"
        try policy.write(toFile: "\(dir)/p.cfg", atomically: true, encoding: .utf8)
        let open = try tableFile("section hosts ports\n    allow * *\n", in: dir, name: "open.cfg")
        let shared = try run(safesockBinary, ["run", "--policy", "\(dir)/p.cfg", "--", "/bin/sh", "-c",
                                              "stat -L -c %i /proc/$$/fd/100; grep safesock-table /proc/$$/maps"])
        let lines = shared.stdout.split(separator: "\n").map(String.init)
        try #require(shared.status == 0 && lines.count >= 2, "\(shared)")
        let inode = lines[0]
        #expect(lines.dropFirst().allSatisfy { $0.split(separator: " ", omittingEmptySubsequences: true)[4] == inode },
                "every mapping of a table is the shared memfd's: \(shared.stdout)")
        let url = "http://127.0.0.2:\(other.port)/"
        let replaced = try run(safesockBinary, ["run", "--policy", "\(dir)/p.cfg", "--", "/bin/bash", "-c",
                                                "exec 100<\(open); exec /usr/bin/curl -sS --max-time 10 \(url)"])
        #expect(replaced.status == 7 && replaced.stderr.contains("permission denied"), "\(replaced)")
        let allowed = try run(safesockBinary, ["run", "--policy", "\(dir)/p.cfg", "--", "/usr/bin/curl", "-sS", "--max-time", "10",
                                               "http://127.0.0.2:\(web.port)/"])
        #expect(allowed.status == 0 && allowed.stdout == "hello\n", "\(allowed)")
        #expect(other.accepted == 0 && web.accepted == 1)
    }

    /// `safesock reload` onto a publication someone truncated wrote past
    /// its own mapping (SIGBUS in the CLI). Now it grows a region it can
    /// write, or says why it cannot; it never dies of a signal.
    @Test func aReloadOntoATruncatedPublicationSaysWhy() throws {
        let dir = try scratchDirectory()
        let name = "attack-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        defer { try? FileManager.default.removeItem(atPath: dir); unlink("/dev/shm/safesock.\(name)") }
        try "section hosts ports\n    allow 127.0.0.2 80\n".write(toFile: "\(dir)/p.cfg", atomically: true, encoding: .utf8)
        let first = try run(safesockBinary, ["reload", name, "\(dir)/p.cfg"])
        try #require(first.status == 0, "\(first)")
        for size in [4096, 8192, 70000] {
            #expect(truncate("/dev/shm/safesock.\(name)", off_t(size)) == 0)
            let again = try run(safesockBinary, ["reload", name, "\(dir)/p.cfg"])
            #expect(again.status == 0 || (again.status == 1 && !again.stderr.isEmpty), "size \(size): \(again)")
        }
    }

    /// What stays out of the library's sight (docs/enforcement.md, "What it
    /// cannot see"): libc's own internal connects (rexec), a connect taken
    /// from a dlopen'ed libc, a setuid program and a file-capability one
    /// (ld.so drops LD_PRELOAD for both).
    /// Each reaches the denied listener under the library alone, and
    /// nothing under `run --kernel`, as root and as an ordinary user.
    @Test func whatTheLibraryCannotSeeTheKernelHolds() throws {
        let denied = try Listener("127.0.0.2")
        let policy = "section hosts ports\n    allow 127.0.0.3 \(denied.port)\n"
        let dir = try scratchDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        chmod(dir, 0o755)
        let setuid = "\(dir)/probe-setuid"
        try FileManager.default.copyItem(atPath: "\(testBin)/probe", toPath: setuid)
        try #require(chown(setuid, 0, 0) == 0 && chmod(setuid, 0o4755) == 0)
        // A file capability (no setuid bit) puts ld.so in secure mode too.
        let capable = "\(dir)/probe-capable"
        try FileManager.default.copyItem(atPath: "\(testBin)/probe", toPath: capable)
        chmod(capable, 0o755)
        let setcap = try run("/usr/sbin/setcap", ["cap_net_bind_service+ep", capable])
        try #require(setcap.status == 0, "setcap: \(setcap)")
        let cases: [(RunAs, [String])] = [
            (.root, ["\(testBin)/probe", "rexec", "127.0.0.2", "\(denied.port)"]),
            (.root, ["\(testBin)/probe", "dlsym-connect", "127.0.0.2", "\(denied.port)"]),
            (.nobody, [setuid, "connect", "127.0.0.2", "\(denied.port)"]),
            (.nobody, [capable, "connect", "127.0.0.2", "\(denied.port)"]),
        ]
        for (user, command) in cases {
            _ = try underLibrary(policy, as: user, command)
            #expect(denied.arrivals() == 1, "the library alone does not see \(command[1])")
            for kernelUser in RunAs.allCases {
                let held = try underKernel(policy, as: kernelUser, command)
                // A file-capability program whose capability cannot be
                // granted (the child has none to give) is not started at
                // all: exec fails with EPERM, as the kernel rules.
                let refusedToStart = command[0] == capable && held.stderr.contains("Operation not permitted")
                #expect(held.stderr.contains("kernel: permission denied for host") || refusedToStart, "\(command[1]): \(held)")
            }
            #expect(denied.arrivals() == 0, "run --kernel holds \(command[1])")
        }
    }

    /// HOSTALIASES set by the program renames a dotless name inside glibc
    /// (`intranet` asked as `evil.example.test`): once the program changed
    /// it, the lookup is made for the judged name itself.
    @Test(arguments: RunAs.allCases)
    func anAliasFileTheProgramSetsRenamesNothing(user: RunAs) throws {
        let stub = stubAddress(49, user)
        let good = try Listener("127.0.0.2"), evil = try Listener("127.0.0.5", port: good.port)
        let policy = "section hosts ports\n    allow intranet \(good.port)\n"
        let dir = try scratchDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        chmod(dir, 0o755)
        try "intranet evil.example.test\n".write(toFile: "\(dir)/aliases", atomically: true, encoding: .utf8)
        let script = """
            import os, socket
            os.environ["HOSTALIASES"] = "\(dir)/aliases"
            address = socket.getaddrinfo("intranet", \(good.port), socket.AF_INET, socket.SOCK_STREAM)[0][4]
            socket.create_connection(address, timeout=5).close()
            print("connected", address[0])
            """
        let answers = ["intranet": "127.0.0.2", "evil.example.test": "127.0.0.5"]
        let r = try withStub(policy, as: user, ["/usr/bin/python3.11", "-c", script], answers: answers, nameserver: stub)
        #expect(r.stdout == "connected 127.0.0.2\n", "\(r)")
        #expect(evil.arrivals() == 0 && good.arrivals() == 1)
        let unjudged = try withStub(nil, ["/usr/bin/python3.11", "-c", script], answers: answers, nameserver: stub)
        #expect(unjudged.stdout == "connected 127.0.0.5\n", "\(unjudged)")
        #expect(evil.arrivals() == 1)
    }
}
