// The attacker's tests of `run --kernel`: each class of bypass found against
// the earlier design, tried in a real process under the real supervisor,
// counting what arrives at listeners the policy denies. Each runs as root and
// as an ordinary user (nobody, whose run is made in a user namespace), and
// each has a bare contrast that shows the attempt reaches its listener when
// nothing stands in the way (so the test can fail).

import Foundation
import Testing

enum RunAs: String, CaseIterable, CustomTestStringConvertible {
    case root, nobody
    var testDescription: String { rawValue }
}

/// `command` under `safesock run --kernel` with `policy`, as `user`, in a
/// private mount namespace with the test hosts file (and nameserver).
func underKernel(_ policy: String, as user: RunAs, fallback: Bool = false, _ command: [String], nameserver: String? = nil,
                 extra: [String] = [], hosts: String = testHosts, env: [String: String] = [:]) throws -> Run {
    let dir = try scratchDirectory()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    chmod(dir, 0o755)
    try hosts.write(toFile: "\(dir)/hosts", atomically: true, encoding: .utf8)
    try policy.write(toFile: "\(dir)/policy.cfg", atomically: true, encoding: .utf8)
    var resolvConf: String?
    if let nameserver {
        resolvConf = "\(dir)/resolv.conf"
        try "nameserver \(nameserver)\noptions timeout:2 attempts:1\n".write(toFile: resolvConf!, atomically: true, encoding: .utf8)
    }
    let who = user == .nobody ? ["/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"] : []
    return withoutProtectionLine(try inHostsNamespace("\(dir)/hosts", resolvConf: resolvConf,
                                                      who + [safesockBinary, "run", "--kernel", "--policy", "\(dir)/policy.cfg"] + extra
                                                        + ["--"] + command, env: fallback ? env.merging(["SAFESOCK_NO_NAMESPACE": "1"]) { $1 } : env))
}

@Suite(.endToEnd) struct KernelAttackTests {
    let client = "\(testBin)/static_client"

    /// Addresses the kernel reads differently from a naive parser: a 24-byte
    /// IPv6 name (SIN6_LEN_RFC2133), an IPv4 name on an IPv6 UDP socket,
    /// AF_UNSPEC names that udp_sendmsg sends to anyway. Under the
    /// supervisor every one is judged as the kernel reads it: nothing
    /// reaches the denied listeners.
    @Test(arguments: RunAs.allCases, [false, true])
    func parserDifferentials(user: RunAs, fallback: Bool) throws {
        let allowed = try Listener("127.0.0.2"), denied = try Listener("127.0.0.2"), udp = try DatagramListener("127.0.0.2")
        let policy = "section hosts ports\n    allow 127.0.0.2 \(allowed.port)\n"
        let attempts: [[String]] = [
            ["connect6-24", "::ffff:127.0.0.2", "\(denied.port)"],
            ["udp6-24", "::ffff:127.0.0.2", "\(udp.port)"],
        ] + ["connect", "sendto", "sendmsg", "sendmmsg"].map { ["udp6-inet", $0, "127.0.0.2", "\(udp.port)"] }
          + ["sendto", "sendmsg", "sendmmsg"].map { ["unspec-send", $0, "127.0.0.2", "\(udp.port)"] }
        // Some say ok: a datagram socket connected in the namespace writes
        // there, where nothing listens. What counts is what arrives.
        for words in attempts { _ = try underKernel(policy, as: user, fallback: fallback, [client] + words) }
        #expect(denied.arrivals() == 0)
        #expect(udp.arrivals() == 0)
        // The allowed port by the same 24-byte spelling is made, from the judged copy.
        let made = try underKernel(policy, as: user, fallback: fallback, [client, "connect6-24", "::ffff:127.0.0.2", "\(allowed.port)"])
        #expect(made.stdout == "ok\n", "\(made)")
        #expect(allowed.arrivals() == 1)
        // Bare, each one arrives.
        for words in attempts { _ = try run(client, words) }
        #expect(denied.arrivals() == 1)
        #expect(udp.arrivals() == attempts.count - 1)
    }

    /// A program that makes itself non-dumpable (as an execute-only binary
    /// is) once made the supervisor's pidfd_getfd fail, and the call was
    /// let go on. Now the supervisor can take its socket in the namespace,
    /// and where it could not, it would deny.
    @Test(arguments: RunAs.allCases)
    func aNonDumpableProgramIsStillJudged(user: RunAs) throws {
        let allowed = try Listener("127.0.0.2"), denied = try Listener("127.0.0.2")
        let policy = "section hosts ports\n    allow 127.0.0.2 \(allowed.port)\n"
        let no = try underKernel(policy, as: user, [client, "nodump", "connect", "127.0.0.2", "\(denied.port)"])
        #expect(no.stdout == "errno \(EACCES)\n", "\(no)")
        let yes = try underKernel(policy, as: user, [client, "nodump", "connect", "127.0.0.2", "\(allowed.port)"])
        #expect(yes.stdout == "ok\n", "\(yes)")
        #expect(denied.arrivals() == 0 && allowed.arrivals() == 1)
        #expect(try run(client, ["nodump", "connect", "127.0.0.2", "\(denied.port)"]).stdout == "ok\n")
        #expect(denied.arrivals() == 1)
    }

    /// A second thread swaps the descriptor (dup2) between a unix socket and
    /// an inet one while the first connects or sends through it: whatever
    /// the number holds when the kernel acts, nothing reaches the denied
    /// listener (a call let go on stays in the empty namespace, and the
    /// program may make no TCP connect of its own).
    @Test(arguments: RunAs.allCases, [false, true])
    func swappingTheDescriptorReachesNothing(user: RunAs, fallback: Bool) throws {
        let allowed = try Listener("127.0.0.2"), denied = try Listener("127.0.0.2"), udp = try DatagramListener("127.0.0.2")
        let policy = "section hosts ports\n    allow 127.0.0.2 \(allowed.port)\n"
        let tcp = try underKernel(policy, as: user, fallback: fallback, [client, "dup2-race", "-", "127.0.0.2", "\(denied.port)", "1000"])
        let datagrams = try underKernel(policy, as: user, fallback: fallback, [client, "dup2-race-udp", "-", "127.0.0.2", "\(udp.port)", "1000"])
        #expect(tcp.stdout == "connected 0\n", "\(tcp)")
        #expect(datagrams.stdout.hasPrefix("sent "), "\(datagrams)")
        var arrived = 0, sent = 0
        for _ in 0..<5 { arrived += denied.arrivals(); sent += udp.arrivals() }
        #expect(arrived == 0 && sent == 0)
        let bare = try run(client, ["dup2-race", "-", "127.0.0.2", "\(denied.port)", "1000"])
        #expect(bare.stdout != "connected 0\n", "\(bare)")
        #expect(denied.arrivals() > 0)
    }

    /// TCP Fast Open through a swapped descriptor: a unix socket's
    /// sendto(MSG_FASTOPEN, inet name) once was let go on, and a TCP socket
    /// of the supervisor's swapped in, left unconnected (a non-blocking
    /// connect refused later, or one dissolved by AF_UNSPEC through the same
    /// race), was Fast-Open-connected to the denied host. Fast Open is now
    /// refused on every socket, and no connect is let go on.
    @Test(arguments: RunAs.allCases)
    func fastOpenThroughASwappedDescriptorReachesNothing(user: RunAs) throws {
        let allowed = try Listener("127.0.0.2"), denied = try Listener("127.0.0.5")
        // A port on 127.0.0.2 that refuses: bound, never listening.
        let closed = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(closed) }
        var a = sockaddr_in()
        a.sin_family = sa_family_t(AF_INET)
        a.sin_addr.s_addr = inet_addr("127.0.0.2")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &a) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(closed, $0, length) == 0 && getsockname(closed, $0, &length) == 0 }
        }
        try #require(bound)
        let refused = (port: UInt16(bigEndian: a.sin_port), fd: closed)
        let policy = "section hosts ports\n    allow 127.0.0.2 \(allowed.port)\n    allow 127.0.0.2 \(refused.port)\n"
        let swap = "\(testBin)/tfo_swap"
        _ = try underKernel(policy, as: user, [swap, "refused", "127.0.0.2", "\(refused.port)", "127.0.0.5", "\(denied.port)", "50"])
        _ = try underKernel(policy, as: user, [swap, "unspec", "127.0.0.2", "\(allowed.port)", "127.0.0.5", "\(denied.port)", "50"])
        var arrived = 0
        for _ in 0..<5 { arrived += denied.arrivals() }
        #expect(arrived == 0)
        // Bare, the race is won (the socket is the program's own). On two
        // loaded cores the swapping thread can lose a whole run: at most
        // eight runs, stopping at the first arrival.
        var bare = 0, last = ""
        for _ in 0..<8 where bare == 0 {
            last = try run(swap, ["refused", "127.0.0.2", "\(refused.port)", "127.0.0.5", "\(denied.port)", "200"]).stdout
            bare += denied.arrivals()
        }
        #expect(bare >= 1, "\(last)")
    }

    /// A program with many mappings (a large /proc/PID/maps, as curl or
    /// python have): its names are judged all the same, allowed and
    /// disallowed (the supervisor reads no state of the program's).
    @Test(arguments: RunAs.allCases, [false, true])
    func aLargeProcessIsJudgedByItsNames(user: RunAs, fallback: Bool) throws {
        let sun = try Listener("127.0.0.2"), evil = try Listener("127.0.0.5", port: sun.port)
        let policy = "section hosts ports\n    allow www.sun.com \(sun.port)\n    allow 127.0.0.5 \(sun.port)\n    disallow evil.example *\n"
        let named = try underKernel(policy, as: user, fallback: fallback, [client, "maps", "3000", "resolve-connect", "www.sun.com", "\(sun.port)"])
        #expect(named.stdout == "ok\n", "\(named)")
        let disallowed = try underKernel(policy, as: user, fallback: fallback, [client, "maps", "3000", "resolve-connect", "evil.example", "\(sun.port)"])
        #expect(disallowed.stdout != "ok\n", "\(disallowed)")
        #expect(sun.arrivals() == 1 && evil.arrivals() == 0)
    }

    /// The child keeps no capability: as root it loads no BPF program,
    /// opens no AF_XDP or packet socket, ptraces nothing (its parent is the
    /// supervisor), makes no namespace and mounts nothing.
    @Test(arguments: RunAs.allCases)
    func theProgramHasNoCapability(user: RunAs) throws {
        let policy = "section hosts ports\n    allow 127.0.0.2 80\n"
        let r = try underKernel(policy, as: user, [client, "caps"])
        // One line an attempt: capget, bpf, AF_XDP, /etc/hosts for writing
        // (owned by root: root may), ptrace, AF_PACKET, unshare, setns, mount.
        let lines = r.stdout.split(separator: "\n").map(String.init)
        try #require(lines.count == 10, "\(r)")
        #expect(lines[0] == "effective 0000000000000000", "\(r)")
        for (i, attempt) in [(1, "bpf"), (2, "xdp"), (4, "ptrace"), (5, "packet"), (6, "unshare"), (7, "setns"), (8, "mount")] {
            #expect(lines[i] == "errno \(EPERM)" || lines[i] == "errno \(EACCES)", "\(attempt): \(r)")
        }
        #expect(lines[9] == "done")
        if user == .root && KernelTests.hasCapability(39) { // CAP_BPF: bare, the same program loads
            #expect(try run(client, ["caps"]).stdout.split(separator: "\n").dropFirst().first == "ok")
        }
    }

    /// The program cannot change the policy that judges it: a published
    /// table it tries to republish is read-only to it, and the supervisor
    /// keeps deciding with the publisher's.
    @Test(arguments: RunAs.allCases)
    func theProgramCannotRepublishItsPolicy(user: RunAs) throws {
        let allowed = try Listener("127.0.0.2"), denied = try Listener("127.0.0.2")
        let dir = try scratchDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        chmod(dir, 0o755)
        let name = "kernel-attack-\(getpid())-\(user)"
        try "section hosts ports\n    allow 127.0.0.2 \(allowed.port)\n".write(toFile: "\(dir)/first.cfg", atomically: true, encoding: .utf8)
        try "section hosts ports\n    allow 127.0.0.2 \(denied.port)\n".write(toFile: "\(dir)/mine.cfg", atomically: true, encoding: .utf8)
        let who = user == .nobody ? ["/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"] : []
        // Published by the user who runs the program, so that only the wall stops it.
        let published = try run(who.isEmpty ? safesockBinary : who[0], who.dropFirst() + (who.isEmpty ? [] : [safesockBinary])
                                + ["reload", name, "\(dir)/first.cfg"])
        #expect(published.status == 0, "\(published)")
        defer { shm_unlink("/safesock.\(name)") }
        let script = "\"$1\" reload \(name) \"$2\"; exec \"$0\" connect 127.0.0.2 \(denied.port)"
        let r = try run(who.isEmpty ? safesockBinary : who[0], who.dropFirst() + (who.isEmpty ? [] : [safesockBinary])
                        + ["run", "--kernel", "--table", name, "--", "/bin/sh", "-c", script, client, safesockBinary, "\(dir)/mine.cfg"])
        #expect(r.stdout == "errno \(EACCES)\n", "\(r)")
        #expect(r.stderr.contains("Read-only file system"), "\(r)")
        #expect(denied.arrivals() == 0)
    }

    /// Names whose nameserver never answers hold only the lookups of them,
    /// never the supervisor's answers to other calls: a connect made while
    /// eight such lookups are pending is answered before any of them ends.
    @Test func aSilentNameserverHoldsNoConnect() throws {
        let web = try Listener("127.0.0.2")
        let dns = try DNSStub("127.0.0.41", answers: ["slow1.allowed.test": "silent", "slow2.allowed.test": "silent"])
        let policy = "section hosts ports\n    allow *.allowed.test 80\n    allow 127.0.0.2 \(web.port)\n"
        let script = """
            for i in 1 2 3 4 5 6 7 8; do getent ahostsv4 slow$((i % 2 + 1)).allowed.test > /dev/null & done
            sleep 0.3
            "$0" connect 127.0.0.2 \(web.port)
            if [ -n "$(jobs -r)" ]; then echo "lookups still pending"; fi
            wait
            """
        let r = try underKernel(policy, as: .root, ["/bin/bash", "-c", script, client], nameserver: "127.0.0.41")
        _ = dns.stop()
        #expect(r.stdout == "ok\nlookups still pending\n", "\(r)")
        #expect(web.arrivals() == 1)
    }
}
