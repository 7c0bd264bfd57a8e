#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Logging
import Synchronization
import TunnelCore
import TunnelTransport

/// Answers `registerConnection` & co. on one connector connection's control stream.
final class EdgeRegistrationHandler: RegistrationServer {
    let store: any EdgeTunnelStore
    let registry: EdgeConnectionRegistry
    let connection: ConnectorConnection
    let remoteAddress: String
    let locationName: String
    let runningTunnelLimit: Int?
    let events: EdgeEventSink
    let metrics: EdgeMetrics
    let logger: Logger
    private let state = Mutex<(live: LiveConnection?, refused: Bool)>((nil, false))

    init(store: any EdgeTunnelStore, registry: EdgeConnectionRegistry, connection: ConnectorConnection, remoteAddress: String, locationName: String, runningTunnelLimit: Int?, events: EdgeEventSink, metrics: EdgeMetrics, logger: Logger) {
        self.runningTunnelLimit = runningTunnelLimit
        self.store = store
        self.registry = registry
        self.connection = connection
        self.remoteAddress = remoteAddress
        self.locationName = locationName
        self.events = events
        self.metrics = metrics
        self.logger = logger
    }

    /// The registered connection, once registration succeeded.
    var live: LiveConnection? { state.withLock { $0.live } }

    func registerConnection(_ params: RegisterConnectionParams) async throws -> ConnectionResponse {
        guard params.tunnelID.count == 16 else {
            return refuse("Unauthorized: malformed tunnel ID", retry: true)
        }
        let tunnelID = UUID(tunnelIDBytes: params.tunnelID)
        guard let tunnel = try await store.tunnel(id: tunnelID) else {
            return refuse("Unauthorized: unknown tunnel \(tunnelID.lowercasedString)", retry: true)
        }
        guard tunnel.accountTag == params.auth.accountTag, Self.constantTimeEqual(tunnel.secret.bytes, params.auth.tunnelSecret) else {
            return refuse("Unauthorized: invalid tunnel credentials for \(tunnelID.lowercasedString)", retry: true)
        }
        guard tunnel.deletedAt == nil else {
            return refuse("tunnel \(tunnelID.lowercasedString) has been deleted; it cannot be run any more", retry: false)
        }
        let client = params.options.client
        let connectorID = client.clientID.count == 16 ? UUID(tunnelIDBytes: client.clientID) : UUID()
        let live = LiveConnection(
            id: UUID(), tunnelID: tunnelID, accountTag: tunnel.accountTag, location: locationName, connIndex: Int(params.connIndex),
            connectorID: connectorID, version: client.version, arch: client.arch, remoteAddress: remoteAddress, connection: connection)
        switch registry.add(live, runningTunnelLimit: runningTunnelLimit) {
        case .failure(.runningTunnelLimit(let limit)):
            return refuse(
                "account \(tunnel.accountTag) already runs \(limit) tunnels, its limit; stop one of them (or ask the edge operator to raise limits.runningTunnelsPerAccount in edge.yml) before running tunnel \(tunnelID.lowercasedString)",
                retry: false)
        case .success(let replaced):
            state.withLock { $0.live = live }
            if let replaced { await replaced.connection.close() }
        }
        logger.info("registered tunnel connection", metadata: [
            "tunnel": "\(tunnelID.lowercasedString)", "connIndex": "\(live.connIndex)", "connection": "\(live.id.lowercasedString)",
            "connector": "\(connectorID.lowercasedString)", "version": "\(client.version)", "origin": "\(remoteAddress)",
        ])
        metrics.connectionRegistered()
        events.emit(.registered(live))
        return .connectionDetails(ConnectionDetails(uuid: live.id.tunnelIDBytes, locationName: locationName, tunnelIsRemotelyManaged: false))
    }

    func unregisterConnection() async throws {
        guard let live else { return }
        live.markDraining()
        logger.info("unregistered tunnel connection", metadata: ["tunnel": "\(live.tunnelID.lowercasedString)", "connIndex": "\(live.connIndex)"])
        events.emit(.unregistered(live))
    }

    func updateLocalConfiguration(_ config: [UInt8]) async throws {
        logger.debug("connector configuration", metadata: ["config": "\(String(decoding: config, as: UTF8.self))"])
    }

    /// Whether the last registration attempt was refused (the connection must then be closed).
    var wasRefused: Bool { state.withLock { $0.refused } }

    private func refuse(_ cause: String, retry: Bool) -> ConnectionResponse {
        state.withLock { $0.refused = true }
        metrics.registrationRefused()
        logger.warning("refused registration", metadata: ["origin": "\(remoteAddress)", "cause": "\(cause)"])
        events.emit(.refused(remoteAddress: remoteAddress, cause: cause))
        return .error(ConnectionError(cause: cause, retryAfterNanoseconds: 0, shouldRetry: retry))
    }

    static func constantTimeEqual(_ lhs: [UInt8], _ rhs: [UInt8]) -> Bool {
        guard lhs.count == rhs.count else { return false }
        var difference: UInt8 = 0
        for index in lhs.indices { difference |= lhs[index] ^ rhs[index] }
        return difference == 0
    }
}

/// What happens at the edge, for the audit log, tests and embedders.
public enum EdgeEvent: Sendable {
    /// A connector connection registered.
    case registered(LiveConnection)
    /// A connection unregistered (graceful shutdown of the connector).
    case unregistered(LiveConnection)
    /// A connection closed (after unregistering, or lost).
    case disconnected(LiveConnection)
    /// A registration was refused.
    case refused(remoteAddress: String, cause: String)
}

/// Fans edge events out to subscribers.
public final class EdgeEventSink: Sendable {
    private let subscribers = Mutex<[UUID: AsyncStream<EdgeEvent>.Continuation]>([:])

    /// Creates a sink.
    public init() {}

    /// A stream of events from now on; it ends when the edge stops.
    public func subscribe() -> AsyncStream<EdgeEvent> {
        let (stream, continuation) = AsyncStream<EdgeEvent>.makeStream(bufferingPolicy: .bufferingNewest(4096))
        let id = UUID()
        subscribers.withLock { $0[id] = continuation }
        continuation.onTermination = { [weak self] _ in
            _ = self?.subscribers.withLock { $0.removeValue(forKey: id) }
        }
        return stream
    }

    func emit(_ event: EdgeEvent) {
        for continuation in subscribers.withLock({ Array($0.values) }) {
            continuation.yield(event)
        }
    }

    func finish() {
        for continuation in subscribers.withLock({ Array($0.values) }) {
            continuation.finish()
        }
    }
}
