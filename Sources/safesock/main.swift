// safesock: the command-line tool. Everything lives in SafesockCLI.
import Foundation
import SafesockCLI

exit(CLI.run(Array(CommandLine.arguments.dropFirst())))
