/// Checks a Go (RE2) regular expression and rewrites it for ICU (`NSRegularExpression`).
///
/// Ingress `path` values are Go regular expressions. ICU accepts a superset of that syntax with a
/// few different meanings, so a pattern is validated against RE2's grammar first (rejecting what
/// Go rejects, with Go's message text) and then rewritten where the meanings differ: `\d \s \w`
/// and POSIX classes are ASCII-only, `$` without `(?m)` means end of text, `\v` is one character,
/// named groups become plain groups, the `U` flag is dropped (greediness cannot change whether a
/// pattern matches), and literal punctuation is escaped.
struct GoRegexTranslator {
    /// A Go `regexp/syntax` error; ``message`` is the text Go prints.
    struct Failure: Error, Equatable {
        var code: String
        var expression: String
        var message: String { "error parsing regexp: \(code): `\(expression)`" }
    }

    private let s: [Unicode.Scalar]
    private var i = 0
    private var out = ""
    private var openGroups = 0
    private var canRepeat = false
    private var lastRepeatStart: Int?
    private var multiline = false

    private init(_ pattern: String) {
        s = Array(pattern.unicodeScalars)
    }

    /// Returns the ICU pattern for a Go pattern, or throws Go's error.
    static func translate(_ pattern: String) throws(Failure) -> String {
        var translator = GoRegexTranslator(pattern)
        try translator.run()
        return translator.out
    }

    private func text(_ from: Int, _ to: Int) -> String {
        var result = ""
        result.unicodeScalars.append(contentsOf: s[max(0, from)..<min(to, s.count)])
        return result
    }

    private func fail(_ code: String, _ from: Int, _ to: Int) -> Failure {
        Failure(code: code, expression: text(from, to))
    }

    private mutating func run() throws(Failure) {
        while i < s.count {
            let c = s[i]
            switch c {
            case "*", "+", "?":
                let start = i
                i += 1
                if i < s.count && s[i] == "?" { i += 1 }
                try repetition(start)
                continue
            case "{":
                if let end = try repeatCount(at: i) {
                    let start = i
                    i = end
                    if i < s.count && s[i] == "?" { i += 1 }
                    try repetition(start)
                    continue
                }
            default:
                break
            }
            lastRepeatStart = nil
            switch c {
            case "(":
                try openGroup()
            case ")":
                guard openGroups > 0 else { throw fail("unexpected )", 0, s.count) }
                openGroups -= 1
                out += ")"
                canRepeat = true
                i += 1
            case "|":
                out += "|"
                canRepeat = false
                i += 1
            case "[":
                try characterClass()
                canRepeat = true
            case "\\":
                try escape()
            case ".":
                out += "."
                canRepeat = true
                i += 1
            case "^":
                out += "^"
                canRepeat = true
                i += 1
            case "$":
                out += multiline ? "$" : "\\z"
                canRepeat = true
                i += 1
            default:
                emitLiteral(c)
                canRepeat = true
                i += 1
            }
        }
        if openGroups > 0 { throw fail("missing closing )", 0, s.count) }
    }

    private mutating func repetition(_ start: Int) throws(Failure) {
        if let previous = lastRepeatStart {
            throw fail("invalid nested repetition operator", previous, i)
        }
        guard canRepeat else { throw fail("missing argument to repetition operator", start, i) }
        out += text(start, i)
        lastRepeatStart = start
        canRepeat = false
    }

    /// If `{n}`, `{n,}` or `{n,m}` starts at `index`, validates it and returns the index after `}`.
    private func repeatCount(at index: Int) throws(Failure) -> Int? {
        var j = index + 1
        func number() -> Int? {
            let start = j
            var value = 0
            while j < s.count, let digit = Int(String(s[j])), s[j].isASCII {
                value = min(value * 10 + digit, 100_000)
                j += 1
            }
            return j > start ? value : nil
        }
        guard let low = number() else { return nil }
        var high = low
        if j < s.count && s[j] == "," {
            j += 1
            high = number() ?? -1
        }
        guard j < s.count && s[j] == "}" else { return nil }
        j += 1
        if low > 1000 || high > 1000 || (high >= 0 && high < low) {
            throw fail("invalid repeat count", index, j)
        }
        return j
    }

    private mutating func openGroup() throws(Failure) {
        canRepeat = false
        guard i + 1 < s.count, s[i + 1] == "?" else {
            out += "("
            openGroups += 1
            i += 1
            return
        }
        let start = i
        var j = i + 2
        // Named groups: (?P<name>re) and (?<name>re).
        var nameStart: Int?
        if j + 1 < s.count && s[j] == "P" && s[j + 1] == "<" {
            nameStart = j + 2
        } else if j < s.count && s[j] == "<" && !(j + 1 < s.count && (s[j + 1] == "=" || s[j + 1] == "!")) {
            nameStart = j + 1
        }
        if let nameStart {
            guard let close = s[nameStart...].firstIndex(of: ">") else {
                throw fail("invalid named capture", start, s.count)
            }
            let name = s[nameStart..<close]
            guard !name.isEmpty, name.allSatisfy({ $0 == "_" || ($0.isASCII && $0.properties.isAlphabetic) || ("0"..."9").contains($0) })
            else { throw fail("invalid named capture", start, close + 1) }
            out += "("
            openGroups += 1
            i = close + 1
            return
        }
        // Flag groups: (?flags) and (?flags:re), flags from i m s U with one optional '-'.
        var flags = ""
        var negated = false
        var sawFlag = false
        while j < s.count {
            let c = s[j]
            if c == "i" || c == "m" || c == "s" || c == "U" {
                if c == "m" && !negated { multiline = true }
                if c != "U" { flags.unicodeScalars.append(c) }
                sawFlag = true
                j += 1
            } else if c == "-" && !negated {
                negated = true
                sawFlag = false
                flags += "-"
                j += 1
            } else if (c == ")" || c == ":") && (sawFlag || (!negated && c == ":")) {
                break
            } else {
                throw fail("invalid or unsupported Perl syntax", start, j + 1)
            }
        }
        guard j < s.count else { throw fail("missing closing )", 0, s.count) }
        if flags.hasSuffix("-") { flags.removeLast() }
        if s[j] == ")" {
            if !flags.isEmpty { out += "(?\(flags))" }
        } else {
            out += "(?\(flags):"
            openGroups += 1
        }
        i = j + 1
    }

    /// One escape outside a class. Emits it and advances.
    private mutating func escape() throws(Failure) {
        let start = i
        guard i + 1 < s.count else { throw Failure(code: "trailing backslash at end of expression", expression: "") }
        let c = s[i + 1]
        canRepeat = true
        switch c {
        case "A", "z", "b", "B":
            out += "\\" + String(c)
            i += 2
        case "d", "D", "s", "S", "w", "W":
            out += Self.asciiClass(c)
            i += 2
        case "p", "P":
            out += try unicodeClass()
        case "Q":
            i += 2
            while i < s.count {
                if s[i] == "\\" && i + 1 < s.count && s[i + 1] == "E" {
                    i += 2
                    break
                }
                emitLiteral(s[i])
                i += 1
            }
        default:
            let scalar = try singleCharacterEscape(start)
            emitLiteral(scalar)
        }
    }

    /// Escapes that stand for one character (`\n`, `\x41`, `\101`, `\.`); advances past them.
    private mutating func singleCharacterEscape(_ start: Int) throws(Failure) -> Unicode.Scalar {
        guard i + 1 < s.count else { throw Failure(code: "trailing backslash at end of expression", expression: "") }
        let c = s[i + 1]
        i += 2
        switch c {
        case "a": return "\u{07}"
        case "f": return "\u{0C}"
        case "t": return "\t"
        case "n": return "\n"
        case "r": return "\r"
        case "v": return "\u{0B}"
        case "0"..."7":
            // A lone non-zero digit would be a backreference, which RE2 does not support.
            if c != "0" && !(i < s.count && ("0"..."7").contains(s[i])) {
                throw fail("invalid escape sequence", start, i)
            }
            var value = c.value - 48
            var digits = 1
            while digits < 3, i < s.count, ("0"..."7").contains(s[i]) {
                value = value * 8 + s[i].value - 48
                i += 1
                digits += 1
            }
            return Unicode.Scalar(value)!
        case "x":
            var hex = ""
            if i < s.count && s[i] == "{" {
                guard let close = s[i...].firstIndex(of: "}") else { throw fail("invalid escape sequence", start, s.count) }
                hex = text(i + 1, close)
                i = close + 1
            } else {
                hex = text(i, i + 2)
                i = min(i + 2, s.count)
                if hex.count < 2 { throw fail("invalid escape sequence", start, i) }
            }
            guard !hex.isEmpty, let value = UInt32(hex, radix: 16), let scalar = Unicode.Scalar(value) else {
                throw fail("invalid escape sequence", start, i)
            }
            return scalar
        default:
            if c.isASCII && !c.properties.isAlphabetic && !("0"..."9").contains(c) {
                return c
            }
            throw fail("invalid escape sequence", start, i)
        }
    }

    /// `\pL`, `\p{Greek}`, `\P{…}`, `\p{^…}`.
    private mutating func unicodeClass() throws(Failure) -> String {
        let start = i
        var negated = s[i + 1] == "P"
        i += 2
        guard i < s.count else { throw fail("invalid character class range", start, i) }
        var name: String
        if s[i] == "{" {
            guard let close = s[i...].firstIndex(of: "}") else { throw fail("invalid character class range", start, s.count) }
            name = text(i + 1, close)
            i = close + 1
        } else {
            name = String(s[i])
            i += 1
        }
        if name.hasPrefix("^") {
            negated.toggle()
            name.removeFirst()
        }
        guard !name.isEmpty, name.allSatisfy({ $0.isLetter || $0 == "_" }) else {
            throw fail("invalid character class range", start, i)
        }
        if name == "Any" { return negated ? "[^\\x{0}-\\x{10FFFF}]" : "[\\x{0}-\\x{10FFFF}]" }
        return (negated ? "\\P{" : "\\p{") + name + "}"
    }

    private mutating func characterClass() throws(Failure) {
        let start = i
        i += 1
        out += "["
        if i < s.count && s[i] == "^" {
            out += "^"
            i += 1
        }
        var first = true
        while true {
            guard i < s.count else { throw fail("missing closing ]", start, s.count) }
            let c = s[i]
            if c == "]" && !first {
                i += 1
                break
            }
            first = false
            if c == "[" && i + 1 < s.count && s[i + 1] == ":",
                let close = posixClassEnd(i)
            {
                var name = text(i + 2, close - 2)
                let negated = name.hasPrefix("^")
                if negated { name.removeFirst() }
                guard let set = Self.posixClasses[name] else {
                    throw fail("invalid character class range", i, close)
                }
                out += negated ? "[^\(set)]" : "[\(set)]"
                i = close
                continue
            }
            if c == "\\" && i + 1 < s.count {
                let e = s[i + 1]
                if "dDsSwW".unicodeScalars.contains(e) {
                    out += Self.asciiClass(e)
                    i += 2
                    continue
                }
                if e == "p" || e == "P" {
                    out += try unicodeClass()
                    continue
                }
            }
            let lowStart = i
            let low = try classCharacter()
            if i + 1 < s.count && s[i] == "-" && s[i + 1] != "]" {
                i += 1
                let high = try classCharacter()
                if high.value < low.value { throw fail("invalid character class range", lowStart, i) }
                out += Self.classLiteral(low) + "-" + Self.classLiteral(high)
            } else {
                out += Self.classLiteral(low)
            }
        }
        out += "]"
    }

    private mutating func classCharacter() throws(Failure) -> Unicode.Scalar {
        guard i < s.count else { throw fail("missing closing ]", i, s.count) }
        if s[i] == "\\" { return try singleCharacterEscape(i) }
        defer { i += 1 }
        return s[i]
    }

    private func posixClassEnd(_ index: Int) -> Int? {
        var j = index + 2
        while j + 1 < s.count {
            if s[j] == ":" && s[j + 1] == "]" { return j + 2 }
            if s[j] == "]" { return nil }
            j += 1
        }
        return nil
    }

    private mutating func emitLiteral(_ c: Unicode.Scalar) {
        canRepeat = true
        if c.isASCII && (c.properties.isAlphabetic || ("0"..."9").contains(c)) {
            out.unicodeScalars.append(c)
        } else if c.isASCII && c.value > 0x20 && c.value < 0x7F {
            out += "\\" + String(c)
        } else if c.isASCII {
            out += "\\x{\(String(c.value, radix: 16))}"
        } else {
            out.unicodeScalars.append(c)
        }
    }

    private static func classLiteral(_ c: Unicode.Scalar) -> String {
        if c.isASCII && (c.properties.isAlphabetic || ("0"..."9").contains(c)) { return String(c) }
        if c.isASCII && c.value > 0x20 && c.value < 0x7F { return "\\" + String(c) }
        return "\\x{\(String(c.value, radix: 16))}"
    }

    /// Go's Perl classes are ASCII-only.
    private static func asciiClass(_ c: Unicode.Scalar) -> String {
        switch c {
        case "d": return "[0-9]"
        case "D": return "[^0-9]"
        case "s": return "[\\t\\n\\f\\r\\x{20}]"
        case "S": return "[^\\t\\n\\f\\r\\x{20}]"
        case "w": return "[0-9A-Za-z_]"
        default: return "[^0-9A-Za-z_]"
        }
    }

    private static let posixClasses: [String: String] = [
        "alnum": "0-9A-Za-z", "alpha": "A-Za-z", "ascii": "\\x{0}-\\x{7f}", "blank": "\\t\\x{20}",
        "cntrl": "\\x{0}-\\x{1f}\\x{7f}", "digit": "0-9", "graph": "\\x{21}-\\x{7e}", "lower": "a-z",
        "print": "\\x{20}-\\x{7e}", "punct": "\\x{21}-\\x{2f}\\x{3a}-\\x{40}\\x{5b}-\\x{60}\\x{7b}-\\x{7e}",
        "space": "\\t\\n\\x{b}\\f\\r\\x{20}", "upper": "A-Z", "word": "0-9A-Za-z_", "xdigit": "0-9A-Fa-f",
    ]
}
