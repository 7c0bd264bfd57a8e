public import NIOHPACK

/// What an edge-opened request stream carries, decided from its request HEADERS
/// exactly as cloudflared decides it (edge-protocol.md 2: first match wins).
public enum TunnelStreamKind: Sendable, Hashable, CustomStringConvertible {
    /// `cf-cloudflared-proxy-connection-upgrade: update-configuration` (7.8).
    case configurationUpdate
    /// `cf-cloudflared-proxy-connection-upgrade: websocket` (7.6).
    case websocket
    /// `cf-cloudflared-proxy-src` with a non-empty value: raw TCP (7.7).
    case tcp
    /// `cf-cloudflared-proxy-connection-upgrade: control-stream`: registration RPC (3).
    case control
    /// Anything else: a plain proxied HTTP request (7.1).
    case http

    /// Classifies a request by its header fields. Values compare case-sensitively, names
    /// case-insensitively; the first matching field of each name counts.
    public init(requestHeaders headers: HPACKHeaders) {
        let upgrade = headers.first(name: TunnelHeaderName.connectionUpgrade)
        let source = headers.first(name: TunnelHeaderName.proxySource)
        self.init(upgradeValue: upgrade, proxySourceValue: source)
    }

    /// Classifies from the two marker values (`nil` when the field is absent).
    public init(upgradeValue: String?, proxySourceValue: String?) {
        if upgradeValue == TunnelUpgradeValue.updateConfiguration {
            self = .configurationUpdate
        } else if upgradeValue == TunnelUpgradeValue.websocket {
            self = .websocket
        } else if let proxySourceValue, !proxySourceValue.isEmpty {
            self = .tcp
        } else if upgradeValue == TunnelUpgradeValue.controlStream {
            self = .control
        } else {
            self = .http
        }
    }

    /// Whether every write on this stream must be flushed at once (7.5: WebSocket, TCP, control).
    public var flushesEveryWrite: Bool {
        switch self {
        case .websocket, .tcp, .control: true
        case .configurationUpdate, .http: false
        }
    }

    /// Whether the stream is bidirectional with no half-close (7.6 termination semantics).
    public var isBidirectional: Bool {
        switch self {
        case .websocket, .tcp, .control: true
        case .configurationUpdate, .http: false
        }
    }

    /// A short lowercase name, for logs.
    public var description: String {
        switch self {
        case .configurationUpdate: "configuration-update"
        case .websocket: "websocket"
        case .tcp: "tcp"
        case .control: "control"
        case .http: "http"
        }
    }
}
