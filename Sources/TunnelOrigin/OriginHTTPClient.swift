public import Logging
public import NIOCore
public import NIOHTTP1
import NIOConcurrencyHelpers
import NIOPosix
import NIOSSL
public import TunnelCore
import TunnelTransport

/// Sends HTTP/1.1 requests to origins and streams the responses back, keeping idle
/// connections per ``OriginEndpoint`` for reuse (cloudflared's `keepAliveConnections` /
/// `keepAliveTimeout`).
///
/// Connections are pooled while ``run()`` is running (the connector runs it as part of its
/// service group); without it every request uses a fresh connection, which is handy in tests.
public final class OriginHTTPClient: Sendable {
    /// Limits and timeouts of the client.
    public struct Configuration: Sendable, Hashable {
        /// Maximum idle connections kept per endpoint (`keepAliveConnections`, default 100).
        public var keepAliveConnections: Int
        /// How long an idle connection is kept (`keepAliveTimeout`, default 90 s).
        public var keepAliveTimeout: Duration
        /// TCP connect timeout (`connectTimeout`, default 30 s).
        public var connectTimeout: Duration
        /// TLS handshake timeout (`tlsTimeout`, default 10 s).
        public var tlsTimeout: Duration

        /// Creates a configuration with cloudflared's defaults.
        public init(
            keepAliveConnections: Int = 100,
            keepAliveTimeout: Duration = .seconds(90),
            connectTimeout: Duration = .seconds(30),
            tlsTimeout: Duration = .seconds(10)
        ) {
            self.keepAliveConnections = keepAliveConnections
            self.keepAliveTimeout = keepAliveTimeout
            self.connectTimeout = connectTimeout
            self.tlsTimeout = tlsTimeout
        }

        /// The client settings of an ingress rule's effective options.
        public init(options: OriginRequestConfiguration) {
            self.init(
                keepAliveConnections: options.keepAliveConnections,
                keepAliveTimeout: options.keepAliveTimeout,
                connectTimeout: options.connectTimeout,
                tlsTimeout: options.tlsTimeout
            )
        }
    }

    typealias Connection = NIOAsyncChannel<HTTPClientResponsePart, HTTPClientRequestPart>

    private struct IdleConnection {
        var id: Int
        var channel: any Channel
        var jobs: AsyncStream<OriginJob>.Continuation
    }

    private struct State {
        var idle: [OriginEndpoint: [IdleConnection]] = [:]
        var spawner: AsyncStream<@Sendable () async -> Void>.Continuation?
        var nextID = 0
    }

    private let state = NIOLockedValueBox(State())
    /// Idle connections for requests served on an event loop, one pool per loop.
    private let loopPools = NIOLockedValueBox([ObjectIdentifier: NIOLoopBound<OriginEventLoopPool>]())
    private let group: any EventLoopGroup
    private let tlsContexts: OriginTLSContextCache
    let logger: Logger

    /// Creates a client on `group` (the shared NIO event loops by default).
    public init(group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton, logger: Logger = Logger(label: "tunnel.origin")) {
        self.group = group
        self.tlsContexts = OriginTLSContextCache()
        self.logger = logger
    }

    /// Runs the connection pool until cancelled or shut down; idle connections are closed on exit.
    public func run() async {
        let (spawns, continuation) = AsyncStream<@Sendable () async -> Void>.makeStream()
        state.withLockedValue { $0.spawner = continuation }
        await withTaskCancellationHandler {
            await withDiscardingTaskGroup { group in
                for await spawn in spawns {
                    group.addTask { await spawn() }
                }
                // Shutting down: close idle connections so their tasks end.
                let idle = state.withLockedValue { state -> [IdleConnection] in
                    defer { state.idle = [:] }
                    return state.idle.values.flatMap { $0 }
                }
                for connection in idle {
                    connection.jobs.finish()
                }
            }
        } onCancel: {
            continuation.finish()
        }
        state.withLockedValue { $0.spawner = nil }
        let pools = self.loopPools.withLockedValue { pools in
            defer { pools = [:] }
            return Array(pools.values)
        }
        for pool in pools {
            pool.eventLoop.execute { pool.value.shutDown() }
        }
    }

    /// The pool of `eventLoop`'s idle connections while ``run()`` is running, else `nil` (every
    /// request then uses a fresh connection). Call on `eventLoop`.
    func eventLoopPool(for eventLoop: any EventLoop) -> OriginEventLoopPool? {
        guard self.state.withLockedValue({ $0.spawner != nil }) else { return nil }
        let bound = self.loopPools.withLockedValue { pools in
            let key = ObjectIdentifier(eventLoop)
            if let pool = pools[key] { return pool }
            let pool = NIOLoopBound(OriginEventLoopPool(eventLoop: eventLoop), eventLoop: eventLoop)
            pools[key] = pool
            return pool
        }
        return bound.value
    }

    /// Number of idle connections currently kept for `endpoint`.
    public func idleConnectionCount(for endpoint: OriginEndpoint) -> Int {
        state.withLockedValue { $0.idle[endpoint]?.count ?? 0 }
    }

    /// Sends one request to `endpoint` and streams the response into `writer`.
    ///
    /// - Parameters:
    ///   - head: The request head as it goes to the origin (Host included).
    ///   - body: The request body, or `nil` when the request has none.
    ///   - endpoint: Where to send it.
    ///   - configuration: Timeouts and pool limits for this endpoint.
    ///   - writer: Receives the response as it arrives.
    public func execute<Body: AsyncSequence & Sendable>(
        _ head: HTTPRequestHead,
        body: Body?,
        endpoint: OriginEndpoint,
        configuration: Configuration = Configuration(),
        writer: some OriginResponseWriter
    ) async -> OriginExchangeOutcome where Body.Element == ByteBuffer {
        var head = head
        Self.frame(&head, hasBody: body != nil)
        let job = OriginJob(head: head, body: body.map(OriginRequestBody.init), writer: writer)
        return await withTaskCancellationHandler {
            await dispatch(job, endpoint: endpoint, configuration: configuration)
        } onCancel: {
            job.cancel()
        }
    }

    /// Sets framing headers the way Go's HTTP client does for a proxied request.
    static func frame(_ head: inout HTTPRequestHead, hasBody: Bool) {
        if hasBody {
            if !head.headers.contains(name: "content-length") {
                head.headers.replaceOrAdd(name: "transfer-encoding", value: "chunked")
            }
        } else {
            head.headers.remove(name: "transfer-encoding")
            switch head.method {
            case .POST, .PUT, .PATCH:
                head.headers.replaceOrAdd(name: "content-length", value: "0")
            default:
                head.headers.remove(name: "content-length")
            }
        }
    }

    private func dispatch(_ job: OriginJob, endpoint: OriginEndpoint, configuration: Configuration) async -> OriginExchangeOutcome {
        // An idle connection, if one is still open.
        let reused: IdleConnection? = state.withLockedValue { state in
            while var list = state.idle[endpoint], let candidate = list.popLast() {
                state.idle[endpoint] = list.isEmpty ? nil : list
                if candidate.channel.isActive { return candidate }
                candidate.jobs.finish()
            }
            return nil
        }
        if let reused {
            reused.jobs.yield(job)
            let outcome = await job.outcome()
            // A kept-alive connection the origin closed just before we used it: retry once on a
            // fresh connection when nothing of the request or response has been streamed yet.
            if case .failedBeforeResponse = outcome, job.isRetryable {
                let retry = job.retried()
                return await startConnection(retry, endpoint: endpoint, configuration: configuration)
            }
            return outcome
        }
        return await startConnection(job, endpoint: endpoint, configuration: configuration)
    }

    private func startConnection(_ job: OriginJob, endpoint: OriginEndpoint, configuration: Configuration) async -> OriginExchangeOutcome {
        let spawner = state.withLockedValue { $0.spawner }
        if let spawner {
            let yielded = spawner.yield { [self] in
                await self.connectionMain(endpoint: endpoint, configuration: configuration, firstJob: job, pooled: true)
            }
            if case .enqueued = yielded {
                return await job.outcome()
            }
        }
        await connectionMain(endpoint: endpoint, configuration: configuration, firstJob: job, pooled: false)
        return await job.outcome()
    }

    /// Owns one origin connection: runs its first job, then (when pooled) waits idle for more.
    private func connectionMain(endpoint: OriginEndpoint, configuration: Configuration, firstJob: OriginJob, pooled: Bool) async {
        let connection: Connection
        do {
            connection = try await connect(endpoint, configuration: configuration)
        } catch {
            firstJob.finish(.failedBeforeResponse(error))
            return
        }
        firstJob.attach(connection.channel)
        let (jobs, continuation) = AsyncStream<OriginJob>.makeStream()
        do {
            try await connection.executeThenClose { inbound, outbound in
                var responses = inbound.makeAsyncIterator()
                var jobIterator = jobs.makeAsyncIterator()
                var current: OriginJob? = firstJob
                while let job = current {
                    job.attach(connection.channel)
                    guard let reusable = await job.run(responses: &responses, outbound: outbound, logger: logger) else { break }
                    // Back in the pool before the caller hears the response is done.
                    let checkedIn = pooled && reusable && checkIn(endpoint, connection.channel, continuation, configuration)
                    job.finish(.completed)
                    guard checkedIn else { break }
                    current = await jobIterator.next()
                }
            }
        } catch {
            firstJob.finish(.failedBeforeResponse(error))
        }
        continuation.finish()
    }

    /// Puts a connection back into the idle list; `false` when the list is full.
    private func checkIn(_ endpoint: OriginEndpoint, _ channel: any Channel, _ jobs: AsyncStream<OriginJob>.Continuation, _ configuration: Configuration) -> Bool {
        let id: Int? = state.withLockedValue { state in
            guard state.spawner != nil, channel.isActive else { return nil }
            var list = state.idle[endpoint] ?? []
            guard list.count < configuration.keepAliveConnections else { return nil }
            state.nextID += 1
            list.append(IdleConnection(id: state.nextID, channel: channel, jobs: jobs))
            state.idle[endpoint] = list
            return state.nextID
        }
        guard let id else { return false }
        let timeout = configuration.keepAliveTimeout.timeAmount
        let expiry = channel.eventLoop.scheduleTask(in: timeout) { [self] in
            self.expire(endpoint, id: id)
        }
        // Also forget it as soon as the origin closes it.
        channel.closeFuture.whenComplete { [self] _ in
            expiry.cancel()
            self.expire(endpoint, id: id)
        }
        return true
    }

    private func expire(_ endpoint: OriginEndpoint, id: Int) {
        let removed: IdleConnection? = state.withLockedValue { state in
            guard var list = state.idle[endpoint], let index = list.firstIndex(where: { $0.id == id }) else { return nil }
            let connection = list.remove(at: index)
            state.idle[endpoint] = list.isEmpty ? nil : list
            return connection
        }
        removed?.jobs.finish()
    }

    private func connect(_ endpoint: OriginEndpoint, configuration: Configuration) async throws -> Connection {
        let sslContext = try endpoint.tls.map { try tlsContexts.context(for: $0) }
        let tlsTimeout = configuration.tlsTimeout.timeAmount
        let bootstrap = ClientBootstrap(group: group)
            .connectTimeout(configuration.connectTimeout.timeAmount)
            .channelOption(.socketOption(.so_keepalive), value: 1)
        let initializer: @Sendable (any Channel) -> EventLoopFuture<Connection> = { channel in
            channel.eventLoop.makeCompletedFuture {
                if let sslContext, let tls = endpoint.tls {
                    let serverName = tls.serverName.isIPAddress ? nil : tls.serverName
                    let handler = try NIOSSLClientHandler(context: sslContext, serverHostname: serverName)
                    try channel.pipeline.syncOperations.addHandler(handler)
                    try channel.pipeline.syncOperations.addHandler(TLSHandshakeTimeoutHandler(timeout: tlsTimeout))
                }
                try channel.pipeline.syncOperations.addHTTPClientHandlers()
                return try Connection(wrappingChannelSynchronously: channel)
            }
        }
        switch endpoint.address {
        case .tcp(let host, let port):
            return try await bootstrap.connect(host: host, port: port, channelInitializer: initializer)
        case .unixSocket(let path):
            return try await bootstrap.connect(unixDomainSocketPath: path, channelInitializer: initializer)
        }
    }
}

extension String {
    var isIPAddress: Bool {
        (try? SocketAddress(ipAddress: self, port: 0)) != nil
    }
}
