public import AsyncHTTPClient
public import Foundation
public import Logging
public import NIOCore
public import NIOHTTP1
import NIOPosix
import NIOSSL
public import TunnelCore
public import TunnelEdge
import TunnelOrigin
public import TunnelTransport

/// What a ``TestTunnel`` serves.
public enum TestOrigin: Sendable {
    /// The built-in hello-world page (cloudflared's `hello_world` service).
    case helloWorld
    /// An origin that runs already, e.g. `http://127.0.0.1:8000`.
    case url(String)
    /// An in-process HTTP/1.1 origin answering every request with `respond`.
    case respond(@Sendable (TestOriginRequest) -> TestOriginResponse)
}

/// A request as the in-process origin received it.
public struct TestOriginRequest: Sendable {
    /// The method.
    public var method: HTTPMethod
    /// The path and query.
    public var uri: String
    /// The headers as the connector sent them (`Host` is the tunnel hostname).
    public var headers: HTTPHeaders
    /// The whole body.
    public var body: ByteBuffer
}

/// What the in-process origin answers.
public struct TestOriginResponse: Sendable {
    /// The status. Default 200.
    public var status: HTTPResponseStatus
    /// Headers besides `Content-Length`.
    public var headers: HTTPHeaders
    /// The body.
    public var body: ByteBuffer

    /// A response with a text body.
    public init(status: HTTPResponseStatus = .ok, headers: HTTPHeaders = [:], body: String = "") {
        self.init(status: status, headers: headers, body: ByteBuffer(string: body))
    }

    /// A response with a byte body.
    public init(status: HTTPResponseStatus = .ok, headers: HTTPHeaders = [:], body: ByteBuffer) {
        self.status = status
        self.headers = headers
        self.body = body
    }
}

/// An edge, a tunnel with its connector, and an origin, all in this process on loopback ports,
/// as ``withTestTunnel(origin:hostname:connections:logger:_:)`` hands them to a test.
public struct TestTunnel: Sendable {
    /// `http://127.0.0.1:<visitor port>`: where visitors connect (send `Host: hostname`).
    public let url: String
    /// The hostname the edge routes to the tunnel.
    public let hostname: String
    /// The edge (its `registry`, `events`, addresses).
    public let edge: TunnelEdgeServer
    /// The connector (its `events`, `registeredConnections`, `readiness`).
    public let connector: TunnelConnector
    /// The tunnel as the edge knows it (ID, account, secret).
    public let tunnel: EdgeTunnel
    /// A visitor's HTTP client: requests go to ``url`` with `Host: hostname`.
    public let client: TestTunnelClient
}

/// A visitor of a ``TestTunnel``.
public struct TestTunnelClient: Sendable {
    let base: String
    let hostname: String
    let httpClient: HTTPClient

    /// Sends one request through the tunnel; the whole response (bodies up to `maxBodyBytes`).
    public func request(_ method: HTTPMethod = .GET, _ path: String = "/", headers: HTTPHeaders = [:], body: ByteBuffer? = nil, maxBodyBytes: Int = 64 << 20) async throws -> TestTunnelResponse {
        var request = HTTPClientRequest(url: base + (path.hasPrefix("/") ? path : "/" + path))
        request.method = method
        request.headers = headers
        if !request.headers.contains(name: "Host") { request.headers.add(name: "Host", value: hostname) }
        if let body { request.body = .bytes(body) }
        let response = try await httpClient.execute(request, timeout: .seconds(30))
        let collected = try await response.body.collect(upTo: maxBodyBytes)
        return TestTunnelResponse(status: response.status, headers: response.headers, body: collected)
    }

    /// `GET path`.
    public func get(_ path: String = "/") async throws -> TestTunnelResponse {
        try await request(.GET, path)
    }
}

/// A response a visitor got through the tunnel.
public struct TestTunnelResponse: Sendable {
    /// The status.
    public var status: HTTPResponseStatus
    /// The headers.
    public var headers: HTTPHeaders
    /// The body.
    public var body: ByteBuffer
    /// The body as UTF-8 text.
    public var text: String { String(buffer: body) }
}

/// Starts an edge on ephemeral loopback ports with a throw-away CA, a tunnel whose connector has
/// `connections` registered connections, and `origin`; runs `body` with them; then shuts
/// everything down (the connector unregisters and drains, the edge and the origin close their
/// ports) before returning, also when `body` throws.
///
/// ```swift
/// try await withTestTunnel(origin: .respond { _ in TestOriginResponse(body: "hi") }) { tunnel in
///     let response = try await tunnel.client.get("/")
///     assert(response.status == .ok && response.text == "hi")
/// }
/// ```
public func withTestTunnel<Result: Sendable>(
    origin: TestOrigin = .helloWorld, hostname: String = "app.test", connections: Int = 4,
    logger: Logger = Logger(label: "tunnel.testing", factory: { _ in SwiftLogNoOpLogHandler() }),
    _ body: (TestTunnel) async throws -> Result
) async throws -> Result {
    let pki = try TestPKI()
    defer { pki.remove() }
    var originServer: (any Channel)?
    let service: String
    switch origin {
    case .helloWorld: service = "hello_world"
    case .url(let url): service = url
    case .respond(let respond):
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    try channel.pipeline.syncOperations.addHandler(TestOriginHandler(respond: respond))
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        originServer = channel
        service = "http://127.0.0.1:\(channel.localAddress?.port ?? 0)"
    }
    let httpClient = HTTPClient(eventLoopGroupProvider: .singleton)
    do {
        let tunnel = EdgeTunnel(id: UUID(), accountTag: "0123456789abcdef0123456789abcdef", secret: .random(), name: "test", hostnames: [hostname])
        let edge = TunnelEdgeServer(
            configuration: EdgeConfiguration(
                certificateChain: try NIOSSLCertificate.fromPEMFile(pki.certPath), privateKey: try NIOSSLPrivateKey(file: pki.keyPath, format: .pem),
                connectorPort: 0, visitorPort: 0, locationName: "TEST", gracePeriod: .seconds(5)),
            store: InMemoryTunnelStore([tunnel]), logger: logger)
        let result = try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await edge.run() }
            do {
                let addresses = try await edge.listeningAddresses()
                let connector = TunnelConnector(
                    configuration: TunnelConnectorConfiguration(
                        credentials: tunnel.credentials,
                        edgeAddresses: Array(repeating: EdgeAddress(host: "127.0.0.1", port: addresses.connector.port ?? 0), count: connections),
                        edgeTrustRoots: try NIOSSLCertificate.fromPEMFile(pki.caPath), haConnections: connections, gracePeriod: .seconds(5),
                        registrationInterval: .zero),
                    proxy: OriginProxy(ingress: try Ingress(rules: [IngressRuleConfig(service: service)]), client: OriginHTTPClient(logger: logger), logger: logger),
                    logger: logger)
                group.addTask { try await connector.run() }
                // Ready once the connector has every connection registered (the edge saw them
                // first). The connector's `events` go on from there for the test.
                var registered = 0
                for await event in connector.events {
                    if case .registered = event { registered += 1 }
                    if case .stopped(let failure) = event {
                        throw TestTunnelError("the connector stopped before registering: \(failure ?? "shut down")")
                    }
                    if registered == connections { break }
                }
                let testTunnel = TestTunnel(
                    url: "http://127.0.0.1:\(addresses.visitor.port ?? 0)", hostname: hostname, edge: edge, connector: connector, tunnel: tunnel,
                    client: TestTunnelClient(base: "http://127.0.0.1:\(addresses.visitor.port ?? 0)", hostname: hostname, httpClient: httpClient))
                do {
                    let value = try await body(testTunnel)
                    // The visitor's kept-alive connections first, so the edge has nothing to drain.
                    try await httpClient.shutdown()
                    connector.shutdown()
                    edge.shutdown()
                    try await group.waitForAll()
                    return value
                } catch {
                    try? await httpClient.shutdown()
                    connector.shutdown()
                    edge.shutdown()
                    try? await group.waitForAll()
                    throw error
                }
            } catch {
                edge.shutdown()
                group.cancelAll()
                try? await group.waitForAll()
                throw error
            }
        }
        try await originServer?.close()
        return result
    } catch {
        try? await httpClient.shutdown()
        try? await originServer?.close()
        throw error
    }
}

/// Why a test tunnel could not start.
public struct TestTunnelError: Error, CustomStringConvertible {
    /// What happened.
    public let description: String

    init(_ description: String) { self.description = description }
}

/// The in-process origin: one response per request, from a closure.
private final class TestOriginHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    let respond: @Sendable (TestOriginRequest) -> TestOriginResponse
    // Touched on the channel's event loop only.
    private var pending: (head: HTTPRequestHead, body: ByteBuffer)?

    init(respond: @escaping @Sendable (TestOriginRequest) -> TestOriginResponse) {
        self.respond = respond
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            pending = (head, context.channel.allocator.buffer(capacity: 0))
        case .body(var chunk):
            pending?.body.writeBuffer(&chunk)
        case .end:
            guard let (head, body) = pending else { return }
            pending = nil
            let response = respond(TestOriginRequest(method: head.method, uri: head.uri, headers: head.headers, body: body))
            var headers = response.headers
            headers.replaceOrAdd(name: "Content-Length", value: "\(response.body.readableBytes)")
            context.write(wrapOutboundOut(.head(HTTPResponseHead(version: head.version, status: response.status, headers: headers))), promise: nil)
            context.write(wrapOutboundOut(.body(.byteBuffer(response.body))), promise: nil)
            context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        }
    }
}
