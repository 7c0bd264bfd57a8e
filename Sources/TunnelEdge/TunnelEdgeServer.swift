#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
public import Logging
public import NIOCore
import NIOPosix
public import ServiceLifecycle
import Synchronization
import TunnelCore
import TunnelTransport

/// A self-hosted tunnel edge: accepts connectors (cloudflared or ours) on the connector port,
/// registers their connections, and proxies visitors' requests to them by hostname.
///
/// ```swift
/// let edge = TunnelEdgeServer(configuration: configuration, store: InMemoryTunnelStore([tunnel]))
/// async let running: Void = edge.run()
/// let addresses = try await edge.listeningAddresses()
/// ```
public final class TunnelEdgeServer: Service, Sendable {
    /// The settings it runs with.
    public let configuration: EdgeConfiguration
    /// Where tunnels and hostname routes come from.
    public let store: any EdgeTunnelStore
    /// Live connections.
    public let registry = EdgeConnectionRegistry()
    /// Events (registrations, disconnects, refusals).
    public let events = EdgeEventSink()
    let logger: Logger
    private let shutdownRequest = ShutdownSignal()
    private let bound = OnceValue<ListeningAddresses>()

    /// The addresses the edge listens on.
    public struct ListeningAddresses: Sendable {
        /// Where connectors dial in.
        public var connector: SocketAddress
        /// Where visitors connect in clear text.
        public var visitor: SocketAddress
        /// Where visitors connect with TLS, when ``EdgeConfiguration/visitorTLS`` is set.
        public var visitorTLS: SocketAddress?
    }

    /// Where the edge's counters and gauges go (``EdgeMetrics``).
    public let metrics: EdgeMetrics

    /// Creates an edge recording into `metrics` (default: the process-wide `MetricsSystem` backend).
    public init(configuration: EdgeConfiguration, store: any EdgeTunnelStore, metrics: EdgeMetrics = EdgeMetrics(), logger: Logger = Logger(label: "tunnel.edge")) {
        self.configuration = configuration
        self.store = store
        self.metrics = metrics
        self.logger = logger
    }

    /// Waits until both listeners are bound and returns their addresses; throws if binding failed.
    public func listeningAddresses() async throws -> ListeningAddresses {
        try await bound.wait()
    }

    /// Starts a graceful shutdown: stop accepting, drain in-flight streams, close.
    public func shutdown() {
        shutdownRequest.fire()
    }

    /// Runs until shutdown (graceful via ServiceLifecycle or ``shutdown()``).
    public func run() async throws {
        let connectorListener: NIOAsyncChannel<ConnectorConnection, Never>
        let visitorListener: VisitorListener.Listener
        let tlsVisitorListener: VisitorListener.Listener?
        do {
            connectorListener = try await ConnectorListener.bind(
                host: configuration.connectorHost, port: configuration.connectorPort,
                configuration: .init(certificateChain: configuration.certificateChain, privateKey: configuration.privateKey))
        } catch {
            let message = "cannot listen for connectors on \(configuration.connectorHost):\(configuration.connectorPort): \(EdgeServerError.bindFailureReason(error))"
            failBinding(message)
            throw EdgeServerError(message: message)
        }
        do {
            visitorListener = try await VisitorListener.bind(host: configuration.visitorHost, port: configuration.visitorPort, limits: configuration.visitorLimits)
        } catch {
            try? await connectorListener.channel.close()
            let message = "cannot listen for visitors on \(configuration.visitorHost):\(configuration.visitorPort): \(EdgeServerError.bindFailureReason(error))"
            failBinding(message)
            throw EdgeServerError(message: message)
        }
        if let tls = configuration.visitorTLS {
            do {
                tlsVisitorListener = try await VisitorListener.bind(host: tls.host, port: tls.port, limits: configuration.visitorLimits, tls: tls)
            } catch {
                try? await connectorListener.channel.close()
                try? await visitorListener.channel.close()
                let message = "cannot listen for TLS visitors on \(tls.host):\(tls.port): \(EdgeServerError.bindFailureReason(error))"
                failBinding(message)
                throw EdgeServerError(message: message)
            }
        } else {
            tlsVisitorListener = nil
        }
        let addresses = ListeningAddresses(
            connector: connectorListener.channel.localAddress!, visitor: visitorListener.channel.localAddress!,
            visitorTLS: tlsVisitorListener?.channel.localAddress)
        bound.succeed(addresses)
        logger.info("edge listening", metadata: ["connectors": "\(addresses.connector)", "visitors": "\(addresses.visitor)"])

        let proxy = VisitorProxy(store: store, registry: registry, limits: configuration.visitorLimits, metrics: metrics, logger: logger)
        await withGracefulShutdownHandler {
            await withDiscardingTaskGroup { group in
                group.addTask {
                    await self.shutdownRequest.wait()
                    // Stop accepting; tell connectors to open nothing new; in-flight streams finish.
                    try? await connectorListener.channel.close()
                    try? await visitorListener.channel.close()
                    try? await tlsVisitorListener?.channel.close()
                    proxy.quiesce()
                    for live in self.registry.all { live.connection.goAway() }
                }
                // An error from a listener (a failed accept) stops that listener only: the
                // connections it already accepted keep running (a throwing group would cancel them).
                group.addTask {
                    try? await connectorListener.executeThenClose { inbound in
                        await withDiscardingTaskGroup { connections in
                            do {
                                for try await connection in inbound {
                                    connections.addTask { await self.serveConnector(connection) }
                                }
                            } catch is CancellationError {
                                // Shutdown.
                            } catch {
                                self.logger.error("connector listener stopped accepting", metadata: ["error": "\(error)"])
                            }
                        }
                    }
                }
                for (listener, scheme) in [(visitorListener, "http"), tlsVisitorListener.map { ($0, "https") }].compactMap({ $0 }) {
                    group.addTask {
                        try? await listener.executeThenClose { inbound in
                            await withDiscardingTaskGroup { connections in
                                do {
                                    for try await visitor in inbound {
                                        connections.addTask { await proxy.serve(visitor, scheme: scheme, shutdown: self.shutdownRequest) }
                                    }
                                } catch is CancellationError {
                                    // Shutdown.
                                } catch {
                                    self.logger.error("visitor listener stopped accepting", metadata: ["scheme": "\(scheme)", "error": "\(error)"])
                                }
                            }
                        }
                    }
                }
                group.addTask {
                    await self.shutdownRequest.wait()
                    try? await Task.sleep(for: self.configuration.gracePeriod)
                    for live in self.registry.all { await live.connection.close() }
                }
                await self.shutdownRequest.wait()
                // Close connector connections once their streams drained (or at the grace period).
                let deadline = ContinuousClock.now + self.configuration.gracePeriod
                while ContinuousClock.now < deadline, self.registry.all.contains(where: { $0.outstandingStreams > 0 }) {
                    try? await Task.sleep(for: .milliseconds(20))
                }
                for live in self.registry.all { await live.connection.close() }
                group.cancelAll()
            }
        } onGracefulShutdown: {
            self.shutdownRequest.fire()
        }
        events.finish()
        logger.info("edge stopped")
    }

    /// Closes the live connections of a tunnel, or of one of its connectors: revocation when the
    /// tunnel was deleted (its reconnects are then refused by the store), `tunnel cleanup`
    /// otherwise. Returns how many connections were closed.
    @discardableResult
    public func disconnect(tunnelID: UUID, connectorID: UUID? = nil) async -> Int {
        let removed = registry.removeAll(tunnelID: tunnelID, connectorID: connectorID)
        for live in removed {
            live.markDraining()
            await live.connection.close()
        }
        if !removed.isEmpty {
            logger.info("closed tunnel connections", metadata: [
                "tunnel": "\(tunnelID.lowercasedString)", "connections": "\(removed.count)",
                "connector": "\(connectorID?.lowercasedString ?? "all")",
            ])
        }
        return removed.count
    }

    private func failBinding(_ message: String) {
        bound.fail(EdgeServerError(message: message))
    }


    /// One connector connection: control stream registration, then serving until it closes.
    private func serveConnector(_ connection: ConnectorConnection) async {
        let remote = connection.remoteAddressDescription
        let handler = EdgeRegistrationHandler(
            store: store, registry: registry, connection: connection, remoteAddress: remote,
            locationName: configuration.locationName, runningTunnelLimit: configuration.maxRunningTunnelsPerAccount,
            events: events, metrics: metrics, logger: logger)
        do {
            try await connection.run { control in
                try await withThrowingTaskGroup(of: Void.self) { group in
                    group.addTask {
                        _ = try await handler.serve(inbound: control.inbound) { bytes in try await control.outbound.write(bytes) }
                    }
                    group.addTask {
                        // A connection that does not register in time is dropped.
                        try await Task.sleep(for: self.configuration.registrationTimeout)
                        if handler.live == nil { throw EdgeServerError(message: "no registration within \(self.configuration.registrationTimeout)") }
                        try await Task.sleep(for: .seconds(1_000_000_000))
                    }
                    group.addTask {
                        // A refused registration: give the answer a moment to leave, then close (spec 3.6).
                        while !handler.wasRefused && handler.live == nil { try await Task.sleep(for: .milliseconds(50)) }
                        if handler.wasRefused && handler.live == nil {
                            try await Task.sleep(for: .milliseconds(200))
                            throw EdgeServerError(message: "registration refused")
                        }
                        try await Task.sleep(for: .seconds(1_000_000_000))
                    }
                    // The session ends when the connector aborts it (after unregistering) or the
                    // stream closes; then wait for in-flight streams before closing.
                    try await group.next()
                    group.cancelAll()
                }
                if let live = handler.live {
                    // In-flight streams finish first, up to the grace period.
                    live.markDraining()
                    let deadline = ContinuousClock.now + self.configuration.gracePeriod
                    while live.outstandingStreams > 0 && ContinuousClock.now < deadline {
                        try await Task.sleep(for: .milliseconds(20))
                    }
                }
            }
        } catch {
            if handler.live == nil {
                // Garbage, a failed TLS handshake, a wrong RPC or refused credentials: say why.
                logger.warning("dropped connector connection before registration", metadata: ["origin": "\(remote)", "reason": "\(connection.prefaceFailure ?? "\(error)")"])
            } else if let live = handler.live {
                logger.info("connector connection ended", metadata: [
                    "tunnel": "\(live.tunnelID.lowercasedString)", "connIndex": "\(live.connIndex)", "origin": "\(remote)", "reason": "\(error)",
                ])
            }
        }
        if let live = handler.live {
            metrics.connectionEnded()
            registry.remove(live)
            events.emit(.disconnected(live))
        }
    }
}

/// A failure of the edge as a whole (binding a port, reading certificates).
public struct EdgeServerError: Error, Hashable, Sendable, CustomStringConvertible {
    /// What went wrong and what to do.
    public let message: String

    /// Creates an error.
    public init(message: String) { self.message = message }

    public var description: String { message }

    /// Why binding a listening port failed, in words that say what to do.
    public static func bindFailureReason(_ error: any Error) -> String {
        let text = "\(error)"
        if text.contains("Address already in use") || text.contains("errno: 98") { return "the address is already in use; stop the other process or pick another port" }
        return text
    }
}

extension ConnectorConnection {
    var remoteAddressDescription: String {
        remoteAddress?.ipAddress ?? "unknown"
    }
}
