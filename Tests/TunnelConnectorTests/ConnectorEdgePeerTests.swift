import Foundation
import NIOSSL
import Prometheus
import Testing
import TunnelCore
import TunnelOrigin
import TunnelTesting
import TunnelTransport

/// Our connector against the reference edge (`edge_peer.py`, which the real cloudflared
/// registers with), over real TCP + TLS on loopback, with curl as the visitor.
@Suite("connector against the reference edge", .serialized)
struct ConnectorEdgePeerTests {
    typealias Support = ConnectorTestSupport

    @Test("registers 4 HA connections, proxies byte-exact, unregisters all on shutdown")
    func endToEnd() async throws {
        let pki = try TestPKI()
        defer { pki.remove() }
        let credentials = Support.credentials()
        let (origins, originPort, _) = try await Support.startOrigins()
        defer { origins.stop() }
        let (edge, connectorPort, visitorPort) = try await Support.startEdgePeer(pki: pki, credentials: credentials)
        defer { edge.stop() }

        let ingress = try Ingress(rules: [IngressRuleConfig(service: "http://127.0.0.1:\(originPort)")])
        let registry = PrometheusCollectorRegistry()
        let configuration = try Support.connectorConfiguration(credentials: credentials, edgePort: connectorPort, pki: pki)
        let connector = TunnelConnector(
            configuration: configuration,
            proxy: OriginProxy(ingress: ingress, client: OriginHTTPClient()),
            metrics: ConnectorMetrics(factory: PrometheusMetricsFactory(registry: registry)))
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await connector.run() }
            try await Support.waitForRegistrations(connector, count: 4)
            try await edge.waitForLine { $0.contains("registered tunnel \(credentials.tunnelID!.lowercasedString) connIndex 3") }

            let get = try await Support.curl(["-H", "Host: app.test", "http://127.0.0.1:\(visitorPort)/bytes/5000000"])
            #expect(get.status == 200)
            #expect(get.size == 5_000_000)
            #expect(get.sha256 == Support.sha256(Support.pattern(5_000_000)))

            let upload = FileManager.default.temporaryDirectory.appendingPathComponent("upload-\(UUID().uuidString)")
            try Data(Support.pattern(2_000_000)).write(to: upload)
            defer { try? FileManager.default.removeItem(at: upload) }
            let post = try await Support.curl(["-H", "Host: app.test", "--data-binary", "@\(upload.path)", "http://127.0.0.1:\(visitorPort)/echo"])
            #expect(post.status == 200)
            #expect(post.sha256 == Support.sha256(Support.pattern(2_000_000)))

            let teapot = try await Support.curl(["-H", "Host: app.test", "http://127.0.0.1:\(visitorPort)/status/418"])
            #expect(teapot.status == 418)

            #expect(connector.readiness == TunnelReadiness(readyConnections: 4, connectorID: configuration.connectorID))
            let text = registry.emitToString()
            #expect(Support.series("cloudflared_tunnel_ha_connections", in: text) == 4, "\(text)")
            #expect(Support.series("cloudflared_tunnel_tunnel_register_success{rpcName=\"registerConnection\"}", in: text) == 4)
            #expect(Support.series("cloudflared_tunnel_total_requests", in: text) == 3)
            #expect(Support.series("cloudflared_tunnel_response_by_code{status_code=\"200\"}", in: text) == 2)
            #expect(Support.series("cloudflared_tunnel_response_by_code{status_code=\"418\"}", in: text) == 1)
            #expect(Support.series("cloudflared_tunnel_request_errors", in: text) == 0)

            connector.shutdown()
            try await group.next()
        }
        #expect(Support.series("cloudflared_tunnel_ha_connections", in: registry.emitToString()) == 0)
        #expect(connector.readiness.readyConnections == 0)
        try await edge.waitForLine(timeout: .seconds(10)) { $0.contains("unregistered tunnel \(credentials.tunnelID!.lowercasedString) connIndex 3") }
        #expect(edge.count { $0.contains("unregistered tunnel") } == 4)
    }

    @Test("an unreachable origin gives the visitor 502")
    func originDown() async throws {
        let pki = try TestPKI()
        defer { pki.remove() }
        let credentials = Support.credentials()
        let (edge, connectorPort, visitorPort) = try await Support.startEdgePeer(pki: pki, credentials: credentials)
        defer { edge.stop() }
        let ingress = try Ingress(rules: [IngressRuleConfig(service: "http://127.0.0.1:1")])
        let registry = PrometheusCollectorRegistry()
        let connector = TunnelConnector(
            configuration: try Support.connectorConfiguration(credentials: credentials, edgePort: connectorPort, pki: pki, haConnections: 1),
            proxy: OriginProxy(ingress: ingress, client: OriginHTTPClient()),
            metrics: ConnectorMetrics(factory: PrometheusMetricsFactory(registry: registry)))
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await connector.run() }
            try await Support.waitForRegistrations(connector, count: 1)
            let result = try await Support.curl(["-H", "Host: app.test", "http://127.0.0.1:\(visitorPort)/"])
            #expect(result.status == 502)
            let text = registry.emitToString()
            #expect(Support.series("cloudflared_tunnel_request_errors", in: text) == 1, "\(text)")
            #expect(Support.series("cloudflared_tunnel_response_by_code{status_code=\"502\"}", in: text) == 1)
            connector.shutdown()
            try await group.next()
        }
    }

    @Test("an edge certificate from another CA is refused with a TLS error")
    func wrongCA() async throws {
        let pki = try TestPKI()
        let otherPKI = try TestPKI()
        defer { pki.remove(); otherPKI.remove() }
        let credentials = Support.credentials()
        let (edge, connectorPort, _) = try await Support.startEdgePeer(pki: pki, credentials: credentials)
        defer { edge.stop() }
        let connector = TunnelConnector(
            configuration: try Support.connectorConfiguration(credentials: credentials, edgePort: connectorPort, pki: otherPKI, haConnections: 1),
            proxy: OriginProxy(ingress: try Ingress(rules: [IngressRuleConfig(service: "http_status:404")]), client: OriginHTTPClient()))
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await connector.run() }
            var reason: String?
            for await event in connector.events {
                if case .connectionFailed(0, let why, _) = event {
                    reason = why
                    break
                }
            }
            #expect(reason?.contains("TLS") == true)
            #expect(connector.registeredConnections.isEmpty)
            connector.shutdown()
            try await group.next()
        }
    }
}
