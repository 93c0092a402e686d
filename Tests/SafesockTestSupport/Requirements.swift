// Requirements: what a test needs of the machine, said on the test. Where
// it is missing the test is skipped and says why (`swift test` as an
// ordinary user, `make unit`); `make test` sets SAFESOCK_TEST_ALL=1, and
// then nothing is skipped: a missing requirement fails the test instead,
// so CI (root, every package installed) runs every test or goes red.

import Foundation
import Testing

public enum Requirement: Sendable, CustomStringConvertible {
    /// Root: the end-to-end suites make mount and network namespaces and
    /// run programs as another user.
    case root
    /// An executable, by absolute path (a Debian package `make deps` installs).
    case program(String)
    /// A file `make` or `make test` builds (the library, a test client, the scratch install).
    case built(String)

    var isMet: Bool {
        switch self {
        case .root: return geteuid() == 0
        case .program(let path), .built(let path): return access(path, X_OK) == 0 || FileManager.default.fileExists(atPath: path)
        }
    }

    public var description: String {
        switch self {
        case .root: return "root"
        case .program(let path): return "\(path) (make deps installs it)"
        case .built(let path): return "\(path) (make test builds it)"
        }
    }
}

/// Whether every test must run: `make test` says so.
public let everyTestMustRun = environment["SAFESOCK_TEST_ALL"] == "1"

extension Trait where Self == ConditionTrait {
    /// Runs the test only where `requirements` are met; names what is
    /// missing otherwise. Under `make test` it always runs.
    public static func requires(_ requirements: Requirement...) -> Self {
        let missing = requirements.filter { !$0.isMet }
        let reason = "needs " + missing.map(\.description).joined(separator: ", ")
        return .enabled(if: everyTestMustRun || missing.isEmpty, Comment(rawValue: reason))
    }

    /// What every end-to-end suite needs: root, the CLI, the library and
    /// the test clients `make test` builds, and the programs they run.
    public static var endToEnd: Self {
        .requires(.root, .built(safesockBinary), .built(libraryPath), .built("\(testBin)/probe"), .built("\(testBin)/static_client"),
                  .program("/usr/bin/unshare"), .program("/usr/bin/setpriv"), .program("/usr/bin/curl"),
                  .program("/usr/bin/tclsh"), .program("/usr/bin/python3.11"), .program("/usr/sbin/ip"))
    }
}
