// Lexer: splits one line of policy text into words, as a Tcl list would.
//
// Lines, not statements (docs/policy-language.md, "Lines and words"): a brace
// or quote must close on its own line. Backslash protects the next character
// from ending a word, and stays in the word's text: the glob gives it its
// meaning (`\*` is a literal star) in every word form, so `a\*b`, "a\*b" and
// {a\*b} are one pattern. A bare word that starts with `#` starts a comment
// to the end of the line, so `maxSockets 4   # four` reads as the plugin's
// examples write it (docs/policy-language.md, "Lines and words").

struct Word: Equatable {
    enum Form: Equatable { case bare, braced, quoted }

    var text: String
    /// 1-based byte column of the word's first character (its brace or quote).
    var column: Int
    var form: Form
}

struct LexError: Error, Equatable {
    var column: Int
    var message: String
}

enum Lexer {
    static func isBlank(_ c: UInt8) -> Bool {
        c == 0x20 || c == 0x09 || c == 0x0D || c == 0x0B || c == 0x0C
    }

    /// The words of one line (without its newline): its first in `command`
    /// (nil for a line of none, or a comment), the rest in `arguments`.
    /// Both are emptied first, so one buffer serves every line of a file
    /// (an array a line was a tenth of a large policy's parse).
    static func words(_ line: ArraySlice<UInt8>, command: inout Word?, arguments: inout [Word]) -> LexError? {
        let base = line.startIndex
        var i = base
        command = nil
        arguments.removeAll(keepingCapacity: true)
        func column(_ index: Int) -> Int { index - base + 1 }
        func add(_ word: Word) {
            if command == nil { command = word } else { arguments.append(word) }
        }

        while true {
            while i < line.endIndex && isBlank(line[i]) { i += 1 }
            guard i < line.endIndex else { return nil }
            let start = i
            switch line[i] {
            case UInt8(ascii: "#"):
                return nil
            case UInt8(ascii: "{"):
                var depth = 0
                var end: Int? = nil
                while i < line.endIndex {
                    let c = line[i]
                    if c == UInt8(ascii: "\\") {
                        i += 2
                        continue
                    }
                    if c == UInt8(ascii: "{") { depth += 1 }
                    if c == UInt8(ascii: "}") {
                        depth -= 1
                        if depth == 0 {
                            end = i
                            break
                        }
                    }
                    i += 1
                }
                guard let close = end else {
                    return LexError(column: column(start), message: "missing close-brace")
                }
                i = close + 1
                if i < line.endIndex && !isBlank(line[i]) {
                    return LexError(column: column(i), message: "extra characters after close-brace")
                }
                add(Word(text: text(line[(start + 1)..<close]), column: column(start), form: .braced))
            case UInt8(ascii: "\""):
                i += 1
                var end: Int? = nil
                while i < line.endIndex {
                    if line[i] == UInt8(ascii: "\\") {
                        i += 2
                        continue
                    }
                    if line[i] == UInt8(ascii: "\"") {
                        end = i
                        break
                    }
                    i += 1
                }
                guard let close = end else {
                    return LexError(column: column(start), message: "missing close-quote")
                }
                i = close + 1
                if i < line.endIndex && !isBlank(line[i]) {
                    return LexError(column: column(i), message: "extra characters after close-quote")
                }
                add(Word(text: text(line[(start + 1)..<close]), column: column(start), form: .quoted))
            default:
                while i < line.endIndex && !isBlank(line[i]) {
                    i += line[i] == UInt8(ascii: "\\") ? 2 : 1
                }
                i = min(i, line.endIndex)
                add(Word(text: text(line[start..<i]), column: column(start), form: .bare))
            }
        }
    }

    static func text(_ bytes: ArraySlice<UInt8>) -> String {
        String(decoding: bytes, as: UTF8.self)
    }
}
