// `safesock compile` and `safesock show`, run as a user runs them.

import Foundation
import SafesockCLI
import SafesockPolicy
import Testing

@Suite(.serialized) struct CompileShowTests {
    func scratch() throws -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("safesock-compile-\(getpid())-\(UInt32.random(in: 0...UInt32.max))").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir
    }

    @Test func compileIsDeterministicAndShowReadsItBack() throws {
        let dir = try scratch()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let a = try safesock("compile", "policies/example.cfg", "-o", "\(dir)/a.table")
        #expect(a.status == 0 && a.stdout.hasPrefix("\(dir)/a.table: "), "\(a)")
        #expect(try safesock("compile", "policies/example.cfg", "-o", "\(dir)/b.table").status == 0)
        let bytesA = try Data(contentsOf: URL(fileURLWithPath: "\(dir)/a.table"))
        #expect(bytesA == (try Data(contentsOf: URL(fileURLWithPath: "\(dir)/b.table"))))
        #expect(!FileManager.default.fileExists(atPath: "\(dir)/a.table.tmp.\(getpid())"))
        let shown = try safesock("show", "\(dir)/a.table")
        #expect(shown.status == 0)
        #expect(shown.stdout.contains("# format 2, generation 1, \(bytesA.count) bytes"))
        #expect(shown.stdout.contains("    disallow  *.cs.mysite.edu    0-1024      # policies/example.cfg:12\n"))
        #expect(shown.stdout.contains("    allow     $originSocketHost  1025-65535  # policies/example.cfg:10\n"))
        let json = try #require(JSONSerialization.jsonObject(with: Data(try safesock("show", "--json", "\(dir)/a.table").stdout.utf8)) as? [String: Any])
        #expect(json["generation"] as? Int == 1 && (json["rules"] as? [Any])?.count == 4)
        #expect(try safesock("compile", "policies/example.cfg", "-o", "\(dir)/g.table", "--generation", "7").status == 0)
        #expect(try safesock("show", "\(dir)/g.table").stdout.contains("generation 7"))
    }

    @Test func showRefusesAFormatOneTableSayingCompileAgain() throws {
        let dir = try scratch()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try Data(formatOneAllowAll).write(to: URL(fileURLWithPath: "\(dir)/old.table"))
        let shown = try safesock("show", "\(dir)/old.table")
        #expect(shown.status != 0 && shown.stdout.isEmpty, "\(shown)")
        #expect(shown.stderr.contains("table is format 1, which this safesock no longer reads: compile the policy again"), "\(shown)")
    }

    /// What `show` prints is a policy that decides as the original does.
    @Test func showOutputRoundTrips() throws {
        let dir = try scratch()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let source = "\(dir)/rich.cfg"
        try """
        section options
            peername mask
            maxSockets 3
        section hosts ports
            allow $originSocketHost >1023
            allow www.*.com 80*
            allow 10.0.0.0/8 [1-3]0
            disallow *.evil.org *
            allow 2001:DB8::/32 3000-4000
            allow a\\.b 1
            allow {} *
        """.write(toFile: source, atomically: true, encoding: .utf8)
        #expect(try safesock("compile", source, "-o", "\(dir)/rich.table").status == 0)
        let shown = try safesock("show", "\(dir)/rich.table").stdout
        try shown.write(toFile: "\(dir)/shown.cfg", atomically: true, encoding: .utf8)
        let original = PolicyParser.parse(path: source).policy
        let reread = PolicyParser.parse(path: "\(dir)/shown.cfg")
        #expect(!reread.hasErrors, "\(reread.diagnostics)")
        #expect(reread.policy.options == original.options)
        for host in ["www.x.com", "a.evil.org", "10.2.3.4", "2001:db8::1", "o.test", "a.b", "axb", "wwwx.com"] {
            for port: UInt16 in [0, 10, 20, 40, 80, 800, 1023, 1024, 3000, 4001, 8080] {
                let d = Destination(identities: [Identity(host: host)], port: port)
                let o = Identity(host: "o.test")
                #expect(original.decide(d, origin: o).verdict == reread.policy.decide(d, origin: o).verdict, "\(host) \(port)")
            }
        }
    }

    @Test func aPolicyWithErrorsIsNeverCompiled() throws {
        let dir = try scratch()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try "section hosts ports\n    allow x http\n".write(toFile: "\(dir)/bad.cfg", atomically: true, encoding: .utf8)
        let r = try safesock("compile", "\(dir)/bad.cfg", "-o", "\(dir)/bad.table")
        #expect(r.status == 1 && r.stderr.contains("\(dir)/bad.cfg:2:13: error:") && r.stderr.contains("nothing written"))
        #expect(!FileManager.default.fileExists(atPath: "\(dir)/bad.table"))
        #expect(try safesock("compile", "policies/home.cfg").status == 2)
    }

    @Test func showRefusesDamagedTables() throws {
        let dir = try scratch()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        #expect(try safesock("compile", "policies/home.cfg", "-o", "\(dir)/t.table").status == 0)
        var bytes = try Data(contentsOf: URL(fileURLWithPath: "\(dir)/t.table"))
        try bytes.prefix(200).write(to: URL(fileURLWithPath: "\(dir)/short.table"))
        bytes[bytes.count - 1] ^= 1
        try bytes.write(to: URL(fileURLWithPath: "\(dir)/flipped.table"))
        let short = try safesock("show", "\(dir)/short.table")
        #expect(short.status == 1 && short.stderr.contains("refused: table is shorter than its header"))
        let flipped = try safesock("show", "\(dir)/flipped.table")
        #expect(flipped.status == 1 && flipped.stderr.contains("refused: table checksum does not match (corrupt)"))
        let missing = try safesock("show", "\(dir)/none.table")
        #expect(missing.status == 1 && missing.stderr.contains("No such file or directory"))
    }
}

/// Where `make test` installed safesock before the suites ran.
let installedPrefix = environment["SAFESOCK_INSTALLED"] ?? "\(packageRoot)/build/test/prefix"

@Suite(.serialized) struct InstallTests {
    /// `make install PREFIX=...` (which `make test` runs on a scratch prefix
    /// first): the CLI, the library where `run` finds it, the man pages; the
    /// installed CLI enforces with the installed library.
    @Test(.requires(.built("\(installedPrefix)/bin/safesock"), .program("/usr/bin/curl")))
    func installIntoAPrefix() throws {
        let prefix = installedPrefix
        for file in ["bin/safesock", "lib/safesock/libsafesock.so", "share/man/man1/safesock.1", "share/man/man5/safesock-policy.5",
                     "share/safesock/profiles/pypi.cfg", "share/safesock/profiles/github.cfg"] {
            #expect(FileManager.default.fileExists(atPath: "\(prefix)/\(file)"), "\(file)")
        }
        let installed = Process()
        installed.executableURL = URL(fileURLWithPath: "\(prefix)/bin/safesock")
        installed.arguments = ["run", "--policy", "\(packageRoot)/policies/home.cfg", "--origin", "127.0.0.1", "--",
                               "/usr/bin/curl", "-sS", "http://127.0.0.1:9/"]
        installed.environment = ["PATH": "/usr/bin:/bin"]
        let err = Pipe()
        installed.standardError = err
        try installed.run()
        let text = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        installed.waitUntilExit()
        #expect(installed.terminationStatus == 7 && text.contains("safesock: permission denied for host 127.0.0.1 port 9 (no rule allows it; policy \(packageRoot)/policies/home.cfg)"), "\(text)")
        let version = Process()
        version.executableURL = URL(fileURLWithPath: "\(prefix)/bin/safesock")
        version.arguments = ["--version"]
        version.environment = [:]
        let out = Pipe()
        version.standardOutput = out
        try version.run()
        #expect(String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self) == "safesock \(CLI.version)\n")
        // The installed CLI finds the installed profiles, needs no toolchain
        // (stripped, the Swift runtime linked in) and stays small.
        let profile = Process()
        profile.executableURL = URL(fileURLWithPath: "\(prefix)/bin/safesock")
        profile.arguments = ["explain", "--profile", "pypi", "files.pythonhosted.org", "443"]
        profile.environment = ["LD_LIBRARY_PATH": ""]
        profile.standardOutput = Pipe()
        try profile.run()
        profile.waitUntilExit()
        #expect(profile.terminationStatus == 0)
        let size = try FileManager.default.attributesOfItem(atPath: "\(prefix)/bin/safesock")[.size] as? Int ?? Int.max
        #expect(size <= 20 << 20, "the installed CLI is \(size) bytes")
    }
}
