// The .deb `make deb` builds, installed into a scratch root (dpkg -x: it
// has no maintainer scripts, which the test checks) and used: its Depends
// cover every library its binaries need, none from the Swift toolchain;
// the installed CLI is small, finds its library and profiles, and holds a
// program to the default policy, by the library and under --kernel. And
// the places docs/deploy.md runs it: the systemd unit verified by
// systemd-analyze against the installed package, the container
// entrypoint's command line run.

import Foundation
import SafesockCLI
import Testing

/// build/safesock_VERSION_ARCH.deb, for the version the CLI says.
var debPath: String { "\(packageRoot)/build/safesock_\(CLI.version)_amd64.deb" }

/// The package unpacked into a fresh root (removed by the caller).
func installedRoot() throws -> String {
    let root = try scratchDirectory()
    chmod(root, 0o755)
    let unpacked = try run("/usr/bin/dpkg", ["-x", debPath, root])
    #expect(unpacked.status == 0, "\(unpacked)")
    return root
}

@Suite(.serialized, .endToEnd, .requires(.program("/usr/bin/dpkg-deb"), .built(debPath))) struct PackageTests {
    @Test func thePackageHoldsWhatItNeedsAndDependsOnWhatItLinks() throws {
        let info = try run("/usr/bin/dpkg-deb", ["-f", debPath, "Package", "Version", "Architecture", "Depends"])
        #expect(info.status == 0 && info.stdout.hasPrefix("Package: safesock\nVersion: \(CLI.version)\nArchitecture: amd64\n"), "\(info)")
        let depends = info.stdout.split(separator: "\n").first { $0.hasPrefix("Depends: ") }.map { String($0.dropFirst(9)) } ?? ""
        let packages = Set(depends.split(separator: ",").map { String($0.split(separator: " ")[0]) })
        #expect(packages.contains("libc6") && !depends.lowercased().contains("swift"), "\(depends)")

        // No maintainer scripts: dpkg -x installs it whole.
        let control = try scratchDirectory()
        defer { try? FileManager.default.removeItem(atPath: control) }
        #expect(try run("/usr/bin/dpkg-deb", ["-e", debPath, "\(control)/DEBIAN"]).status == 0)
        #expect(try FileManager.default.contentsOfDirectory(atPath: "\(control)/DEBIAN").sorted() == ["control"])

        let root = try installedRoot()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let files = ["usr/bin/safesock", "usr/lib/safesock/libsafesock.so", "usr/share/man/man1/safesock.1.gz",
                     "usr/share/man/man5/safesock-policy.5.gz", "usr/share/safesock/profiles/pypi.cfg", "usr/share/doc/safesock/copyright"]
        for file in files { #expect(FileManager.default.fileExists(atPath: "\(root)/\(file)"), "\(file)") }
        let copyright = try String(contentsOfFile: "\(root)/usr/share/doc/safesock/copyright", encoding: .utf8)
        #expect(copyright.hasPrefix("Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n"))
        let cli = try FileManager.default.attributesOfItem(atPath: "\(root)/usr/bin/safesock")[.size] as? Int ?? .max
        #expect(cli <= 20_000_000, "the installed CLI is \(cli) bytes")

        // Every library a binary needs comes from a package it depends on.
        for binary in ["usr/bin/safesock", "usr/lib/safesock/libsafesock.so"] {
            let dynamic = try run("/usr/bin/readelf", ["-d", "\(root)/\(binary)"])
            let needed = dynamic.stdout.split(separator: "\n").compactMap { line -> String? in
                guard line.contains("(NEEDED)"), let open = line.lastIndex(of: "["), let close = line.lastIndex(of: "]") else { return nil }
                return String(line[line.index(after: open)..<close])
            }
            #expect(!needed.isEmpty && !needed.contains { $0.lowercased().contains("swift") || $0.contains("Foundation") }, "\(needed)")
            let cache = try run("/sbin/ldconfig", ["-p"]).stdout
            for library in needed {
                let path = cache.split(separator: "\n").first { $0.contains("\(library) (libc6,x86-64)") }?.split(separator: " ").last
                let real = try #require(path.map { URL(fileURLWithPath: String($0)).resolvingSymlinksInPath().path }, "\(library)")
                // dpkg knows a file by the path it shipped it at (/lib/... before usrmerge).
                var owner = ""
                for candidate in [String(path!), real, real.replacingOccurrences(of: "/usr/lib/", with: "/lib/")] where owner.isEmpty {
                    let query = try run("/usr/bin/dpkg", ["-S", candidate])
                    if query.status == 0 { owner = String(query.stdout.prefix { $0 != ":" }) }
                }
                #expect(packages.contains(owner), "\(binary) needs \(library) (\(real), of \(owner)), which Depends lacks: \(depends)")
            }
        }
    }

    /// The installed `safesock run`, by the library and under --kernel:
    /// the default policy allows nothing without an origin, and the
    /// origin above 1023 with one; its profiles are where it looks.
    @Test(arguments: [false, true])
    func theInstalledRunHoldsAProgramToTheDefaultPolicy(kernel: Bool) throws {
        let web = try GreetingServer("127.0.0.1", port: kernel ? 5062 : 5061)
        defer { web.stop() }
        let root = try installedRoot()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let safesock = "\(root)/usr/bin/safesock"
        let mode = kernel ? ["--kernel"] : []
        let curl = ["/usr/bin/curl", "-sS", "--max-time", "5", "http://127.0.0.1:\(web.port)/"]

        let closed = withoutProtectionLine(try run(safesock, ["run"] + mode + ["--"] + curl))
        // (The supervisor names the address by /etc/hosts: localhost.)
        #expect(closed.status == 7 && closed.stderr.contains("permission denied for host \(kernel ? "localhost" : "127.0.0.1") port \(web.port) (no rule allows it; policy builtin:default)"),
                "\(closed)")
        let origin = withoutProtectionLine(try run(safesock, ["run"] + mode + ["--origin", "127.0.0.1", "--"] + curl))
        #expect(origin.status == 0 && origin.stdout == "hello\n" && origin.stderr.isEmpty, "\(origin)")
        #expect(web.accepted == 1)
        let profile = try run(safesock, ["explain", "--profile", "pypi", "pypi.org", "443"])
        #expect(profile.status == 0 && profile.stdout.hasPrefix("allow: pypi.org port 443\n"), "\(profile)")
        let man = try run("/usr/bin/gzip", ["-t", "\(root)/usr/share/man/man1/safesock.1.gz", "\(root)/usr/share/man/man5/safesock-policy.5.gz"])
        #expect(man.status == 0, "\(man)")
    }

    /// docs/deploy.md's unit, as systemd reads it, against the installed
    /// package (systemd-analyze checks ExecStart's program exists), and
    /// its ExecStart run: the CLI takes the line, the supervisor starts
    /// pip in its namespace (offline here: pip finds no index and says so).
    @Test(.requires(.program("/usr/bin/systemd-analyze"), .program("/usr/bin/python3")))
    func theSystemdUnitVerifiesAndItsCommandRuns() throws {
        let root = try installedRoot()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let unitText = try String(contentsOfFile: "\(packageRoot)/docs/deploy/mirror-sync.service", encoding: .utf8)
        #expect(try String(contentsOfFile: "\(packageRoot)/docs/deploy.md", encoding: .utf8).contains(unitText), "deploy.md shows the unit as shipped")
        try FileManager.default.createDirectory(atPath: "\(root)/etc/systemd/system", withIntermediateDirectories: true)
        try unitText.write(toFile: "\(root)/etc/systemd/system/mirror-sync.service", atomically: true, encoding: .utf8)
        // The units it names (network-online.target, sysinit.target, ...): the system's.
        try FileManager.default.createDirectory(atPath: "\(root)/usr/lib/systemd", withIntermediateDirectories: true)
        #expect(try run("/bin/cp", ["-r", "/usr/lib/systemd/system", "\(root)/usr/lib/systemd/"]).status == 0)
        let verified = try run("/usr/bin/systemd-analyze", ["verify", "--root=\(root)", "mirror-sync.service"])
        #expect(verified.status == 0 && verified.stderr.isEmpty, "\(verified)")

        let line = try #require(unitText.split(separator: "\n").first { $0.hasPrefix("ExecStart=") }).dropFirst("ExecStart=".count)
        let argv = line.split(separator: " ").map(String.init).map {
            $0 == "/usr/bin/safesock" ? "\(root)/usr/bin/safesock" : $0 == "journal" ? "journal:\(root)/journal.socket"
                : $0 == "/var/cache/mirror-sync" ? "\(root)/cache" : $0
        }
        let ran = withoutProtectionLine(try run(argv[0], Array(argv.dropFirst()), env: ["PIP_NO_INDEX": "1", "HOME": root]))
        #expect(ran.status == 1 && ran.stderr.contains("No matching distribution found for requests"), "\(ran)")
    }

    /// docs/deploy.md's container entrypoint: records as JSON lines on
    /// standard error, where a container's log is collected.
    @Test func theContainerEntrypointLogsToStandardError() throws {
        let root = try installedRoot()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let dockerfile = try String(contentsOfFile: "\(packageRoot)/docs/deploy/Dockerfile", encoding: .utf8)
        #expect(try String(contentsOfFile: "\(packageRoot)/docs/deploy.md", encoding: .utf8).contains(dockerfile), "deploy.md shows it as shipped")
        let line = try #require(dockerfile.split(separator: "\n").first { $0.hasPrefix("ENTRYPOINT ") }).dropFirst("ENTRYPOINT ".count)
        var entrypoint = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String])
        #expect(entrypoint.first == "/usr/bin/safesock")
        entrypoint[0] = "\(root)/usr/bin/safesock"
        let program = ["/usr/bin/python3.11", "-c", "import socket\ntry: socket.create_connection(('127.0.0.1', 9), timeout=2)\nexcept OSError as e: print(e.errno)"]
        let ran = try run(entrypoint[0], Array(entrypoint.dropFirst()) + program)
        #expect(ran.status == 0 && ran.stdout == "13\n", "\(ran)")
        let record = try AuditRecord.decode(Substring(ran.stderr.split(separator: "\n").first ?? ""))
        #expect(record.op == "connect" && record.host == "127.0.0.1" && record.port == 9 && record.policy == "--profile pypi", "\(record)")
    }
}
