public import TunnelCore

/// Where and how the connector reaches one origin: the pool key for kept-alive connections.
public struct OriginEndpoint: Hashable, Sendable, CustomStringConvertible {
    /// The transport address.
    public enum Address: Hashable, Sendable {
        /// A TCP host (name or IP literal) and port.
        case tcp(host: String, port: Int)
        /// A unix domain socket path.
        case unixSocket(path: String)
    }

    /// The address to dial.
    public var address: Address
    /// Whether to speak TLS to the origin.
    public var tls: OriginTLSSettings?

    /// Creates an endpoint.
    public init(address: Address, tls: OriginTLSSettings? = nil) {
        self.address = address
        self.tls = tls
    }

    public var description: String {
        let scheme = tls == nil ? "" : "tls+"
        switch address {
        case .tcp(let host, let port):
            return host.contains(":") ? "\(scheme)[\(host)]:\(port)" : "\(scheme)\(host):\(port)"
        case .unixSocket(let path):
            return "\(scheme)unix:\(path)"
        }
    }

    /// The endpoint an HTTP-speaking ingress service points at, or `nil` for services that
    /// are answered without an origin connection (`http_status`, `hello_world`, ...).
    public init?(service: IngressService, options: OriginRequestConfiguration, requestHost: String? = nil) {
        switch service {
        case .http(_, let scheme, let host, let port):
            let secure = scheme == "https" || scheme == "wss"
            let bareHost = host.hasPrefix("[") && host.hasSuffix("]") ? String(host.dropFirst().dropLast()) : host
            self.address = .tcp(host: bareHost, port: port ?? (secure ? 443 : 80))
            self.tls = secure ? OriginTLSSettings(options: options, defaultServerName: bareHost, requestHost: requestHost) : nil
        case .unixSocket(let path, let secure):
            self.address = .unixSocket(path: path)
            self.tls = secure ? OriginTLSSettings(options: options, defaultServerName: "localhost", requestHost: requestHost) : nil
        case .tcpOverWebSocket(_, let host, let port):
            self.address = .tcp(host: host, port: port ?? 0)
            self.tls = nil
        default:
            return nil
        }
    }
}

/// TLS settings towards an origin, from the rule's `originRequest` options.
public struct OriginTLSSettings: Hashable, Sendable {
    /// The server name sent as SNI and verified (`originServerName`, else the service host).
    public var serverName: String
    /// Extra trusted CA bundle (`caPool`, `--origin-ca-pool`), on top of the system pool.
    public var caPoolPath: String?
    /// Skip verification of the origin certificate (`noTLSVerify`). Off by default.
    public var noTLSVerify: Bool

    /// Creates settings.
    public init(serverName: String, caPoolPath: String? = nil, noTLSVerify: Bool = false) {
        self.serverName = serverName
        self.caPoolPath = caPoolPath
        self.noTLSVerify = noTLSVerify
    }

    /// Settings from an ingress rule's effective options.
    public init(options: OriginRequestConfiguration, defaultServerName: String, requestHost: String? = nil) {
        var name = defaultServerName
        if !options.originServerName.isEmpty {
            name = options.originServerName
        } else if options.matchSNIToHost, let requestHost, !requestHost.isEmpty {
            name = requestHost
        }
        self.init(serverName: name, caPoolPath: options.caPool.isEmpty ? nil : options.caPool, noTLSVerify: options.noTLSVerify)
    }
}
