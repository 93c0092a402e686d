// Probes: for `safesock verify`, boundary destinations for every rule: the
// ports either side of each bound, a name inside and outside each glob,
// each address in its own spelling and IPv4-mapped, the edges of each CIDR
// block. Each probe carries what the model predicts; verify then makes the
// connection for real and compares.

import SafesockMatch
import SafesockPolicy

public struct Probe: Sendable, Equatable {
    /// As the client writes it: a name, or an address.
    public var host: String
    public var port: UInt16
    /// The rule it was made for, and why.
    public var rule: RuleRef
    public var why: String

    public init(host: String, port: UInt16, rule: RuleRef, why: String) {
        (self.host, self.port, self.rule, self.why) = (host, port, rule, why)
    }
}

public enum ProbePlanner {
    /// The probes for `policy`; names get their addresses from `addressOf`
    /// (verify maps each to a loopback address in its namespace).
    public static func probes(_ policy: Policy, origin: String?) -> [Probe] {
        var out: [Probe] = []
        var seen = Set<String>()
        for rule in policy.rules {
            let hosts = hostProbes(rule.host, origin: origin)
            let ports = portProbes(rule.port)
            for (host, hostWhy) in hosts {
                for (port, portWhy) in ports where seen.insert("\(host) \(port)").inserted {
                    out.append(Probe(host: host, port: port, rule: rule.ref, why: "\(hostWhy), \(portWhy)"))
                }
            }
        }
        return out
    }

    static func portProbes(_ pattern: PortPattern) -> [(UInt16, String)] {
        var ports: [(Int, String)] = []
        for range in pattern.ranges.prefix(2) {
            let lo = Int(range.lowerBound), hi = Int(range.upperBound)
            ports += [(lo - 1, "below \(lo)"), (lo, "at \(lo)")]
            if hi != lo { ports += [(hi, "at \(hi)")] }
            ports += [(hi + 1, "above \(hi)")]
        }
        if pattern.ranges.isEmpty { ports = [(80, "an empty port pattern")] }
        // Port 0 cannot be connected to; 65536 is no port.
        return ports.filter { $0.0 >= 1 && $0.0 <= 65535 }.map { (UInt16($0.0), $0.1) }
    }

    static func hostProbes(_ host: HostPattern, origin: String?) -> [(String, String)] {
        switch host {
        case .nothing:
            return []
        case .origin:
            return origin.map { [($0, "the origin")] } ?? []
        case .name(let name):
            return [(name, "the name"), (name.uppercased() + ".", "upper case, trailing dot"), ("outside-" + name, "another name")]
        case .glob(let glob):
            var probes: [(String, String)] = []
            let inside = instance(glob)
            if matches(glob, inside) { probes.append((inside, "inside the glob")) }
            for candidate in [String(inside.drop { $0 != "." }.dropFirst()), "outside.invalid", "x" + inside + "x"]
            where !candidate.isEmpty && !matches(glob, candidate) && isHostname(candidate) {
                probes.append((candidate, "outside the glob"))
                break
            }
            return probes.filter { isHostname($0.0) || IPAddress(parsing: $0.0) != nil }
        case .address(let address):
            var probes = [(address.description, "the address")]
            if address.isIPv4 { probes.append(("::ffff:\(address)", "IPv4-mapped")) }
            return probes
        case .block(let network, let bits):
            var probes: [(String, String)] = []
            let size = network.bytes.count * 8
            if bits < size, let first = IPAddress(bytes: flip(network.bytes, bit: size - 1)) {
                probes.append((first.description, "inside the block"))
            } else {
                probes.append((network.description, "the block's one address"))
            }
            if bits > 0, let outside = IPAddress(bytes: flip(network.bytes, bit: bits - 1)) {
                probes.append((outside.description, "just outside the block"))
            }
            return probes
        }
    }

    /// A text the glob matches: `*` as `star`, `?` as `question`, a class
    /// as its first member, an escape as its character. (Lint shows one,
    /// `*` as "evil", as a host the author may not have meant.)
    static func instance(_ glob: String, star: String = "x", question: String = "a") -> String {
        var out = "", chars = Array(glob), i = 0
        while i < chars.count {
            switch chars[i] {
            case "*": out += star
            case "?": out += question
            case "[":
                i += 1
                if i < chars.count { out.append(chars[i]) }
                while i < chars.count && chars[i] != "]" { i += 1 }
            case "\\":
                i += 1
                if i < chars.count { out.append(chars[i]) }
            default: out.append(chars[i])
            }
            i += 1
        }
        return out
    }

    static func matches(_ glob: String, _ text: String) -> Bool {
        var g = glob, t = Identity.canonicalName(text)
        return g.withUTF8 { gp in t.withUTF8 { Glob.matches(gp, $0) } }
    }

    static func isHostname(_ text: String) -> Bool {
        !text.isEmpty && text.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == ".") }
    }

    static func flip(_ bytes: [UInt8], bit: Int) -> [UInt8] {
        var b = bytes
        b[bit / 8] ^= UInt8(0x80 >> (bit % 8))
        return b
    }
}
