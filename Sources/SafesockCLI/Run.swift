// `safesock run`: runs a command under a policy, through the preload
// library: compiles the policy (or takes a compiled table), sets the
// library's environment, and execs the command, whose exit status is run's.

import FoundationEssentials
import Glibc
import Dispatch
import SafesockPolicy
import SafesockABI
import SafesockMatch
import SafesockSupervisor
import SafesockTable

let runCommand = Command(
    name: "run",
    brief: "run a command under a policy",
    summary: """
    Run CMD under a policy, enforced by the preload library in CMD and in
    every dynamically linked program it starts, or with --kernel by a
    supervisor in the kernel. CMD is everything after `--`, or from the
    first word that is not an option. The exit status is CMD's (127: CMD
    could not be run; 1: the policy has errors or the library is missing;
    2: bad usage).
    """,
    usage: "safesock run [--policy F | --table T] [--profile NAME]... [--allow HOST:PORTS]... [--deny HOST[:PORTS]]... [--allow-private-names] [--origin H] [--log F] [--learn] [--kernel [--require-namespace]] [--] CMD [ARG...]",
    options: PolicyChoice.options + [
        .value("--table", "T", "a table compiled by `safesock compile` (a file), or one published by `safesock reload`"),
        .value("--origin", "H", "the origin host: the empty host and $originSocketHost"),
        .value("--log", "F", "append a JSON audit record per denial to F; `journal` or `syslog` (`journal:SOCKET`, `syslog:SOCKET`): send it to the systemd journal or to /dev/log"),
        .flag("--learn", "deny nothing; record every decision (with --log)"),
        .flag("--kernel", "for code that may be hostile: CMD in a network namespace of its own, under seccomp, with no capability; safesock makes its allowed connections and answers its DNS"),
        .flag("--strict", "accepted for compatibility: every call is judged under --kernel"),
        .flag("--require-namespace", "with --kernel: refuse to start where no network namespace can be made"),
    ],
    takesCommand: true,
    run: runUnderPolicy)

/// The preload library: beside the CLI (build/bin -> build/lib, and
/// PREFIX/bin -> PREFIX/lib/safesock), or SAFESOCK_LIBRARY.
func libraryPath() -> String? {
    if let given = ProcessInfo.processInfo.environment["SAFESOCK_LIBRARY"], !given.isEmpty {
        return System.isReadableFile(given) ? given : nil
    }
    guard let exe = System.executablePath() else { return nil }
    let bin = System.directory(of: exe)
    let prefix = System.directory(of: bin)
    return ["\(prefix)/lib/libsafesock.so", "\(prefix)/lib/safesock/libsafesock.so"].first(where: System.isReadableFile)
}

/// Where compiled tables are kept: named by their content, so a run never
/// replaces a table another running program maps.
func tableDirectory() throws -> String {
    let environment = ProcessInfo.processInfo.environment
    if let runtime = environment["XDG_RUNTIME_DIR"], !runtime.isEmpty, System.isReadableFile(runtime) {
        return try System.privateDirectory("\(runtime)/safesock")
    }
    return try System.privateDirectory("/tmp/safesock-\(getuid())")
}

/// --log as the library and the supervisor take it: `journal[:SOCKET]`
/// and `syslog[:SOCKET]` as they are (safesock_audit_sink_of), a file made
/// absolute, as the command may change directory.
/// Whether `value` names a socket by a path that is not absolute, which
/// names nothing (an empty one is an abstract name anyone may bind).
func logSocketIsRelative(_ value: String) -> Bool {
    var path: UnsafePointer<CChar>?
    let sink = value.withCString { safesock_audit_sink_of($0, &path) }
    return sink != SAFESOCK_AUDIT_FILE && path == nil
}

func logDestination(_ value: String) -> String {
    var path: UnsafePointer<CChar>?
    let sink = value.withCString { safesock_audit_sink_of($0, &path) }
    return sink == SAFESOCK_AUDIT_FILE ? absolute(value) : value
}

func absolute(_ path: String) -> String {
    path.hasPrefix("/") ? path : FileManager.default.currentDirectoryPath + "/" + path
}

func runUnderPolicy(_ arguments: ParsedArguments) -> Int32 {
    let command = arguments.rest ?? []
    guard !command.isEmpty else { return CLI.usageError("run", "name the command to run (after -- or the options)") }
    if arguments.value("--table") != nil && (arguments.value("--policy") != nil || PolicyChoice.composes(arguments)) {
        return CLI.usageError("run", "a --table is compiled already: give it alone, or --policy, --profile, --allow and --deny")
    }
    for mode in ["--strict", "--require-namespace"] where arguments.has(mode) && !arguments.has("--kernel") {
        return CLI.usageError("run", "\(mode) is a mode of --kernel")
    }
    if let log = arguments.value("--log"), logSocketIsRelative(log) {
        return CLI.usageError("run", "--log \(log): a journal or syslog socket is an absolute path (journal:/run/...)")
    }
    if let origin = arguments.value("--origin"), origin.isEmpty {
        return CLI.usageError("run", "--origin needs a host")
    }
    guard let library = libraryPath() else {
        Output.err("safesock run: the preload library libsafesock.so is not beside \(System.executablePath() ?? "safesock") (set SAFESOCK_LIBRARY)")
        return ExitStatus.failure
    }

    let tablePath: String
    var sharedTable: Int32?
    do {
        if let given = arguments.value("--table") {
            let source = TableSource(given)
            _ = try source.load()
            tablePath = source.environmentValue
        } else {
            guard let policy = PolicyChoice.load(arguments, path: arguments.value("--policy"), for: "run",
                                                 otherwise: "nothing was run") else { return ExitStatus.failure }
            let bytes = try TableCompiler.compile(policy)
            let name = bytes.withUnsafeBytes { hexDigits(TableHashName.of($0), width: 16) }
            tablePath = "\(try tableDirectory())/\(name).table"
            if !System.isReadableFile(tablePath) { try System.writeAtomically(bytes, to: tablePath, mode: 0o600) }
            sharedTable = shareSealed(bytes)
        }
    } catch {
        Output.err("safesock run: \(error)")
        return ExitStatus.failure
    }

    var environment = ProcessInfo.processInfo.environment
    environment["SAFESOCK_TABLE"] = tablePath
    environment["SAFESOCK_TABLE_FD"] = sharedTable.map { "\($0)" }
    environment["SAFESOCK_MODE"] = arguments.has("--learn") ? "learn" : "enforce"
    environment["SAFESOCK_ORIGIN"] = arguments.value("--origin")
    environment["SAFESOCK_LOG"] = arguments.value("--log").map(logDestination)
    let preloads = (environment["LD_PRELOAD"] ?? "").split(whereSeparator: { $0 == ":" || $0 == " " }).map(String.init)
    environment["LD_PRELOAD"] = ([library] + preloads.filter { $0 != library }).joined(separator: ":")
    if arguments.has("--kernel") {
        guard let path = System.findExecutable(command[0]) else {
            Output.err("safesock run: cannot run \(command[0]): not found")
            return 127
        }
        let table: SupervisedTable
        do {
            if tablePath.contains("/") {
                table = SupervisedTable(file: [UInt8](try Data(contentsOf: URL(fileURLWithPath: tablePath))))
            } else {
                table = try SupervisedTable(publication: tablePath)
            }
        } catch {
            Output.err("safesock run: \(error)")
            return ExitStatus.failure
        }
        environment["SAFESOCK_KERNEL"] = "1"
        return KernelSupervisor(table: table, origin: arguments.value("--origin"),
                                log: arguments.value("--log").map(logDestination), learn: arguments.has("--learn"),
                                requireNamespace: arguments.has("--require-namespace"))
            .run(path: path, argv: command, environment: environment)
    }
    // The library's exec wrappers say it of the programs the command
    // starts; this exec is the CLI's own.
    if let path = System.findExecutable(command[0]), let warning = safesock_program_warning(safesock_program_kind_at(path)) {
        Output.err("safesock: warning: \(path)" + String(cString: warning))
    }
    let failure = System.exec(command, environment: environment)
    Output.err("safesock run: \(failure)")
    return 127
}

/// The table in a sealed memfd the command inherits (SAFESOCK_TABLE_FD):
/// the library in every program it starts maps it instead of copying the
/// file (docs/enforcement.md), some 4 ms a start saved for a 100,000-rule
/// table. Placed at 100 or above, out of the way of the low numbers shells
/// and programs reuse; nil when it cannot be made (each program copies).
func shareSealed(_ bytes: [UInt8]) -> Int32? {
    let made = bytes.withUnsafeBytes { safesock_sealed_table(-1, $0.baseAddress, $0.count, 0) }
    guard made >= 0 else { return nil }
    let high = fcntl(made, F_DUPFD, 100)
    close(made)
    return high >= 0 ? high : nil
}

/// A table's file name: its checksum field with its length, enough to tell
/// distinct tables apart in one directory.
enum TableHashName {
    static func of(_ bytes: UnsafeRawBufferPointer) -> UInt64 {
        let checksum = bytes.loadUnaligned(fromByteOffset: TableLayout.checksumOffset, as: UInt64.self)
        return checksum ^ (UInt64(bytes.count) &* 0x9E37_79B9_7F4A_7C15)
    }
}
