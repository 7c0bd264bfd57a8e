/// Go `time.Duration` text (`30s`, `1m30s`, `1.5h`), the form cloudflared's config.yml uses for
/// every duration.
public enum GoDuration {
    /// Parses a Go duration string.
    ///
    /// Accepts an optional sign, then one or more `<decimal><unit>` pairs with units `ns`, `us`,
    /// `µs`, `μs`, `ms`, `s`, `m`, `h`; the bare string `0` is also valid.
    /// - Throws: ``ConfigurationError`` with Go's `time: …` message when the text is not a duration.
    public static func parse(_ text: String) throws(ConfigurationError) -> Duration {
        guard let nanoseconds = parseNanoseconds(text) else {
            throw .invalidDuration(text, reason: failureReason(text))
        }
        return .nanoseconds(nanoseconds)
    }

    /// Formats a duration the way Go's `Duration.String()` does (`1m30s`, `500ms`, `0s`).
    public static func format(_ duration: Duration) -> String {
        let total = duration.totalNanoseconds
        if total == 0 { return "0s" }
        let negative = total < 0
        let magnitude = total.magnitude
        var result: String
        if magnitude < 1_000_000_000 {
            // Sub-second values use the largest unit that keeps an integer part.
            if magnitude < 1_000 {
                result = "\(magnitude)ns"
            } else if magnitude < 1_000_000 {
                result = fixed(magnitude, scale: 1_000) + "µs"
            } else {
                result = fixed(magnitude, scale: 1_000_000) + "ms"
            }
        } else {
            let hours = magnitude / 3_600_000_000_000
            let minutes = (magnitude / 60_000_000_000) % 60
            let seconds = magnitude % 60_000_000_000
            result = ""
            if hours > 0 { result += "\(hours)h" }
            if hours > 0 || minutes > 0 { result += "\(minutes)m" }
            result += fixed(seconds, scale: 1_000_000_000) + "s"
        }
        return negative ? "-" + result : result
    }

    private static func fixed(_ value: UInt64, scale: UInt64) -> String {
        let whole = value / scale
        var fraction = value % scale
        guard fraction != 0 else { return "\(whole)" }
        var digits = String(scale).count - 1
        while fraction % 10 == 0 {
            fraction /= 10
            digits -= 1
        }
        let text = String(fraction)
        return "\(whole)." + String(repeating: "0", count: digits - text.count) + text
    }

    private static let units: [(String, Double)] = [
        ("ns", 1), ("us", 1_000), ("µs", 1_000), ("μs", 1_000), ("ms", 1_000_000),
        ("s", 1_000_000_000), ("m", 60_000_000_000), ("h", 3_600_000_000_000),
    ]

    static func parseNanoseconds(_ text: String) -> Int64? {
        var rest = Substring(text)
        var negative = false
        if let first = rest.first, first == "-" || first == "+" {
            negative = first == "-"
            rest = rest.dropFirst()
        }
        if rest == "0" { return 0 }
        if rest.isEmpty { return nil }
        var total = 0.0
        while !rest.isEmpty {
            let number = rest.prefix { $0.isASCII && ($0.isNumber || $0 == ".") }
            guard !number.isEmpty, number != ".", number.filter({ $0 == "." }).count <= 1,
                let value = Double(number.hasPrefix(".") ? "0" + number : String(number))
            else { return nil }
            rest = rest.dropFirst(number.count)
            let unitText = rest.prefix { !($0.isASCII && ($0.isNumber || $0 == ".")) }
            guard let unit = units.first(where: { $0.0 == unitText }) else { return nil }
            rest = rest.dropFirst(unitText.count)
            total += value * unit.1
        }
        guard total <= Double(Int64.max) else { return nil }
        let rounded = Int64(total.rounded())
        return negative ? -rounded : rounded
    }

    private static func failureReason(_ text: String) -> String {
        let quoted = goQuote(text)
        var rest = Substring(text)
        if let first = rest.first, first == "-" || first == "+" { rest = rest.dropFirst() }
        while !rest.isEmpty {
            let number = rest.prefix { $0.isASCII && ($0.isNumber || $0 == ".") }
            if number.isEmpty || number == "." { return "time: invalid duration \(quoted)" }
            rest = rest.dropFirst(number.count)
            let unitText = rest.prefix { !($0.isASCII && ($0.isNumber || $0 == ".")) }
            if unitText.isEmpty { return "time: missing unit in duration \(quoted)" }
            if !units.contains(where: { $0.0 == unitText }) {
                return "time: unknown unit \(goQuote(String(unitText))) in duration \(quoted)"
            }
            rest = rest.dropFirst(unitText.count)
        }
        return "time: invalid duration \(quoted)"
    }
}

extension Duration {
    /// The duration in seconds, as `Date` arithmetic and JSON reports want it.
    public var timeInterval: Double {
        let (seconds, attoseconds) = components
        return Double(seconds) + Double(attoseconds) / 1e18
    }

    /// The duration in whole nanoseconds (saturating).
    var totalNanoseconds: Int64 {
        let (seconds, attoseconds) = components
        let (scaled, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        if overflow { return seconds < 0 ? .min : .max }
        return scaled + attoseconds / 1_000_000_000
    }
}

/// Quotes a string the way Go's `strconv.Quote` / `%q` does for the printable subset.
func goQuote(_ text: String) -> String {
    var result = "\""
    for scalar in text.unicodeScalars {
        switch scalar {
        case "\"": result += "\\\""
        case "\\": result += "\\\\"
        case "\n": result += "\\n"
        case "\t": result += "\\t"
        case "\r": result += "\\r"
        default:
            if scalar.value < 0x20 || scalar.value == 0x7F {
                result += "\\x" + String(scalar.value, radix: 16).leftPadded(to: 2)
            } else {
                result.unicodeScalars.append(scalar)
            }
        }
    }
    return result + "\""
}

extension String {
    func leftPadded(to width: Int, with pad: Character = "0") -> String {
        count >= width ? self : String(repeating: pad, count: width - count) + self
    }
}
