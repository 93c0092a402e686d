// The kernel backstop (`safesock run --kernel`, Sources/SafesockKernel):
// a statically linked client that the preload library cannot see, raw
// system calls, io_uring, a child that clears its environment, and a race
// on the sockaddr, all against real listeners on loopback.

import Foundation
import SafesockCLI
import Testing

@Suite(.endToEnd) struct KernelTests {
    let staticClient = "\(testBin)/static_client"

    /// `safesock run [--kernel] --policy` allowing `allowed`'s port on 127.0.0.2 only.
    /// `settings` go in the policy's options section.
    func under(kernel: Bool, allowing port: UInt16, options: [String] = [], _ command: [String],
               settings: [String] = ["peername deny"]) throws -> Run {
        let dir = try scratchDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try ("section hosts ports\n    allow 127.0.0.2 \(port)\nsection options\n" + settings.map { "    \($0)\n" }.joined())
            .write(toFile: "\(dir)/policy.cfg", atomically: true, encoding: .utf8)
        return withoutProtectionLine(try run(safesockBinary, ["run", "--policy", "\(dir)/policy.cfg"] + (kernel ? ["--kernel"] : []) + options
                                             + ["--"] + command))
    }

    /// The kernel layer's denials are audit records like the library's,
    /// and in learn mode it records and denies nothing.
    @Test func theKernelLayerWritesTheAuditLog() throws {
        let allowed = try Listener("127.0.0.2"), denied = try Listener("127.0.0.2")
        let dir = try scratchDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let command = [staticClient, "connect", "127.0.0.2", "\(denied.port)"]
        let enforced = try under(kernel: true, allowing: allowed.port, options: ["--log", "\(dir)/audit.log"], command)
        #expect(enforced.stdout == "errno \(EACCES)\n" && enforced.stderr.isEmpty, "\(enforced)")
        let learned = try under(kernel: true, allowing: allowed.port, options: ["--log", "\(dir)/audit.log", "--learn"], command)
        #expect(learned.stdout == "ok\n", "\(learned)")
        #expect(denied.arrivals() == 1)
        let records = try String(contentsOfFile: "\(dir)/audit.log", encoding: .utf8).split(separator: "\n").map {
            try #require(JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])
        }
        try #require(records.count == 2, "\(records)")
        for record in records {
            #expect(record["layer"] as? String == "kernel" && record["verdict"] as? String == "deny")
            #expect(record["op"] as? String == "connect" && record["addr"] as? String == "127.0.0.2")
            #expect(record["port"] as? Int == Int(denied.port) && record["rules"] as? [String] == ["default"])
            #expect(record["program"] as? String == "static_client")
        }
        #expect(records[0]["mode"] == nil && records[1]["mode"] as? String == "learn")
    }

    /// One denial, made once by the library and once by the supervisor:
    /// the two audit records hold the same fields with the same values
    /// (the supervisor's adds `layer`), the policy and the explain command
    /// among them, as the one denial writer gives both.
    @Test func libraryAndSupervisorRecordTheSameDenialAlike() throws {
        let dir = try scratchDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        chmod(dir, 0o755)
        try testHosts.write(toFile: "\(dir)/hosts", atomically: true, encoding: .utf8)
        try pagePolicy.write(toFile: "\(dir)/policy.cfg", atomically: true, encoding: .utf8)
        var records: [AuditRecord] = []
        for mode in [[], ["--kernel"]] {
            let log = "\(dir)/audit\(mode.count).log"
            let r = try inHostsNamespace("\(dir)/hosts", [safesockBinary, "run"] + mode + ["--policy", "\(dir)/policy.cfg", "--origin", "tclet.example",
                                                          "--log", log, "--", "\(testBin)/probe", "connect", "www.sun.com", "1024"])
            #expect(r.stdout == "errno \(EACCES)\n", "\(r)")
            let line = try String(contentsOfFile: log, encoding: .utf8).split(separator: "\n")
            try #require(line.count == 1, "\(line)")
            records.append(try AuditRecord.decode(line[0]))
        }
        let (library, kernel) = (records[0], records[1])
        #expect(kernel.layer == "kernel" && library.layer == nil)
        #expect(library.v == AuditRecord.version && kernel.v == AuditRecord.version)
        #expect(library.program == "probe" && kernel.program == "probe" && library.pid > 0 && kernel.pid > 0)
        // The same decision, field for field: only who and when differ.
        #expect(library.decision == kernel.decision, "\(library) \(kernel)")
        #expect(library.policy == "\(dir)/policy.cfg")
        #expect(library.explain == "safesock explain \(dir)/policy.cfg 127.0.0.2 1024 --name www.sun.com --origin tclet.example")
    }

    @Test(arguments: ["connect", "syscall"])
    func aStaticClientIsJudged(call: String) throws {
        let allowed = try Listener("127.0.0.2"), denied = try Listener("127.0.0.2")
        let yes = try under(kernel: true, allowing: allowed.port, [staticClient, call, "127.0.0.2", "\(allowed.port)"])
        #expect(yes.stdout == "ok\n", "\(yes)")
        #expect(allowed.arrivals() == 1)
        let no = try under(kernel: true, allowing: allowed.port, [staticClient, call, "127.0.0.2", "\(denied.port)"])
        #expect(no.stdout == "errno \(EACCES)\n", "\(no)")
        #expect(no.stderr.contains("safesock: kernel: permission denied for host 127.0.0.2 port \(denied.port)"))
        #expect(denied.arrivals() == 0)
        // The contrast: without the kernel layer the library never sees it.
        let around = try under(kernel: false, allowing: allowed.port, [staticClient, call, "127.0.0.2", "\(denied.port)"])
        #expect(around.stdout == "ok\n", "\(around)")
        #expect(denied.arrivals() == 1)
    }

    /// io_uring is refused, and the refusal recorded like any denial; in
    /// learn mode it is recorded and let be (as bare).
    @Test func ioUringIsRefused() throws {
        let allowed = try Listener("127.0.0.2")
        let r = try under(kernel: true, allowing: allowed.port, [staticClient, "uring"])
        #expect(r.stdout == "errno \(EPERM)\n", "\(r)")
        #expect(r.stderr.contains("kernel: permission denied for io_uring_setup (io_uring"), "\(r)")
        let learned = try under(kernel: true, allowing: allowed.port, options: ["--learn"], [staticClient, "uring"])
        #expect(learned.stdout == (try run(staticClient, ["uring"])).stdout, "\(learned)")
        #expect(learned.stderr.contains("kernel: learn: would deny io_uring_setup"), "\(learned)")
    }

    /// SCTP can connect through setsockopt, which no trapped call sees.
    @Test func sctpSocketsAreRefused() throws {
        let allowed = try Listener("127.0.0.2")
        let r = try under(kernel: true, allowing: allowed.port, [staticClient, "sctp"])
        #expect(r.stdout == "errno \(EPERM)\n", "\(r)")
    }

    /// MPTCP connects past Landlock's TCP port rules (seen on Linux 6.18):
    /// no MPTCP socket under the filter, refused as a kernel without MPTCP
    /// refuses it, so that programs fall back to TCP.
    @Test func mptcpSocketsAreRefused() throws {
        let allowed = try Listener("127.0.0.2")
        let r = try under(kernel: true, allowing: allowed.port, [staticClient, "mptcp"])
        #expect(r.stdout == "errno \(EPROTONOSUPPORT)\n", "\(r)")
        if (try? String(contentsOfFile: "/proc/sys/net/mptcp/enabled", encoding: .utf8)) == "1\n" {
            #expect(try run(staticClient, ["mptcp"]).stdout == "ok\n", "bare, this kernel makes MPTCP sockets")
        }
    }

    /// Whether this process has capability `bit` in effect (/proc/self/status).
    static func hasCapability(_ bit: Int) -> Bool {
        let status = (try? String(contentsOfFile: "/proc/self/status", encoding: .utf8)) ?? ""
        guard let line = status.split(separator: "\n").first(where: { $0.hasPrefix("CapEff:") }),
              let mask = UInt64(line.dropFirst("CapEff:".count).trimmingCharacters(in: .whitespaces), radix: 16) else { return false }
        return mask & (1 << UInt64(bit)) != 0
    }

    /// Raw sockets write packets to any host and port (with CAP_NET_RAW,
    /// which the tests have as root): none under the filter.
    @Test func rawSocketsAreRefused() throws {
        let allowed = try Listener("127.0.0.2")
        let r = try under(kernel: true, allowing: allowed.port, [staticClient, "raw"])
        #expect(r.stdout == "errno \(EPERM)\nerrno \(EPERM)\n", "\(r)")
        #expect(r.stderr.contains("kernel: permission denied for socket (a raw socket"), "\(r)")
        if Self.hasCapability(13) { // CAP_NET_RAW
            #expect(try run(staticClient, ["raw"]).stdout == "ok\nok\n", "bare, CAP_NET_RAW makes raw sockets")
        }
    }

    @Test func aChildThatClearsItsEnvironmentIsStillJudged() throws {
        let allowed = try Listener("127.0.0.2"), denied = try Listener("127.0.0.2")
        let r = try under(kernel: true, allowing: allowed.port,
                          [staticClient, "exec", staticClient, "connect", "127.0.0.2", "\(denied.port)"])
        #expect(r.stdout == "errno \(EACCES)\n", "\(r)")
        #expect(denied.arrivals() == 0)
    }

    /// A second thread flips the sockaddr's port between an allowed and a
    /// denied one while the first connects: the supervisor connects with
    /// the copy it judged, so the denied port is never reached.
    @Test func aRacingSockaddrNeverReachesTheDeniedPort() throws {
        let allowed = try Listener("127.0.0.2"), denied = try Listener("127.0.0.2")
        let r = try under(kernel: true, allowing: allowed.port,
                          [staticClient, "race", "127.0.0.2", "\(allowed.port)", "\(denied.port)", "400"])
        #expect(r.stdout.hasPrefix("reached "), "\(r)")
        var arrived = 0
        for _ in 0..<5 { arrived += denied.arrivals() }
        #expect(arrived == 0)
        #expect(allowed.arrivals() == Int(r.stdout.dropFirst("reached ".count).dropLast()) ?? -1)
    }

    /// The library's code is trusted no more than the program's: a jump
    /// into the library's own `syscall` instruction is judged like any
    /// call (it once was let go on), and TCP Fast Open, which connects in a
    /// send past Landlock's TCP rules, is refused as on a kernel without it.
    @Test func aJumpIntoTheLibraryIsJudgedLikeAnyCall() throws {
        let allowed = try Listener("127.0.0.2"), denied = try Listener("127.0.0.2")
        let r = try under(kernel: true, allowing: allowed.port, ["\(testBin)/probe", "gadget", "127.0.0.2", "\(denied.port)"])
        #expect(r.stdout == "errno \(EACCES)\n", "\(r)")
        #expect(r.stderr.contains("kernel: permission denied for host 127.0.0.2 port \(denied.port)"), "\(r)")
        #expect(denied.arrivals() == 0)
        let around = try under(kernel: false, allowing: allowed.port, ["\(testBin)/probe", "gadget", "127.0.0.2", "\(denied.port)"])
        #expect(around.stdout == "ok\n", "\(around)")
        #expect(denied.arrivals() == 1)
        let fastOpen = try under(kernel: true, allowing: allowed.port, ["\(testBin)/probe", "gadget-tfo", "127.0.0.2", "\(denied.port)"])
        #expect(fastOpen.stdout == "errno \(EOPNOTSUPP)\n", "\(fastOpen)")
        #expect(fastOpen.stderr.contains("(TCP Fast Open; policy "), "\(fastOpen)")
        #expect(denied.arrivals() == 0)
    }

    /// A compiled table file serves as the policy does; a published table is
    /// followed as its publisher writes it: republished from outside while
    /// the program runs, the supervisor decides with the new one from its
    /// next call. The program itself cannot republish it: its /dev/shm is
    /// read-only (`theProgramCannotRepublishItsPolicy`).
    @Test func aTableFileServesAndAPublicationIsFollowed() throws {
        let allowed = try Listener("127.0.0.2"), later = try Listener("127.0.0.2")
        let dir = try scratchDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let table = try tableFile("section hosts ports\n    allow 127.0.0.2 \(allowed.port)\n", in: dir)
        let r = try run(safesockBinary, ["run", "--kernel", "--table", table, "--", staticClient, "connect", "127.0.0.2", "\(allowed.port)"])
        #expect(r.stdout == "ok\n", "\(r)")
        #expect(allowed.arrivals() == 1)
        let name = "kernel-test-\(getpid())"
        try "section hosts ports\n    allow 127.0.0.2 \(allowed.port)\n".write(toFile: "\(dir)/first.cfg", atomically: true, encoding: .utf8)
        try "section hosts ports\n    allow 127.0.0.2 \(later.port)\n".write(toFile: "\(dir)/second.cfg", atomically: true, encoding: .utf8)
        #expect(try run(safesockBinary, ["reload", name, "\(dir)/first.cfg"]).status == 0)
        defer { shm_unlink("/safesock.\(name)") }
        // Inside the run: connect, wait for the republish (a file the test
        // writes once it reloaded), connect to both ports again. Bounded.
        let script = """
            "$0" connect 127.0.0.2 \(allowed.port)
            : > "$1/connected"
            i=0; while [ ! -e "$1/reloaded" ] && [ $i -lt 200 ]; do sleep 0.05; i=$((i+1)); done
            "$0" connect 127.0.0.2 \(allowed.port)
            "$0" connect 127.0.0.2 \(later.port)
            """
        let reloader = Thread {
            for _ in 0..<200 where !FileManager.default.fileExists(atPath: "\(dir)/connected") { usleep(50_000) }
            _ = try? run(safesockBinary, ["reload", name, "\(dir)/second.cfg"])
            FileManager.default.createFile(atPath: "\(dir)/reloaded", contents: nil)
        }
        reloader.start()
        let followed = try run(safesockBinary, ["run", "--kernel", "--table", name, "--", "/bin/sh", "-c", script, staticClient, dir])
        #expect(followed.stdout == "ok\nerrno \(EACCES)\nok\n", "\(followed)")
        #expect(followed.stderr.contains("kernel: permission denied for host 127.0.0.2 port \(allowed.port)"), "\(followed)")
        #expect(followed.stderr.contains("publications read-only to the program"), "\(followed)")
        #expect(allowed.arrivals() == 1 && later.arrivals() == 1)
    }

    /// Datagrams: sendto, sendmsg and sendmmsg are copied whole, judged
    /// message by message and sent from the copy; a denied message ends a
    /// sendmmsg there, and a connected socket's unaddressed sendmmsg (as
    /// glibc's resolver sends) goes to the peer connect judged.
    @Test func datagramsAreJudgedAndSentFromTheCopy() throws {
        let allowed = try DatagramListener("127.0.0.2"), denied = try DatagramListener("127.0.0.2")
        func attempt(_ words: [String]) throws -> String {
            try under(kernel: true, allowing: allowed.port, [staticClient] + words, settings: ["datagrams allow"]).stdout
        }
        let (yes, no) = ("\(allowed.port)", "\(denied.port)")
        for way in ["udp-sendto", "udp-sendmsg"] {
            #expect(try attempt([way, "127.0.0.2", yes]) == "ok\n", "\(way)")
            #expect(try attempt([way, "127.0.0.2", no]) == "errno \(EACCES)\n", "\(way)")
        }
        #expect(try attempt(["udp-sendmmsg", "127.0.0.2", yes, yes]) == "sent 2 8 8\n")
        #expect(try attempt(["udp-sendmmsg", "127.0.0.2", yes, no]) == "sent 1 8\n")
        #expect(try attempt(["udp-sendmmsg", "127.0.0.2", no, yes]) == "errno \(EACCES)\n")
        #expect(try attempt(["udp-connected", "127.0.0.2", yes]) == "sent 2 8 8\n")
        // Connected to a denied host, the socket stays in the namespace
        // (where it reaches nothing); what it sends is refused there.
        #expect(try attempt(["udp-connected", "127.0.0.2", no]) == "errno \(EACCES)\n")
        #expect(allowed.arrivals() == 2 + 2 + 1 + 2)
        #expect(denied.arrivals() == 0)
        // TCP Fast Open connects by sendto, past Landlock: refused, as a
        // kernel without it refuses it.
        let tcp = try Listener("127.0.0.2")
        #expect(try attempt(["tfo", "127.0.0.2", "\(tcp.port)"]) == "errno \(EOPNOTSUPP)\n")
        #expect(tcp.arrivals() == 0)
        // Under datagrams deny, none of them leaves.
        let strict = try under(kernel: true, allowing: tcp.port, [staticClient, "udp-sendmsg", "127.0.0.2", yes])
        #expect(strict.stdout == "errno \(EACCES)\n" && strict.stderr.contains("(datagrams deny; policy "), "\(strict)")
        #expect(allowed.arrivals() == 0)
    }

    /// Malformed sends fail under the supervisor as the kernel fails them
    /// bare (the copy follows the kernel's reading: a long msg_namelen is
    /// cut to a sockaddr_storage, as this test found), and the datagram
    /// that is well formed arrives in both.
    @Test func malformedSendsFailAsTheKernelFailsThem() throws {
        let allowed = try DatagramListener("127.0.0.2")
        try expectSameAsBare(staticClient, ["malformed", "127.0.0.2", "\(allowed.port)"], lines: 9, kernel: true,
                             allowing: allowed.port, settings: ["datagrams allow"])
        #expect(allowed.arrivals() == 2)
    }

    /// `program words` prints the same `lines` lines bare and under safesock.
    func expectSameAsBare(_ program: String, _ words: [String], lines: Int, kernel: Bool, allowing port: UInt16,
                          settings: [String] = []) throws {
        let bare = try run(program, words)
        let judged = try under(kernel: kernel, allowing: port, [program] + words, settings: settings)
        #expect(bare.stdout.split(separator: "\n").count == lines, "\(bare)")
        #expect(judged.stdout == bare.stdout, "\(judged)")
    }

    /// Malformed connects fail under the supervisor as bare (a NULL address
    /// with a length is EFAULT, as this test found), AF_UNSPEC passes, and
    /// an IPv4-mapped address on an IPv4 socket meets the kernel's refusal.
    @Test func malformedConnectsFailAsTheKernelFailsThem() throws {
        let allowed = try Listener("127.0.0.2")
        let words = ["bad-connect", "127.0.0.2", "\(allowed.port)"]
        try expectSameAsBare(staticClient, words, lines: 8, kernel: true, allowing: allowed.port)
        // The library alone, on the dynamic twin, but for the bad pointer.
        try expectSameAsBare("\(testBin)/client", words + ["no-bad-pointer"], lines: 7, kernel: false, allowing: allowed.port)
        #expect(allowed.arrivals() == 0)
    }

    /// A source route (IP_OPTIONS' LSRR, or an IP_RETOPTS control message)
    /// sends the packet first to the hop it names, whatever address was
    /// judged: refused by the filter, the supervisor and the library alike.
    @Test func sourceRoutesAreRefused() throws {
        let allowed = try DatagramListener("127.0.0.2")
        let route = ["127.0.0.2", "\(allowed.port)", "127.0.0.5"]
        func attempt(kernel: Bool, _ program: String, _ words: [String]) throws -> Run {
            try under(kernel: kernel, allowing: allowed.port, [program] + words, settings: ["datagrams allow"])
        }
        // Bare, the kernel takes both routes.
        #expect(try run("\(testBin)/client", ["route"] + route).stdout == "ok\nok\n")
        #expect(try run("\(testBin)/client", ["retopts"] + route).stdout == "ok\n")
        // The filter refuses the option; the supervisor refuses the control message.
        #expect(try attempt(kernel: true, staticClient, ["route"] + route).stdout == "errno \(EPERM)\nok\n")
        let retopts = try attempt(kernel: true, staticClient, ["retopts"] + route)
        #expect(retopts.stdout == "errno \(EACCES)\n" && retopts.stderr.contains("(source route; policy "), "\(retopts)")
        // The library refuses both, without the kernel layer.
        let library = try attempt(kernel: false, "\(testBin)/client", ["route"] + route)
        #expect(library.stdout == "errno \(EACCES)\nok\n" && library.stderr.contains("setsockopt (source route"), "\(library)")
        #expect(try attempt(kernel: false, "\(testBin)/client", ["retopts"] + route).stdout == "errno \(EACCES)\n")
        // Only the datagrams sent without a route arrived (bare: none, the
        // route took them to 127.0.0.5, where nothing forwards them).
        #expect(allowed.arrivals() == 2)
    }

    /// getpeername, per `peername`, for a program the library cannot see:
    /// mask gives 0.0.0.0 port 0 (and ENOTCONN before a connect, as Python's
    /// ssl needs), allow gives the peer; deny is answered as mask (a failed
    /// getpeername makes Go wait for its connect for ever).
    @Test func getpeernameFollowsThePeernameOption() throws {
        let allowed = try Listener("127.0.0.2")
        let command = [staticClient, "peername", "127.0.0.2", "\(allowed.port)"]
        func under(_ mode: String) throws -> Run {
            try self.under(kernel: true, allowing: allowed.port, command, settings: ["peername \(mode)"])
        }
        let deny = try under("deny")
        #expect(deny.stdout == "errno \(ENOTCONN)\npeer 0.0.0.0 0\n", "\(deny)")
        #expect(try under("mask").stdout == "errno \(ENOTCONN)\npeer 0.0.0.0 0\n")
        #expect(try under("allow").stdout == "errno \(ENOTCONN)\npeer 127.0.0.2 \(allowed.port)\n")
        // Without --kernel the library never sees the static client's call.
        let around = try self.under(kernel: false, allowing: allowed.port, command)
        #expect(around.stdout == "errno \(ENOTCONN)\npeer 127.0.0.2 \(allowed.port)\n", "\(around)")
        #expect(allowed.arrivals() == 4)
    }

    @Test func theStatusIsTheCommands() throws {
        let allowed = try Listener("127.0.0.2")
        let r = try under(kernel: true, allowing: allowed.port, ["/bin/sh", "-c", "exit 7"])
        #expect(r.status == 7, "\(r)")
    }
}

/// The library and the kernel layer together. The supervisor judges every
/// call itself, with names from trusted sources only: /etc/hosts as it
/// read it at start, and the answers of its own DNS service. What the
/// program writes in its memory (the library's name memory included)
/// counts for nothing.
@Suite(.endToEnd) struct KernelWithLibraryTests {
    @Test func namesComeFromTheHostsFileAtStartAndNeverFromTheProgram() throws {
        let sun = try Listener("127.0.0.2"), evil = try Listener("127.0.0.5", port: sun.port), plain = try Listener("127.0.0.7", port: sun.port)
        let policy = "section hosts ports\n    allow www.sun.com \(sun.port)\n"
        let script = """
            import socket
            s = socket.create_connection(("www.sun.com", \(sun.port)), timeout=5)
            s.close()
            print("ok")
            """
        let dynamic = try underSafesock(policy, origin: nil, extra: ["--kernel"], ["/usr/bin/python3.11", "-c", script])
        #expect(dynamic.stdout == "ok\n", "\(dynamic)")
        // A static binary reaching the address by number: it is www.sun.com.
        let staticCall = try underSafesock(policy, origin: nil, extra: ["--kernel"],
                                           ["\(testBin)/static_client", "connect", "127.0.0.2", "\(sun.port)"])
        #expect(staticCall.stdout == "ok\n", "\(staticCall)")
        #expect(sun.arrivals() == 2)
        let unnamed = try underSafesock(policy, origin: nil, extra: ["--kernel"],
                                        ["\(testBin)/static_client", "connect", "127.0.0.7", "\(sun.port)"])
        #expect(unnamed.stdout == "errno \(EACCES)\n", "\(unnamed)")
        // The name written into the library's name memory for 127.0.0.5.
        let forged = try underSafesock(policy, origin: nil, extra: ["--kernel"], ["\(testBin)/probe", "forge", "www.sun.com", "127.0.0.5", "\(sun.port)"])
        #expect(forged.stdout == "errno \(EACCES)\n", "\(forged)")
        // As root the program could write /etc/hosts; the supervisor read it at start.
        let edited = try underSafesock(policy, origin: nil, extra: ["--kernel"], ["/bin/sh", "-c",
            "echo '127.0.0.5 www.sun.com' > /etc/hosts; exec \"$0\" resolve-connect www.sun.com \(sun.port)", "\(testBin)/static_client"])
        #expect(edited.stdout == "errno \(EACCES)\n", "\(edited)")
        #expect(evil.arrivals() == 0 && plain.arrivals() == 0)
    }

    /// A jump into the library's own `syscall` (once trusted by plain
    /// --kernel) is judged like any call, in both modes (--strict is kept
    /// as a word for the same thing).
    @Test(arguments: [["--kernel"], ["--kernel", "--strict"]])
    func noCallIsTakenOnTheLibrarysWord(mode: [String]) throws {
        let sun = try Listener("127.0.0.2"), evil = try Listener("127.0.0.5", port: sun.port)
        let policy = "section hosts ports\n    allow www.sun.com \(sun.port)\n"
        let jump = try underSafesock(policy, origin: nil, extra: mode, ["\(testBin)/probe", "gadget", "127.0.0.5", "\(sun.port)"])
        #expect(jump.stdout == "errno \(EACCES)\n", "\(jump)")
        #expect(jump.stderr.contains("kernel: permission denied for host evil.example port \(sun.port)"), "\(jump)")
        #expect(evil.arrivals() == 0)
    }

    /// Threads and forked children under the supervisor: 16 threads each
    /// resolving by name and connecting, to an allowed and a denied port,
    /// and a forked child; every call answered as the policy says, none
    /// lost or answered twice.
    @Test(arguments: [["--kernel"], ["--kernel", "--strict"]])
    func threadsAndForkedChildren(mode: [String]) throws {
        let sun = try GreetingServer("127.0.0.2")
        defer { sun.stop() }
        let denied = try Listener("127.0.0.2")
        let policy = "section hosts ports\n    allow www.sun.com \(sun.port)\n"
        let probe = "\(testBin)/probe"
        let r = try underSafesock(policy, origin: nil, extra: mode,
                                  [probe, "threads", "16", "www.sun.com", "\(sun.port)", "www.sun.com", "\(denied.port)", "20"])
        #expect(r.stdout == "A ok 320 eacces 0 other 0\nB ok 0 eacces 320 other 0\n", "\(r.stdout)")
        #expect(sun.waitForAccepted(320, seconds: 10))
        #expect(denied.arrivals() == 0)
        #expect(try underSafesock(policy, origin: nil, extra: mode, [probe, "fork", "www.sun.com", "\(denied.port)"]).stdout
                == "errno \(EACCES)\n")
        #expect(try underSafesock(policy, origin: nil, extra: mode, [probe, "fork", "www.sun.com", "\(sun.port)"]).stdout == "ok\n")
    }

    /// An /etc/hosts written with CRLF line ends names its addresses too,
    /// as glibc reads it: a disallowed name is not escaped by its address.
    @Test(arguments: RunAs.allCases)
    func aHostsFileWithCRLFStillNamesItsAddresses(user: RunAs) throws {
        let sun = try Listener("127.0.0.2")
        let dir = try scratchDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        chmod(dir, 0o755)
        try testHosts.replacingOccurrences(of: "\n", with: "\r\n").write(toFile: "\(dir)/hosts", atomically: true, encoding: .utf8)
        try "section hosts ports\n    allow 127.0.0.2 \(sun.port)\n    disallow www.sun.com *\n"
            .write(toFile: "\(dir)/policy.cfg", atomically: true, encoding: .utf8)
        let who = user == .nobody ? ["/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"] : []
        let r = try inHostsNamespace("\(dir)/hosts", who + [safesockBinary, "run", "--kernel", "--policy", "\(dir)/policy.cfg", "--",
                                                            "\(testBin)/static_client", "syscall", "127.0.0.2", "\(sun.port)"])
        #expect(r.stdout == "errno \(EACCES)\n", "\(r)")
        #expect(r.stderr.contains("kernel: permission denied for host www.sun.com port \(sun.port)"), "\(r)")
        #expect(sun.arrivals() == 0)
    }

    /// A name the address is known by meets a disallow rule.
    @Test func aKnownNameCountsForADisallow() throws {
        let sun = try Listener("127.0.0.2"), plain = try Listener("127.0.0.7", port: sun.port)
        let policy = "section hosts ports\n    allow 127.0.0.2 \(sun.port)\n    allow 127.0.0.7 \(sun.port)\n    disallow www.sun.com *\n"
        let named = try underSafesock(policy, origin: nil, extra: ["--kernel"], ["\(testBin)/static_client", "syscall", "127.0.0.2", "\(sun.port)"])
        #expect(named.stdout == "errno \(EACCES)\n", "\(named)")
        #expect(named.stderr.contains("kernel: permission denied for host www.sun.com port \(sun.port) (") && named.stderr.contains("policy.cfg:4; policy "), "\(named)")
        #expect(sun.arrivals() == 0)
        let unnamed = try underSafesock(policy, origin: nil, extra: ["--kernel"], ["\(testBin)/static_client", "syscall", "127.0.0.7", "\(sun.port)"])
        #expect(unnamed.stdout == "ok\n", "\(unnamed)")
        #expect(plain.arrivals() == 1)
    }
}

/// safesock answers the program's DNS: in its namespace the nameserver's
/// address is safesock's, so every resolver asks it, a static binary's
/// too. Under `resolve strict` a name no allow rule could match is refused
/// and no query for it reaches the nameserver (a stub that counts); an
/// allowed name is asked by the supervisor, and the answer names the
/// address for the connect that follows, whoever makes it.
@Suite(.endToEnd) struct KernelDNSTests {
    @Test func safesockAnswersTheProgramsDNS() throws {
        let web = try Listener("127.0.0.2"), other = try Listener("127.0.0.9", port: web.port)
        let dns = try DNSStub("127.0.0.35", answers: ["dns.example": "127.0.0.2", "secret.example": "127.0.0.9"])
        let policy = "section hosts ports\n    allow dns.example \(web.port)\n"
        let script = """
            import socket
            s = socket.create_connection(("dns.example", \(web.port)), timeout=5)
            s.close()
            print("ok")
            """
        let python = try underSafesock(policy, origin: nil, extra: ["--kernel"], ["/usr/bin/python3.11", "-c", script], nameserver: "127.0.0.35")
        let staticResolver = try underSafesock(policy, origin: nil, extra: ["--kernel"],
                                               ["\(testBin)/static_client", "resolve-connect", "dns.example", "\(web.port)"], nameserver: "127.0.0.35")
        let asked = dns.stop()
        #expect(python.stdout == "ok\n", "\(python)")
        #expect(staticResolver.stdout == "ok\n", "\(staticResolver)")
        #expect(web.arrivals() == 2)
        #expect(asked >= 2, "the supervisor asked the nameserver for the allowed name")
        // A name no allow rule could match: refused, and never asked upstream;
        // nor is a reverse lookup; a datagram to another port is not DNS.
        let quiet = try DNSStub("127.0.0.35", answers: ["secret.example": "127.0.0.9"])
        let refused = try underSafesock(policy, origin: nil, extra: ["--kernel"],
                                        ["\(testBin)/static_client", "resolve-connect", "secret.example", "\(web.port)"], nameserver: "127.0.0.35")
        let reverse = try underSafesock(policy, origin: nil, extra: ["--kernel"], ["/usr/bin/getent", "hosts", "127.0.0.9"], nameserver: "127.0.0.35")
        let sideways = try underSafesock(policy, origin: nil, extra: ["--kernel"],
                                         ["\(testBin)/static_client", "udp-sendto", "127.0.0.35", "54"], nameserver: "127.0.0.35")
        let leaked = quiet.stop()
        // The contrast: bare, the same lookup reaches the nameserver.
        let counting = try DNSStub("127.0.0.35", answers: ["secret.example": "127.0.0.9"])
        let bare = try underSafesock(policy, origin: nil, extra: [], ["\(testBin)/static_client", "resolve-connect", "secret.example", "\(web.port)"],
                                     nameserver: "127.0.0.35")
        let bareAsked = counting.stop()
        #expect(refused.stdout.hasPrefix("gai "), "\(refused)")
        #expect(refused.stderr.contains("kernel: permission denied for resolve of host secret.example (resolve strict"), "\(refused)")
        #expect(reverse.status != 0, "\(reverse)")
        #expect(sideways.stdout == "errno \(EACCES)\n", "\(sideways)")
        #expect(bare.stdout == "ok\n", "\(bare)")
        #expect(leaked == 0, "no query for a refused name or an address reached the nameserver")
        #expect(bareAsked >= 1)
        #expect(other.arrivals() == 1)
    }

    /// safesock's DNS keeps answers for their TTL: a program that asks the
    /// same name again and again is answered from the supervisor, and the
    /// nameserver hears one question a type; the connect by the name is
    /// still judged (and allowed) by the answer remembered.
    @Test func answersAreKeptForTheirTTL() throws {
        let web = try Listener("127.0.0.2")
        let dns = try DNSStub("127.0.0.39", answers: ["dns.example": "127.0.0.2"])
        let policy = "section hosts ports\n    allow dns.example \(web.port)\n"
        let script = """
            import socket
            for _ in range(6):
                found = socket.getaddrinfo("dns.example", \(web.port), socket.AF_INET, socket.SOCK_STREAM)
                assert found[0][4][0] == "127.0.0.2", found
            socket.create_connection(("dns.example", \(web.port)), timeout=5).close()
            print("ok")
            """
        let r = try underSafesock(policy, origin: nil, extra: ["--kernel"], ["/usr/bin/python3.11", "-c", script], nameserver: "127.0.0.39")
        let asked = dns.stop()
        #expect(r.stdout == "ok\n", "\(r)")
        #expect(web.arrivals() == 1)
        #expect(asked >= 1 && asked <= 2, "seven lookups, one question a type upstream: \(asked)")
        // The contrast: under the library alone every lookup is a question.
        let counting = try DNSStub("127.0.0.39", answers: ["dns.example": "127.0.0.2"])
        let bare = try underSafesock(policy, origin: nil, extra: [], ["/usr/bin/python3.11", "-c", script], nameserver: "127.0.0.39")
        let bareAsked = counting.stop()
        #expect(bare.stdout == "ok\n", "\(bare)")
        #expect(bareAsked >= 7, "\(bareAsked)")
    }
}

/// The library and the supervisor decide through one decision core
/// (Sources/SafesockDecision): the same calls under `run` and under `run
/// --kernel` end alike, and their audit records name the same rules and
/// reasons. Each case is one the two once read differently (bind to port
/// 0, datagrams, a disallow over an allow, 0.0.0.0 judged as loopback).
@Suite(.endToEnd) struct OneDecisionTests {
    @Test(arguments: [false, true], RunAs.allCases)
    func theTwoEnforcersDecideAlike(open: Bool, user: RunAs) throws {
        let a = try Listener("127.0.0.2"), b = try Listener("127.0.0.2"), c = try Listener("127.0.0.2")
        let loopback = try Listener("127.0.0.1")
        let free: UInt16 = try { try Listener("127.0.0.1").port }() // closed again: a port to bind
        let options = open ? "section options\n    datagrams allow\n    servers allow\n" : ""
        let policy = options + """
            section hosts ports
                allow 127.0.0.2 \(a.port)
                allow www.sun.com \(b.port)
                disallow 127.0.0.2 \(c.port)
                allow 127.0.0.* \(c.port)
                allow 127.0.0.1 \(loopback.port)

            """
        let probes: [[String]] = [
            ["connect", "127.0.0.2", "\(a.port)"], ["connect", "www.sun.com", "\(b.port)"],
            ["connect", "127.0.0.2", "\(c.port)"], ["connect", "127.0.0.3", "\(a.port)"],
            ["connect", "0.0.0.0", "\(loopback.port)"], ["udp-sendto", "127.0.0.2", "\(a.port)"],
            ["udp-sendto", "127.0.0.3", "\(a.port)"], ["bind", "\(free)"], ["bind", "0"], ["listen"],
        ]
        let dir = try scratchDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        chmod(dir, 0o777)
        let probe = "\(testBin)/probe"
        var seen: [String: [String]] = [:]
        for (layer, log) in [("library", "\(dir)/library.log"), ("kernel", "\(dir)/kernel.log")] {
            for argv in probes {
                let r = layer == "library" ? try underSafesock(policy, origin: nil, extra: ["--log", log], [probe] + argv)
                                           : try underKernel(policy, as: user, [probe] + argv, extra: ["--log", log])
                seen[layer, default: []].append("\(argv.joined(separator: " ")): \(r.stdout.trimmingCharacters(in: .newlines))")
            }
        }
        #expect(seen["library"] == seen["kernel"], "\(seen)")
        // Allowed and refused where the policy says, not merely alike.
        let expected = open ? ["ok", "ok", "errno 13", "errno 13", "ok", "ok", "errno 13", "ok", "ok", "ok"]
                            : ["ok", "ok", "errno 13", "errno 13", "ok", "errno 13", "errno 13", "errno 13", "ok", "errno 13"]
        #expect(seen["library"]?.map { $0.split(separator: ":").last.map { $0.trimmingCharacters(in: .whitespaces) } ?? "" } == expected,
                "\(seen)")
        func records(_ path: String) throws -> [String] {
            let text = (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
            return try text.split(separator: "\n").map { line in
                let r = try #require(JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
                // Each run's policy is in a scratch folder of its own: the file's name, not its folder.
                let rules = ((r["rules"] as? [String]) ?? []).map { ($0 as NSString).lastPathComponent }
                return "\(r["op"] ?? "") \(r["port"] ?? "-") \(rules) \(r["reason"] ?? "-")"
            }
        }
        let library = try records("\(dir)/library.log"), kernel = try records("\(dir)/kernel.log")
        #expect(!library.isEmpty && library == kernel, "library \(library)\nkernel \(kernel)")
        _ = (a.arrivals(), b.arrivals(), c.arrivals(), loopback.arrivals())
    }
}
