// The policy composed on the command line (Sources/SafesockCLI/Compose.swift):
// --allow, --deny, --profile with `explain`, the shipped profiles, and how
// `run` reads its command. `run` enforcing such rules in real processes is
// in Tests/SafesockEndToEndTests/EnforcementTests.swift.

import Foundation
import Testing
import SafesockCLI

@Suite struct ComposeTests {
    @Test func allowAndDenyOnTheCommandLine() throws {
        #expect(try safesock("explain", "--allow", "127.0.0.2:8000", "127.0.0.2", "8000").status == 0)
        #expect(try safesock("explain", "--allow", "127.0.0.2:8000", "127.0.0.5", "8000").status == 1)
        #expect(try safesock("explain", "--allow", "127.0.0.2:8000", "127.0.0.2", "8001").status == 1)
        // Several ports with commas, in the policy language's forms.
        for port in ["443", "8443", "9001"] {
            #expect(try safesock("explain", "--allow", "api.test:443,8443,9000-9010", "api.test", port).status == 0, "\(port)")
        }
        #expect(try safesock("explain", "--allow", "api.test:443,8443,9000-9010", "api.test", "80").status == 1)
        // Bracketed IPv6.
        #expect(try safesock("explain", "--allow", "[::1]:443", "::1", "443").status == 0)
        #expect(try safesock("explain", "--allow", "[::1]:443", "::1", "444").status == 1)
        // --deny wins over --allow, on every port when none is named.
        let denied = try safesock("explain", "--allow", "127.0.0.2:8000", "--deny", "127.0.0.2", "127.0.0.2", "8000")
        #expect(denied.status == 1 && denied.stdout.contains("command line:1"), "\(denied)")
        #expect(try safesock("explain", "--allow", "*.test:443", "--deny", "evil.test:443", "good.test", "443").status == 0)
        #expect(try safesock("explain", "--allow", "*.test:443", "--deny", "evil.test:443", "evil.test", "443").status == 1)
    }

    @Test func badRulesOnTheCommandLineAreRefusedWithTheFlag() throws {
        let noPort = try safesock("explain", "--allow", "127.0.0.2", "127.0.0.2", "80")
        #expect(noPort.status == 1 && noPort.stderr.contains("--allow 127.0.0.2: name the ports"), "\(noPort)")
        let service = try safesock("explain", "--allow", "a.test:http", "a.test", "80")
        #expect(service.status == 1 && service.stderr.contains("--allow a.test:http: 'http' is not a port number"), "\(service)")
        let bare6 = try safesock("explain", "--deny", "::1", "::1", "80")
        #expect(bare6.status == 1 && bare6.stderr.contains("in brackets"), "\(bare6)")
        let run = try safesock("run", "--allow", "127.0.0.2", "--", "/bin/echo", "ran")
        #expect(run.status == 1 && run.stdout.isEmpty && run.stderr.contains("nothing was run"), "\(run)")
    }

    @Test func rulesComposeWithAPolicyFile() throws {
        // policies/example.cfg (the manual page's) allows its origin on >1023;
        // a --deny adds to it, an --allow adds another host.
        #expect(try safesock("explain", "--policy", "policies/example.cfg", "--origin", "o.test", "", "8000").status == 0)
        #expect(try safesock("explain", "--policy", "policies/example.cfg", "--deny", "o.test:8000", "--origin", "o.test", "", "8000").status == 1)
        #expect(try safesock("explain", "--policy", "policies/example.cfg", "--allow", "extra.test:443", "extra.test", "443").status == 0)
        // With only --deny and no policy, the rules add to the built-in default.
        #expect(try safesock("explain", "--deny", "o.test:9000", "--origin", "o.test", "", "8000").status == 0)
        #expect(try safesock("explain", "--deny", "o.test:9000", "--origin", "o.test", "", "9000").status == 1)
        // An --allow replaces the built-in default: the origin is no longer allowed.
        #expect(try safesock("explain", "--allow", "a.test:443", "--origin", "o.test", "", "8000").status == 1)
    }

    /// Each shipped profile decides as its comment says: what it names on
    /// its ports, nothing else; a --deny wins over it.
    @Test(arguments: [
        ("pypi", ["pypi.org 443", "files.pythonhosted.org 443"], ["pypi.org 80", "upload.pypi.org 443"]),
        ("npm", ["registry.npmjs.org 443"], ["registry.npmjs.org 80", "npmjs.com 443"]),
        ("crates", ["index.crates.io 443", "static.crates.io 443", "crates.io 443"], ["github.com 443"]),
        ("debian", ["deb.debian.org 80", "deb.debian.org 443", "security.debian.org 80"], ["ftp.debian.org 80", "deb.debian.org 21"]),
        ("github", ["github.com 443", "github.com 22", "api.github.com 443", "codeload.github.com 443",
                    "objects.githubusercontent.com 443", "release-assets.githubusercontent.com 443", "raw.githubusercontent.com 443"],
         ["gist.github.com 443", "github.com 80", "evil.githubusercontent.com 443"]),
        ("go", ["proxy.golang.org 443", "sum.golang.org 443"], ["golang.org 443", "proxy.golang.org 80"]),
    ])
    func profilesDecideAsTheirCommentsSay(name: String, allowed: [String], denied: [String]) throws {
        for destination in allowed {
            let words = destination.split(separator: " ").map(String.init)
            let r = try safesock("explain", "--profile", name, words[0], words[1])
            #expect(r.status == 0, "\(name): \(destination): \(r)")
            #expect(try safesock("explain", "--profile", name, "--deny", words[0], words[0], words[1]).status == 1, "\(name): \(destination)")
        }
        for destination in denied {
            let words = destination.split(separator: " ").map(String.init)
            #expect(try safesock("explain", "--profile", name, words[0], words[1]).status == 1, "\(name): \(destination)")
        }
        // Every profile names its source, keeps names off special
        // addresses (privateNames deny, said in its comment), and lint
        // finds nothing in it.
        let text = try String(contentsOfFile: "\(packageRoot)/policies/profiles/\(name).cfg", encoding: .utf8)
        #expect(text.contains("Source:") && text.contains("`privateNames deny`") && text.contains("    privateNames  deny\n"), "\(name)")
        let lint = try safesock("lint", "policies/profiles/\(name).cfg")
        #expect(lint.status == 0 && lint.stdout == "policies/profiles/\(name).cfg: no findings\n", "\(name): \(lint)")
    }

    @Test func profilesAreListedAndComposeWithEachOther() throws {
        let list = try safesock("profiles")
        #expect(list.status == 0, "\(list)")
        for name in ["pypi", "npm", "crates", "debian", "github", "go"] {
            #expect(list.stdout.split(separator: "\n").contains { $0.hasPrefix(name + " ") }, "\(name): \(list.stdout)")
        }
        // Two profiles that set the same option the same way compose.
        #expect(try safesock("explain", "--profile", "go", "--profile", "github", "github.com", "443").status == 0)
        #expect(try safesock("explain", "--profile", "go", "--profile", "github", "sum.golang.org", "443").status == 0)
        let unknown = try safesock("explain", "--profile", "nosuch", "a.test", "443")
        #expect(unknown.status == 1 && unknown.stderr.contains("no profile 'nosuch'"), "\(unknown)")
    }

    /// Everything after `--`, and everything from `run`'s first word that
    /// is not an option, is the command's: its own --help and options too.
    @Test func theCommandKeepsItsOwnOptions() throws {
        let help = try safesock("run", "--", "/bin/echo", "x", "--help")
        #expect(help.status == 0 && help.stdout == "x --help\n", "\(help)")
        let bare = try safesock("run", "/bin/echo", "x", "-h")
        #expect(bare.status == 0 && bare.stdout == "x -h\n", "\(bare)")
        let n = try safesock("run", "/bin/echo", "-n", "hi")
        #expect(n.status == 0 && n.stdout == "hi", "\(n)")
        let origin = try safesock("run", "/bin/echo", "hi", "--origin", "x")
        #expect(origin.status == 0 && origin.stdout == "hi --origin x\n", "\(origin)")
        let own = try safesock("run", "--help")
        #expect(own.status == 0 && own.stdout.hasPrefix("usage: safesock run"), "\(own)")
    }
}

/// `--help` is printed from the table the parser reads: every command's
/// help lists exactly the options it accepts, and `safesock --help` gives
/// each command one line.
@Suite struct HelpTests {
    @Test func everyHelpListsExactlyTheOptionsItsParserAccepts() throws {
        let byCommand = CLI.optionsByCommand
        #expect(byCommand.count >= 11)
        for (command, options) in byCommand {
            let help = try safesock(command, "--help")
            #expect(help.status == 0, "\(command): \(help)")
            let listed = help.stdout.split(separator: "\n").drop { $0 != "options:" }.dropFirst()
                .filter { $0.hasPrefix("  -") }.map { String($0.dropFirst(2).split(separator: " ")[0]) }
            #expect(Set(listed) == Set(options) && listed.count == options.count, "\(command): \(listed) against \(options)")
            for option in options {
                // Accepted by the parser: never "unknown option".
                let r = try safesock(command, option, "x", "y", "z")
                #expect(!r.stderr.contains("unknown option \(option)"), "\(command) \(option): \(r.stderr)")
            }
        }
    }

    @Test func theMainHelpIsOneLineACommand() throws {
        let help = try safesock("--help")
        let lines = help.stdout.split(separator: "\n", omittingEmptySubsequences: false)
        #expect(help.status == 0 && lines.count <= 25, "\(help.stdout)")
        for command in CLI.optionsByCommand.keys {
            #expect(lines.filter { $0.hasPrefix("  \(command) ") }.count == 1, "\(command): \(help.stdout)")
        }
        #expect(lines.allSatisfy { $0.count <= 80 }, "\(help.stdout)")
    }
}
