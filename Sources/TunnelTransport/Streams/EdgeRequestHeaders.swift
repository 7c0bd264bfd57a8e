public import NIOHPACK

/// Builds the HTTP/2 request header lists the edge sends to a connector (edge-protocol.md
/// 3.1, 7.1, 7.6, 7.7, 7.8). Pure value code.
public enum EdgeRequestHeaders {
    /// What the stream should carry; decides the marker header added.
    public enum Purpose: Sendable, Hashable {
        /// Plain HTTP (no marker).
        case http
        /// WebSocket: adds `cf-cloudflared-proxy-connection-upgrade: websocket`; the request
        /// body then carries the visitor's bytes (send no END_STREAM).
        case websocket
        /// Raw TCP: adds `cf-cloudflared-proxy-src: <source>` (non-empty; cloudflared's tests use `tcp`).
        case tcp(source: String)
        /// Configuration push: adds `cf-cloudflared-proxy-connection-upgrade: update-configuration`.
        case configurationUpdate
    }

    /// Headers never forwarded over HTTP/2 (connection-specific; `host` becomes `:authority`).
    /// `te` is kept only as `te: trailers`.
    public static let hopByHopHeaders: Set<String> = [
        "connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade", "host", "te", "trailer",
    ]

    /// The control-stream request (3.1, 12.3 step 3): `GET https://h2.cftunnel.com/` with
    /// `cf-cloudflared-proxy-connection-upgrade: control-stream`. Send it without END_STREAM.
    public static func controlStream(authority: String = "h2.cftunnel.com") -> HPACKHeaders {
        [
            ":method": "GET",
            ":scheme": "https",
            ":authority": authority,
            ":path": "/",
            TunnelHeaderName.connectionUpgrade: TunnelUpgradeValue.controlStream,
        ]
    }

    /// Converts a visitor request. Drops hop-by-hop headers and any header named in
    /// `Connection`, drops every visitor-supplied `cf-cloudflared-*` header and
    /// `cf-connecting-ip`/`x-forwarded-proto`, sets `cf-connecting-ip` and appends the visitor
    /// address to `x-forwarded-for` (when known), and sets `x-forwarded-proto` to the scheme.
    /// Names are lowercased.
    public static func make(
        for request: VisitorRequest,
        purpose: Purpose = .http
    ) throws(RequestConversionError) -> HPACKHeaders {
        guard !request.method.isEmpty else { throw .missingPseudoHeader(":method") }
        guard request.scheme == "http" || request.scheme == "https" else { throw .invalidScheme(request.scheme) }
        guard !request.path.isEmpty else { throw .missingPseudoHeader(":path") }
        guard !request.authority.isEmpty else { throw .missingPseudoHeader(":authority") }

        var connectionTokens = Set<String>()
        for header in request.headers where header.name.lowercased() == "connection" {
            for token in header.value.split(separator: ",") {
                connectionTokens.insert(token.trimmingSpaces().lowercased())
            }
        }

        var fields = HPACKHeaders()
        fields.reserveCapacity(request.headers.count + 8)
        fields.add(name: ":method", value: request.method)
        fields.add(name: ":scheme", value: request.scheme)
        fields.add(name: ":authority", value: request.authority)
        fields.add(name: ":path", value: request.path)

        var forwardedFor: [String] = []
        for header in request.headers {
            let name = header.name.lowercased()
            guard HeaderSyntax.isToken(name) else { throw .invalidHeaderName(header.name) }
            guard HeaderSyntax.isValidValue(header.value) else { throw .invalidHeaderValue(name: name) }
            if name == "te" {
                // HTTP/2 allows only `te: trailers`; other transfer codings are hop-by-hop.
                let codings = header.value.split(separator: ",").map { $0.trimmingSpaces().lowercased() }
                if codings.contains("trailers") { fields.add(name: "te", value: "trailers") }
                continue
            }
            if self.hopByHopHeaders.contains(name) || connectionTokens.contains(name) { continue }
            if name.hasPrefix(TunnelHeaderName.internalPrefix) { continue }
            switch name {
            case TunnelHeaderName.connectingIP, TunnelHeaderName.forwardedProto:
                continue
            case TunnelHeaderName.forwardedFor:
                forwardedFor.append(header.value.trimmingSpaces())
            default:
                fields.add(name: name, value: header.value)
            }
        }

        if let address = request.visitorAddress {
            fields.add(name: TunnelHeaderName.connectingIP, value: address)
            forwardedFor.append(address)
        }
        let chain = forwardedFor.filter { !$0.isEmpty }
        if !chain.isEmpty { fields.add(name: TunnelHeaderName.forwardedFor, value: chain.joined(separator: ", ")) }
        fields.add(name: TunnelHeaderName.forwardedProto, value: request.scheme)

        switch purpose {
        case .http:
            break
        case .websocket:
            fields.add(name: TunnelHeaderName.connectionUpgrade, value: TunnelUpgradeValue.websocket)
        case .tcp(let source):
            fields.add(name: TunnelHeaderName.proxySource, value: source.isEmpty ? "tcp" : source)
        case .configurationUpdate:
            fields.add(name: TunnelHeaderName.connectionUpgrade, value: TunnelUpgradeValue.updateConfiguration)
        }
        return fields
    }
}

/// RFC 9110 token and field-value checks shared by the converters.
enum HeaderSyntax {
    static func isToken(_ name: String) -> Bool {
        guard !name.isEmpty else { return false }
        return name.utf8.allSatisfy { byte in
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"):
                true
            default:
                "!#$%&'*+-.^_`|~".utf8.contains(byte)
            }
        }
    }

    static func isValidValue(_ value: String) -> Bool {
        !value.utf8.contains { $0 == 0x0D || $0 == 0x0A || $0 == 0x00 }
    }
}

extension StringProtocol {
    /// Without leading and trailing spaces and tabs.
    func trimmingSpaces() -> String {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" }
        guard let start = self.firstIndex(where: { !isSpace($0) }) else { return "" }
        let end = self.lastIndex(where: { !isSpace($0) })!
        return String(self[start...end])
    }
}
