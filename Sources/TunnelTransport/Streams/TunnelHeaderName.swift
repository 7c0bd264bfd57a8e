/// Lowercase HTTP/2 field names that carry tunnel-protocol meaning (edge-protocol.md 2, 7.10).
public enum TunnelHeaderName {
    /// `cf-cloudflared-proxy-connection-upgrade`: marks control, WebSocket and configuration streams.
    public static let connectionUpgrade = "cf-cloudflared-proxy-connection-upgrade"
    /// `cf-cloudflared-proxy-src`: a non-empty value marks a raw TCP stream.
    public static let proxySource = "cf-cloudflared-proxy-src"
    /// `cf-cloudflared-response-headers`: the serialized origin response headers.
    public static let responseHeaders = "cf-cloudflared-response-headers"
    /// `cf-cloudflared-response-meta`: JSON saying who produced the response.
    public static let responseMeta = "cf-cloudflared-response-meta"
    /// `cf-trace-id`: tracing context; the connector strips it before proxying.
    public static let traceID = "cf-trace-id"
    /// `cf-connecting-ip`: the visitor's address, added by the edge.
    public static let connectingIP = "cf-connecting-ip"
    /// `x-forwarded-for`: proxy chain, extended by the edge with the visitor's address.
    public static let forwardedFor = "x-forwarded-for"
    /// `x-forwarded-proto`: the scheme the visitor used.
    public static let forwardedProto = "x-forwarded-proto"
    /// Prefix of every header private to the edge ⇄ connector hop.
    public static let internalPrefix = "cf-cloudflared-"
}

/// Values of ``TunnelHeaderName/connectionUpgrade``.
public enum TunnelUpgradeValue {
    /// Marks the control (registration RPC) stream.
    public static let controlStream = "control-stream"
    /// Marks a WebSocket stream.
    public static let websocket = "websocket"
    /// Marks a remote configuration push.
    public static let updateConfiguration = "update-configuration"
}
