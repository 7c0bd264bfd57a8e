public import NIOSSL

/// Settings of a self-hosted edge; `tunnelctl edge serve` and edge.yml fill them in.
public struct EdgeConfiguration: Sendable {
    /// Where connectors dial in (TLS). Default `127.0.0.1:7844`.
    public var connectorHost: String
    /// Connector port; 0 picks a free one. Default 7844.
    public var connectorPort: Int
    /// The edge certificate chain presented to connectors (must carry `h2.cftunnel.com`).
    public var certificateChain: [NIOSSLCertificate]
    /// The key of ``certificateChain``.
    public var privateKey: NIOSSLPrivateKey
    /// Where visitors connect in clear text (HTTP/1.1, or HTTP/2 with prior knowledge).
    /// Default `127.0.0.1:8080`.
    public var visitorHost: String
    /// Visitor port; 0 picks a free one. Default 8080.
    public var visitorPort: Int
    /// `locationName` answered to connectors. Default `SELF`.
    public var locationName: String
    /// How long a connector may take to register before it is disconnected. Default 10 s.
    public var registrationTimeout: Duration
    /// How long in-flight visitor requests may run after shutdown starts. Default 30 s.
    public var gracePeriod: Duration
    /// Visitor-side limits.
    public var visitorLimits: VisitorLimits
    /// An optional second visitor listener with TLS (ALPN `h2` and `http/1.1`). Default `nil`.
    public var visitorTLS: VisitorTLSConfiguration?
    /// Tunnels one account may run at once (tunnels with a registered connection); the next
    /// tunnel's registration is refused without retry. `nil` for no limit. Default 1000.
    public var maxRunningTunnelsPerAccount: Int?

    /// Creates a configuration; see each property for defaults.
    public init(
        certificateChain: [NIOSSLCertificate],
        privateKey: NIOSSLPrivateKey,
        connectorHost: String = "127.0.0.1",
        connectorPort: Int = 7844,
        visitorHost: String = "127.0.0.1",
        visitorPort: Int = 8080,
        locationName: String = "SELF",
        registrationTimeout: Duration = .seconds(10),
        gracePeriod: Duration = .seconds(30),
        visitorLimits: VisitorLimits = VisitorLimits(),
        visitorTLS: VisitorTLSConfiguration? = nil,
        maxRunningTunnelsPerAccount: Int? = 1000
    ) {
        self.maxRunningTunnelsPerAccount = maxRunningTunnelsPerAccount
        self.certificateChain = certificateChain
        self.privateKey = privateKey
        self.connectorHost = connectorHost
        self.connectorPort = connectorPort
        self.visitorHost = visitorHost
        self.visitorPort = visitorPort
        self.locationName = locationName
        self.registrationTimeout = registrationTimeout
        self.gracePeriod = gracePeriod
        self.visitorLimits = visitorLimits
        self.visitorTLS = visitorTLS
    }
}

/// The TLS visitor listener: certificate, key and address.
public struct VisitorTLSConfiguration: Sendable {
    /// The certificate chain shown to visitors, leaf first.
    public var certificateChain: [NIOSSLCertificate]
    /// The key of ``certificateChain``.
    public var privateKey: NIOSSLPrivateKey
    /// Listen address. Default `127.0.0.1`.
    public var host: String
    /// Listen port; 0 picks a free one. Default 8443.
    public var port: Int

    /// Creates a TLS listener configuration; see each property for defaults.
    public init(certificateChain: [NIOSSLCertificate], privateKey: NIOSSLPrivateKey, host: String = "127.0.0.1", port: Int = 8443) {
        self.certificateChain = certificateChain
        self.privateKey = privateKey
        self.host = host
        self.port = port
    }
}

/// Abuse limits of the visitor listeners, as named components.
public struct VisitorLimits: Sendable, Hashable {
    /// Largest request head (request line + headers, or the HTTP/2 header list), in bytes.
    /// Default 64 KiB; larger → 431. HTTP/2 visitors are told twice this as
    /// SETTINGS_MAX_HEADER_LIST_SIZE; a block beyond that closes the connection.
    public var maxHeaderBytes: Int
    /// Time a visitor may take to send a complete request head, and to finish the TLS
    /// handshake or HTTP/2 preface (slowloris). Default 30 s.
    public var headerTimeout: Duration
    /// Idle keep-alive connections (HTTP/1.1 between requests, HTTP/2 without open streams)
    /// are closed after this. Default 120 s.
    public var idleTimeout: Duration
    /// How long to wait for the connector's response head before answering 524. Default 100 s
    /// (Cloudflare's proxy read timeout).
    public var responseTimeout: Duration
    /// HTTP/2 visitor limits.
    public var http2: HTTP2Limits

    /// Creates limits; see each property for defaults.
    public init(
        maxHeaderBytes: Int = 64 * 1024, headerTimeout: Duration = .seconds(30), idleTimeout: Duration = .seconds(120),
        responseTimeout: Duration = .seconds(100), http2: HTTP2Limits = HTTP2Limits()
    ) {
        self.maxHeaderBytes = maxHeaderBytes
        self.headerTimeout = headerTimeout
        self.idleTimeout = idleTimeout
        self.responseTimeout = responseTimeout
        self.http2 = http2
    }

    /// Limits of HTTP/2 visitor connections; NIOHTTP2 enforces them.
    public struct HTTP2Limits: Sendable, Hashable {
        /// SETTINGS_MAX_CONCURRENT_STREAMS announced to visitors. Default 100.
        public var maxConcurrentStreams: Int
        /// Streams a visitor may reset (RST_STREAM) within ``resetWindow`` before the connection
        /// is closed: rapid-reset protection (CVE-2023-44487). Default 200.
        public var maxResetStreams: Int
        /// The window for ``maxResetStreams`` and ``maxStreamErrors``. Default 30 s.
        public var resetWindow: Duration
        /// Stream-level protocol errors a visitor may cause within ``resetWindow``. Default 200.
        public var maxStreamErrors: Int
        /// Suspicious events ("glitches": reset streams, empty frames, ...) tolerated per
        /// connection before it is closed. Default 200.
        public var maxConnectionGlitches: Int
        /// PING/SETTINGS/PRIORITY frames tolerated within ``resetWindow``. Default 200.
        public var maxControlFrames: Int
        /// Per-stream receive window in bytes (request bodies). Default 1 MiB.
        public var streamWindowSize: Int
        /// Connection receive window in bytes. Default 4 MiB.
        public var connectionWindowSize: Int

        /// Creates limits; see each property for defaults.
        public init(
            maxConcurrentStreams: Int = 100, maxResetStreams: Int = 200, resetWindow: Duration = .seconds(30), maxStreamErrors: Int = 200,
            maxConnectionGlitches: Int = 200, maxControlFrames: Int = 200, streamWindowSize: Int = 1 << 20, connectionWindowSize: Int = 4 << 20
        ) {
            self.maxConcurrentStreams = maxConcurrentStreams
            self.maxResetStreams = maxResetStreams
            self.resetWindow = resetWindow
            self.maxStreamErrors = maxStreamErrors
            self.maxConnectionGlitches = maxConnectionGlitches
            self.maxControlFrames = maxControlFrames
            self.streamWindowSize = streamWindowSize
            self.connectionWindowSize = connectionWindowSize
        }
    }
}
