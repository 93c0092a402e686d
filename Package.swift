// swift-tools-version:6.0
// safesock: the policy language, its decision model and the `safesock` CLI.
// The preload library (CShim/) is built by the Makefile, not by SwiftPM; it
// links the same SafesockMatch sources compiled in Embedded Swift.
import PackageDescription

let package = Package(
    name: "safesock",
    products: [
        .executable(name: "safesock", targets: ["safesock"]),
    ],
    targets: [
        // Byte-level primitives shared by the model and the table matcher.
        // Must stay Embedded-Swift clean: no Foundation, no String, no existentials.
        .target(name: "SafesockMatch"),
        // Policy text -> model, diagnostics, and the reference decision.
        .target(name: "SafesockPolicy", dependencies: ["SafesockMatch"]),
        // The manual page's SECURITY advice, as findings on a model.
        .target(name: "SafesockLint", dependencies: ["SafesockPolicy", "SafesockMatch"]),
        // Model -> compiled table bytes, and reading a table back for `show`.
        // (And the decision core's verdict on a table, for the differential test.)
        .target(name: "SafesockTable", dependencies: ["SafesockPolicy", "SafesockMatch", "SafesockDecision"]),
        // The shared-memory publication protocol, in C for its atomics; the
        // preload library compiles the same file (see the Makefile).
        .target(name: "SafesockPublication"),
        // `run --kernel`'s system side, in C: the seccomp filter, the
        // notifications, the calls made on the program's behalf.
        .target(name: "SafesockKernel"),
        // Whether an executable is one the preload library cannot see (static,
        // Go), in C: `safesock run` and the library's exec wrappers ask it.
        .target(name: "SafesockExec"),
        // The one decision core, in C: both enforcers ask it (the preload
        // library compiles the same file, see the Makefile). It calls the
        // matcher's C entry points (SafesockMatch/CEntry.swift).
        .target(name: "SafesockDecision"),
        // `run --kernel`'s supervisor: answers the trapped calls through the
        // decision core, makes the outside connections, serves the DNS.
        .target(name: "SafesockSupervisor", dependencies: ["SafesockDecision", "SafesockKernel", "SafesockMatch", "SafesockPolicy",
                                                           "SafesockPublication"]),
        // The commands, as a library so argument parsing can be unit-tested.
        .target(name: "SafesockCLI", dependencies: ["SafesockPolicy", "SafesockTable", "SafesockPublication", "SafesockLint",
                                                    "SafesockKernel", "SafesockSupervisor", "SafesockExec"]),
        .executableTarget(name: "safesock", dependencies: ["SafesockCLI"]),
        // `make bench`: the matcher, compiler and table at 10 to 1,000,000 rules.
        .executableTarget(name: "safesock-bench", dependencies: ["SafesockTable", "SafesockPolicy", "SafesockMatch", "SafesockPublication"]),
        .testTarget(name: "SafesockPolicyTests", dependencies: ["SafesockPolicy", "SafesockMatch", "SafesockLint"]),
        .testTarget(name: "SafesockTableTests", dependencies: ["SafesockTable", "SafesockPolicy", "SafesockMatch", "SafesockDecision"],
                    exclude: ["Golden"]),
        .testTarget(name: "SafesockCLITests", dependencies: ["SafesockCLI", "SafesockPolicy", "SafesockSupervisor"]),
        // Real processes under the real preload library (`make test` builds it).
        .testTarget(name: "SafesockShimTests", dependencies: ["SafesockTable", "SafesockPolicy"]),
    ]
)
