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
    let probes = ProbePlanner.probes(policy, origin: origin)

    // Every name gets a loopback address of its own, clear of the probed ones.
    let probedAddresses = Set(probes.compactMap { IPAddress(parsing: $0.host) })
    var addressOf: [String: IPAddress] = [:]
    var next = 0
    for name in Set(probes.map(\.host) + (origin.map { [$0] } ?? [])).sorted() where IPAddress(parsing: name) == nil {
        let canonical = Identity.canonicalName(name)
        guard addressOf[canonical] == nil else { continue }
        var candidate: IPAddress
        repeat {
            candidate = IPAddress(parsing: "127.77.\(next / 250).\(next % 250 + 1)")!
            next += 1
        } while probedAddresses.contains(candidate)
        addressOf[canonical] = candidate
    }
    let hosts = "127.0.0.1 localhost\n::1 localhost\n" + addressOf.sorted { $0.key < $1.key }
        .map { "\($0.value) \($0.key) \($0.key)." }.joined(separator: "\n") + "\n"

    // What the model says, with the identities the library will see.
    let originIdentity = origin.map { Identity(host: $0) }
    var predictions: [Verdict] = []
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
        predictions.append(policy.decide(Destination(identities: identities, port: probe.port), origin: originIdentity).verdict)
    }
    let extra = Set(probedAddresses.map(\.description)).filter { !$0.hasPrefix("127.") && $0 != "::1" }.sorted()
    let plan = VerifyPlan(policy: path == DefaultPolicy.name ? path : absolute(path), origin: origin, hosts: hosts, addresses: extra, listeners: listeners.sorted(),
                          probes: probes.map { "\($0.host) \($0.port)" })

    guard let exe = System.executablePath() else { return ExitStatus.failure }
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("safesock-verify-\(getpid())")
    do {
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        try JSONEncoder().encode(plan).write(to: dir.appendingPathComponent("plan.json"))
    } catch {
        Output.err("safesock verify: \(error)")
        return ExitStatus.failure
    }
    defer { try? FileManager.default.removeItem(at: dir) }
    let inside = System.spawn(["/usr/bin/unshare", "--net", "--mount", "--", exe, "__verify-inside",
                               dir.appendingPathComponent("plan.json").path], capture: true)
    let lines = String(decoding: inside.output, as: UTF8.self).split(separator: "\n").map(String.init)
    guard inside.status == 0, lines.count == probes.count else {
        Output.err("safesock verify: the probe run failed (status \(inside.status), \(lines.count) of \(probes.count) results); verify needs root for its namespaces")
        return ExitStatus.failure
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
