import Testing
@testable import TunnelCore

@Suite struct PathPatternTests {
    struct Case: Sendable, CustomTestStringConvertible {
        var pattern: String
        var path: String
        var matches: Bool
        var testDescription: String { "\(pattern) ~ \(path.debugDescription) = \(matches)" }
        init(_ pattern: String, _ path: String, _ matches: Bool) {
            self.pattern = pattern
            self.path = path
            self.matches = matches
        }
    }

    static let cases: [Case] = [
        Case("^/api/", "/api/v1", true),
        Case("^/api/", "/v1/api/", false),
        Case("/api/", "/v1/api/x", true),
        Case("\\.css$", "/a.css", true),
        Case("\\.css$", "/a.css/x", false),
        Case("^/exact$", "/exact", true),
        Case("^/exact$", "/exact/", false),
        Case("$", "", true),
        Case("^/$", "/", true),
        // `$` without (?m) is end of text, not "before a final newline".
        Case("x$", "/x\n", false),
        Case("(?m)x$", "/x\ny", true),
        Case("\\d+", "/a٣", false),
        Case("\\d+", "/a3", true),
        Case("^/[[:alpha:]]+$", "/abc", true),
        Case("^/[[:alpha:]]+$", "/ab1", false),
        Case("^/(?P<name>users)/\\w+", "/users/bob_1", true),
        Case("^/(?<name>users)/", "/users/", true),
        Case("(?U)a+b", "xaab", true),
        Case("(?i)^/admin", "/ADMIN", true),
        Case("^/admin", "/ADMIN", false),
        Case("\\Q.*\\E", "/.*", true),
        Case("\\Q.*\\E", "/ab", false),
        Case("[]a]", "/]", true),
        Case("[^\\d/]", "/123", false),
        Case("[^\\d/]", "/12a", true),
        Case("\\x41", "/A", true),
        Case("\\101", "/A", true),
        Case("[&&]", "/&", true),
        Case("a{2,3}", "/aa", true),
        Case("a{2,3}", "/a", false),
        Case("a{", "/a{", true),
        Case("^/v[0-9]+\\.[0-9]+/", "/v1.2/x", true),
        Case("\\pL+", "/é", true),
        Case("\\p{Greek}", "/λ", true),
        Case("(a|b)c", "/bc", true),
        Case("\\s", "/a\u{00A0}b", false),
        Case(".", "\n", false),
        Case("(?s).", "\n", true),
    ]

    @Test(arguments: cases)
    func matching(_ c: Case) throws {
        let pattern = try PathPattern(goPattern: c.pattern)
        #expect(pattern.matches(Substring(c.path)) == c.matches)
    }

    static let errors: [(String, String)] = [
        ("(", "missing closing ): `(`"),
        ("(a(b)", "missing closing ): `(a(b)`"),
        ("a)", "unexpected ): `a)`"),
        ("[a", "missing closing ]: `[a`"),
        ("x[]", "missing closing ]: `[]`"),
        ("*a", "missing argument to repetition operator: `*`"),
        ("a|+", "missing argument to repetition operator: `+`"),
        ("a**", "invalid nested repetition operator: `**`"),
        ("a*+", "invalid nested repetition operator: `*+`"),
        ("a{2}{3}", "invalid nested repetition operator: `{2}{3}`"),
        ("(?=x)", "invalid or unsupported Perl syntax: `(?=`"),
        ("(?!x)", "invalid or unsupported Perl syntax: `(?!`"),
        ("(?<=x)", "invalid or unsupported Perl syntax: `(?<`"),
        ("(?P<>x)", "invalid named capture: `(?P<>`"),
        ("\\1", "invalid escape sequence: `\\1`"),
        ("\\8", "invalid escape sequence: `\\8`"),
        ("\\e", "invalid escape sequence: `\\e`"),
        ("[z-a]", "invalid character class range: `z-a`"),
        ("[[:foo:]]", "invalid character class range: `[:foo:]`"),
        ("a{1001}", "invalid repeat count: `{1001}`"),
        ("a{3,2}", "invalid repeat count: `{3,2}`"),
        ("x\\", "trailing backslash at end of expression: ``"),
    ]

    @Test(arguments: errors)
    func rejection(_ pattern: String, _ message: String) {
        do {
            _ = try PathPattern(goPattern: pattern)
            Issue.record("\(pattern) compiled")
        } catch {
            #expect(error.message == "error parsing regexp: " + message)
        }
    }

    @Test func goDurations() throws {
        #expect(try GoDuration.parse("1m30s") == .seconds(90))
        #expect(try GoDuration.parse("1.5h") == .seconds(5400))
        #expect(try GoDuration.parse("250ms") == .milliseconds(250))
        #expect(try GoDuration.parse("0") == .zero)
        #expect(try GoDuration.parse("-2us") == .microseconds(-2))
        #expect(GoDuration.format(.seconds(90)) == "1m30s")
        #expect(GoDuration.format(.seconds(30)) == "30s")
        #expect(GoDuration.format(.seconds(86400)) == "24h0m0s")
        #expect(GoDuration.format(.milliseconds(1500)) == "1.5s")
        #expect(GoDuration.format(.milliseconds(250)) == "250ms")
        #expect(GoDuration.format(.zero) == "0s")
        #expect(throws: ConfigurationError.self) { try GoDuration.parse("30") }
        do { _ = try GoDuration.parse("30") } catch { #expect(error.description == #"time: missing unit in duration "30""#) }
        do { _ = try GoDuration.parse("3d") } catch { #expect(error.description == #"time: unknown unit "d" in duration "3d""#) }
        do { _ = try GoDuration.parse("abc") } catch { #expect(error.description == #"time: invalid duration "abc""#) }
    }

    @Test func punycode() {
        #expect(Punycode.encode("môô") == "m-xgaa")
        #expect(Punycode.encode("bücher") == "bcher-kva")
        #expect(Punycode.encode("例え") == "r8jz45g")
        #expect(HostNormalizer.normalize("Bücher.Example") == "xn--bcher-kva.example")
    }
}
