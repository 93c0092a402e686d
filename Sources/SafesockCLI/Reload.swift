// `safesock reload NAME POLICY`: compile and publish in shared memory.

import SafesockPolicy
import SafesockTable

let reloadCommand = Command(
    name: "reload",
    brief: "publish a policy as a shared-memory table programs follow",
    summary: """
    Compile POLICY and publish it as the shared-memory table NAME, creating
    or replacing it. Every program running under NAME (`safesock run
    --table NAME`) decides on the new table from its next decision on, with
    no restart; none ever decides on half of one. A policy with any error
    is never published. NAME: letters, digits, '.', '_', '-'.
    """,
    usage: "safesock reload NAME POLICY",
    options: [],
    run: reload)

func reload(_ arguments: ParsedArguments) -> Int32 {
    guard arguments.positionals.count == 2 else { return CLI.usageError("reload", "expected NAME POLICY") }
    let (name, path) = (arguments.positionals[0], arguments.positionals[1])
    guard let policy = CLI.usablePolicy(path, for: "reload", otherwise: "\(name) is unchanged") else { return ExitStatus.failure }
    do {
        var size = 0
        let generation = try Publication.publish(name: name) { generation in
            let table = try TableCompiler.compile(policy, generation: generation)
            size = table.count
            return table
        }
        Output.out("\(name): generation \(generation), \(size) bytes, \(policy.rules.count) rules")
        return ExitStatus.success
    } catch {
        Output.err("safesock reload: \(error)")
        return ExitStatus.failure
    }
}
