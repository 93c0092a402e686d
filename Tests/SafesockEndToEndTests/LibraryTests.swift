// The preload library in real processes: its shape (libc only, only the
// intercepted calls exported), and connect decided by the policy.

import Foundation
import SafesockPolicy
import Testing

@Suite(.serialized, .endToEnd) struct LibraryTests {
    @Test func needsOnlyLibcAndExportsOnlyTheInterceptedCalls() throws {
        let dynamic = try run("/usr/bin/readelf", ["-d", libraryPath])
        let needed = dynamic.stdout.split(separator: "\n").filter { $0.contains("(NEEDED)") }
        #expect(needed.count == 1 && needed[0].contains("[libc.so.6]"), "\(needed)")
        let defined = try run("/usr/bin/nm", ["-D", "--defined-only", libraryPath])
        let names = Set(defined.stdout.split(separator: "\n").compactMap { $0.split(separator: " ").last.map(String.init) })
        #expect(names == ["connect", "__connect", "sendto", "sendmsg", "sendmmsg", "__sendmmsg", "getaddrinfo",
                          "getaddrinfo_a", "gethostbyname", "gethostbyname2", "gethostbyname_r", "gethostbyname2_r",
                          "getnameinfo", "gethostbyaddr", "gethostbyaddr_r",
                          "getservbyname", "getservbyname_r", "getservent", "getservent_r", "getpeername", "setsockopt", "bind", "listen",
                          "res_query", "res_search", "res_querydomain", "res_send", "res_nquery", "res_nsearch",
                          "res_nquerydomain", "res_nsend", "__res_query", "__res_search", "__res_querydomain", "__res_send",
                          "__res_nquery", "__res_nsearch", "__res_nquerydomain", "__res_nsend",
                          "execve", "execv", "execvp", "execvpe", "execl", "execlp", "execle", "fexecve", "execveat",
                          "posix_spawn", "posix_spawnp", "system", "popen",
                          "close", "dup", "dup2", "dup3", "close_range", "closefrom", "fcntl", "fcntl64"])
        let all = try run("/usr/bin/nm", ["-D", libraryPath]).stdout
        #expect(!all.contains("swift_") && !all.contains("$s") && !all.contains("$e"), "\(all)")
    }

    /// The calls found at load by the library's own walk of the loaded
    /// objects (CShim/symbols.c) must be the ones dlsym(RTLD_NEXT) finds:
    /// the walk, compiled into a program, against dlsym for every function
    /// libc, libm and libresolv define (a name the walk leaves to dlsym is
    /// counted, an address it gives that dlsym does not is a failure).
    @Test func theLoadTimeWalkFindsWhatDlsymFinds() throws {
        let check = "\(testBin)/symbols_check"
        for library in ["libc.so.6", "libm.so.6", "libresolv.so.2"] {
            let path = "/lib/x86_64-linux-gnu/\(library)"
            let defined = try run("/usr/bin/nm", ["-D", "--defined-only", path]).stdout
            let names = Set(defined.split(separator: "\n").compactMap { $0.split(separator: " ").last?.split(separator: "@").first.map(String.init) })
            let r = try run(check, [], env: library == "libc.so.6" ? [:] : ["LD_PRELOAD": path], input: names.sorted().joined(separator: "\n") + "\n")
            #expect(r.status == 0 && !r.stdout.contains("mismatch"), "\(library): \(r)")
            let walked = r.stdout.split(separator: "\n").last.flatMap { Int($0.split(separator: " ")[1]) } ?? 0
            #expect(walked * 4 > names.count * 3, "\(library): the walk left most names to dlsym: \(r.stdout)")
        }
        let ours = ["connect", "__connect", "sendto", "sendmsg", "setsockopt", "bind", "listen", "getpeername", "close",
                    "dup", "dup2", "execve", "fexecve", "fcntl"]
        let r = try run(check, [], input: ours.joined(separator: "\n") + "\n")
        #expect(r.stdout == "walked 14 of 14\n", "the calls looked up at load: \(r)")
    }

    /// Another preload library with its own connect, after safesock or
    /// before it: after, it gets each connect safesock allowed and none it
    /// denied (the walk found the next definition, not libc's past it);
    /// before, it sees every connect, and safesock still judges each.
    @Test(arguments: RunAs.allCases)
    func aSecondPreloadLibraryKeepsItsPlaceInTheChain(user: RunAs) throws {
        let dir = try scratchDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        chmod(dir, 0o755)
        func probe(_ arguments: [String], env: [String: String]) throws -> Run { try probeAs(user, arguments, env: env) }
        let open = try Listener(), closed = try Listener()
        let table = try tableFile("section hosts ports\n    allow 127.0.0.1 \(open.port)\n", in: dir)
        let chain = "\(testBin)/libchain.so"
        for (order, preload) in [("after", "\(libraryPath) \(chain)"), ("before", "\(chain) \(libraryPath)")] {
            let allowed = try probe(["connect", "127.0.0.1", "\(open.port)"], env: ["LD_PRELOAD": preload, "SAFESOCK_TABLE": table])
            #expect(allowed.stdout == "ok\n" && allowed.stderr == "chain connect\n", "\(order): \(allowed)")
            let denied = try probe(["connect", "127.0.0.1", "\(closed.port)"], env: ["LD_PRELOAD": preload, "SAFESOCK_TABLE": table])
            #expect(denied.stdout == "errno \(EACCES)\n", "\(order): \(denied)")
            #expect(denied.stderr.contains("chain connect") == (order == "before"), "\(order): \(denied)")
        }
        #expect(open.arrivals() == 2)
        #expect(closed.arrivals() == 0, "a denied connect reached the listener")
    }

    @Test func allowedConnectsDeniedNeverReachTheKernel() throws {
        let dir = try scratchDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let open = try Listener(), closed = try Listener()
        let table = try tableFile("section hosts ports\n    allow 127.0.0.1 \(open.port)\n    disallow * \(closed.port)\n    allow * \(closed.port)\n", in: dir)
        let allowed = try client(["connect", "127.0.0.1", "\(open.port)"], table: table)
        #expect(allowed.stdout == "ok\n" && allowed.status == 0, "\(allowed)")
        #expect(open.arrivals() == 1)
        for way in ["connect", "dunder"] {
            let denied = try client([way, "127.0.0.1", "\(closed.port)"], table: table)
            #expect(denied.stdout == "errno \(EACCES)\n", "\(way) \(denied)")
            #expect(denied.stderr == "safesock: permission denied for host 127.0.0.1 port \(closed.port) (disallowed by policy.cfg:3)\n")
        }
        #expect(closed.arrivals() == 0, "a denied connect reached the listener")
        let unlisted = try client(["connect", "127.0.0.2", "\(open.port)"], table: table)
        #expect(unlisted.stdout == "errno \(EACCES)\n" && unlisted.stderr.hasSuffix("(no rule allows it)\n"), "a table without a label names no policy")
    }

    @Test func everyAddressSpellingIsJudgedAsItsHost() throws {
        let dir = try scratchDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let listener = try Listener()
        let allow = try tableFile("section hosts ports\n    allow 127.0.0.1 \(listener.port)\n", in: dir, name: "allow.cfg")
        let deny = try tableFile("section hosts ports\n    allow * *\n    disallow 127.0.0.0/8 *\n", in: dir, name: "deny.cfg")
        #expect(try client(["connect", "::ffff:127.0.0.1", "\(listener.port)"], table: allow).stdout == "ok\n")
        #expect(listener.arrivals() == 1)
        for address in ["::ffff:127.0.0.1", "127.0.0.1", "0.0.0.0"] {
            let r = try client(["dunder", address, "\(listener.port)"], table: deny)
            #expect(r.stdout == "errno \(EACCES)\n", "\(address): \(r)")
        }
        #expect(listener.arrivals() == 0)
    }

    @Test func datagramsFollowTheirOption() throws {
        let dir = try scratchDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let closed = try tableFile("section hosts ports\n    allow 127.0.0.1 *\n", in: dir, name: "closed.cfg")
        let denied = try client(["udp-sendto", "127.0.0.1", "5353"], table: closed)
        #expect(denied.stdout == "errno \(EACCES)\n" && denied.stderr.contains("(datagrams deny)"), "\(denied)")
        let open = try tableFile("section options\n    datagrams allow\nsection hosts ports\n    allow 127.0.0.1 5353\n", in: dir, name: "open.cfg")
        #expect(try client(["udp-sendto", "127.0.0.1", "5353"], table: open).stdout == "ok\n")
        #expect(try client(["udp-sendto", "127.0.0.1", "5354"], table: open).stdout == "errno \(EACCES)\n")
    }

    @Test func failsClosedSayingWhyOnce() throws {
        let dir = try scratchDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let listener = try Listener()
        let good = try tableFile("section hosts ports\n    allow * *\n", in: dir)
        let bytes = try Data(contentsOf: URL(fileURLWithPath: good))
        let truncated = "\(dir)/truncated.table", flipped = "\(dir)/flipped.table"
        try bytes.prefix(bytes.count - 8).write(to: URL(fileURLWithPath: truncated))
        var damaged = bytes
        damaged[damaged.count - 3] ^= 0x40 // in the block sums, which the check at load covers
        try damaged.write(to: URL(fileURLWithPath: flipped))
        // `allow * *` in format 1: refused, never read as today's format.
        let old = "\(dir)/format1.table"
        try Data(formatOneAllowAll).write(to: URL(fileURLWithPath: old))
        for (table, reason) in [(nil, "SAFESOCK_TABLE is not set"), ("\(dir)/missing.table", "No such file or directory"),
                                (truncated, "truncated?"), (flipped, "block sums do not match their checksum (corrupt)"), (dir, "not a non-empty regular file"),
                                (old, "table is format 1, which this safesock no longer reads: compile the policy again")] {
            let r = try client(["connect", "127.0.0.1", "\(listener.port)"], table: table)
            #expect(r.status == 1 && r.stdout == "errno \(EACCES)\n", "\(reason): \(r)")
            let lines = r.stderr.split(separator: "\n")
            #expect(lines.count == 2 && lines[0].contains(reason) && lines[0].hasSuffix("every network connection is denied"), "\(r.stderr)")
        }
        #expect(listener.arrivals() == 0)
        #expect(try client(["connect", "127.0.0.1", "\(listener.port)"], table: good).stdout == "ok\n")
    }

    @Test func learnModeRecordsAndDeniesNothing() throws {
        let dir = try scratchDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let listener = try Listener()
        let table = try tableFile("section hosts ports\n    disallow * *\n", in: dir)
        let r = try client(["connect", "127.0.0.1", "\(listener.port)"], table: table, env: ["SAFESOCK_MODE": "learn"])
        #expect(r.stdout == "ok\n", "\(r)")
        #expect(r.stderr == "safesock: learn: would deny host 127.0.0.1 port \(listener.port) (disallowed by policy.cfg:2)\n")
        #expect(listener.arrivals() == 1)
    }
}
