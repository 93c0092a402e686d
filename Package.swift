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
        // What the preload library, the supervisor and the CLI share, in one
        // place: the C interfaces of the matcher, the decision core, the
        // canonicaliser, the publication, the name memory, the source routes,
        // and the numbers they name (abi.c holds them to the system's).
        // The library compiles with this include directory and no other.
        .target(name: "SafesockABI"),
        // The one canonicaliser (address spellings, IPv4 folding, names), in
        // C on libc's inet_aton/inet_pton: the model calls it through
        // SwiftPM, the preload library compiles the same file.
        .target(name: "SafesockCanonical", dependencies: ["SafesockABI"], publicHeadersPath: "."),
        // Byte-level primitives shared by the model and the table matcher.
        // Must stay Embedded-Swift clean: no Foundation, no String, no existentials.
        .target(name: "SafesockMatch"),
        // Policy text -> model, diagnostics, and the reference decision.
        .target(name: "SafesockPolicy", dependencies: ["SafesockMatch", "SafesockABI", "SafesockCanonical"]),
        // The manual page's SECURITY advice, as findings on a model.
        .target(name: "SafesockLint", dependencies: ["SafesockPolicy", "SafesockMatch"]),
        // Model -> compiled table bytes, and reading a table back for `show`.
        // (And the decision core's verdict on a table, for the differential test.)
        .target(name: "SafesockTable", dependencies: ["SafesockPolicy", "SafesockMatch", "SafesockABI", "SafesockDecision"]),
        // The shared-memory publication protocol, in C for its atomics; the
        // preload library compiles the same file (see the Makefile).
        .target(name: "SafesockPublication", dependencies: ["SafesockABI"], publicHeadersPath: "."),
        // `run --kernel`'s system side, in C: the seccomp filter, the
        // notifications, the calls made on the program's behalf.
        .target(name: "SafesockKernel", dependencies: ["SafesockABI", "SafesockCanonical"]),
        // Whether an executable is one the preload library cannot see (static,
        // Go), in C: `safesock run` and the library's exec wrappers ask it.
        .target(name: "SafesockExec", dependencies: ["SafesockABI"], publicHeadersPath: "."),
        // The one decision core, in C: both enforcers ask it (the preload
        // library compiles the same file, see the Makefile). It calls the
        // matcher's C entry points (SafesockMatch/CEntry.swift).
        .target(name: "SafesockDecision", dependencies: ["SafesockABI", "SafesockCanonical"], publicHeadersPath: "."),
        // `run --kernel`'s supervisor: answers the trapped calls through the
        // decision core, makes the outside connections, serves the DNS.
        .target(name: "SafesockSupervisor", dependencies: ["SafesockABI", "SafesockDecision", "SafesockKernel", "SafesockMatch",
                                                           "SafesockPolicy", "SafesockPublication", "SafesockTable"]),
        // The commands, as a library so argument parsing can be unit-tested.
        .target(name: "SafesockCLI", dependencies: ["SafesockABI", "SafesockPolicy", "SafesockTable", "SafesockPublication",
                                                    "SafesockLint", "SafesockKernel", "SafesockSupervisor", "SafesockExec"]),
        .executableTarget(name: "safesock", dependencies: ["SafesockCLI"]),
        // `make bench`: the matcher, compiler and table at 10 to 1,000,000 rules.
        .executableTarget(name: "safesock-bench", dependencies: ["SafesockTable", "SafesockPolicy", "SafesockMatch", "SafesockABI", "SafesockPublication",
                                                                    "SafesockTestSupport"]),
        // What the tests and the bench share: the seeded generator, the fixtures.
        .target(name: "SafesockTestSupport", dependencies: ["SafesockPolicy"], path: "Tests/SafesockTestSupport"),
        .testTarget(name: "SafesockCanonicalTests", dependencies: ["SafesockABI", "SafesockCanonical", "SafesockPolicy",
                                                                 "SafesockTestSupport"]),
        .testTarget(name: "SafesockDecisionTests", dependencies: ["SafesockABI", "SafesockDecision", "SafesockCLI", "SafesockTestSupport"]),
        .testTarget(name: "SafesockMatchTests", dependencies: ["SafesockMatch", "SafesockTestSupport"]),
        .testTarget(name: "SafesockPolicyTests", dependencies: ["SafesockPolicy", "SafesockMatch", "SafesockTestSupport"]),
        .testTarget(name: "SafesockLintTests", dependencies: ["SafesockLint", "SafesockPolicy", "SafesockMatch", "SafesockTestSupport"]),
        .testTarget(name: "SafesockTableTests", dependencies: ["SafesockTable", "SafesockPolicy", "SafesockMatch", "SafesockABI", "SafesockDecision",
                                                             "SafesockTestSupport"],
                    exclude: ["Golden"]),
        .testTarget(name: "SafesockCLITests", dependencies: ["SafesockCLI", "SafesockPolicy", "SafesockSupervisor", "SafesockTestSupport"]),
        // End to end: real programs under the real preload library and the
        // supervisor, real listeners, namespaces (root; `make test` builds
        // and installs what they run). `make unit` runs everything else.
        .testTarget(name: "SafesockEndToEndTests", dependencies: ["SafesockTable", "SafesockPolicy", "SafesockCLI", "SafesockTestSupport"]),
    ]
)
