/// An `originRequest` block as written in the configuration: every key optional, `nil` = not given.
///
/// Appears at the top level (defaults for all rules) and inside ingress rules (overrides). The
/// effective values, with cloudflared's defaults filled in, are ``OriginRequestConfiguration``.
public struct OriginRequestOptions: Sendable, Hashable {
    /// `connectTimeout`: TCP dial timeout to the origin.
    public var connectTimeout: Duration?
    /// `tlsTimeout`: TLS handshake timeout with the origin.
    public var tlsTimeout: Duration?
    /// `tcpKeepAlive`: TCP keep-alive interval on origin connections.
    public var tcpKeepAlive: Duration?
    /// `noHappyEyeballs`: disable IPv4/IPv6 connection racing.
    public var noHappyEyeballs: Bool?
    /// `keepAliveConnections`: maximum idle origin connections kept.
    public var keepAliveConnections: Int?
    /// `keepAliveTimeout`: how long an idle origin connection is kept.
    public var keepAliveTimeout: Duration?
    /// `httpHostHeader`: replaces the `Host` header sent to the origin.
    public var httpHostHeader: String?
    /// `originServerName`: TLS server name expected from the origin.
    public var originServerName: String?
    /// `matchSNItoHost`: use the request host as TLS server name.
    public var matchSNIToHost: Bool?
    /// `caPool`: path of a PEM bundle of extra CAs trusted for the origin.
    public var caPool: String?
    /// `noTLSVerify`: skip origin certificate verification.
    public var noTLSVerify: Bool?
    /// `disableChunkedEncoding`: do not use chunked transfer encoding towards the origin.
    public var disableChunkedEncoding: Bool?
    /// `bastionMode`: make the rule a bastion (jump host).
    public var bastionMode: Bool?
    /// `proxyAddress`: legacy, stored only.
    public var proxyAddress: String?
    /// `proxyPort`: legacy, stored only.
    public var proxyPort: UInt?
    /// `proxyType`: `socks` selects the SOCKS handler for TCP-over-WebSocket services.
    public var proxyType: String?
    /// `ipRules`: destination policy for `socks-proxy` rules.
    public var ipRules: [IPRule]?
    /// `http2Origin`: try HTTP/2 to the origin.
    public var http2Origin: Bool?
    /// `access`: Cloudflare Access JWT check for the rule.
    public var access: AccessConfiguration?

    /// Creates options; every key defaults to "not given".
    public init(
        connectTimeout: Duration? = nil, tlsTimeout: Duration? = nil, tcpKeepAlive: Duration? = nil,
        noHappyEyeballs: Bool? = nil, keepAliveConnections: Int? = nil, keepAliveTimeout: Duration? = nil,
        httpHostHeader: String? = nil, originServerName: String? = nil, matchSNIToHost: Bool? = nil,
        caPool: String? = nil, noTLSVerify: Bool? = nil, disableChunkedEncoding: Bool? = nil,
        bastionMode: Bool? = nil, proxyAddress: String? = nil, proxyPort: UInt? = nil,
        proxyType: String? = nil, ipRules: [IPRule]? = nil, http2Origin: Bool? = nil,
        access: AccessConfiguration? = nil
    ) {
        self.connectTimeout = connectTimeout
        self.tlsTimeout = tlsTimeout
        self.tcpKeepAlive = tcpKeepAlive
        self.noHappyEyeballs = noHappyEyeballs
        self.keepAliveConnections = keepAliveConnections
        self.keepAliveTimeout = keepAliveTimeout
        self.httpHostHeader = httpHostHeader
        self.originServerName = originServerName
        self.matchSNIToHost = matchSNIToHost
        self.caPool = caPool
        self.noTLSVerify = noTLSVerify
        self.disableChunkedEncoding = disableChunkedEncoding
        self.bastionMode = bastionMode
        self.proxyAddress = proxyAddress
        self.proxyPort = proxyPort
        self.proxyType = proxyType
        self.ipRules = ipRules
        self.http2Origin = http2Origin
        self.access = access
    }

    /// True when no key is given.
    public var isEmpty: Bool { self == OriginRequestOptions() }
}

/// One `ipRules` entry: a CIDR prefix, optional ports and a verdict.
public struct IPRule: Sendable, Hashable {
    /// `prefix`: CIDR such as `10.0.0.0/8` (required for the rule to be valid).
    public var prefix: String?
    /// `ports`: destination ports; empty = all ports.
    public var ports: [Int]
    /// `allow`: whether a match allows (`true`) or denies (`false`).
    public var allow: Bool

    /// Creates a rule. Defaults: no prefix, all ports, deny.
    public init(prefix: String? = nil, ports: [Int] = [], allow: Bool = false) {
        self.prefix = prefix
        self.ports = ports
        self.allow = allow
    }
}

/// The `access` block of `originRequest`: require a Cloudflare Access JWT on each request.
public struct AccessConfiguration: Sendable, Hashable {
    /// `required`: enforce the check. Default `false`.
    public var required: Bool
    /// `teamName`: Access team, `https://<teamName>.cloudflareaccess.com` issues the tokens. Default empty.
    public var teamName: String
    /// `audTag`: accepted audience tags. Default empty.
    public var audTags: [String]
    /// `environment`: `fed` selects the FedRAMP Access domain. Default empty.
    public var environment: String

    /// Creates an access block with the defaults above.
    public init(required: Bool = false, teamName: String = "", audTags: [String] = [], environment: String = "") {
        self.required = required
        self.teamName = teamName
        self.audTags = audTags
        self.environment = environment
    }
}

/// Effective origin settings of one ingress rule, with cloudflared's defaults
/// (`ingress/config.go`) for everything the configuration leaves out.
public struct OriginRequestConfiguration: Sendable, Hashable {
    /// TCP dial timeout to the origin. Default 30 s.
    public var connectTimeout: Duration
    /// TLS handshake timeout. Default 10 s.
    public var tlsTimeout: Duration
    /// TCP keep-alive interval. Default 30 s.
    public var tcpKeepAlive: Duration
    /// Disable IPv4/IPv6 racing. Default `false`.
    public var noHappyEyeballs: Bool
    /// Maximum idle connections to the origin (total and per host). Default 100.
    public var keepAliveConnections: Int
    /// Idle connection timeout. Default 90 s (`1m30s`).
    public var keepAliveTimeout: Duration
    /// Replacement `Host` header; empty = keep the request's. Default empty.
    public var httpHostHeader: String
    /// TLS server name for the origin; empty = the service host. Default empty.
    public var originServerName: String
    /// Use the request host as TLS server name. Default `false`.
    public var matchSNIToHost: Bool
    /// Extra CA bundle path; empty = system roots only. Default empty.
    public var caPool: String
    /// Skip origin certificate verification. Default `false`.
    public var noTLSVerify: Bool
    /// Disable chunked transfer encoding to the origin. Default `false`.
    public var disableChunkedEncoding: Bool
    /// The rule is a bastion (jump host). Default `false`.
    public var bastionMode: Bool
    /// Legacy proxy listen address, stored only. Default `127.0.0.1`.
    public var proxyAddress: String
    /// Legacy proxy listen port, stored only. Default 0.
    public var proxyPort: UInt
    /// `socks` selects the SOCKS handler; empty = plain TCP. Default empty.
    public var proxyType: String
    /// Destination policy for `socks-proxy`. Default empty (deny all).
    public var ipRules: [IPRule]
    /// Try HTTP/2 to the origin. Default `false`.
    public var http2Origin: Bool
    /// Access JWT check; `nil` = none. Default `nil`.
    public var access: AccessConfiguration?

    /// Creates settings; every parameter defaults to cloudflared's default.
    public init(
        connectTimeout: Duration = .seconds(30), tlsTimeout: Duration = .seconds(10),
        tcpKeepAlive: Duration = .seconds(30), noHappyEyeballs: Bool = false,
        keepAliveConnections: Int = 100, keepAliveTimeout: Duration = .seconds(90),
        httpHostHeader: String = "", originServerName: String = "", matchSNIToHost: Bool = false,
        caPool: String = "", noTLSVerify: Bool = false, disableChunkedEncoding: Bool = false,
        bastionMode: Bool = false, proxyAddress: String = "127.0.0.1", proxyPort: UInt = 0,
        proxyType: String = "", ipRules: [IPRule] = [], http2Origin: Bool = false,
        access: AccessConfiguration? = nil
    ) {
        self.connectTimeout = connectTimeout
        self.tlsTimeout = tlsTimeout
        self.tcpKeepAlive = tcpKeepAlive
        self.noHappyEyeballs = noHappyEyeballs
        self.keepAliveConnections = keepAliveConnections
        self.keepAliveTimeout = keepAliveTimeout
        self.httpHostHeader = httpHostHeader
        self.originServerName = originServerName
        self.matchSNIToHost = matchSNIToHost
        self.caPool = caPool
        self.noTLSVerify = noTLSVerify
        self.disableChunkedEncoding = disableChunkedEncoding
        self.bastionMode = bastionMode
        self.proxyAddress = proxyAddress
        self.proxyPort = proxyPort
        self.proxyType = proxyType
        self.ipRules = ipRules
        self.http2Origin = http2Origin
        self.access = access
    }

    /// Applies written options over these values: each given key replaces the current value;
    /// `ipRules` only when non-empty, `access` wholesale (cloudflared `setConfig`).
    public func applying(_ options: OriginRequestOptions) -> OriginRequestConfiguration {
        var result = self
        if let v = options.connectTimeout { result.connectTimeout = v }
        if let v = options.tlsTimeout { result.tlsTimeout = v }
        if let v = options.tcpKeepAlive { result.tcpKeepAlive = v }
        if let v = options.noHappyEyeballs { result.noHappyEyeballs = v }
        if let v = options.keepAliveConnections { result.keepAliveConnections = v }
        if let v = options.keepAliveTimeout { result.keepAliveTimeout = v }
        if let v = options.httpHostHeader { result.httpHostHeader = v }
        if let v = options.originServerName { result.originServerName = v }
        if let v = options.matchSNIToHost { result.matchSNIToHost = v }
        if let v = options.caPool { result.caPool = v }
        if let v = options.noTLSVerify { result.noTLSVerify = v }
        if let v = options.disableChunkedEncoding { result.disableChunkedEncoding = v }
        if let v = options.bastionMode { result.bastionMode = v }
        if let v = options.proxyAddress { result.proxyAddress = v }
        if let v = options.proxyPort { result.proxyPort = v }
        if let v = options.proxyType { result.proxyType = v }
        if let v = options.ipRules, !v.isEmpty { result.ipRules = v }
        if let v = options.http2Origin { result.http2Origin = v }
        if let v = options.access { result.access = v }
        return result
    }
}

/// The `warp-routing` block as written.
public struct WarpRoutingOptions: Sendable, Hashable {
    /// `connectTimeout`: dial timeout for private-network TCP flows.
    public var connectTimeout: Duration?
    /// `tcpKeepAlive`: keep-alive interval for those flows.
    public var tcpKeepAlive: Duration?
    /// `maxActiveFlows`: flow limit; 0 = unlimited.
    public var maxActiveFlows: UInt?

    /// Creates options; every key defaults to "not given".
    public init(connectTimeout: Duration? = nil, tcpKeepAlive: Duration? = nil, maxActiveFlows: UInt? = nil) {
        self.connectTimeout = connectTimeout
        self.tcpKeepAlive = tcpKeepAlive
        self.maxActiveFlows = maxActiveFlows
    }

    /// Effective values with cloudflared's defaults: connect timeout 5 s, keep-alive 30 s,
    /// unlimited flows.
    public var effective: WarpRoutingConfiguration {
        WarpRoutingConfiguration(
            connectTimeout: connectTimeout ?? .seconds(5), tcpKeepAlive: tcpKeepAlive ?? .seconds(30),
            maxActiveFlows: maxActiveFlows ?? 0)
    }
}

/// Effective private-network routing settings.
public struct WarpRoutingConfiguration: Sendable, Hashable {
    /// Dial timeout for TCP flows. Default 5 s.
    public var connectTimeout: Duration
    /// TCP keep-alive interval. Default 30 s.
    public var tcpKeepAlive: Duration
    /// Maximum concurrent flows; 0 = unlimited. Default 0.
    public var maxActiveFlows: UInt

    /// Creates settings with cloudflared's defaults.
    public init(connectTimeout: Duration = .seconds(5), tcpKeepAlive: Duration = .seconds(30), maxActiveFlows: UInt = 0) {
        self.connectTimeout = connectTimeout
        self.tcpKeepAlive = tcpKeepAlive
        self.maxActiveFlows = maxActiveFlows
    }
}
