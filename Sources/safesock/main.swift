// safesock: the command-line tool. Everything lives in SafesockCLI.
import FoundationEssentials
import Glibc
import Dispatch
import SafesockCLI

exit(CLI.run(Array(CommandLine.arguments.dropFirst())))
