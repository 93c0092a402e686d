// PortSyntax: the port word of a rule (docs/policy-language.md, "Port
// patterns"). Only numbers: the plugin refused named services so that a
// service could not be disallowed by name yet allowed by number.

import SafesockMatch

struct PortSyntaxError: Error {
    /// Byte offset of the fault in the word; nil: the word as a whole.
    var offset: Int?
    var message: String
}

enum PortSyntax {
    static func parse(_ text: String) -> Result<PortPattern, PortSyntaxError> {
        let b = Array(text.utf8)
        guard !b.isEmpty else {
            return .failure(PortSyntaxError(offset: nil, message: "empty port pattern: use a number (80), N1-N2, >N, <N or a glob (80*)"))
        }
        if b.allSatisfy(isDigit) {
            return number(b[...], offset: 0, limit: 65535).map { .exact(UInt16($0)) }
        }
        if b[0] == UInt8(ascii: ">") || b[0] == UInt8(ascii: "<") {
            let bound = b[1...]
            guard !bound.isEmpty, bound.allSatisfy(isDigit) else {
                return .failure(PortSyntaxError(offset: 1, message: "'\(text)': expected a number after '\(Character(UnicodeScalar(b[0])))'"))
            }
            return number(bound, offset: 1, limit: UInt32.max).map { b[0] == UInt8(ascii: ">") ? .above($0) : .below($0) }
        }
        if let dash = b.firstIndex(of: UInt8(ascii: "-")), dash > 0,
           b[..<dash].allSatisfy(isDigit), b[(dash + 1)...].allSatisfy(isDigit), dash + 1 < b.count {
            let low = number(b[..<dash], offset: 0, limit: UInt32.max)
            let high = number(b[(dash + 1)...], offset: dash + 1, limit: UInt32.max)
            switch (low, high) {
            case (.success(let l), .success(let h)): return .success(.range(l, h))
            case (.failure(let e), _), (_, .failure(let e)): return .failure(e)
            }
        }
        if let letter = b.firstIndex(where: { ($0 | 0x20) >= UInt8(ascii: "a") && ($0 | 0x20) <= UInt8(ascii: "z") }) {
            return .failure(PortSyntaxError(offset: letter,
                message: "'\(text)' is not a port number: service names are refused, only numeric ports"))
        }
        if b.contains(where: { !isGlobByte($0) }) {
            return .failure(PortSyntaxError(offset: nil,
                message: "bad port pattern '\(text)': use a number (80), N1-N2, >N, <N or a glob of digits (80*)"))
        }
        var scratch = text
        if let fault = scratch.withUTF8({ Glob.malformation($0) }) {
            return .failure(PortSyntaxError(offset: fault.offset, message: HostGlob.message(fault.reason)))
        }
        guard scratch.withUTF8({ Glob.isGlob($0) }) else {
            return .failure(PortSyntaxError(offset: nil,
                message: "bad port pattern '\(text)': use a number (80), N1-N2, >N, <N or a glob of digits (80*)"))
        }
        return .success(.glob(text))
    }

    static func isDigit(_ c: UInt8) -> Bool { c >= 0x30 && c <= 0x39 }

    /// What a glob of digits may hold: `0123456789*?[]-\`.
    static func isGlobByte(_ c: UInt8) -> Bool {
        isDigit(c) || c == UInt8(ascii: "*") || c == UInt8(ascii: "?") || c == UInt8(ascii: "[") || c == UInt8(ascii: "]")
            || c == UInt8(ascii: "-") || c == UInt8(ascii: "\\")
    }

    /// Decimal digits without a leading zero: ports are compared as decimal
    /// text, so `080` would silently never match.
    static func number(_ digits: ArraySlice<UInt8>, offset: Int, limit: UInt32) -> Result<UInt32, PortSyntaxError> {
        // The usual port, read without a string (a policy has a million).
        if digits.count <= 10 && (digits.count == 1 || digits.first != UInt8(ascii: "0")) {
            let value = digits.reduce(UInt64(0)) { $0 * 10 + UInt64($1 &- 0x30) }
            if value <= UInt64(limit) { return .success(UInt32(value)) }
        }
        let text = String(decoding: digits, as: UTF8.self)
        if digits.count > 1 && digits.first == UInt8(ascii: "0") {
            return .failure(PortSyntaxError(offset: offset, message: "'\(text)' has a leading zero; write \(text.drop { $0 == "0" }.isEmpty ? "0" : String(text.drop { $0 == "0" }))"))
        }
        guard digits.count <= 10, let value = UInt64(text), value <= UInt64(limit) else {
            return .failure(PortSyntaxError(offset: offset,
                message: limit == 65535 ? "port \(text) is out of range (0-65535)" : "number \(text) is too large"))
        }
        return .success(UInt32(value))
    }
}
