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

    init(id: UUID, tunnelID: UUID, connIndex: Int, connectorID: UUID, version: String, arch: String, remoteAddress: String, connection: ConnectorConnection) {
        self.id = id
        self.tunnelID = tunnelID
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

    /// Adds a registered connection. A connection from the same connector and slot replaces
    /// the older one (a reconnect), which is returned so the caller can close it.
    func add(_ connection: LiveConnection) -> LiveConnection? {
        connections.withLock { table in
            var list = table[connection.tunnelID] ?? []
            let replaced = list.firstIndex { $0.connectorID == connection.connectorID && $0.connIndex == connection.connIndex }.map { list.remove(at: $0) }
            list.append(connection)
            table[connection.tunnelID] = list
            return replaced
        }
    }

    /// Removes a connection (closed or unregistered).
    func remove(_ connection: LiveConnection) {
        connections.withLock { table in
            table[connection.tunnelID]?.removeAll { $0 === connection }
            if table[connection.tunnelID]?.isEmpty == true { table[connection.tunnelID] = nil }
        }
    }

    /// Removes and returns every connection of a tunnel (revocation).
    func removeAll(tunnelID: UUID) -> [LiveConnection] {
        connections.withLock { $0.removeValue(forKey: tunnelID) ?? [] }
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
