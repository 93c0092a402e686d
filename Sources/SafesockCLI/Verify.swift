// `safesock verify POLICY`: every rule's boundary probes (ProbePlanner) run
// as real connections under the library, against listeners on addresses
// of a private network namespace, names mapped to them in a private
// /etc/hosts; each outcome compared with the model's prediction.
//
// The outer command plans and compares; it re-runs itself as
// `__verify-inside PLAN` under `unshare --net --mount` (so needs root, or a
// user namespace), which brings up lo, adds the addresses, mounts the hosts
// file, starts listeners and runs `safesock run ... -- safesock __probe`.

import FoundationEssentials
import Glibc
import Dispatch
import SafesockLint
import SafesockPolicy

let verifyCommand = Command(
    name: "verify",
    brief: "probe every rule's boundaries with real connections",
    summary: """
    Run every rule's boundary probes (ports either side of each bound, a name
    inside and outside each glob, each address form, the edges of each CIDR
    block) as real connections under the library, against listeners in a
    private network namespace, and print rule by rule what `explain`
    predicts and what happened. Exit status 1 on any difference.
    Needs unshare(1) and ip(8), and the right to make namespaces (root).
    """,
    usage: "safesock verify POLICY [--origin H]",
    options: [.value("--origin", "H", "the origin host ($originSocketHost)")],
    run: verify)

let verifyInsideCommand = Command(name: "__verify-inside", summary: "", usage: "", options: [], run: verifyInside)
let probeCommand = Command(name: "__probe", summary: "", usage: "", options: [], run: probeConnections)

struct VerifyPlan: Codable {
    var policy: String
    var origin: String?
    var hosts: String
    var addresses: [String]
    var listeners: [String]
    var probes: [String]
}

func verify(_ arguments: ParsedArguments) -> Int32 {
    guard arguments.positionals.count == 1 else { return CLI.usageError("verify", "name one policy") }
    let path = arguments.positionals[0]
    guard let policy = CLI.usablePolicy(path, for: "verify", otherwise: "nothing verified") else { return ExitStatus.failure }
    let origin = arguments.value("--origin")
    var probes = ProbePlanner.probes(policy, origin: origin)
    let originIdentity = origin.map { Identity(host: $0) }

    // Every name gets an address of its own, clear of the probed ones: on
    // the loopback, or, under privateNames deny (which keeps names off
    // loopback), a public one that exists only in the namespace.
    let privateNamesDeny = policy.options.privateNames == .deny
    let probedAddresses = Set(probes.compactMap { IPAddress(parsing: $0.host) })
    func addresses(_ prefix: String) -> [String: IPAddress] {
        var addressOf: [String: IPAddress] = [:]
        var next = 0
        for name in Set(probes.map(\.host) + (origin.map { [$0] } ?? [])).sorted() where IPAddress(parsing: name) == nil {
            let canonical = Identity.canonicalName(name)
            guard addressOf[canonical] == nil else { continue }
            var candidate: IPAddress
            repeat {
                candidate = IPAddress(parsing: "\(prefix).\(next / 250).\(next % 250 + 1)")!
                next += 1
            } while probedAddresses.contains(candidate)
            addressOf[canonical] = candidate
        }
        return addressOf
    }

    // One pass: the hosts file, the listeners, the probes, and what the
    // model says of each, with the identities the library will see.
    func pass(_ probes: [Probe], _ addressOf: [String: IPAddress]) -> (plan: VerifyPlan, predicted: [Verdict]) {
        let hosts = "127.0.0.1 localhost\n::1 localhost\n" + addressOf.sorted { $0.key < $1.key }
            .map { "\($0.value) \($0.key) \($0.key)." }.joined(separator: "\n") + "\n"
        var predicted: [Verdict] = []
        var listeners = Set<String>()
        for probe in probes {
            var identities: [Identity]
            let direct = Identity(host: probe.host)
            if case .address(let a) = direct {
                identities = [direct]
                listeners.insert("\(a) \(probe.port)")
            } else {
                let address = addressOf[Identity.canonicalName(probe.host)]!
                identities = [.address(address), direct]
                listeners.insert("\(address) \(probe.port)")
            }
            predicted.append(policy.decide(Destination(identities: identities, port: probe.port), origin: originIdentity).verdict)
        }
        let onLoopback = { (a: String) in a.hasPrefix("127.") || a == "::1" }
        let extra = Set(probedAddresses.map(\.description) + addressOf.values.map(\.description)).filter { !onLoopback($0) }.sorted()
        let plan = VerifyPlan(policy: path == DefaultPolicy.name ? path : absolute(path), origin: origin, hosts: hosts, addresses: extra,
                              listeners: listeners.sorted(), probes: probes.map { "\($0.host) \($0.port)" })
        return (plan, predicted)
    }
    var passes = [pass(probes, addresses(privateNamesDeny ? "11.77" : "127.77"))]
    // privateNames deny: each name a probe reached, pointed at a private
    // address instead (10.77/16, in the namespace), must now be refused.
    if privateNamesDeny {
        var seen = Set<String>()
        let rebound = probes.indices.filter { passes[0].predicted[$0] == .allow && IPAddress(parsing: probes[$0].host) == nil }
            .map { probes[$0] }.filter { seen.insert(Identity.canonicalName($0.host)).inserted }
            .map { Probe(host: $0.host, port: $0.port, rule: $0.rule, why: "the name led to a private address: privateNames deny") }
        if !rebound.isEmpty {
            passes.append(pass(rebound, addresses("10.77")))
            probes += rebound
        }
    }

    guard let exe = System.executablePath() else { return ExitStatus.failure }
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("safesock-verify-\(getpid())")
    do {
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    } catch {
        Output.err("safesock verify: \(error)")
        return ExitStatus.failure
    }
    defer { try? FileManager.default.removeItem(at: dir) }
    var lines: [String] = [], predictions: [Verdict] = []
    for (i, (plan, predicted)) in passes.enumerated() {
        let file = dir.appendingPathComponent("plan\(i).json")
        guard (try? JSONEncoder().encode(plan).write(to: file)) != nil else {
            Output.err("safesock verify: cannot write \(file.path)")
            return ExitStatus.failure
        }
        let inside = System.spawn(["/usr/bin/unshare", "--net", "--mount", "--", exe, "__verify-inside", file.path], capture: true)
        let got = String(decoding: inside.output, as: UTF8.self).split(separator: "\n").map(String.init)
        guard inside.status == 0, got.count == plan.probes.count else {
            Output.err("safesock verify: the probe run failed (status \(inside.status), \(got.count) of \(plan.probes.count) results); verify needs root for its namespaces")
            return ExitStatus.failure
        }
        lines += got
        predictions += predicted
    }

    var report = "safesock verify \(arguments.positionals[0])\(origin.map { " --origin \($0)" } ?? ""): \(probes.count) probes\n"
    let ruleWidth = max(4, probes.map { $0.rule.description.count }.max() ?? 0)
    let probeWidth = max(5, probes.map { "\($0.host) \($0.port)".count }.max() ?? 0)
    report += "\("rule".padded(ruleWidth))  \("probe".padded(probeWidth))  predicted  happened\n"
    var differences = 0
    for (i, probe) in probes.enumerated() {
        let happened: String
        switch lines[i] {
        case "ok": happened = "allow"
        case "errno \(EACCES)", "gai \(EAI_NONAME)": happened = "deny"
        default: happened = "error (\(lines[i]))"
        }
        let agree = happened == predictions[i].rawValue
        if !agree { differences += 1 }
        report += "\(probe.rule.description.padded(ruleWidth))  \("\(probe.host) \(probe.port)".padded(probeWidth))  \(predictions[i].rawValue.padded(9))  \(happened)\(agree ? "" : "   <-- DIFFERS")  (\(probe.why))\n"
    }
    report += differences == 0 ? "all \(probes.count) probes agree" : "\(differences) of \(probes.count) probes differ"
    Output.out(report)
    return differences == 0 ? ExitStatus.success : ExitStatus.failure
}

/// Inside the namespaces: addresses, hosts file, listeners, the probe run.
func verifyInside(_ arguments: ParsedArguments) -> Int32 {
    guard let path = arguments.positionals.first, let data = FileManager.default.contents(atPath: path),
          let plan = try? JSONDecoder().decode(VerifyPlan.self, from: data), let exe = System.executablePath() else { return 2 }
    let dir = System.directory(of: path)
    func tool(_ command: [String]) -> Bool { System.spawnAndWait(command) == 0 }
    let ip = ["/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip"].first(where: System.isReadableFile) ?? "/usr/sbin/ip"
    guard tool([ip, "link", "set", "lo", "up"]) else { return 3 }
    for address in plan.addresses {
        _ = tool([ip, "addr", "add", address.contains(":") ? "\(address)/128" : "\(address)/32", "dev", "lo"] + (address.contains(":") ? ["nodad"] : []))
    }
    let hostsPath = "\(dir)/hosts"
    guard (try? plan.hosts.write(toFile: hostsPath, atomically: true, encoding: .utf8)) != nil,
          tool(["/usr/bin/mount", "--bind", hostsPath, "/etc/hosts"]) else { return 4 }
    var sockets: [Int32] = []
    for listener in plan.listeners {
        let parts = listener.split(separator: " ")
        if let fd = System.listen(address: String(parts[0]), port: UInt16(parts[1])!) { sockets.append(fd) }
    }
    defer { sockets.forEach { close($0) } }
    let run = [exe, "run", "--policy", plan.policy] + (plan.origin.map { ["--origin", $0] } ?? [])
        + ["--log", "/dev/null", "--", exe, "__probe"]
    return System.spawnAndWait(run, input: plan.probes.joined(separator: "\n") + "\n") == 0 ? 0 : 6
}

/// The client: for each "HOST PORT" line, resolve and connect; one result
/// line each ("ok", "errno N", "gai N").
func probeConnections(_ arguments: ParsedArguments) -> Int32 {
    while let line = readLine() {
        let parts = line.split(separator: " ")
        guard parts.count == 2 else { continue }
        Output.out(System.connectOnce(host: String(parts[0]), port: String(parts[1])))
    }
    return 0
}
