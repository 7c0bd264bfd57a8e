#if canImport(FoundationEssentials)
public import FoundationEssentials
#else
public import Foundation
#endif
public import NIOSSL
public import TunnelCore

/// One edge address a connector dials (`--edge host:port`).
public struct EdgeAddress: Hashable, Sendable, CustomStringConvertible {
    /// Host name or IP literal.
    public var host: String
    /// TCP port (7844 by default on the real edge).
    public var port: Int

    /// Creates an address.
    public init(host: String, port: Int = 7844) {
        self.host = host
        self.port = port
    }

    /// Parses `host:port` or `[v6]:port`; `nil` when malformed.
    public init?(_ text: String) {
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]), (1...65535).contains(port) else {
            return nil
        }
        var host = String(text[..<colon])
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        guard !host.isEmpty else { return nil }
        self.init(host: host, port: port)
    }

    public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
}

/// Everything a ``TunnelConnector`` needs; the CLI and config.yml only fill it in.
public struct TunnelConnectorConfiguration: Sendable {
    /// The tunnel's credentials; `tunnelID` must be set.
    public var credentials: TunnelCredentials
    /// Edge addresses; one HA connection per address at most (as cloudflared).
    public var edgeAddresses: [EdgeAddress]
    /// Number of HA connections (`--ha-connections`, default 4).
    public var haConnections: Int
    /// Backoff doublings cap (`--retries`, default 5: waits up to 32 s).
    public var retries: Int
    /// How long in-flight streams may run after shutdown starts (`--grace-period`, default 30 s).
    public var gracePeriod: Duration
    /// CAs the edge certificate must chain to (`--cacert`).
    public var edgeTrustRoots: [NIOSSLCertificate]
    /// The server name the edge certificate must carry (`h2.cftunnel.com`).
    public var edgeServerName: String
    /// This connector's ID (`clientId`), shared by all its connections. Default: random.
    public var connectorID: UUID
    /// Version string sent in `ClientInfo`.
    public var version: String
    /// Feature strings sent in `ClientInfo` (cloudflared's five defaults).
    public var features: [String]
    /// The local configuration JSON connection 0 sends with `updateLocalConfiguration`
    /// when the tunnel is not remotely managed; `nil` sends nothing.
    public var localConfiguration: [UInt8]?
    /// Timeout of each registration call (`--rpc-timeout`, default 5 s).
    public var rpcTimeout: Duration
    /// How often a registered connection PINGs the edge; `nil` never. Default 15 s. cloudflared
    /// leaves liveness to the edge; we also check from our side so that a connection to an edge
    /// that froze (no FIN, no RST) is replaced instead of silently serving nothing.
    public var pingInterval: Duration?
    /// How long a PING may stay unanswered before the connection is closed and retried. Default 10 s.
    public var pingTimeout: Duration
    /// The pause between the staggered starts of connections 2 and later. Default 1 s, as
    /// cloudflared; an embedder or a test on loopback may start them all at once with `.zero`.
    public var registrationInterval: Duration
    /// Trust the system's root pool besides ``edgeTrustRoots`` (no `--cacert`: the system pool
    /// plus ``CloudflareEdgeRoots``, as cloudflared). Default `false`: only ``edgeTrustRoots``.
    public var edgeTrustsSystemRoots: Bool

    /// The defaults cloudflared uses for the features list.
    public static let defaultFeatures = ["allow_remote_config", "serialized_headers", "support_datagram_v2", "support_quic_eof", "management_logs"]

    /// Creates a configuration; see each property for defaults.
    public init(
        credentials: TunnelCredentials,
        edgeAddresses: [EdgeAddress],
        edgeTrustRoots: [NIOSSLCertificate],
        haConnections: Int = 4,
        retries: Int = 5,
        gracePeriod: Duration = .seconds(30),
        edgeServerName: String = "h2.cftunnel.com",
        connectorID: UUID = UUID(),
        version: String = "swift-tunnel-0.1.0",
        features: [String] = TunnelConnectorConfiguration.defaultFeatures,
        localConfiguration: [UInt8]? = nil,
        rpcTimeout: Duration = .seconds(5),
        pingInterval: Duration? = .seconds(15),
        pingTimeout: Duration = .seconds(10),
        registrationInterval: Duration = .seconds(1),
        edgeTrustsSystemRoots: Bool = false
    ) {
        self.registrationInterval = registrationInterval
        self.edgeTrustsSystemRoots = edgeTrustsSystemRoots
        self.credentials = credentials
        self.edgeAddresses = edgeAddresses
        self.edgeTrustRoots = edgeTrustRoots
        self.haConnections = haConnections
        self.retries = retries
        self.gracePeriod = gracePeriod
        self.edgeServerName = edgeServerName
        self.connectorID = connectorID
        self.version = version
        self.features = features
        self.localConfiguration = localConfiguration
        self.rpcTimeout = rpcTimeout
        self.pingInterval = pingInterval
        self.pingTimeout = pingTimeout
    }
}

/// Something that happened to a connector's connections, for embedders, tests and the CLI.
public enum TunnelConnectorEvent: Sendable, Hashable {
    /// A connection registered (cloudflared logs "Registered tunnel connection").
    case registered(connIndex: Int, connectionID: UUID, location: String, edge: EdgeAddress)
    /// A connection unregistered during shutdown.
    case unregistered(connIndex: Int)
    /// A connection failed or was lost; `retryIn` is the upper bound of the backoff.
    case connectionFailed(connIndex: Int, reason: String, retryIn: Duration?)
    /// The connector stopped; `failure` is why, or `nil` after a graceful shutdown.
    case stopped(failure: String?)
}

/// Why a connector stopped without being asked to.
public struct TunnelConnectorError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The reason, with advice.
    public let reason: String

    /// Creates an error.
    public init(reason: String) { self.reason = reason }

    public var description: String { reason }
}
