// `safesock explain POLICY HOST PORT`: the verdict, and every rule that
// matched with its line. No DNS: HOST is judged as written (canonicalised);
// --name adds names the address was resolved from, as the library would.

import SafesockPolicy

let explainCommand = Command(
    name: "explain",
    brief: "decide one destination and show the rules that matched",
    summary: """
    Decide one destination under a policy and show every rule that matched.
    HOST "" is the origin (--origin), as the plugin's empty host. With
    --policy, --profile, --allow or --deny the policy is composed as `run`
    composes it, and POLICY is left out. Exit status 0 allowed, 1 denied or
    policy error, 2 bad usage.
    """,
    usage: "safesock explain [POLICY] [--policy F] [--profile NAME]... [--allow HOST:PORTS]... [--deny HOST[:PORTS]]... [--allow-private-names] HOST PORT [--origin H] [--name N]... [--json]",
    options: PolicyChoice.options + [
        .value("--origin", "H", "the program's origin host ($originSocketHost)"),
        .repeated("--name", "N", "another name the destination is known by"),
        .flag("--json", "print the decision as JSON"),
    ],
    run: explain)

struct ExplainJSON: Encodable {
    struct Match: Encodable {
        var rule: RuleRef
        var action: String
        var host: String
        var port: String
    }

    var verdict: Verdict
    var host: String
    var port: String
    var origin: String?
    var identities: [String]
    var rules: [String]
    var matched: [Match]
    var reason: String?
}

func explain(_ arguments: ParsedArguments) -> Int32 {
    // POLICY HOST PORT, or HOST PORT with the policy in options.
    let named = arguments.value("--policy") != nil || PolicyChoice.composes(arguments)
    guard arguments.positionals.count == (named ? 2 : 3) else {
        return CLI.usageError("explain", named ? "expected HOST PORT after the policy's options, got \(arguments.positionals.count) arguments"
                                               : "expected POLICY HOST PORT, got \(arguments.positionals.count) arguments")
    }
    if named && arguments.value("--policy") != nil && arguments.positionals.count == 3 {
        return CLI.usageError("explain", "give POLICY or --policy, not both")
    }
    let given = arguments.positionals.suffix(2)
    let (host, portText) = (given[given.startIndex], given[given.startIndex + 1])
    let path = named ? arguments.value("--policy") : arguments.positionals[0]
    guard let policy = PolicyChoice.load(arguments, path: path, for: "explain", otherwise: "a policy with errors decides nothing") else {
        return ExitStatus.failure
    }
    let origin = arguments.value("--origin").map { Identity(host: $0) }
    var report = ExplainJSON(verdict: .deny, host: host, port: portText, origin: origin?.description,
                             identities: [], rules: [], matched: [], reason: nil)

    func denied(_ reason: String) -> Int32 {
        report.reason = reason
        if arguments.has("--json") { Output.json(report) } else {
            Output.out("deny: \(host.isEmpty ? "\"\"" : host) port \(portText)\n  \(reason)")
        }
        return ExitStatus.failure
    }

    guard let port = DestinationPort(portText) else {
        return denied("'\(portText)' is not a port number 0-65535: service names are refused, only numeric ports")
    }
    // What the enforcers refuse to look up, explain denies: a host too long
    // to judge (it may be a zero-padded address) or longer than any name.
    for text in [host] + (arguments.values["--name"] ?? []) + (arguments.value("--origin").map { [$0] } ?? [])
    where text.utf8.count > 255 {
        return denied("a host of \(text.utf8.count) bytes: longer than any name or address the enforcers look up (at most 255)")
    }
    var identities: [Identity]
    if host.isEmpty {
        guard let origin else { return denied("the empty host means the origin, and no --origin was given") }
        identities = [origin]
    } else {
        identities = [Identity(host: host)]
    }
    for name in arguments.values["--name"] ?? [] where !identities.contains(Identity(host: name)) {
        identities.append(Identity(host: name))
    }
    if let reached = identities[0].alsoReached, !identities.contains(reached) { identities.append(reached) }
    let decision = policy.decide(Destination(identities: identities, port: port), origin: origin)
    let matched = (decision.allowMatches + decision.disallowMatches).sorted { $0.ref < $1.ref }
    report.verdict = decision.verdict
    report.identities = identities.map(\.description)
    report.rules = decision.deciding.isEmpty ? ["default"] : decision.deciding.map(\.description)
    report.matched = matched.map {
        ExplainJSON.Match(rule: $0.ref, action: $0.action.rawValue, host: $0.hostText, port: $0.portText)
    }
    if !policy.hasHostsPorts { report.reason = "the policy has no hosts ports section" }
    if let special = decision.privateAddress {
        report.reason = "\(special.range.reason): \(identities.first { if case .address = $0 { true } else { false } } ?? identities[0]) is \(special.description), and only name or glob rules allow it (allow it by address or block to reach it)"
    }
    if arguments.has("--json") {
        Output.json(report)
    } else {
        var text = "\(decision.verdict.rawValue): \(identities[0]) port \(port)\n"
        if identities.count > 1 { text += "  known as: \(identities.map(\.description).joined(separator: ", "))\n" }
        if let reason = report.reason { text += "  \(reason)\n" }
        let byAddress = identities.contains { if case .address = $0 { true } else { false } }
        if decision.verdict == .allow, policy.options.privateNames == .deny, !byAddress,
           !decision.allowMatches.contains(where: \.host.isWrittenAsAddress) {
            text += "  privateNames deny: denied all the same where the name leads to a special address (loopback, private, metadata...)\n"
        }
        if matched.isEmpty { text += "  no rule matched\n" }
        let hostWidth = max(4, matched.map { ruleWord($0.hostText).count }.max() ?? 0)
        let portWidth = max(4, matched.map { ruleWord($0.portText).count }.max() ?? 0)
        for rule in matched {
            let action = rule.action.rawValue.padded(9)
            let h = ruleWord(rule.hostText).padded(hostWidth)
            let p = ruleWord(rule.portText).padded(portWidth)
            let wins = rule.action == .disallow ? "  (disallow wins)" : ""
            text += "  \(action) \(h)  \(p)  \(rule.ref)\(wins)\n"
        }
        text += "decided by \(report.rules.joined(separator: ", "))"
        Output.out(text)
    }
    return decision.verdict == .allow ? ExitStatus.success : ExitStatus.failure
}

/// A word as it would be written back into a policy.
func ruleWord(_ text: String) -> String {
    text.isEmpty || text.contains(where: { $0 == " " || $0 == "\t" }) ? "{\(text)}" : text
}

/// A destination port as a program gives it: plain decimal digits, 0-65535.
/// Leading zeros are the same number (strtoul reads them so); a sign, a
/// blank or a name is not a port.
func DestinationPort(_ text: String) -> UInt16? {
    guard !text.isEmpty, text.utf8.count <= 5 + 10, text.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else { return nil }
    let digits = text.drop { $0 == "0" }
    guard digits.count <= 5, let value = UInt32(digits.isEmpty ? "0" : String(digits)), value <= 65535 else { return nil }
    return UInt16(value)
}
