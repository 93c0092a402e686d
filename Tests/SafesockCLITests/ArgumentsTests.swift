// The CLI's argument parser.

import SafesockCLI
import Testing

@Suite struct ArgumentsTests {
    let options: [OptionSpec] = [.flag("--json"), .value("--origin"), .repeated("--name")]

    @Test func positionalsFlagsAndValues() throws {
        let p = try parseArguments(["pol.cfg", "--origin", "o.example", "", "--json", "80", "--name=a", "--name", "b"], options: options)
        #expect(p.positionals == ["pol.cfg", "", "80"])
        #expect(p.value("--origin") == "o.example")
        #expect(p.values["--name"] == ["a", "b"])
        #expect(p.has("--json"))
        #expect(p.rest == nil)
    }

    @Test func doubleDashKeepsTheRestVerbatim() throws {
        let p = try parseArguments(["--json", "--", "curl", "--json", "-v", "--"], options: options)
        #expect(p.rest == ["curl", "--json", "-v", "--"])
        #expect(p.positionals.isEmpty)
        #expect(try parseArguments(["-", "--origin="], options: options).positionals == ["-"])
        #expect(try parseArguments(["-1", "-80x"], options: options).positionals == ["-1", "-80x"])
        #expect(try parseArguments(["--origin="], options: options).value("--origin") == "")
    }

    @Test(arguments: [
        (["--bogus"], ArgumentError.unknownOption("--bogus")),
        (["--origin"], .missingValue("--origin")),
        (["--origin", "a", "--origin", "b"], .repeated("--origin")),
        (["--json=yes"], .unexpectedValue("--json")),
        (["-x"], .unknownOption("-x")),
    ])
    func refusesBadArguments(arguments: [String], error: ArgumentError) {
        #expect(throws: error) { try parseArguments(arguments, options: options) }
    }
}
