#if canImport(FoundationEssentials)
public import FoundationEssentials
#else
public import Foundation
#endif
public import Logging
import NIOCore
import NIOSSL
public import ServiceLifecycle
import Synchronization
import TunnelCore
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A running tunnel: what `cloudflared tunnel run` is. Keeps `haConnections` registered
/// connections to the edge, serves the streams they carry from the origin proxy, reconnects
/// with backoff, and on graceful shutdown unregisters every connection and lets in-flight
/// streams finish within the grace period.
///
/// ```swift
/// let connector = TunnelConnector(configuration: configuration, proxy: OriginProxy(ingress: ingress, client: OriginHTTPClient()))
/// // or, with any stream handler of your own:
/// let custom = TunnelConnector(configuration: configuration, streamHandler: handler)
/// try await connector.run()   // or add it to a ServiceGroup
/// ```
public final class TunnelConnector: Service, Sendable {
    /// The configuration it runs with.
    public let configuration: TunnelConnectorConfiguration
    /// Serves the proxied streams (TunnelOrigin's `OriginStreamHandler` for origins: swap its
    /// proxy to apply new ingress rules).
    public let streamHandler: any TunnelStreamHandler
    private let logger: Logger
    private let eventStream: AsyncStream<TunnelConnectorEvent>
    private let eventContinuation: AsyncStream<TunnelConnectorEvent>.Continuation
    private let shutdownRequest = ShutdownSignal()
    private let registered = Mutex<[Int: UUID]>([:])
    /// Where the connector's counters and gauges go.
    public let metrics: ConnectorMetrics

    /// Creates a connector whose streams `streamHandler` serves (it runs the handler's
    /// ``TunnelStreamHandler/run()`` alongside its connections), recording into `metrics`
    /// (default: the process-wide `MetricsSystem` backend). TunnelOrigin adds
    /// `init(configuration:proxy:metrics:logger:)`, which serves from origins.
    public init(
        configuration: TunnelConnectorConfiguration, streamHandler: some TunnelStreamHandler, metrics: ConnectorMetrics = ConnectorMetrics(),
        logger: Logger = Logger(label: "tunnel.connector")
    ) {
        precondition(!configuration.edgeAddresses.isEmpty, "a connector needs at least one edge address")
        self.configuration = configuration
        self.metrics = metrics
        self.streamHandler = streamHandler
        self.logger = logger
        (eventStream, eventContinuation) = AsyncStream.makeStream(bufferingPolicy: .bufferingNewest(1024))
    }

    /// Connection events, in order. Iterate it once.
    public var events: AsyncStream<TunnelConnectorEvent> { eventStream }

    /// The connections registered right now: connIndex → connection ID.
    public var registeredConnections: [Int: UUID] { registered.withLock { $0 } }

    /// What `/ready` reports: the registered connections and this connector's ID.
    public var readiness: TunnelReadiness {
        TunnelReadiness(readyConnections: registered.withLock { $0.count }, connectorID: configuration.connectorID)
    }

    /// Starts a graceful shutdown, like SIGTERM: unregister, drain, stop.
    public func shutdown() {
        shutdownRequest.fire()
    }

    private enum Input: Sendable {
        case registered(Int, ConnectionDetails, EdgeAddress)
        case ended(Int, ConnectionSupervisorStateMachine.Failure?)
        case retryDue(Int)
        case startDue(Int)
        case shutdown
    }

    /// Runs until a graceful shutdown completes (returns) or the tunnel cannot run (throws
    /// ``TunnelConnectorError``, e.g. a deleted tunnel). Cancellation closes everything at once.
    public func run() async throws {
        var machine = ConnectionSupervisorStateMachine(
            haConnections: configuration.haConnections, edgeAddressCount: configuration.edgeAddresses.count, retries: configuration.retries,
            registrationInterval: configuration.registrationInterval)
        if let message = ConnectionSupervisorStateMachine.cappedMessage(requested: configuration.haConnections, addresses: configuration.edgeAddresses.count) {
            logger.info("\(message)")
        }
        let (inputs, input) = AsyncStream<Input>.makeStream()
        let drain = ShutdownSignal()
        var failure: String?
        await withGracefulShutdownHandler {
            await withDiscardingTaskGroup { group in
                group.addTask { await self.streamHandler.run() }
                group.addTask {
                    await self.shutdownRequest.wait()
                    input.yield(.shutdown)
                }
                var activeSlots = 0
                var stopping = false
                func execute(_ actions: [ConnectionSupervisorStateMachine.Action]) {
                    for action in actions {
                        switch action {
                        case .dial(let index, let addressIndex, let attempts):
                            activeSlots += 1
                            let address = configuration.edgeAddresses[addressIndex]
                            group.addTask {
                                let result = await self.runConnection(index: index, address: address, previousAttempts: attempts, drain: drain, input: input)
                                input.yield(.ended(index, result))
                            }
                        case .scheduleRetry(let index, let delay, let upTo):
                            logger.info("Retrying connection in up to \(upTo.components.seconds)s", metadata: ["connIndex": "\(index)"])
                            group.addTask {
                                try? await Task.sleep(for: delay)
                                input.yield(.retryDue(index))
                            }
                        case .scheduleStart(let index, let delay):
                            group.addTask {
                                try? await Task.sleep(for: delay)
                                input.yield(.startDue(index))
                            }
                        case .stop(let reason):
                            stopping = true
                            failure = reason
                            drain.fire()
                        }
                    }
                }
                execute(machine.start())
                for await event in inputs {
                    switch event {
                    case .registered(let index, let details, let address):
                        let id = details.uuid.count == 16 ? UUID(tunnelIDBytes: details.uuid) : UUID()
                        registered.withLock { $0[index] = id }
                        metrics.connectionRegistered(connIndex: index, location: details.locationName)
                        logger.info("Registered tunnel connection", metadata: [
                            "connIndex": "\(index)", "connection": "\(id.lowercasedString)", "event": "0",
                            "ip": "\(address.host)", "location": "\(details.locationName)", "protocol": "http2",
                        ])
                        eventContinuation.yield(.registered(connIndex: index, connectionID: id, location: details.locationName, edge: address))
                        execute(machine.registered(connIndex: index))
                    case .ended(let index, let result):
                        activeSlots -= 1
                        if registered.withLock({ $0.removeValue(forKey: index) }) != nil {
                            metrics.connectionEnded(connIndex: index)
                        }
                        if let result, !stopping {
                            let actions = machine.failed(connIndex: index, result, randomFraction: Double.random(in: 0..<1))
                            var retryIn: Duration?
                            if case .scheduleRetry(_, _, let upTo)? = actions.first { retryIn = upTo }
                            logger.error("Connection terminated", metadata: ["connIndex": "\(index)", "error": "\(Self.describe(result))"])
                            eventContinuation.yield(.connectionFailed(connIndex: index, reason: Self.describe(result), retryIn: retryIn))
                            execute(actions)
                        }
                    case .retryDue(let index):
                        if !stopping { execute(machine.retryTimerFired(connIndex: index)) }
                    case .startDue(let index):
                        if !stopping { execute(machine.startTimerFired(connIndex: index)) }
                    case .shutdown:
                        if !stopping {
                            logger.info("Initiating graceful shutdown", metadata: ["gracePeriod": "\(configuration.gracePeriod)"])
                            execute(machine.shutdown())
                        }
                    }
                    if stopping && activeSlots == 0 { break }
                }
                // Release the task waiting for a shutdown request (not cancellable by design).
                self.shutdownRequest.fire()
                group.cancelAll()
            }
        } onGracefulShutdown: {
            self.shutdownRequest.fire()
        }
        input.finish()
        eventContinuation.yield(.stopped(failure: failure))
        eventContinuation.finish()
        if let failure {
            logger.error("Tunnel stopped", metadata: ["reason": "\(failure)"])
            throw TunnelConnectorError(reason: failure)
        }
        logger.info("Tunnel server stopped")
    }

    private static func describe(_ failure: ConnectionSupervisorStateMachine.Failure) -> String {
        switch failure {
        case .dial(let reason), .retryable(let reason), .permanent(let reason): reason
        }
    }

    /// One connection from dial to close. Returns `nil` after a graceful drain, otherwise why it ended.
    private func runConnection(
        index: Int, address: EdgeAddress, previousAttempts: Int, drain: ShutdownSignal, input: AsyncStream<Input>.Continuation
    ) async -> ConnectionSupervisorStateMachine.Failure? {
        let connection: EdgeConnection
        do {
            connection = try await EdgeDialer.connect(
                host: address.host, port: address.port,
                configuration: .init(trustRoots: configuration.edgeTrustRoots, trustSystemRoots: configuration.edgeTrustsSystemRoots, serverName: configuration.edgeServerName))
        } catch let error as TunnelTLSError {
            return .dial("TLS handshake with the edge at \(address) failed: \(error)")
        } catch {
            return .dial("cannot connect to the edge at \(address): \(error)")
        }
        let outcome = Mutex<ConnectionSupervisorStateMachine.Failure?>(nil)
        let registeredOnce = Mutex(false)
        let options = connectionOptions(previousAttempts: previousAttempts, localAddress: connection.core.channel.localAddress)
        do {
            try await withThrowingTaskGroup(of: Void.self) { connectionGroup in
                // Draining: streams keep being served (the edge sends no new ones once the connection
                // is unregistered) until the grace period is over; then the connection closes. One
                // task per connection, not one per stream.
                connectionGroup.addTask {
                    await drain.wait()
                    guard drain.isFired else { return }
                    try await Task.sleep(for: self.configuration.gracePeriod)
                    await connection.close()
                }
                try await connection.run(
                    controlStreamHandler: { [self] stream in
                        let client = RegistrationClient { bytes in try await stream.outbound.write(bytes) }
                        try await withThrowingTaskGroup(of: Void.self) { group in
                            group.addTask { _ = try await client.session.run(inbound: stream.inbound) }
                            let details: ConnectionDetails
                            do {
                                details = try await client.registerConnection(
                                    auth: TunnelAuth(accountTag: configuration.credentials.accountTag, tunnelSecret: configuration.credentials.tunnelSecret.bytes),
                                    tunnelID: configuration.credentials.tunnelID ?? UUID(tunnelIDBytes: Array(repeating: 0, count: 16)),
                                    connIndex: UInt8(truncatingIfNeeded: index), options: options, timeout: configuration.rpcTimeout)
                            } catch let error as RegistrationError {
                                if error.connectionError != nil { metrics.recordRegisterFailure(duplicate: error.isDuplicateConnection) }
                                let reason = "Register tunnel error from server side: \(error.connectionError?.cause ?? error.description)"
                                outcome.withLock { $0 = error.shouldRetry || error.connectionError == nil ? .retryable(reason) : .permanent(Self.permanentAdvice(reason)) }
                                logger.error("Register tunnel error from server side", metadata: ["connIndex": "\(index)", "error": "\(error.connectionError?.cause ?? error.description)"])
                                client.shutdown()
                                await connection.close()
                                group.cancelAll()
                                return
                            }
                            registeredOnce.withLock { $0 = true }
                            input.yield(.registered(index, details, address))
                            if index == 0, !details.tunnelIsRemotelyManaged, let local = configuration.localConfiguration {
                                try? await client.updateLocalConfiguration(local, timeout: configuration.rpcTimeout)
                            }
                            // Serve until shutdown, then unregister and let the edge drain and close. If
                            // the session ends first, the connection is lost: end it so the slot retries.
                            group.addTask { await drain.wait() }
                            if let interval = configuration.pingInterval {
                                let timeout = configuration.pingTimeout
                                group.addTask {
                                    while true {
                                        try await Task.sleep(for: interval)
                                        do {
                                            _ = try await connection.ping(timeout: timeout)
                                        } catch is CancellationError {
                                            throw CancellationError()
                                        } catch {
                                            let reason = "the edge did not answer a PING within \(timeout); replacing the connection"
                                            self.logger.warning("Connection unresponsive", metadata: ["connIndex": "\(index)", "error": "\(reason)"])
                                            throw ConnectionUnresponsive(reason: reason)
                                        }
                                    }
                                }
                            }
                            do {
                                _ = try await group.next()
                            } catch let unresponsive as ConnectionUnresponsive {
                                outcome.withLock { $0 = .retryable(unresponsive.reason) }
                            } catch {}
                            guard drain.isFired else {
                                group.cancelAll()
                                await connection.close()
                                return
                            }
                            do {
                                try await client.unregisterConnection(timeout: configuration.gracePeriod)
                                logger.info("Unregistered tunnel connection", metadata: ["connIndex": "\(index)", "event": "0", "ip": "\(address.host)"])
                                eventContinuation.yield(.unregistered(connIndex: index))
                            } catch {
                                logger.warning("Could not unregister the connection", metadata: ["connIndex": "\(index)", "error": "\(error)"])
                            }
                            client.shutdown()
                            try? await stream.outbound.finish()
                            group.cancelAll()
                        }
                    },
                    streamHandler: streamHandler)
                connectionGroup.cancelAll()
            }
        } catch {
            if outcome.withLock({ $0 }) == nil && !drain.isFired {
                outcome.withLock { $0 = .retryable("connection with the edge failed: \(error)") }
            }
        }
        if drain.isFired { return outcome.withLock { $0.flatMap { if case .permanent = $0 { $0 } else { nil } } } }
        return outcome.withLock { $0 } ?? .retryable(registeredOnce.withLock { $0 } ? "Lost connection with the edge" : "the edge closed the connection before registration")
    }

    /// A registered connection whose PING went unanswered.
    private struct ConnectionUnresponsive: Error {
        let reason: String
    }

    private static func permanentAdvice(_ reason: String) -> String {
        "\(reason). The edge refused this tunnel and asked not to retry, so the connector stops. A deleted tunnel's credentials are revoked for good: `tunnelctl tunnel list` shows the account's live tunnels."
    }

    private func connectionOptions(previousAttempts: Int, localAddress: SocketAddress?) -> ConnectionOptions {
        var ip = [UInt8](repeating: 0, count: 16)
        if let localAddress, let bytes = Self.ipBytes(localAddress) { ip = bytes }
        return ConnectionOptions(
            client: ClientInfo(clientID: configuration.connectorID.tunnelIDBytes, features: configuration.features.shuffled(), version: configuration.version, arch: Self.arch),
            originLocalIP: ip, replaceExisting: false, compressionQuality: 0, numPreviousAttempts: UInt8(clamping: previousAttempts))
    }

    /// The 16-byte (IPv4-mapped for IPv4) form cloudflared sends as `originLocalIp`.
    static func ipBytes(_ address: SocketAddress) -> [UInt8]? {
        guard let text = address.ipAddress else { return nil }
        if case .v4 = address {
            let octets = text.split(separator: ".").compactMap { UInt8($0) }
            guard octets.count == 4 else { return nil }
            return [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF] + octets
        }
        var bytes = [UInt8](repeating: 0, count: 16)
        guard inet_pton(AF_INET6, text, &bytes) == 1 else { return nil }
        return bytes
    }

    static var arch: String {
        #if arch(x86_64)
        "linux_amd64"
        #elseif arch(arm64)
        "linux_arm64"
        #else
        "linux_unknown"
        #endif
    }
}
