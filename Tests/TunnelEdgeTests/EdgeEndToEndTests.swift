import Foundation
import NIOCore
import NIOSSL
import Testing
import TunnelCore
import TunnelEdge
import TunnelOrigin
import TunnelTesting
import TunnelTransport

/// Our edge with our connector, over real TCP + TLS on loopback, with curl as the visitor.
@Suite("edge end to end", .serialized)
struct EdgeEndToEndTests {
    static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    struct Running {
        let edge: TunnelEdgeServer
        let store: InMemoryTunnelStore
        let tunnel: EdgeTunnel
        let connectorPort: Int
        let visitorPort: Int
    }

    /// Starts an edge with one tunnel for `hostnames`, runs `body`, shuts the edge down.
    static func withEdge(pki: TestPKI, hostnames: [String] = ["app.test"], _ body: (Running) async throws -> Void) async throws {
        let tunnel = EdgeTunnel(id: UUID(), accountTag: "0123456789abcdef0123456789abcdef", secret: .random(), name: "web", hostnames: hostnames)
        let store = InMemoryTunnelStore([tunnel])
        let configuration = EdgeConfiguration(
            certificateChain: try NIOSSLCertificate.fromPEMFile(pki.certPath),
            privateKey: try NIOSSLPrivateKey(file: pki.keyPath, format: .pem),
            connectorPort: 0, visitorPort: 0, gracePeriod: .seconds(5))
        let edge = TunnelEdgeServer(configuration: configuration, store: store)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await edge.run() }
            let addresses = try await edge.listeningAddresses()
            try await body(Running(edge: edge, store: store, tunnel: tunnel, connectorPort: addresses.connector.port!, visitorPort: addresses.visitor.port!))
            edge.shutdown()
            try await group.waitForAll()
        }
    }

    static func connector(for running: Running, pki: TestPKI, service: String, haConnections: Int = 4) throws -> TunnelConnector {
        let configuration = TunnelConnectorConfiguration(
            credentials: running.tunnel.credentials,
            edgeAddresses: Array(repeating: EdgeAddress(host: "127.0.0.1", port: running.connectorPort), count: haConnections),
            edgeTrustRoots: try NIOSSLCertificate.fromPEMFile(pki.caPath),
            haConnections: haConnections, retries: 1, gracePeriod: .seconds(5))
        return TunnelConnector(configuration: configuration, proxy: OriginProxy(ingress: try Ingress(rules: [IngressRuleConfig(service: service)]), client: OriginHTTPClient()))
    }

    static func curl(_ arguments: [String]) async throws -> (status: Int, body: String) {
        let output = FileManager.default.temporaryDirectory.appendingPathComponent("curl-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: output) }
        let process = try PeerProcess("curl", ["-sS", "--max-time", "30", "-o", output.path, "-w", "%{http_code}\n"] + arguments)
        _ = await process.waitForExit(timeout: .seconds(40))
        let line = try await process.waitForLine(timeout: .seconds(5)) { Int($0) != nil }
        if Int(line) == 0 { print("curl failed: \(process.outputLines)") }
        return (Int(line) ?? 0, (try? String(contentsOf: output, encoding: .utf8)) ?? "")
    }

    @Test("a request reaches hello_world through our edge and our connector; unknown hosts get 530")
    func helloWorld() async throws {
        let pki = try TestPKI()
        defer { pki.remove() }
        try await Self.withEdge(pki: pki) { running in
            let connector = try Self.connector(for: running, pki: pki, service: "hello_world")
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await connector.run() }
                let deadline = ContinuousClock.now + .seconds(20)
                while running.edge.registry.connections(of: running.tunnel.id).count < 4 && ContinuousClock.now < deadline {
                    try await Task.sleep(for: .milliseconds(25))
                }
                #expect(running.edge.registry.connections(of: running.tunnel.id).count == 4)
                let hello = try await Self.curl(["-H", "Host: app.test", "http://127.0.0.1:\(running.visitorPort)/"])
                #expect(hello.status == 200)
                #expect(hello.body.contains("You created a tunnel"))
                let unknown = try await Self.curl(["-H", "Host: nobody.test", "http://127.0.0.1:\(running.visitorPort)/"])
                #expect(unknown.status == 530)
                #expect(unknown.body.contains("nobody.test"))
                connector.shutdown()
                try await group.waitForAll()
            }
            // Unregistered and closed: the tunnel has no connections, visitors get 530.
            let deadline = ContinuousClock.now + .seconds(10)
            while !running.edge.registry.connections(of: running.tunnel.id).isEmpty && ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(25))
            }
            let down = try await Self.curl(["-H", "Host: app.test", "http://127.0.0.1:\(running.visitorPort)/"])
            #expect(down.status == 530)
        }
    }

    @Test("a deleted tunnel is refused and the connector stops without retrying")
    func revoked() async throws {
        let pki = try TestPKI()
        defer { pki.remove() }
        try await Self.withEdge(pki: pki) { running in
            running.store.delete(id: running.tunnel.id)
            let connector = try Self.connector(for: running, pki: pki, service: "hello_world", haConnections: 1)
            do {
                try await connector.run()
                Issue.record("the connector should have stopped with an error")
            } catch let error as TunnelConnectorError {
                #expect(error.reason.contains("deleted"))
            }
        }
    }
}
