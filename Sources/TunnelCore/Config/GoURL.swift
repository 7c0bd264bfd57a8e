/// The parts of Go's `net/url.Parse` that ingress validation and `ingress rule` depend on.
///
/// cloudflared validates service strings and test URLs with Go's parser, whose behaviour differs
/// from Foundation's `URL` in ways users see (scheme-less `host:port` is a scheme with an opaque
/// part, hosts with spaces are rejected with a specific message). This reproduces those rules.
struct GoURL: Equatable {
    var scheme = ""
    var opaque = ""
    var hasUser = false
    /// Host with optional `:port`, as written (brackets kept for IPv6).
    var host = ""
    /// Path, percent-decoded.
    var path = ""
    var rawPath = ""
    var rawQuery = ""
    var fragment = ""

    /// Go's `URL.Hostname()`: host without port and without IPv6 brackets.
    var hostname: String {
        let (name, _) = GoURL.splitHostPortLenient(host)
        return name
    }

    /// Go's `URL.Port()`.
    var port: String {
        GoURL.splitHostPortLenient(host).1
    }

    /// Parses like Go's `url.Parse`. Throws the text Go puts after `parse "<raw>": `.
    static func parse(_ raw: String) throws(GoURLError) -> GoURL {
        var url = GoURL()
        var rest = Substring(raw)
        if let hash = rest.firstIndex(of: "#") {
            url.fragment = String(rest[rest.index(after: hash)...])
            rest = rest[..<hash]
        }
        if rest.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) {
            throw GoURLError("net/url: invalid control character in URL")
        }
        if rest.isEmpty { return url }
        if rest == "*" {
            url.path = "*"
            return url
        }
        // Scheme: letter followed by letters, digits, + - . up to ':'.
        for (offset, character) in rest.enumerated() {
            if character.isASCII && character.isLetter { continue }
            if character.isASCII && (character.isNumber || "+-.".contains(character)) {
                if offset == 0 { break }
                continue
            }
            if character == ":" {
                if offset == 0 { throw GoURLError("missing protocol scheme") }
                url.scheme = rest.prefix(offset).lowercased()
                rest = rest.dropFirst(offset + 1)
            }
            break
        }
        if let question = rest.firstIndex(of: "?") {
            url.rawQuery = String(rest[rest.index(after: question)...])
            rest = rest[..<question]
        }
        if !rest.hasPrefix("/") {
            if !url.scheme.isEmpty {
                url.opaque = String(rest)
                return url
            }
            // A relative reference's first segment cannot contain a colon.
            let segment = rest.prefix { $0 != "/" }
            if segment.contains(":") {
                throw GoURLError("first path segment in URL cannot contain colon")
            }
        }
        if rest.hasPrefix("//") {
            let afterSlashes = rest.dropFirst(2)
            let authority = afterSlashes.prefix { $0 != "/" }
            rest = afterSlashes.dropFirst(authority.count)
            var hostPart = authority
            if let at = authority.lastIndex(of: "@") {
                url.hasUser = true
                hostPart = authority[authority.index(after: at)...]
            }
            url.host = try parseHost(hostPart)
        }
        url.rawPath = String(rest)
        url.path = try unescapePath(rest)
        return url
    }

    private static func parseHost(_ host: Substring) throws(GoURLError) -> String {
        if host.hasPrefix("[") {
            guard let close = host.lastIndex(of: "]") else {
                throw GoURLError("missing ']' in host")
            }
            let afterBracket = host[host.index(after: close)...]
            if !afterBracket.isEmpty {
                guard afterBracket.hasPrefix(":"), validPort(afterBracket) else {
                    throw GoURLError("invalid port \(goQuote(String(afterBracket))) after host")
                }
            }
            return String(host)
        }
        if let colon = host.lastIndex(of: ":") {
            let port = host[colon...]
            if !validPort(port) {
                throw GoURLError("invalid port \(goQuote(String(port))) after host")
            }
        }
        for scalar in host.unicodeScalars where scalar.value < 0x80 {
            let character = Character(scalar)
            if character.isLetter || character.isNumber || "-_.~!$&'()*+,;=:[]<>\"".contains(character) {
                continue
            }
            if character == "%" { continue }
            throw GoURLError("invalid character \(goQuote(String(character))) in host name")
        }
        return String(host)
    }

    /// `:` followed by digits only (an empty port is allowed).
    private static func validPort(_ port: Substring) -> Bool {
        port.dropFirst().allSatisfy { $0.isASCII && $0.isNumber }
    }

    private static func unescapePath(_ text: Substring) throws(GoURLError) -> String {
        guard text.contains("%") else { return String(text) }
        var bytes: [UInt8] = []
        var utf8 = Array(text.utf8)[...]
        while let byte = utf8.first {
            utf8 = utf8.dropFirst()
            guard byte == UInt8(ascii: "%") else {
                bytes.append(byte)
                continue
            }
            let hex = utf8.prefix(2)
            guard hex.count == 2, let value = UInt8(String(decoding: hex, as: UTF8.self), radix: 16) else {
                let shown = "%" + String(decoding: hex, as: UTF8.self)
                throw GoURLError("invalid URL escape \(goQuote(shown))")
            }
            bytes.append(value)
            utf8 = utf8.dropFirst(2)
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Host and port of an authority, accepting a missing port (as `URL.Hostname()` does).
    static func splitHostPortLenient(_ host: String) -> (String, String) {
        if host.hasPrefix("[") {
            guard let close = host.firstIndex(of: "]") else { return (host, "") }
            let inside = String(host[host.index(after: host.startIndex)..<close])
            let after = host[host.index(after: close)...]
            return (inside, after.hasPrefix(":") ? String(after.dropFirst()) : "")
        }
        if let colon = host.lastIndex(of: ":") {
            return (String(host[..<colon]), String(host[host.index(after: colon)...]))
        }
        return (host, "")
    }
}

/// A Go `net/url` parse failure; `message` is the text Go prints after `parse "<raw>": `.
struct GoURLError: Error, Equatable {
    var message: String
    init(_ message: String) { self.message = message }
}

/// Go's `net.SplitHostPort`: succeeds only for `host:port` / `[host]:port` (port may be empty).
/// Returns the host part, or `nil` when Go would return an error. Works on UTF-8 bytes.
func goSplitHostPort(_ text: Substring) -> Substring? {
    let utf8 = text.utf8
    let colonByte = UInt8(ascii: ":"), open = UInt8(ascii: "["), close = UInt8(ascii: "]")
    guard let colon = utf8.lastIndex(of: colonByte) else { return nil }
    let hostBytes: Substring.UTF8View.SubSequence
    if utf8.first == open {
        guard let closing = utf8.firstIndex(of: close) else { return nil }
        // The closing bracket must be immediately followed by the last colon.
        guard utf8.index(after: closing) == colon else { return nil }
        hostBytes = utf8[utf8.index(after: utf8.startIndex)..<closing]
    } else {
        hostBytes = utf8[..<colon]
        if hostBytes.contains(colonByte) { return nil }
    }
    if hostBytes.contains(open) || hostBytes.contains(close) { return nil }
    let port = utf8[utf8.index(after: colon)...]
    if port.contains(open) || port.contains(close) { return nil }
    return Substring(hostBytes)
}
