public import NIOHPACK
public import NIOHTTP1

/// Converts the HTTP/2 request header list of a proxied stream into the HTTP/1.1 request
/// head the connector sends to its origin, as cloudflared does (edge-protocol.md 7.1).
/// Pure value code.
public enum OriginRequestHead {
    /// Headers cloudflared removes before proxying (7.1): the upgrade marker and `cf-trace-id`.
    public static let strippedHeaders: Set<String> = [TunnelHeaderName.connectionUpgrade, TunnelHeaderName.traceID]

    /// Builds the origin request head.
    ///
    /// - `:authority` (or else a `host` field) becomes `Host`, first in the header list.
    /// - Regular fields keep their order and get Go canonical names (`x-foo` → `X-Foo`);
    ///   split `cookie` fields are joined with `; ` (RFC 9113 8.2.3).
    /// - Pseudo headers, ``strippedHeaders`` and connection-specific fields are dropped.
    /// - `:method CONNECT` may omit `:scheme` and `:path` (the target is then empty).
    public static func make(from headers: HPACKHeaders) throws(RequestConversionError) -> HTTPRequestHead {
        guard let method = headers.first(name: ":method"), !method.isEmpty else {
            throw .missingPseudoHeader(":method")
        }
        let path = headers.first(name: ":path") ?? ""
        let authority = headers.first(name: ":authority")
        if method != "CONNECT" {
            guard !path.isEmpty else { throw .missingPseudoHeader(":path") }
            let scheme = headers.first(name: ":scheme") ?? ""
            guard scheme == "http" || scheme == "https" else { throw .invalidScheme(scheme) }
        } else if authority?.isEmpty ?? true {
            throw .missingPseudoHeader(":authority")
        }

        var host = authority
        var cookies: [String] = []
        var fields: [(String, String)] = []
        fields.reserveCapacity(headers.count)
        for (name, value, _) in headers {
            if name.hasPrefix(":") { continue }
            let lower = name.lowercased()
            if self.strippedHeaders.contains(lower) { continue }
            switch lower {
            case "host":
                if host == nil || host!.isEmpty { host = value }
            case "cookie":
                cookies.append(value)
            case "connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade":
                continue
            default:
                guard HeaderSyntax.isToken(name) else { throw .invalidHeaderName(name) }
                guard HeaderSyntax.isValidValue(value) else { throw .invalidHeaderValue(name: lower) }
                fields.append((SerializedHeaders.canonicalName(name), value))
            }
        }

        var httpHeaders = HTTPHeaders()
        if let host, !host.isEmpty { httpHeaders.add(name: "Host", value: host) }
        if !cookies.isEmpty { httpHeaders.add(name: "Cookie", value: cookies.joined(separator: "; ")) }
        httpHeaders.add(contentsOf: fields)
        return HTTPRequestHead(version: .http1_1, method: HTTPMethod(rawValue: method), uri: path, headers: httpHeaders)
    }
}
