// Lint: the network manual page's SECURITY advice as findings on a policy
// model (docs/cli.md, "lint"). Each finding has its place, a short reason and
// the page's words behind it. Rules on the origin are the program's own
// server, which the page's advice about hosts "not under your control" is not
// about: ranges there are no finding, and the origin is no name a stranger's
// DNS can point elsewhere. Tests: Tests/SafesockPolicyTests/LintTests.swift.

import SafesockMatch
import SafesockPolicy

public struct Finding: Sendable, Equatable {
    public enum Kind: String, Sendable, CaseIterable {
        case rangeInAllow = "range-in-allow"
        case mailOrNews = "mail-or-news"
        case redirectingService = "redirecting-service"
        case broadHost = "broad-host"
        case neverMatches = "never-matches"
        case coveredAllow = "covered-allow"
        case duplicate = "duplicate"
        case rebinding = "rebinding"
    }

    public var kind: Kind
    public var location: SourceLocation
    public var message: String

    /// The manual page's words behind this kind of finding.
    public var advice: String { Linter.advice[kind]! }
}

public enum Linter {
    static let advice: [Finding.Kind: String] = [
        .rangeInAllow: "If you do not have complete control over the accessible services executing on a host, avoid numeric ranges (e.g. >1024 or 3000-4000) in allow statements.",
        .mailOrNews: "If you allow a Tclet to connect to the SMTP or NNTP services on any host, the Tclet can forge news articles or send electronic mail using your name.",
        .redirectingService: "You should never allow connections to redirecting services such as FTP or HTTP proxy services, because you effectively lose control over which hosts the Tclet can connect to.",
        .broadHost: "Carefully examine the set of hosts to which a connection can be made when specifying wildcards and patterns for host names. Find out exactly what hosts are included or excluded by each pattern.",
        .neverMatches: "To minimize the chances of incorrect configuration: a rule that matches nothing says something the policy does not do.",
        .coveredAllow: "Disallow always wins: an allow entirely inside a disallow can never allow anything.",
        .duplicate: "To minimize the chances of incorrect configuration: say each rule once.",
        .rebinding: "A name is only as trustworthy as whoever answers for it: DNS can point an allowed name at your loopback, private or cloud metadata addresses (DNS rebinding). Set privateNames deny.",
    ]

    static let mailAndNews: [(UInt16, String)] = [(25, "SMTP"), (465, "SMTP"), (587, "SMTP"), (119, "NNTP"), (563, "NNTP")]
    static let redirecting: [(UInt16, String)] = [(21, "FTP"), (1080, "SOCKS"), (3128, "an HTTP proxy"), (8080, "an HTTP proxy"), (8118, "an HTTP proxy")]
    /// Where a name must not be allowed to lead (DNS rebinding): the
    /// decision's own table of special addresses, as blocks. The IPv4-mapped
    /// and -compatible forms are left out: every enforcer folds them to the
    /// IPv4 address, which its IPv4 row covers.
    static let sensitiveBlocks: [(block: HostPattern, text: String, what: String)] = (0..<SpecialAddress.count).compactMap { i in
        let b = SpecialAddress.block(i)
        guard b.embedding != .mapped && b.embedding != .compatible,
              let address = b.withBytes({ IPAddress(bytes: Array($0)) }) else { return nil }
        let what = b.embedding == .none ? "\(b.range.name)" : "\(b.embedding.name)"
        return (.block(address, bits: b.bits), "\(address)/\(b.bits)", what)
    }
    /// The order kinds are named in, most often meant first.
    static let kindOrder = ["loopback", "private", "link-local", "cloud metadata", "shared (CGNAT)", "unspecified", "multicast", "reserved"]

    public static func lint(_ policy: Policy) -> [Finding] {
        var findings: [Finding] = []
        let rules = policy.rules
        let disallows = rules.filter { $0.action == .disallow }
        var seen: [String: Rule] = [:]
        for rule in rules {
            let ports = rule.port.ranges
            let key = "\(rule.action) \(rule.host) \(ports)"
            if let first = seen[key] {
                findings.append(Finding(kind: .duplicate, location: rule.hostLocation,
                                        message: "duplicate of the rule at \(first.ref)"))
                continue
            }
            seen[key] = rule
            if rule.host == .nothing {
                findings.append(Finding(kind: .neverMatches, location: rule.hostLocation, message: "the empty host {} matches no host"))
                continue
            }
            if ports.isEmpty {
                findings.append(Finding(kind: .neverMatches, location: rule.portLocation, message: "port pattern \(rule.portText) matches no port"))
                continue
            }
            guard rule.action == .allow else { continue }
            if let cover = disallows.first(where: { covers($0.host, rule.host) && isSubset(ports, of: $0.port.ranges) }) {
                findings.append(Finding(kind: .coveredAllow, location: rule.hostLocation,
                                        message: "this allow can never allow: the disallow at \(cover.ref) covers it"))
                continue
            }
            if rule.host != .origin, !isExact(rule.port) {
                findings.append(Finding(kind: .rangeInAllow, location: rule.portLocation,
                                        message: "allow of the port range \(rule.portText) on \(rule.hostText); name the ports the program needs"))
            }
            for (kind, services) in [(Finding.Kind.mailOrNews, mailAndNews), (.redirectingService, redirecting)] {
                let open = services.filter { port, _ in
                    ports.contains { $0.contains(port) }
                        && !disallows.contains { covers($0.host, rule.host) && $0.port.matches(port) }
                }
                guard !open.isEmpty else { continue }
                let list = open.map { "\($0.0) (\($0.1))" }.joined(separator: ", ")
                findings.append(Finding(kind: kind, location: rule.portLocation,
                                        message: "allows port\(open.count == 1 ? "" : "s") \(list) on \(rule.hostText)"))
            }
            if let breadth = broadness(rule.host) {
                findings.append(Finding(kind: .broadHost, location: rule.hostLocation, message: "\(rule.hostText) \(breadth)"))
            }
        }
        // DNS rebinding: names allowed under privateNames allow, and special
        // addresses not disallowed. One finding, whatever the number of blocks.
        if policy.options.privateNames == .allow,
           let byName = rules.first(where: { $0.action == .allow && isName($0.host) && !$0.port.ranges.isEmpty }) {
            let open = sensitiveBlocks.filter { block in
                !disallows.contains { covers($0.host, block.block) && isSubset([0...65535], of: $0.port.ranges) }
            }
            if !open.isEmpty {
                func list(_ words: [String]) -> String {
                    words.count < 2 ? words.joined() : words.dropLast().joined(separator: ", ") + " or " + words.last!
                }
                let kinds = kindOrder.filter { kind in open.contains { $0.what == kind } }
                let forms = open.map(\.what).filter { !kindOrder.contains($0) }
                let carried = forms.isEmpty ? "" : ", or their \(list(forms.reduce(into: []) { if !$0.contains($1) { $0.append($1) } })) forms"
                let shown = (open.filter { !forms.contains($0.what) }.sorted { (kindOrder.firstIndex(of: $0.what) ?? 9) < (kindOrder.firstIndex(of: $1.what) ?? 9) }
                             + open.filter { forms.contains($0.what) }).prefix(3).map(\.text).joined(separator: ", ")
                let count = open.count == 1 ? "1 special block is" : "\(open.count) special blocks are"
                findings.append(Finding(kind: .rebinding, location: byName.hostLocation,
                                        message: "\(byName.hostText) is allowed by name, and DNS can point a name at \(list(kinds)) addresses\(carried) (\(count) not disallowed, among them \(shown)): set `privateNames deny` in section options"))
            }
        }
        return findings
    }

    static func isExact(_ port: PortPattern) -> Bool {
        if case .exact = port { return true }
        return port.ranges.count == 1 && port.ranges[0].count == 1
    }

    /// Whether a pattern can match a name: names, and every glob but an
    /// address glob: digits and dots (`10.*`), or hex digits with a colon
    /// (`fd00:*`). A glob of metacharacters alone (`*`) matches names too.
    static func isName(_ host: HostPattern) -> Bool {
        switch host {
        case .name:
            return true
        case .glob(let g):
            let literal = g.filter { !"*?[]-\\".contains($0) }
            if literal.isEmpty { return true }
            let ipv4 = literal.allSatisfy { $0.isNumber || $0 == "." }
            let ipv6 = literal.contains(":") && literal.allSatisfy { $0.isHexDigit || $0 == ":" || $0 == "." }
            return !(ipv4 || ipv6)
        default:
            return false
        }
    }

    /// Why a host pattern is broad, or nil: a glob that covers everything,
    /// a whole domain or a top-level domain, or a short CIDR block.
    static func broadness(_ host: HostPattern) -> String? {
        switch host {
        case .glob(let g):
            if g.allSatisfy({ $0 == "*" }) { return "matches every host" }
            if g.hasPrefix("*.") && !g.dropFirst(2).contains(where: { "*?[\\".contains($0) }) {
                let labels = g.dropFirst(2).split(separator: ".").count
                return labels <= 1 ? "matches every host under a top-level domain" : "matches every host in the domain \(g.dropFirst(2))"
            }
            // The trap made concrete: `*good.test` matches `evilgood.test`.
            let rest = g.dropFirst()
            if g.hasPrefix("*"), !rest.isEmpty, !rest.hasPrefix("."), !rest.contains(where: { "*?[\\".contains($0) }) {
                return "matches evil\(rest), which is not under \(rest): write *.\(rest) (and \(rest) itself)"
            }
            if case let example = ProbePlanner.instance(g, star: "evil", question: "x"), globMatches(g, example) {
                return "is a pattern that matches \(example), for one: check that every host it includes is meant"
            }
            return "is a pattern: check exactly which hosts it includes"
        case .block(_, let bits) where bits <= 16:
            return "covers a block of \(bits == 0 ? "every" : "1/2^\(bits) of all") addresses"
        default:
            return nil
        }
    }

    /// Whether every identity `inner` matches, `outer` matches too. Only
    /// certain answers are yes; an unsure one is no.
    static func covers(_ outer: HostPattern, _ inner: HostPattern) -> Bool {
        if outer == inner { return true }
        switch (outer, inner) {
        case (.glob(let g), _) where g.allSatisfy({ $0 == "*" }):
            return inner != .nothing
        case (.glob(let g), .name(let n)):
            return globMatches(g, n)
        case (.glob(let g), .address(let a)):
            return globMatches(g, a.description)
        case (.glob(let g), .glob(let h)):
            // `*.example.com` covers `*.a.example.com` and `a*.example.com`.
            guard g.hasPrefix("*"), !g.dropFirst().contains(where: { "*?[\\".contains($0) }) else { return false }
            let tail = String(g.dropFirst())
            guard h.hasSuffix(tail) else { return false }
            return !h.dropLast(tail.count).contains(where: { "?[\\".contains($0) })
        case (.block(let network, let bits), .address(let a)):
            return prefix(network, bits, contains: a)
        case (.address(let a), .block(let network, let bits)):
            return bits == a.bytes.count * 8 && network == a
        case (.block(let network, let bits), .block(let inner, let innerBits)):
            return innerBits >= bits && prefix(network, bits, contains: inner)
        default:
            return false
        }
    }

    static func prefix(_ network: IPAddress, _ bits: Int, contains address: IPAddress) -> Bool {
        network.bytes.withUnsafeBytes { n in address.bytes.withUnsafeBytes { AddressPrefix.contains(block: n, bits: bits, address: $0) } }
    }

    static func globMatches(_ glob: String, _ text: String) -> Bool {
        var g = glob, t = text
        return g.withUTF8 { gp in t.withUTF8 { Glob.matches(gp, $0) } }
    }

    static func isSubset(_ ranges: [ClosedRange<UInt16>], of outer: [ClosedRange<UInt16>]) -> Bool {
        ranges.allSatisfy { r in outer.contains { $0.lowerBound <= r.lowerBound && r.upperBound <= $0.upperBound } }
    }
}
