#if canImport(FoundationEssentials)
public import FoundationEssentials
#else
public import Foundation
#endif
import Synchronization
public import TunnelTransport

/// One registered connector connection.
public final class LiveConnection: Sendable {
    /// The connection ID the edge gave it.
    public let id: UUID
    /// The tunnel it serves.
    public let tunnelID: UUID
    /// The account owning the tunnel.
    public let accountTag: String
    /// The edge's location name (`colo_name` in the API).
    public let location: String
    /// Its slot on the connector (0…3).
    public let connIndex: Int
    /// The connector's ID (`clientId`).
    public let connectorID: UUID
    /// The connector's version string.
    public let version: String
    /// The connector's architecture.
    public let arch: String
    /// The connector's address as seen by the edge.
    public let remoteAddress: String
    /// When it registered.
    public let registeredAt: Date
    /// The HTTP/2 connection to open streams on.
    public let connection: ConnectorConnection
    private let state = Mutex<(outstanding: Int, draining: Bool)>((0, false))

    init(id: UUID, tunnelID: UUID, accountTag: String, location: String, connIndex: Int, connectorID: UUID, version: String, arch: String, remoteAddress: String, connection: ConnectorConnection) {
        self.id = id
        self.tunnelID = tunnelID
        self.accountTag = accountTag
        self.location = location
        self.connIndex = connIndex
        self.connectorID = connectorID
        self.version = version
        self.arch = arch
        self.remoteAddress = remoteAddress
        self.registeredAt = Date()
        self.connection = connection
    }

    /// Streams open right now.
    public var outstandingStreams: Int { state.withLock { $0.outstanding } }

    /// Whether it unregistered (no new streams go to it).
    public var isDraining: Bool { state.withLock { $0.draining } }

    func markDraining() { state.withLock { $0.draining = true } }
    func streamStarted() { state.withLock { $0.outstanding += 1 } }
    func streamEnded() { state.withLock { $0.outstanding -= 1 } }
}

/// The edge's live connections per tunnel, and the choice of a connection for each request.
public final class EdgeConnectionRegistry: Sendable {
    private let connections = Mutex<[UUID: [LiveConnection]]>([:])

    /// Creates an empty registry.
    public init() {}

    /// Why a connection was not added.
    enum AddRefusal: Error, Equatable {
        /// The account runs as many tunnels as it may.
        case runningTunnelLimit(Int)
    }

    /// Adds a registered connection. A connection from the same connector and slot replaces
    /// the older one (a reconnect), which is returned so the caller can close it. When
    /// `runningTunnelLimit` is set, a connection that would start one more running tunnel of
    /// its account than that is refused; the check and the insertion are one atomic step.
    func add(_ connection: LiveConnection, runningTunnelLimit: Int? = nil) -> Result<LiveConnection?, AddRefusal> {
        connections.withLock { table in
            // A tunnel runs while one of its connections is registered and not draining: a
            // connector that unregistered (shutting down) frees its place at once.
            if let limit = runningTunnelLimit, !Self.isRunning(table[connection.tunnelID] ?? []),
               Self.runningTunnels(in: table, accountTag: connection.accountTag) >= limit {
                return .failure(.runningTunnelLimit(limit))
            }
            var list = table[connection.tunnelID] ?? []
            let replaced = list.firstIndex { $0.connectorID == connection.connectorID && $0.connIndex == connection.connIndex }.map { list.remove(at: $0) }
            list.append(connection)
            table[connection.tunnelID] = list
            return .success(replaced)
        }
    }

    /// Running tunnels of an account: with at least one registered connection that is not draining.
    public func runningTunnels(accountTag: String) -> Int {
        connections.withLock { Self.runningTunnels(in: $0, accountTag: accountTag) }
    }

    private static func isRunning(_ connections: [LiveConnection]) -> Bool {
        connections.contains { !$0.isDraining }
    }

    private static func runningTunnels(in table: [UUID: [LiveConnection]], accountTag: String) -> Int {
        table.values.filter { $0.first?.accountTag == accountTag && isRunning($0) }.count
    }

    /// Removes a connection (closed or unregistered).
    func remove(_ connection: LiveConnection) {
        connections.withLock { table in
            table[connection.tunnelID]?.removeAll { $0 === connection }
            if table[connection.tunnelID]?.isEmpty == true { table[connection.tunnelID] = nil }
        }
    }

    /// Removes and returns the connections of a tunnel (revocation, cleanup): all of them, or
    /// those of one connector.
    func removeAll(tunnelID: UUID, connectorID: UUID? = nil) -> [LiveConnection] {
        connections.withLock { table in
            guard let list = table[tunnelID] else { return [] }
            guard let connectorID else { return table.removeValue(forKey: tunnelID) ?? [] }
            let removed = list.filter { $0.connectorID == connectorID }
            let kept = list.filter { $0.connectorID != connectorID }
            table[tunnelID] = kept.isEmpty ? nil : kept
            return removed
        }
    }

    /// The registered connections of a tunnel, draining ones included.
    public func connections(of tunnelID: UUID) -> [LiveConnection] {
        connections.withLock { $0[tunnelID] ?? [] }
    }

    /// Every registered connection.
    public var all: [LiveConnection] {
        connections.withLock { $0.values.flatMap { $0 } }
    }

    /// Healthy connections of a tunnel, least busy first, excluding `excluded` (for failover).
    public func candidates(for tunnelID: UUID, excluding excluded: Set<UUID> = []) -> [LiveConnection] {
        connections(of: tunnelID)
            .filter { !$0.isDraining && !excluded.contains($0.id) }
            .sorted { $0.outstandingStreams < $1.outstandingStreams }
    }
}
