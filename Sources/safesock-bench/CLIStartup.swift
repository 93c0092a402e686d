// CLIStartup: the CLI's start-up, `safesock explain` run whole, for the
// static build `make` installs (the Swift runtime and FoundationEssentials
// linked in) against the dynamic one SwiftPM builds by default (the same
// code, the toolchain's shared libraries loaded by ld.so at each start).
// Same rounds, alternating, so both see the same machine; and each
// binary's size, stripped as `make install` and `make deb` strip it.

import Foundation

enum CLIStartup {
    struct Figures: Encodable {
        var static_ns: Sample
        var dynamic_ns: Sample
        var ratio: Sample                // static / dynamic, same round
        var static_bytes: Int
        var static_stripped_bytes: Int?
        var dynamic_bytes: Int
        var dynamic_shared_libraries: Int
    }

    static let rounds = 40
    static let argv = ["explain", "policies/example.cfg", "www.sun.com", "1025"]

    /// nil when the dynamic build is not beside the bench (`make bench` builds it).
    static func measure(staticCLI: String = "build/bin/safesock") throws -> Figures? {
        let dynamicCLI = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
            .deletingLastPathComponent().appendingPathComponent("safesock").path
        guard access(dynamicCLI, X_OK) == 0, access(staticCLI, X_OK) == 0 else { return nil }
        let environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("SAFESOCK_") && $0.key != "LD_PRELOAD" }
        func once(_ cli: String) throws -> Double {
            let start = DispatchTime.now().uptimeNanoseconds
            let r = try Child.run([cli] + argv, environment: environment)
            guard r.status == 0 else { throw BenchFailure(description: "\(cli) \(argv.joined(separator: " ")) exited \(r.status)") }
            return Double(DispatchTime.now().uptimeNanoseconds - start)
        }
        _ = try (once(staticCLI), once(dynamicCLI)) // page cache warm for both
        var s: [Double] = [], d: [Double] = [], ratio: [Double] = []
        for _ in 0..<rounds {
            let a = try once(staticCLI), b = try once(dynamicCLI)
            s.append(a)
            d.append(b)
            ratio.append(a / b)
        }
        let stripped = "build/bench/safesock-stripped"
        let strip = try? Child.run(["strip", "-o", stripped, staticCLI], environment: environment)
        let libraries = try Child.run(["ldd", dynamicCLI], environment: environment).stdout.split(separator: "\n").count
        return Figures(static_ns: Sample(s), dynamic_ns: Sample(d), ratio: Sample(ratio), static_bytes: size(staticCLI),
                       static_stripped_bytes: strip?.status == 0 ? size(stripped) : nil, dynamic_bytes: size(dynamicCLI),
                       dynamic_shared_libraries: libraries)
    }

    static func size(_ path: String) -> Int {
        (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0
    }
}
