// `safesock doctor`: what this machine and user allow, and which protection
// `run --kernel` would get here (it prints the same in one line when it runs).

import FoundationEssentials
import Glibc
import Dispatch
import SafesockKernel
import SafesockSupervisor

let doctorCommand = Command(
    name: "doctor",
    brief: "what this machine allows, and what run --kernel would build",
    summary: """
    Say what this machine and user allow and which protection `run
    --kernel` would build: a network namespace of its own (else the
    seccomp-only fallback, which --require-namespace refuses), seccomp
    user notification, Landlock. Exit status 0 when run --kernel gets its
    namespace, 1 when it would fall back.
    """,
    usage: "safesock doctor",
    options: [],
    run: doctor)

func doctor(_ arguments: ParsedArguments) -> Int32 {
    var uts = utsname()
    uname(&uts)
    let release = withUnsafeBytes(of: uts.release) { String(cString: $0.bindMemory(to: CChar.self).baseAddress!) }
    let uid = getuid()
    let actions = (try? String(contentsOfFile: "/proc/sys/kernel/seccomp/actions_avail", encoding: .utf8)) ?? ""
    let notify = actions.split(whereSeparator: { $0 == " " || $0 == "\n" }).contains("user_notif")
    let namespace = safesock_kernel_namespace_possible()
    let landlock = safesock_kernel_landlock_abi()
    let resolv = Nameservers.parse((try? String(contentsOfFile: "/etc/resolv.conf", encoding: .utf8)) ?? "")
    func line(_ what: String, _ value: String) { Output.out(what.padded(26) + value) }
    line("kernel", "Linux \(release)")
    line("user", uid == 0 ? "root (the namespace is made directly)" : "uid \(uid) (the namespace is made in a user namespace)")
    line("network namespace", namespace == 0 ? "yes" : "no: \(String(cString: strerror(namespace)))")
    line("seccomp notification", notify ? "yes" : "no (run --kernel cannot start)")
    line("Landlock", landlock >= 0 ? "ABI \(landlock)" + (landlock >= 4 ? "" : " (no network rules: none is built)") : "no")
    line("nameservers", resolv.map { "\($0)" }.joined(separator: ", ") + " (safesock answers DNS there in the namespace)")
    if namespace == 0 && notify {
        Output.out("run --kernel: network namespace with only a loopback, seccomp notification, capabilities dropped"
                   + (landlock >= 4 ? ", Landlock ABI \(landlock) (no TCP connect of the program's own)" : ", no Landlock"))
        return ExitStatus.success
    }
    Output.out(notify ? "run --kernel: the seccomp-only FALLBACK (no namespace); --require-namespace would refuse to start"
                      : "run --kernel: cannot run here")
    return ExitStatus.failure
}
