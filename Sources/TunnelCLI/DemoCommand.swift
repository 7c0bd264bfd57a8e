import ArgumentParser
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import NIOSSL
import ServiceLifecycle
import TunnelCore
import TunnelEdge
import TunnelOrigin
import TunnelTransport

/// `tunnelctl demo`: an edge, a tunnel and an origin in one process, and one request through them.
///
/// This is also the shortest example of embedding swift-tunnel: an edge (`TunnelEdgeServer`),
/// a connector (`TunnelConnector`) and an origin proxy (`OriginProxy`) started through the
/// public libraries, nothing shelled out.
struct DemoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Run an edge, a tunnel and an origin on loopback, and send a request through them.",
        discussion: """
            Needs no account, configuration or network beyond loopback. Ports are ephemeral, the \
            edge's CA and certificate are generated into a temporary directory that is removed on exit. \
            Keeps serving until Ctrl-C (then unregisters and shuts down gracefully), or exits after \
            the first request with --once (status 0 when it succeeded).
            """
    )

    @Option(name: .long, help: "Your own origin instead of the built-in hello_world, e.g. http://127.0.0.1:8000.")
    var url: String?

    @Option(name: .long, help: "The hostname the demo tunnel serves.")
    var hostname = "demo.tunnel.test"

    @Flag(name: .long, help: "Exit after the first request: status 0 if it succeeded, 1 with the reason otherwise.")
    var once = false

    @Option(name: .long, help: "Log level for the edge and connector: debug, info, warning, error.")
    var loglevel = "warning"

    func run() async throws {
        let level = Logger.Level(rawValue: loglevel == "warn" ? "warning" : loglevel) ?? .warning
        var logger = Logger(label: "tunnelctl.demo")
        logger.logLevel = level
        let state = FileManager.default.temporaryDirectory.appendingPathComponent("tunnelctl-demo-\(UUID().uuidString.prefix(8))").path
        defer { try? FileManager.default.removeItem(atPath: state) }
        func step(_ text: String) { print("• \(text)") }

        // 1. The edge: its own CA and certificate, a tunnel with fresh credentials, ephemeral ports.
        let pki = try EdgePKI.loadOrCreate(in: state)
        step("generated an edge CA and certificate in \(state)")
        let tunnel = EdgeTunnel(id: UUID(), accountTag: "demo0000000000000000000000000000", secret: .random(), name: "demo", hostnames: [hostname])
        let edge = TunnelEdgeServer(
            configuration: EdgeConfiguration(
                certificateChain: try NIOSSLCertificate.fromPEMFile(pki.certificatePath),
                privateKey: try NIOSSLPrivateKey(file: pki.keyPath, format: .pem),
                connectorPort: 0, visitorPort: 0, locationName: "DEMO", gracePeriod: .seconds(5)),
            store: InMemoryTunnelStore([tunnel]), logger: logger)

        // 2. The connector with 4 HA connections, serving hello_world or the given origin.
        let service = url ?? "hello_world"
        let ingress: Ingress
        do {
            ingress = try Ingress(rules: [IngressRuleConfig(service: service)])
        } catch {
            throw ValidationError("--url \(service) is not a valid origin: \(error)")
        }
        let demo = self
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await edge.run() }
            let addresses = try await edge.listeningAddresses()
            let connectorPort = addresses.connector.port ?? 0
            let visitorPort = addresses.visitor.port ?? 0
            step("edge listening: connectors on 127.0.0.1:\(connectorPort) (TLS), visitors on 127.0.0.1:\(visitorPort)")

            let connector = TunnelConnector(
                configuration: TunnelConnectorConfiguration(
                    credentials: tunnel.credentials,
                    edgeAddresses: Array(repeating: EdgeAddress(host: "127.0.0.1", port: connectorPort), count: 4),
                    edgeTrustRoots: try NIOSSLCertificate.fromPEMFile(pki.caPath),
                    gracePeriod: .seconds(5)),
                proxy: OriginProxy(ingress: ingress, client: OriginHTTPClient(logger: logger), logger: logger),
                logger: logger)
            try await withThrowingTaskGroup(of: Void.self) { connectorGroup in
            connectorGroup.addTask { try await connector.run() }
            step("tunnel \(tunnel.id.lowercasedString) created; connector dialing with 4 HA connections")
            let deadline = ContinuousClock.now + .seconds(20)
            while connector.registeredConnections.count < 4 && ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(20))
            }
            let registered = connector.registeredConnections.sorted { $0.key < $1.key }
            for (index, id) in registered {
                step("registered connection #\(index) \(id.lowercasedString) location=DEMO protocol=http2")
            }

            // 3. One request through the whole path, as a visitor would send it.
            let started = ContinuousClock.now
            let result = await Self.visit(port: visitorPort, host: hostname, logger: logger)
            let elapsed = started.duration(to: .now)
            let milliseconds = Double(elapsed.components.attoseconds / 1_000_000_000_000) / 1000 + Double(elapsed.components.seconds) * 1000
            print("")
            print("visitor → edge 127.0.0.1:\(visitorPort) → tunnel connection (least busy of \(registered.count)) → connector → origin \(service)")
            switch result {
            case .success(let (status, body)):
                print("GET http://\(hostname)/ → \(status) in \(String(format: "%.1f", milliseconds)) ms, \(body.count) bytes")
                if let title = body.range(of: "<h1>").flatMap({ start in body.range(of: "</h1>").map { body[start.upperBound..<$0.lowerBound] } }) {
                    print("  \(title)")
                }
                print("")
                print("Try it yourself:  curl -H 'Host: \(hostname)' http://127.0.0.1:\(visitorPort)/")
                if demo.once {
                    connector.shutdown()
                    try await connectorGroup.waitForAll()
                    edge.shutdown()
                    try await group.waitForAll()
                    if !(200..<400).contains(status) { throw ExitCode.failure }
                    return
                }
            case .failure(let reason):
                print("the request failed: \(reason)")
                if demo.once {
                    connector.shutdown()
                    try? await connectorGroup.waitForAll()
                    edge.shutdown()
                    try? await group.waitForAll()
                    throw ExitCode.failure
                }
            }
            print("Serving until Ctrl-C.")
            // 4. Ctrl-C: unregister the connections, drain, release the ports.
            let signals = try await Self.waitForSignal()
            print("\nreceived \(signals); shutting down gracefully")
            connector.shutdown()
            try await connectorGroup.waitForAll()
            edge.shutdown()
            try await group.waitForAll()
            print("connections unregistered, ports released")
            }
        }
    }

    /// Sends `GET /` to the edge's visitor port with the tunnel's `Host`.
    static func visit(port: Int, host: String, logger: Logger) async -> Result<(Int, String), DemoFailure> {
        let client = OriginHTTPClient(logger: logger)
        var head = HTTPRequestHead(version: .http1_1, method: .GET, uri: "/")
        head.headers.add(name: "Host", value: host)
        head.headers.add(name: "User-Agent", value: "tunnelctl-demo")
        let writer = DemoResponse()
        let outcome = await client.execute(head, body: Optional<DemoBody>.none, endpoint: OriginEndpoint(address: .tcp(host: "127.0.0.1", port: port)), writer: writer)
        switch outcome {
        case .completed:
            let status = writer.status
            if status == 502 {
                return .failure(DemoFailure(reason: "502 Bad Gateway: the connector could not reach the origin (is --url pointing at a running server?)"))
            }
            return .success((status, writer.bodyText))
        case .failedBeforeResponse(let error), .failedDuringResponse(let error):
            return .failure(DemoFailure(reason: "\(error)"))
        }
    }

    static func waitForSignal() async throws -> String {
        let (stream, continuation) = AsyncStream<String>.makeStream()
        let sources = [SIGINT, SIGTERM].map { number -> any DispatchSourceSignal in
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number)
            source.setEventHandler { continuation.yield(number == SIGINT ? "SIGINT" : "SIGTERM") }
            source.resume()
            return source
        }
        defer { sources.forEach { $0.cancel() } }
        for await name in stream { return name }
        return "end"
    }
}

struct DemoFailure: Error, CustomStringConvertible {
    let reason: String
    var description: String { reason }
}

/// The demo's request has no body.
struct DemoBody: AsyncSequence, Sendable {
    typealias Element = ByteBuffer
    struct AsyncIterator: AsyncIteratorProtocol {
        mutating func next() async throws -> ByteBuffer? { nil }
    }
    func makeAsyncIterator() -> AsyncIterator { AsyncIterator() }
}

/// Collects the visitor's response.
final class DemoResponse: OriginResponseWriter, @unchecked Sendable {
    private let lock = NSLock()
    private var head: HTTPResponseHead?
    private var body = ByteBuffer()

    func writeHead(_ head: HTTPResponseHead) async throws { lock.withLock { self.head = head } }
    func writeBody(_ buffer: ByteBuffer) async throws {
        lock.withLock {
            var buffer = buffer
            body.writeBuffer(&buffer)
        }
    }
    func writeEnd(trailers: HTTPHeaders?) async throws {}

    var status: Int { lock.withLock { Int(head?.status.code ?? 0) } }
    var bodyText: String { lock.withLock { String(buffer: body) } }
}
