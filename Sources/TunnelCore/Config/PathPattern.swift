import Foundation

/// A compiled ingress `path` filter: a Go regular expression searched anywhere in the request path.
///
/// Compiled once when the rules are loaded. Patterns that are plain literals, optionally anchored
/// with `^` and/or `$` (the common `^/api/` form), are matched by byte comparison; everything else
/// goes to ICU after ``GoRegexTranslator`` has checked and rewritten it.
public struct PathPattern: Sendable, CustomStringConvertible {
    private enum Matcher: @unchecked Sendable {
        // NSRegularExpression is immutable after creation and documented as thread-safe.
        case literal([UInt8], anchoredStart: Bool, anchoredEnd: Bool)
        case regex(NSRegularExpression)
    }

    /// The pattern as written in the configuration (Go RE2 syntax).
    public let source: String
    private let matcher: Matcher

    /// Compiles a Go regular expression.
    /// - Throws: ``GoRegexTranslator/Failure`` text as a plain message (`error parsing regexp: …`).
    init(goPattern: String) throws(GoRegexTranslator.Failure) {
        source = goPattern
        if let literal = Self.literal(goPattern) {
            matcher = .literal(Array(literal.text.utf8), anchoredStart: literal.start, anchoredEnd: literal.end)
            return
        }
        let icu = try GoRegexTranslator.translate(goPattern)
        do {
            matcher = .regex(try NSRegularExpression(pattern: icu, options: [.useUnixLineSeparators]))
        } catch {
            throw GoRegexTranslator.Failure(code: "unsupported by the regular expression engine", expression: goPattern)
        }
    }

    public var description: String { source }

    /// Whether the pattern matches anywhere in `path` (Go `Regexp.MatchString`).
    public func matches(_ path: Substring) -> Bool {
        switch matcher {
        case .literal(let bytes, let anchoredStart, let anchoredEnd):
            let utf8 = path.utf8
            if anchoredStart && anchoredEnd { return utf8.elementsEqual(bytes) }
            if anchoredStart { return utf8.starts(with: bytes) }
            if anchoredEnd { return utf8.reversed().starts(with: bytes.reversed()) }
            return Self.contains(utf8, bytes)
        case .regex(let regex):
            let string = String(path)
            return regex.firstMatch(in: string, options: [], range: NSRange(location: 0, length: string.utf16.count)) != nil
        }
    }

    private static func contains(_ haystack: Substring.UTF8View, _ needle: [UInt8]) -> Bool {
        guard let first = needle.first else { return true }
        var index = haystack.startIndex
        while let found = haystack[index...].firstIndex(of: first) {
            if haystack[found...].starts(with: needle) { return true }
            index = haystack.index(after: found)
        }
        return false
    }

    /// The literal text of a pattern made only of literal characters, `^` first and `$` last.
    private static func literal(_ pattern: String) -> (text: String, start: Bool, end: Bool)? {
        let scalars = Array(pattern.unicodeScalars)
        var text = ""
        var index = 0
        var start = false
        var end = false
        if scalars.first == "^" {
            start = true
            index = 1
        }
        while index < scalars.count {
            let c = scalars[index]
            if c == "\\" {
                guard index + 1 < scalars.count else { return nil }
                let next = scalars[index + 1]
                guard next.isASCII, next.value > 0x20, next.value < 0x7F,
                    !next.properties.isAlphabetic, !("0"..."9").contains(next)
                else { return nil }
                text.unicodeScalars.append(next)
                index += 2
            } else if c == "$" && index == scalars.count - 1 {
                end = true
                index += 1
            } else if ".+*?()|[]{}^$".unicodeScalars.contains(c) {
                return nil
            } else {
                text.unicodeScalars.append(c)
                index += 1
            }
        }
        return (text, start, end)
    }
}
