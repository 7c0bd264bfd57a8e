#if canImport(FoundationEssentials)
public import FoundationEssentials
#else
public import Foundation
#endif
public import Logging
public import NIOCore
import NIOHTTP1
import NIOPosix
public import Prometheus
public import ServiceLifecycle

/// How many registered connections a tunnel has, for `/ready`.
public struct TunnelReadiness: Sendable, Hashable {
    /// Registered connections right now.
    public var readyConnections: Int
    /// The connector's ID (`connectorId` in the answer).
    public var connectorID: UUID
    /// Whether `/ready` answers 200: by default when at least one connection is registered
    /// (a connector); an edge is ready whenever it serves.
    public var isReady: Bool

    /// Creates a readiness report; `isReady` defaults to `readyConnections > 0`.
    public init(readyConnections: Int, connectorID: UUID, isReady: Bool? = nil) {
        self.readyConnections = readyConnections
        self.connectorID = connectorID
        self.isReady = isReady ?? (readyConnections > 0)
    }
}

/// The local metrics and readiness HTTP server cloudflared runs (`--metrics`, edge-protocol.md 9):
/// `GET /metrics` (Prometheus text), `/healthcheck` (`OK`), `/ready` (200 with at least one
/// registered connection, else 503; JSON `{"status":…,"readyConnections":…,"connectorId":…}`).
/// Other paths get 404.
///
/// Bind first (so a port clash is reported before the tunnel starts), then run it as a
/// `Service`; it stops on graceful shutdown or cancellation:
///
/// ```swift
/// let server = try await TunnelMetricsServer.bind(.init(host: "127.0.0.1", port: 0), registry: registry) {
///     connector.readiness
/// }
/// print("metrics on \(server.localAddress!)")
/// let group = ServiceGroup(services: [server, connector], logger: logger)
/// ```
public final class TunnelMetricsServer: Service, Sendable {
    /// Where and how the server listens.
    public struct Configuration: Sendable, Hashable {
        /// Host to bind: a name (`localhost`) or an IP literal.
        public var host: String
        /// Port; 0 picks one (after trying ``preferredPorts``).
        public var port: Int
        /// Ports tried in order when ``port`` is 0, before a random one. cloudflared's default
        /// `localhost:0` tries 20241…20245 so the address is predictable.
        public var preferredPorts: [Int]
        /// A connection idle (no request read or response written) this long is closed. Default 10 s, as cloudflared.
        public var idleTimeout: TimeAmount

        /// Creates a configuration.
        public init(host: String = "localhost", port: Int = 0, preferredPorts: [Int] = [], idleTimeout: TimeAmount = .seconds(10)) {
            self.host = host
            self.port = port
            self.preferredPorts = preferredPorts
            self.idleTimeout = idleTimeout
        }

        /// cloudflared's default address, `localhost:0`.
        public static let defaultAddress = "localhost:0"

        /// cloudflared's known ports for the default address.
        public static let knownPorts = Array(20241...20245)

        /// Parses a `--metrics` value, `host:port` or `[v6]:port`. The default `localhost:0` tries
        /// ``knownPorts`` first, as cloudflared. `nil` when malformed.
        public init?(address: String) {
            guard let colon = address.lastIndex(of: ":"), let port = Int(address[address.index(after: colon)...]), (0...65535).contains(port) else {
                return nil
            }
            var host = String(address[..<colon])
            if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
            if host.isEmpty { host = "0.0.0.0" }
            self.init(host: host, port: port, preferredPorts: address == Self.defaultAddress ? Self.knownPorts : [])
        }
    }

    private typealias Server = NIOAsyncChannel<NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>, Never>

    private let server: Server
    private let registry: PrometheusCollectorRegistry
    private let readiness: @Sendable () -> TunnelReadiness?
    private let logger: Logger
    private let quickTunnelHostname: String

    /// The address the server listens on.
    public let localAddress: SocketAddress?

    private init(server: Server, registry: PrometheusCollectorRegistry, readiness: @escaping @Sendable () -> TunnelReadiness?, quickTunnelHostname: String, logger: Logger) {
        self.quickTunnelHostname = quickTunnelHostname
        self.server = server
        self.registry = registry
        self.readiness = readiness
        self.logger = logger
        self.localAddress = server.channel.localAddress
    }

    /// Binds the listener.
    ///
    /// - Parameters:
    ///   - configuration: Address and timeouts.
    ///   - registry: What `/metrics` serves.
    ///   - quickTunnelHostname: What `/quicktunnel` reports (`{"hostname":"…"}`, empty for a
    ///     named tunnel), as cloudflared's metrics server.
    ///   - readiness: What `/ready` reports; `nil` answers 503 with no connections.
    /// - Throws: The bind error (for example the port is in use).
    public static func bind(
        _ configuration: Configuration, registry: PrometheusCollectorRegistry, quickTunnelHostname: String = "", logger: Logger = Logger(label: "tunnel.metrics"),
        readiness: @escaping @Sendable () -> TunnelReadiness?
    ) async throws -> TunnelMetricsServer {
        let host = configuration.host == "localhost" ? "127.0.0.1" : configuration.host
        var candidates = configuration.port == 0 ? configuration.preferredPorts : []
        candidates.append(configuration.port)
        var lastError: (any Error)?
        for port in candidates {
            do {
                let server = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                    .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
                    .bind(host: host, port: port) { channel in
                        channel.eventLoop.makeCompletedFuture {
                            try channel.pipeline.syncOperations.configureHTTPServerPipeline(withErrorHandling: true)
                            try channel.pipeline.syncOperations.addHandler(IdleStateHandler(allTimeout: configuration.idleTimeout))
                            try channel.pipeline.syncOperations.addHandler(CloseOnIdle())
                            return try NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>(wrappingChannelSynchronously: channel)
                        }
                    }
                return TunnelMetricsServer(server: server, registry: registry, readiness: readiness, quickTunnelHostname: quickTunnelHostname, logger: logger)
            } catch {
                lastError = error
            }
        }
        throw lastError ?? ChannelError.inappropriateOperationForState
    }

    /// Serves until graceful shutdown or cancellation, then closes the listener.
    public func run() async throws {
        do {
            try await cancelWhenGracefulShutdown {
                try await self.server.executeThenClose { connections in
                    try await withThrowingDiscardingTaskGroup { group in
                        for try await connection in connections {
                            group.addTask { await self.serve(connection) }
                        }
                    }
                }
            }
        } catch is CancellationError {
            // Stopping is the normal way out.
        } catch {
            logger.error("Metrics server stopped", metadata: ["error": "\(error)"])
            throw error
        }
    }

    private func serve(_ connection: NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>) async {
        do {
            try await connection.executeThenClose { inbound, outbound in
                var path: String?
                var keepAlive = true
                for try await part in inbound {
                    switch part {
                    case .head(let head):
                        path = head.uri
                        keepAlive = head.isKeepAlive
                    case .body:
                        continue
                    case .end:
                        let (status, contentType, body) = respond(to: path ?? "/")
                        var headers = HTTPHeaders([("Content-Type", contentType), ("Content-Length", "\(body.readableBytes)")])
                        if !keepAlive { headers.add(name: "Connection", value: "close") }
                        try await outbound.write(.head(HTTPResponseHead(version: .http1_1, status: status, headers: headers)))
                        try await outbound.write(.body(.byteBuffer(body)))
                        try await outbound.write(.end(nil))
                        if !keepAlive { return }
                    }
                }
            }
        } catch {
            logger.debug("metrics connection ended", metadata: ["error": "\(error)"])
        }
    }

    private func respond(to uri: String) -> (HTTPResponseStatus, String, ByteBuffer) {
        var path = Substring(uri)
        if let query = path.firstIndex(of: "?") { path = path[..<query] }
        switch path {
        case "/metrics":
            var bytes: [UInt8] = []
            registry.emit(into: &bytes)
            return (.ok, "text/plain; version=0.0.4; charset=utf-8", ByteBuffer(bytes: bytes))
        case "/healthcheck":
            return (.ok, "text/plain; charset=utf-8", ByteBuffer(string: "OK\n"))
        case "/quicktunnel":
            let escaped = quickTunnelHostname.unicodeScalars.allSatisfy { $0.isASCII && $0 != "\"" && $0 != "\\" && $0.value >= 0x20 } ? quickTunnelHostname : ""
            return (.ok, "application/json", ByteBuffer(string: "{\"hostname\":\"\(escaped)\"}\n"))
        case "/ready":
            let report = readiness()
            let ready = report?.readyConnections ?? 0
            let status: HTTPResponseStatus = report?.isReady == true ? .ok : .serviceUnavailable
            let id = report?.connectorID.uuidString.lowercased() ?? "00000000-0000-0000-0000-000000000000"
            let json = "{\"status\":\(status.code),\"readyConnections\":\(ready),\"connectorId\":\"\(id)\"}\n"
            return (status, "application/json", ByteBuffer(string: json))
        default:
            return (.notFound, "text/plain; charset=utf-8", ByteBuffer(string: "404 page not found\n"))
        }
    }
}

/// Closes a connection when ``IdleStateHandler`` reports it idle.
private final class CloseOnIdle: ChannelInboundHandler, Sendable {
    typealias InboundIn = HTTPServerRequestPart

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is IdleStateHandler.IdleStateEvent {
            context.close(promise: nil)
        } else {
            context.fireUserInboundEventTriggered(event)
        }
    }
}
