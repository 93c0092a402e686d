// The kernel backstop (`safesock run --kernel`, Sources/SafesockKernel):
// a statically linked client that the preload library cannot see, raw
// system calls, io_uring, a child that clears its environment, and a race
// on the sockaddr, all against real listeners on loopback.

import Foundation
import Testing

@Suite struct KernelTests {
    let staticClient = "\(testBin)/static_client"

    /// `safesock run [--kernel] --policy` allowing `allowed`'s port on 127.0.0.2 only.
    /// `settings` go in the policy's options section.
    func under(kernel: Bool, allowing port: UInt16, options: [String] = [], _ command: [String],
               settings: [String] = ["peername deny"]) throws -> Run {
        let dir = try scratchDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try ("section hosts ports\n    allow 127.0.0.2 \(port)\nsection options\n" + settings.map { "    \($0)\n" }.joined())
            .write(toFile: "\(dir)/policy.cfg", atomically: true, encoding: .utf8)
        return try run(safesockBinary, ["run", "--policy", "\(dir)/policy.cfg"] + (kernel ? ["--kernel"] : []) + options + ["--"] + command)
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

    /// A dynamically linked program that jumps into the library's own
    /// `syscall` instruction is trusted by the supervisor (that is where the
    /// library's allowed calls come from); the Landlock wall still refuses
    /// a port no allow rule permits.
    @Test func aJumpIntoTheLibraryMeetsTheLandlockWall() throws {
        let allowed = try Listener("127.0.0.2"), denied = try Listener("127.0.0.2")
        let r = try under(kernel: true, allowing: allowed.port, ["\(testBin)/probe", "gadget", "127.0.0.2", "\(denied.port)"])
        #expect(r.stdout == "errno \(EACCES)\n", "\(r)")
        #expect(!r.stderr.contains("kernel: permission denied"), "the supervisor let it go on; the wall refused it")
        #expect(denied.arrivals() == 0)
        let around = try under(kernel: false, allowing: allowed.port, ["\(testBin)/probe", "gadget", "127.0.0.2", "\(denied.port)"])
        #expect(around.stdout == "ok\n", "\(around)")
        #expect(denied.arrivals() == 1)
        // TCP Fast Open connects past Landlock's TCP rules (Linux 6.18): the
        // same jump with sendto(MSG_FASTOPEN) is judged by the supervisor.
        let fastOpen = try under(kernel: true, allowing: allowed.port, ["\(testBin)/probe", "gadget-tfo", "127.0.0.2", "\(denied.port)"])
        #expect(fastOpen.stdout == "errno \(EACCES)\n", "\(fastOpen)")
        #expect(fastOpen.stderr.contains("kernel: permission denied for host 127.0.0.2 port \(denied.port)"), "\(fastOpen)")
        #expect(denied.arrivals() == 0)
    }

    /// A compiled table file serves as the policy does; a published table is
    /// followed: republished while the program runs, the supervisor decides
    /// with the new one from its next call. The Landlock wall stays as it
    /// was built at start, so a reload narrows the ports, never widens them.
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
        // Inside the run: connect, republish, connect to both ports again.
        let script = """
            "$0" connect 127.0.0.2 \(allowed.port)
            "$1" reload \(name) "$2" >/dev/null
            "$0" connect 127.0.0.2 \(allowed.port)
            "$0" connect 127.0.0.2 \(later.port)
            """
        let followed = try run(safesockBinary, ["run", "--kernel", "--table", name, "--", "/bin/sh", "-c", script,
                                                staticClient, safesockBinary, "\(dir)/second.cfg"])
        #expect(followed.stdout == "ok\nerrno \(EACCES)\nerrno \(EACCES)\n", "\(followed)")
        #expect(followed.stderr.contains("kernel: permission denied for host 127.0.0.2 port \(allowed.port)"), "\(followed)")
        #expect(followed.stderr.contains("a reload can narrow them, not widen them"), "\(followed)")
        // The second port: the new table allows it, the wall built at start does not.
        #expect(followed.stderr.contains("port \(later.port) (outside the Landlock wall"), "\(followed)")
        #expect(allowed.arrivals() == 1 && later.arrivals() == 0)
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
        #expect(try attempt(["udp-connected", "127.0.0.2", no]) == "errno \(EACCES)\n")
        #expect(allowed.arrivals() == 2 + 2 + 1 + 2)
        #expect(denied.arrivals() == 0)
        // TCP Fast Open connects by sendto: judged like connect.
        let tcp = try Listener("127.0.0.2")
        #expect(try attempt(["tfo", "127.0.0.2", "\(tcp.port)"]) == "errno \(EACCES)\n")
        #expect(tcp.arrivals() == 0)
        // Under datagrams deny, none of them leaves.
        let strict = try under(kernel: true, allowing: tcp.port, [staticClient, "udp-sendmsg", "127.0.0.2", yes])
        #expect(strict.stdout == "errno \(EACCES)\n" && strict.stderr.contains("(datagrams deny)"), "\(strict)")
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
        #expect(retopts.stdout == "errno \(EACCES)\n" && retopts.stderr.contains("(source route)"), "\(retopts)")
        // The library refuses both, without the kernel layer.
        let library = try attempt(kernel: false, "\(testBin)/client", ["route"] + route)
        #expect(library.stdout == "errno \(EACCES)\nok\n" && library.stderr.contains("setsockopt (source route)"), "\(library)")
        #expect(try attempt(kernel: false, "\(testBin)/client", ["retopts"] + route).stdout == "errno \(EACCES)\n")
        // Only the datagrams sent without a route arrived (bare: none, the
        // route took them to 127.0.0.5, where nothing forwards them).
        #expect(allowed.arrivals() == 2)
    }

    /// getpeername, per `peername`, for a program the library cannot see:
    /// deny fails with EACCES, mask gives 0.0.0.0 port 0 (and ENOTCONN
    /// before a connect, as Python's ssl needs), allow gives the peer.
    @Test func getpeernameFollowsThePeernameOption() throws {
        let allowed = try Listener("127.0.0.2")
        let command = [staticClient, "peername", "127.0.0.2", "\(allowed.port)"]
        func under(_ mode: String) throws -> Run {
            try self.under(kernel: true, allowing: allowed.port, command, settings: ["peername \(mode)"])
        }
        let deny = try under("deny")
        #expect(deny.stdout == "errno \(EACCES)\nerrno \(EACCES)\n", "\(deny)")
        #expect(deny.stderr.contains("kernel: permission denied for getpeername (peername deny)"), "\(deny)")
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

/// The library and the kernel layer together: a dynamically linked program
/// connecting by a name the policy allows is let through (the library
/// decided, with the name, and made the call from its own code), while a
/// static program reaching the same address is judged by address alone.
@Suite struct KernelWithLibraryTests {
    @Test func theLibrarysDecisionsStandAndStaticCallsAreJudgedByAddress() throws {
        let sun = try Listener("127.0.0.2")
        let policy = "section hosts ports\n    allow www.sun.com \(sun.port)\n"
        let script = """
            import socket
            s = socket.create_connection(("www.sun.com", \(sun.port)), timeout=5)
            s.close()
            print("ok")
            """
        let dynamic = try underSafesock(policy, origin: nil, extra: ["--kernel"], ["/usr/bin/python3.11", "-c", script])
        #expect(dynamic.stdout == "ok\n", "\(dynamic)")
        #expect(sun.arrivals() == 1)
        let staticCall = try underSafesock(policy, origin: nil, extra: ["--kernel"],
                                           ["\(testBin)/static_client", "connect", "127.0.0.2", "\(sun.port)"])
        #expect(staticCall.stdout == "errno \(EACCES)\n", "\(staticCall)")
        #expect(sun.arrivals() == 0)
    }

    /// A call the library did not make (a raw syscall after a lookup through
    /// the library, as a Go program with cgo's resolver makes) is judged
    /// with the names the process's name memory holds for the address, but
    /// a name counts for an allow only when the supervisor's own resolver
    /// gives it that address: a name the program writes there itself for
    /// another address lets it reach nothing.
    @Test func namesFromTheNameMemoryCountOnceTheSupervisorConfirmsThem() throws {
        let sun = try Listener("127.0.0.2"), evil = try Listener("127.0.0.5", port: sun.port)
        let policy = "section hosts ports\n    allow www.sun.com \(sun.port)\n"
        let probe = "\(testBin)/probe"
        func attempt(_ words: [String]) throws -> Run {
            try underSafesock(policy, origin: nil, extra: ["--kernel"], [probe] + words)
        }
        let resolved = try attempt(["resolve-raw", "www.sun.com", "\(sun.port)"])
        #expect(resolved.stdout == "ok\n", "\(resolved)")
        #expect(sun.arrivals() == 1)
        // The same name written by the program for the address it has: confirmed.
        let trueClaim = try attempt(["forge", "www.sun.com", "127.0.0.2", "\(sun.port)"])
        #expect(trueClaim.stdout == "ok\n", "\(trueClaim)")
        #expect(sun.arrivals() == 1)
        // For another address: the supervisor's lookup says 127.0.0.2, not 127.0.0.5.
        let forged = try attempt(["forge", "www.sun.com", "127.0.0.5", "\(sun.port)"])
        #expect(forged.stdout == "errno \(EACCES)\n", "\(forged)")
        #expect(forged.stderr.contains("kernel: permission denied for host www.sun.com port \(sun.port) (default)"), "\(forged)")
        #expect(evil.arrivals() == 0)
    }

    /// The library's word is where plain --kernel trusts the program: a jump
    /// into the library's `syscall` reaches another host on a port the wall
    /// lets through. --strict takes no call on that word: the jump is judged
    /// and denied, while a program that uses names the ordinary way is
    /// still let through (its names confirmed by the supervisor).
    @Test func strictTakesNoCallOnTheLibrarysWord() throws {
        let sun = try Listener("127.0.0.2"), evil = try Listener("127.0.0.5", port: sun.port)
        let policy = "section hosts ports\n    allow www.sun.com \(sun.port)\n"
        let jump = ["\(testBin)/probe", "gadget", "127.0.0.5", "\(sun.port)"]
        let trusted = try underSafesock(policy, origin: nil, extra: ["--kernel"], jump)
        #expect(trusted.stdout == "ok\n", "\(trusted)")
        #expect(evil.arrivals() == 1)
        let strict = try underSafesock(policy, origin: nil, extra: ["--kernel", "--strict"], jump)
        #expect(strict.stdout == "errno \(EACCES)\n", "\(strict)")
        #expect(strict.stderr.contains("kernel: permission denied for host 127.0.0.5 port \(sun.port)"), "\(strict)")
        #expect(evil.arrivals() == 0)
        let script = """
            import socket
            s = socket.create_connection(("www.sun.com", \(sun.port)), timeout=5)
            s.close()
            print("ok")
            """
        let named = try underSafesock(policy, origin: nil, extra: ["--kernel", "--strict"], ["/usr/bin/python3.11", "-c", script])
        #expect(named.stdout == "ok\n", "\(named)")
        #expect(sun.arrivals() == 1)
    }

    /// Threads and forked children under the supervisor, in both modes: 16
    /// threads each resolving by name and connecting, to an allowed and a
    /// denied port, and a forked child; every call answered as the policy
    /// says, none lost or answered twice.
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

    /// A name the program claims needs no confirmation to be disallowed.
    @Test func aClaimedNameCountsForADisallow() throws {
        let sun = try Listener("127.0.0.2")
        let policy = "section hosts ports\n    allow 127.0.0.2 \(sun.port)\n    disallow www.sun.com *\nsection options\n    resolve open\n"
        let named = try underSafesock(policy, origin: nil, extra: ["--kernel"], ["\(testBin)/probe", "resolve-raw", "www.sun.com", "\(sun.port)"])
        #expect(named.stdout == "errno \(EACCES)\n", "\(named)")
        #expect(named.stderr.contains("kernel: permission denied for host www.sun.com port \(sun.port) (") && named.stderr.contains("policy.cfg:3)"), "\(named)")
        #expect(sun.arrivals() == 0)
        let unnamed = try underSafesock(policy, origin: nil, extra: ["--kernel"], ["\(testBin)/static_client", "syscall", "127.0.0.2", "\(sun.port)"])
        #expect(unnamed.stdout == "ok\n", "\(unnamed)")
        #expect(sun.arrivals() == 1)
    }

    /// glibc's resolver sends its queries through its private __connect and
    /// sendmmsg, which the library never sees but the filter traps: the
    /// supervisor lets datagrams to resolv.conf's nameservers' port 53 go,
    /// under datagrams deny too, and nothing else; a static binary's only
    /// under resolve open.
    @Test func libcsOwnDNSQueriesReachTheNameserver() throws {
        let web = try Listener("127.0.0.2")
        let dns = try DNSStub("127.0.0.35", answers: ["dns.example": "127.0.0.2"])
        let script = """
            import socket
            s = socket.create_connection(("dns.example", \(web.port)), timeout=5)
            s.close()
            print("ok")
            """
        let policy = "section hosts ports\n    allow dns.example \(web.port)\n"
        let resolved = try underSafesock(policy, origin: nil, extra: ["--kernel"], ["/usr/bin/python3.11", "-c", script],
                                         nameserver: "127.0.0.35")
        let other = try underSafesock(policy, origin: nil, extra: ["--kernel"],
                                      ["\(testBin)/static_client", "udp-sendto", "127.0.0.35", "54"], nameserver: "127.0.0.35")
        // A static binary's own DNS: its names cannot be gated, so under
        // resolve strict it gets none; under resolve open it does.
        let staticDNS = ["\(testBin)/static_client", "udp-sendto", "127.0.0.35", "53"]
        let strict = try underSafesock(policy, origin: nil, extra: ["--kernel"], staticDNS, nameserver: "127.0.0.35")
        let open = try underSafesock(policy + "section options\n    resolve open\n", origin: nil, extra: ["--kernel"], staticDNS,
                                     nameserver: "127.0.0.35")
        let queries = dns.stop()
        #expect(resolved.stdout == "ok\n", "\(resolved)")
        #expect(web.arrivals() == 1)
        #expect(other.stdout == "errno \(EACCES)\n", "\(other)")
        #expect(strict.stdout == "errno \(EACCES)\n", "\(strict)")
        #expect(open.stdout == "ok\n", "\(open)")
        #expect(queries >= 2) // python's, and the static binary's datagram (not a query it answers, but it came)
    }
}
