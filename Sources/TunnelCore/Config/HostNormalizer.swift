import Foundation

/// Brings host names to one comparable form: lowercase ASCII, with internationalised labels in
/// punycode (`môô.example.com` → `xn--m-xgaa.example.com`).
///
/// cloudflared compares hosts byte for byte and additionally tries the IDNA "Lookup" form of the
/// rule hostname. swift-tunnel compares case-insensitively (RFC 4343) on both sides instead; see
/// Docs/config.md. The UTS #46 mapping is approximated by NFKC plus lowercasing, which agrees with
/// it for ordinary names; disallowed code points are not rejected.
enum HostNormalizer {
    /// Normalises a host name (no port). ASCII input takes an allocation-free fast path when it is
    /// already lowercase.
    static func normalize(_ host: Substring) -> Substring {
        var needsWork = false
        for byte in host.utf8 {
            if byte >= 0x80 {
                return Substring(normalizeUnicode(host))
            }
            if byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z") { needsWork = true }
        }
        guard needsWork else { return host }
        var bytes = Array(host.utf8)
        for i in bytes.indices where bytes[i] >= UInt8(ascii: "A") && bytes[i] <= UInt8(ascii: "Z") {
            bytes[i] |= 0x20
        }
        return Substring(String(decoding: bytes, as: UTF8.self))
    }

    /// Normalises a rule hostname: a leading `*.` is kept and the rest normalised.
    static func normalizeRuleHostname(_ hostname: String) -> String {
        if hostname.hasPrefix("*.") {
            return "*." + normalize(hostname.dropFirst(2))
        }
        return String(normalize(Substring(hostname)))
    }

    private static func normalizeUnicode(_ host: Substring) -> String {
        // UTS #46 maps the ideographic full stops to '.'.
        let dotted = String(host).map { "\u{3002}\u{FF0E}\u{FF61}".contains($0) ? "." : $0 }
        let mapped = String(dotted).precomposedStringWithCompatibilityMapping.lowercased()
        let labels = mapped.split(separator: ".", omittingEmptySubsequences: false).map { label -> String in
            guard label.unicodeScalars.contains(where: { !$0.isASCII }) else { return String(label) }
            guard let encoded = Punycode.encode(String(label)) else { return String(label) }
            return "xn--" + encoded
        }
        return labels.joined(separator: ".")
    }
}

/// RFC 3492 punycode encoder (the part of IDNA that turns a Unicode label into `xn--…` ASCII).
enum Punycode {
    private static let base = 36, tMin = 1, tMax = 26, skew = 38, damp = 700
    private static let initialBias = 72, initialN = 128

    /// Encodes one label, without the `xn--` prefix. Returns `nil` on overflow.
    static func encode(_ label: String) -> String? {
        let input = label.unicodeScalars.map { Int($0.value) }
        var output = input.filter { $0 < 0x80 }.map { Character(Unicode.Scalar(UInt8($0))) }
        let basicCount = output.count
        var handled = basicCount
        if basicCount > 0 { output.append("-") }
        var n = initialN, delta = 0, bias = initialBias
        while handled < input.count {
            guard let m = input.filter({ $0 >= n }).min() else { return nil }
            let (product, overflow) = (m - n).multipliedReportingOverflow(by: handled + 1)
            guard !overflow else { return nil }
            delta += product
            n = m
            for code in input {
                if code < n { delta += 1 }
                if code == n {
                    var q = delta
                    var k = base
                    while true {
                        let t = k <= bias ? tMin : (k >= bias + tMax ? tMax : k - bias)
                        if q < t { break }
                        output.append(digit(t + (q - t) % (base - t)))
                        q = (q - t) / (base - t)
                        k += base
                    }
                    output.append(digit(q))
                    bias = adapt(delta: delta, count: handled + 1, first: handled == basicCount)
                    delta = 0
                    handled += 1
                }
            }
            delta += 1
            n += 1
        }
        return String(output)
    }

    private static func digit(_ value: Int) -> Character {
        let scalar = value < 26 ? 0x61 + value : 0x30 + value - 26
        return Character(Unicode.Scalar(UInt8(scalar)))
    }

    private static func adapt(delta: Int, count: Int, first: Bool) -> Int {
        var delta = first ? delta / damp : delta / 2
        delta += delta / count
        var k = 0
        while delta > ((base - tMin) * tMax) / 2 {
            delta /= base - tMin
            k += base
        }
        return k + (base - tMin + 1) * delta / (delta + skew)
    }
}
