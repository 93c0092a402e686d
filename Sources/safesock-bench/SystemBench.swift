// SystemBench: real programs (Tests/bench/netbench.c, /bin/true, a small C
// program) bare and under each preload library, in one run: instructions
// counted by valgrind's callgrind (exact, repeatable), and times as ratios
// to bare libc measured interleaved. docs/benchmarks.md explains each figure.

import Foundation
import SafesockPolicy
import SafesockABI
import SafesockTable

/// A way to run a program: bare, under safesock, or under a peer.
struct Variant {
    var name: String
    var environment: [String: String]
}

struct SystemFigures: Encodable {
    var peers_missing: [String]
    var startup_instructions: [String: Double]      // /bin/true, total
    var connect_instructions: [String: Double]      // per connect, one destination again and again
    var connect_new_instructions: [String: Double]  // per connect, a different destination each time
    var true_max_rss_kib: [String: Double]          // /bin/true, median
    // Times (ns an operation) and their ratios to bare in the same round.
    var connect_ns: [String: Sample]                // allowed connect + close
    var connect_ratio: [String: Sample]
    var denied_ns: Sample                           // safesock: a refused connect call
    var denied_ratio: Sample                        // ... to a bare allowed connect + close
    var resolve_ns: [String: Sample]                // getaddrinfo of a hosts-file name
    var resolve_ratio: [String: Sample]
    var spawn_ns: [String: Sample]                  // posix_spawn + wait of a small C program
    var spawn_ratio: [String: Sample]
    var reload_ms: [String: Sample]                 // publish -> first decision on it, by policy
    // `run --kernel` and sandlock: by figure, then "bare", "safesock
    // --kernel", "sandlock"; the ratios are to bare in the same round.
    var kernel_ns: [String: [String: Sample]]
    var kernel_ratio: [String: [String: Sample]]
}

struct SystemBench {
    let bench = "build/bench"
    let netbench = "build/bench/netbench"
    let library = FileManager.default.currentDirectoryPath + "/build/lib/libsafesock.so"
    let port = 7311
    let deniedPort = 7312
    let kernelPort = 7313
    let cycle = 64
    let repetitions = 31
    var variants: [Variant] = []
    var missing: [String] = []

    static let base = ["PATH": "/usr/bin:/bin", "LANG": "C"]

    /// The hosts file the bench runs with (main.swift mounts it on /etc/hosts).
    static func hostsFile(cycle: Int) -> String {
        var lines = ["127.0.0.1 localhost", "::1 localhost", "127.0.0.1 bench.example.com"]
        for k in 0..<cycle { lines.append("127.0.1.\(k) b\(k).bench.example") }
        return lines.joined(separator: "\n") + "\n"
    }

    init() throws {
        for path in [netbench, "\(bench)/netbench-static", "\(bench)/empty", "\(bench)/empty-preload.so", "\(bench)/rss", library, "build/bin/safesock"] where !FileManager.default.fileExists(atPath: path) {
            throw BenchFailure(description: "\(path) is missing: run `make bench`")
        }
        var rng = SeededGenerator(seed: 100_000)
        var policy = realisticPolicy(100_000, &rng)
        policy += "    allow bench.example.com \(port)\n"
        for k in 0..<cycle { policy += "    allow b\(k).bench.example \(port)\n" }
        try policy.write(toFile: "\(bench)/policy-100k.cfg", atomically: true, encoding: .utf8)
        let compiled = try Child.run(["build/bin/safesock", "compile", "\(bench)/policy-100k.cfg", "-o", "\(bench)/policy-100k.table"],
                                     environment: Self.base)
        guard compiled.status == 0 else { throw BenchFailure(description: "safesock compile failed") }
        let cwd = FileManager.default.currentDirectoryPath
        try """
            strict_chain
            quiet_mode
            localnet 127.0.0.0/255.0.0.0
            [ProxyList]
            socks5 127.0.0.1 9

            """.write(toFile: "\(bench)/proxychains.conf", atomically: true, encoding: .utf8)
        try "TorAddress 127.0.0.1\nTorPort 9\nAllowOutboundLocalhost 1\n"
            .write(toFile: "\(bench)/torsocks.conf", atomically: true, encoding: .utf8)
        // As `safesock run` starts programs: the table file, and its sealed
        // memfd inherited (SAFESOCK_TABLE_FD), which every program maps
        // rather than copying the file (Sources/SafesockCLI/Run.swift).
        let table = try Data(contentsOf: URL(fileURLWithPath: "\(bench)/policy-100k.table"))
        let sealed = table.withUnsafeBytes { safesock_sealed_table(-1, $0.baseAddress, $0.count, 0) }
        let shared = sealed >= 0 ? fcntl(sealed, F_DUPFD, 100) : -1
        var safesock = ["LD_PRELOAD": library, "SAFESOCK_TABLE": "\(cwd)/\(bench)/policy-100k.table"]
        if shared >= 0 { safesock["SAFESOCK_TABLE_FD"] = "\(shared)" }
        variants = [
            Variant(name: "bare", environment: [:]),
            Variant(name: "safesock", environment: safesock),
            // The floor under every preload column: a library with nothing in it.
            Variant(name: "empty preload", environment: ["LD_PRELOAD": "\(cwd)/\(bench)/empty-preload.so"]),
        ]
        let proxychains = "/usr/lib/x86_64-linux-gnu/libproxychains.so.4"
        let torsocks = "/usr/lib/x86_64-linux-gnu/torsocks/libtorsocks.so"
        if FileManager.default.fileExists(atPath: proxychains) {
            variants.append(Variant(name: "proxychains4", environment: [
                "LD_PRELOAD": proxychains, "PROXYCHAINS_CONF_FILE": "\(cwd)/\(bench)/proxychains.conf", "PROXYCHAINS_QUIET_MODE": "1"]))
        } else { missing.append("proxychains4") }
        if FileManager.default.fileExists(atPath: torsocks) {
            variants.append(Variant(name: "torsocks", environment: [
                "LD_PRELOAD": torsocks, "TORSOCKS_CONF_FILE": "\(cwd)/\(bench)/torsocks.conf"]))
        } else { missing.append("torsocks") }
    }

    func environment(_ v: Variant) -> [String: String] { Self.base.merging(v.environment) { $1 } }

    /// Instructions of one run of `argv` under callgrind.
    func instructions(_ v: Variant, _ argv: [String]) throws -> Double {
        let out = "\(bench)/callgrind.out"
        let r = try Child.run(["valgrind", "--tool=callgrind", "--callgrind-out-file=\(out)"] + argv, environment: environment(v))
        guard r.status == 0, let text = try? String(contentsOfFile: out, encoding: .utf8),
              let line = text.split(separator: "\n").first(where: { $0.hasPrefix("totals:") || $0.hasPrefix("summary:") }),
              let total = Double(line.split(separator: " ").last ?? "")
        else { throw BenchFailure(description: "callgrind of \(argv.joined(separator: " ")) under \(v.name) failed (exit \(r.status))") }
        return total
    }

    /// Instructions per operation: the difference of two loop lengths, so
    /// start-up and the first decision (the table's one-time check) cancel.
    func perOperation(_ v: Variant, _ argv: (Int) -> [String]) throws -> Double {
        let short = 100, long = 300
        return try (instructions(v, argv(long)) - instructions(v, argv(short))) / Double(long - short)
    }

    /// netbench serving `port` for at most `seconds`, ready; the caller
    /// terminates it.
    func listener(port: Int, seconds: Int) throws -> Process {
        let server = Process()
        server.executableURL = URL(fileURLWithPath: netbench)
        server.arguments = ["serve", "\(port)", "\(seconds)"]
        server.environment = Self.base
        let ready = Pipe()
        server.standardOutput = ready
        try server.run()
        guard String(decoding: ready.fileHandleForReading.availableData, as: UTF8.self).hasPrefix("ready") else {
            server.terminate()
            server.waitUntilExit()
            throw BenchFailure(description: "the listener could not start on port \(port) (in use?)")
        }
        return server
    }

    func run() throws -> SystemFigures {
        let server = try listener(port: port, seconds: 1200)
        defer { server.terminate(); server.waitUntilExit() }

        let destination = ["bench.example.com", "\(port)"]
        let every = variants
        // torsocks sends every name lookup to Tor (absent here): it runs the
        // connect workloads on the address, and has no resolve figure.
        func host(_ v: Variant, _ name: String, _ address: String) -> String { v.name == "torsocks" ? address : name }

        print("counting instructions (valgrind --tool=callgrind) ...")
        var startup: [String: Double] = [:], connect: [String: Double] = [:], fresh: [String: Double] = [:]
        for v in every {
            startup[v.name] = try instructions(v, ["/bin/true"])
            connect[v.name] = try perOperation(v) { [netbench, "connect", host(v, destination[0], "127.0.0.1"), destination[1], "\($0)"] }
            fresh[v.name] = try perOperation(v) {
                [netbench, "connect", host(v, "b%d.bench.example", "127.0.1.%d"), destination[1], "\($0)", "\(cycle)"]
            }
        }

        print("timing, \(repetitions) interleaved rounds ...")
        var rss: [String: [Double]] = [:], connectNs: [String: [Double]] = [:], resolveNs: [String: [Double]] = [:]
        var spawnNs: [String: [Double]] = [:], deniedNs: [Double] = []
        for _ in 0..<repetitions {
            for v in every {
                let env = environment(v)
                rss[v.name, default: []].append(try Child.number(["\(bench)/rss", "/bin/true"], environment: env))
                connectNs[v.name, default: []].append(
                    try Child.number([netbench, "connect", host(v, destination[0], "127.0.0.1"), destination[1], "3000"], environment: env))
                if v.name != "torsocks" {
                    resolveNs[v.name, default: []].append(try Child.number([netbench, "resolve", destination[0], "3000"], environment: env))
                }
                var spawnEnv = Self.base
                for (key, value) in v.environment { spawnEnv["NETBENCH_CHILD_\(key)"] = value }
                spawnNs[v.name, default: []].append(try Child.number([netbench, "spawn", "300", "\(bench)/empty"], environment: spawnEnv))
                if v.name == "safesock" {
                    deniedNs.append(try Child.number([netbench, "deny", destination[0], "\(deniedPort)", "3000"], environment: env))
                }
            }
        }

        let (kernelNs, kernelRatio) = try kernelFigures()

        print("timing reload ...")
        let reload = try reloadFigures()

        // Each round's ratio to bare in the same round: drift between
        // rounds (the other core's load) cancels.
        func ratios(_ d: [String: [Double]]) -> [String: Sample] {
            d.mapValues { values in Sample(zip(values, d["bare"] ?? []).map { $0 / $1 }) }
        }
        return SystemFigures(peers_missing: missing, startup_instructions: startup, connect_instructions: connect,
                             connect_new_instructions: fresh, true_max_rss_kib: rss.mapValues { Sample($0).median },
                             connect_ns: connectNs.mapValues(Sample.init), connect_ratio: ratios(connectNs),
                             denied_ns: Sample(deniedNs), denied_ratio: Sample(zip(deniedNs, connectNs["bare"] ?? []).map { $0 / $1 }),
                             resolve_ns: resolveNs.mapValues(Sample.init), resolve_ratio: ratios(resolveNs),
                             spawn_ns: spawnNs.mapValues(Sample.init), spawn_ratio: ratios(spawnNs), reload_ms: reload,
                             kernel_ns: kernelNs, kernel_ratio: kernelRatio)
    }

    /// Rounds of the kernel figures (each a few seconds).
    static let kernelRounds = 10

    /// The sandbox's own venv (make bench); nil when sandlock is not there.
    static let sandlock: String? = {
        let python = "build/bench/venv/bin/python"
        return FileManager.default.fileExists(atPath: "build/bench/venv/sandlock-0.9.0") ? python : nil
    }()

    /// The nameserver build/bench/resolv.conf names (main.swift mounts it on
    /// /etc/resolv.conf): Tests/programs/dns_stub.py, answering one name.
    static let nameserver = "127.0.0.44"
    static let dnsName = "dns.bench.example"

    /// `run --kernel` against bare and sandlock, in the same rounds: an
    /// allowed loopback connect from a dynamic and a static binary, the
    /// start of /bin/true, and a DNS lookup of a name only the nameserver
    /// knows (through safesock's DNS service, which asks the stub, against
    /// glibc asking the stub itself).
    func kernelFigures() throws -> ([String: [String: Sample]], [String: [String: Sample]]) {
        print("timing run --kernel and sandlock ...")
        let port = kernelPort
        let server = try listener(port: port, seconds: 600)
        defer { server.terminate(); server.waitUntilExit() }
        let stub = Process()
        stub.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        stub.arguments = ["python3", "Tests/programs/dns_stub.py", Self.nameserver, "53", "\(Self.dnsName)=127.0.0.1"]
        let stubIn = Pipe(), stubOut = Pipe()
        stub.standardInput = stubIn
        stub.standardOutput = stubOut
        try stub.run()
        defer { try? stubIn.fileHandleForWriting.close(); stub.waitUntilExit() } // it stops when its input closes
        guard String(decoding: stubOut.fileHandleForReading.availableData, as: UTF8.self).hasPrefix("ready") else {
            throw BenchFailure(description: "the DNS stub could not start at \(Self.nameserver):53")
        }
        let cwd = FileManager.default.currentDirectoryPath
        try "section hosts ports\n    allow 127.0.0.1 \(port)\n    allow \(Self.dnsName) \(port)\n"
            .write(toFile: "\(bench)/kernel.cfg", atomically: true, encoding: .utf8)
        let kernel = ["\(cwd)/build/bin/safesock", "run", "--kernel", "--policy", "\(bench)/kernel.cfg", "--"]
        let sandlock = Self.sandlock.map { [$0, "Tests/bench/sandlock_bench.py"] }
        let static_ = "\(bench)/netbench-static"
        // (figure, bare argv, under --kernel, under sandlock, the design's floor)
        var cases: [(String, [String], [String], [String]?, [String]?)] = []
        // The floor: the same loop answered by the least a supervisor of
        // this design can do (Tests/bench/notify_floor.c).
        let floor = ["\(bench)/notify_floor", "127.0.0.1", "\(port)", "2000"]
        for (label, program) in [("allowed connect + close, dynamic", netbench), ("allowed connect + close, static", static_)] {
            let argv = [program, "connect", "127.0.0.1", "\(port)", "2000"]
            cases.append((label, argv, kernel + argv, sandlock.map { $0 + ["run", "\(port)"] + argv }, floor))
        }
        cases.append(("start /bin/true", [netbench, "spawn", "20", "/bin/true"], [netbench, "spawn", "20"] + kernel + ["/bin/true"],
                      sandlock.map { $0 + ["spawn", "20", "\(port)", "/bin/true"] }, nil))
        let lookup = [netbench, "resolve", Self.dnsName, "300"]
        cases.append(("DNS lookup, a name only DNS knows", lookup, kernel + lookup, nil, nil))
        var ns: [String: [String: [Double]]] = [:], ratio: [String: [String: [Double]]] = [:]
        for _ in 0..<Self.kernelRounds {
            for (label, bare, underKernel, underSandlock, atFloor) in cases {
                let b = try Child.number(bare, environment: Self.base)
                ns[label, default: [:]]["bare", default: []].append(b)
                let k = try Child.number(underKernel, environment: Self.base)
                ns[label, default: [:]]["safesock --kernel", default: []].append(k)
                ratio[label, default: [:]]["safesock --kernel", default: []].append(k / b)
                if let atFloor {
                    // The floor, then the floor making the reads this design
                    // needs before it connects for a caller (notify_floor.c).
                    for (column, argv) in [("design's floor", atFloor), ("floor + reads", atFloor + ["reads"])] {
                        let l = try Child.number(argv, environment: Self.base)
                        ns[label, default: [:]][column, default: []].append(l)
                        ratio[label, default: [:]][column, default: []].append(l / b)
                    }
                }
                if let underSandlock {
                    let l = try Child.number(underSandlock, environment: Self.base)
                    ns[label, default: [:]]["sandlock", default: []].append(l)
                    ratio[label, default: [:]]["sandlock", default: []].append(l / b)
                }
            }
        }
        return (ns.mapValues { $0.mapValues(Sample.init) }, ratio.mapValues { $0.mapValues(Sample.init) })
    }

    /// Reload latency for the home policy and the 100k-rule one.
    func reloadFigures() throws -> [String: Sample] {
        var reload: [String: Sample] = [:]
        for (label, text) in [("home.cfg", try String(contentsOfFile: "policies/home.cfg", encoding: .utf8)),
                              ("100k rules", try String(contentsOfFile: "\(bench)/policy-100k.cfg", encoding: .utf8))] {
            reload[label] = Sample(try reloadLatency(policy: text))
        }
        return reload
    }

    /// Milliseconds from publishing a table (the publish call starting) to
    /// the first decision a running program makes on it: the program is
    /// refused the port until the new table, which allows it, is published.
    func reloadLatency(policy: String) throws -> [Double] {
        let name = "safesock-bench-\(getpid())"
        let denying = policy.replacingOccurrences(of: "    allow bench.example.com \(port)\n", with: "")
        let allowing = denying.replacingOccurrences(of: "section hosts ports\n", with: "section hosts ports\n    allow 127.0.0.1 \(port)\n")
        var samples: [Double] = []
        // Nine: the median of five moved by a tenth of a millisecond between runs.
        for _ in 0..<9 {
            _ = try publish(name, denying)
            let client = Process()
            client.executableURL = URL(fileURLWithPath: netbench)
            client.arguments = ["reload", "127.0.0.1", "\(port)", "20000000"]
            client.environment = environment(Variant(name: "safesock", environment: ["LD_PRELOAD": library, "SAFESOCK_TABLE": name]))
            let out = Pipe()
            client.standardOutput = out
            client.standardError = FileHandle(forWritingAtPath: "/dev/null")
            try client.run()
            var seen = Data()
            while !String(decoding: seen, as: UTF8.self).contains("ready\n") {
                let chunk = out.fileHandleForReading.availableData
                if chunk.isEmpty { break }
                seen += chunk
            }
            usleep(20_000) // the client is now deciding (and refused) in a loop
            let start = try publish(name, allowing)
            let rest = out.fileHandleForReading.readDataToEndOfFile()
            client.waitUntilExit()
            let lines = String(decoding: seen + rest, as: UTF8.self).split(separator: "\n")
            guard client.terminationStatus == 0, let last = lines.last, let reached = UInt64(last) else {
                throw BenchFailure(description: "reload client failed: \(lines)")
            }
            samples.append(Double(Int64(reached) - Int64(start)) / 1e6)
        }
        shm_unlink("/safesock.\(name)")
        return samples
    }

    /// Publishes the policy's table; the clock just before the publication
    /// (compiling is not counted).
    func publish(_ name: String, _ text: String) throws -> UInt64 {
        let parsed = PolicyParser.parse(text: text, name: "bench.cfg")
        guard !parsed.hasErrors else { throw BenchFailure(description: "reload policy has errors") }
        var publisher = safesock_publisher()
        var error = [CChar](repeating: 0, count: 512)
        defer { safesock_publish_close(&publisher) }
        guard safesock_publish_open(name, &publisher, &error, error.count) == 0 else {
            throw BenchFailure(description: "cannot publish: \(String(decoding: error.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))")
        }
        let table = try TableCompiler.compile(parsed.policy, generation: publisher.next_generation)
        let start = now()
        let rc = table.withUnsafeBytes { safesock_publish_commit(&publisher, $0.baseAddress, $0.count, &error, error.count) }
        guard rc == 0 else { throw BenchFailure(description: "cannot publish: \(String(decoding: error.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))") }
        return start
    }
}
