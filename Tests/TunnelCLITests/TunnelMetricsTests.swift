import Foundation
import NIOCore
import Prometheus
import Testing
import TunnelCore
import TunnelEdge
import TunnelTesting
import TunnelTransport

/// The connector's metrics and readiness server (`--metrics`), read with curl while tunnelctl
/// serves through our edge.
@Suite("tunnelctl tunnel run --metrics", .serialized)
struct TunnelMetricsTests {
    typealias Run = TunnelRunCommandTests

    /// `curl URL` → (status, body).
    static func get(_ url: String) async throws -> (status: Int, body: String) {
        let curl = try PeerProcess("curl", ["-sS", "--max-time", "10", "-w", "\nHTTP_STATUS=%{http_code}\n", url])
        // The output can lag the exit: wait for the status line curl writes last.
        let statusLine = try await curl.waitForLine(timeout: .seconds(15)) { $0.hasPrefix("HTTP_STATUS=") || $0.hasPrefix("curl: ") }
        guard statusLine.hasPrefix("HTTP_STATUS=") else {
            throw PeerProcessError(message: "curl \(url) failed: \(curl.outputLines.joined(separator: "\n"))")
        }
        let lines = curl.outputLines.prefix { !$0.hasPrefix("HTTP_STATUS=") }
        let body = lines.joined(separator: "\n")
        return (Int(statusLine.dropFirst("HTTP_STATUS=".count)) ?? 0, String(body.reversed().drop { $0 == "\n" }.reversed()))
    }

    /// The value of the series `name` (with its `{labels}`) in Prometheus text, if present.
    static func value(_ series: String, in text: String) -> Double? {
        for line in text.split(separator: "\n") where line.hasPrefix(series + " ") {
            return Double(line.dropFirst(series.count + 1))
        }
        return nil
    }

    @Test("/ready, /healthcheck and /metrics under cloudflared's names; /ready turns 503 when the edge goes away")
    func metricsAndReadiness() async throws {
        let sandbox = try Run.Sandbox()
        let tunnel = EdgeTunnel(id: UUID(), accountTag: Run.accountTag, secret: .random(), name: "web", hostnames: ["app.test"])
        let file = try sandbox.writeCredentials(tunnel.credentials)
        let (origin, originPort) = try await Run.startOrigin()
        defer { origin.stop() }
        let edge = try Run.makeEdge(pki: sandbox.pki, tunnel: tunnel)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await edge.run() }
            defer { edge.shutdown() }
            let addresses = try await edge.listeningAddresses()
            let tunnelctl = try sandbox.start(
                Run.runArguments(credentialsFile: file, edgePort: addresses.connector.port!, pki: sandbox.pki, originPort: originPort)
                    + ["--metrics", "127.0.0.1:0", tunnel.id.lowercasedString])
            defer { tunnelctl.stop() }
            let banner = try await tunnelctl.waitForLine { $0.contains("Starting metrics server on ") }
            let address = try #require(banner.firstMatch(of: /on (127\.0\.0\.1:\d+)\/metrics/)?.1)
            let base = "http://\(address)"
            try await Run.waitForRegistrations(tunnelctl, count: 4)
            let connectorID = try #require(tunnelctl.outputLines.compactMap { $0.firstMatch(of: /connectorID=([0-9a-f-]{36})/).map { String($0.1) } }.first)

            let ready = try await Self.get("\(base)/ready")
            #expect(ready.status == 200)
            #expect(ready.body == "{\"status\":200,\"readyConnections\":4,\"connectorId\":\"\(connectorID)\"}")
            let health = try await Self.get("\(base)/healthcheck")
            #expect(health.status == 200 && health.body == "OK")
            #expect(try await Self.get("\(base)/nope").status == 404)

            for _ in 0..<3 {
                #expect(try await Run.result(of: try Run.curl(addresses.visitor.port!, "/bytes/1000")).status == 200)
            }
            #expect(try await Run.result(of: try Run.curl(addresses.visitor.port!, "/status/404")).status == 404)
            origin.stop()
            _ = await origin.waitForExit(timeout: .seconds(5))
            #expect(try await Run.result(of: try Run.curl(addresses.visitor.port!, "/bytes/10")).status == 502)

            let metrics = try await Self.get("\(base)/metrics")
            #expect(metrics.status == 200)
            let text = metrics.body
            #expect(Self.value("cloudflared_tunnel_ha_connections", in: text) == 4, "\(text)")
            #expect(Self.value("cloudflared_tunnel_total_requests", in: text) == 5)
            #expect(Self.value("cloudflared_tunnel_concurrent_requests_per_tunnel", in: text) == 0)
            #expect(Self.value("cloudflared_tunnel_response_by_code{status_code=\"200\"}", in: text) == 3)
            #expect(Self.value("cloudflared_tunnel_response_by_code{status_code=\"404\"}", in: text) == 1)
            #expect(Self.value("cloudflared_tunnel_response_by_code{status_code=\"502\"}", in: text) == 1)
            #expect(Self.value("cloudflared_tunnel_request_errors", in: text) == 1)
            #expect(Self.value("cloudflared_tunnel_tunnel_register_success{rpcName=\"registerConnection\"}", in: text) == 4)
            let locations = text.split(separator: "\n").filter { $0.hasPrefix("cloudflared_tunnel_server_locations{") && $0.hasSuffix(" 1.0") || $0.hasPrefix("cloudflared_tunnel_server_locations{") && $0.hasSuffix(" 1") }
            #expect(locations.count == 4, "\(locations)")

            // Without an edge the tunnel is not ready, and says so.
            edge.shutdown()
            try await group.waitForAll()
            let deadline = ContinuousClock.now + .seconds(20)
            #expect(tunnelctl.isRunning, "tunnelctl should keep retrying without an edge: \(tunnelctl.outputLines.suffix(20).joined(separator: "\n"))")
            var notReady = try await Self.get("\(base)/ready")
            while notReady.status != 503, ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(100))
                notReady = try await Self.get("\(base)/ready")
            }
            #expect(notReady.status == 503)
            #expect(tunnelctl.isRunning, "tunnelctl should keep retrying without an edge: \(tunnelctl.outputLines.suffix(20).joined(separator: "\n"))")
            #expect(notReady.body == "{\"status\":503,\"readyConnections\":0,\"connectorId\":\"\(connectorID)\"}")
            #expect(Self.value("cloudflared_tunnel_ha_connections", in: try await Self.get("\(base)/metrics").body) == 0)

            tunnelctl.signal(SIGTERM)
            let status = await tunnelctl.waitForExit(timeout: .seconds(35))
            #expect(status == 0, "exit \(String(describing: status)): \(tunnelctl.outputLines.suffix(20).joined(separator: "\n"))")
        }
    }

    @Test("a metrics port in use is a clear one-line error and exit 1")
    func portInUse() async throws {
        let sandbox = try Run.Sandbox()
        let tunnel = EdgeTunnel(id: UUID(), accountTag: Run.accountTag, secret: .random(), name: "web", hostnames: ["app.test"])
        let file = try sandbox.writeCredentials(tunnel.credentials)
        let taken = try await TunnelMetricsServer.bind(.init(host: "127.0.0.1", port: 0), registry: PrometheusCollectorRegistry()) { nil }
        let port = try #require(taken.localAddress?.port)
        let result = try await sandbox.run(Run.runArguments(credentialsFile: file, edgePort: 9, pki: sandbox.pki, originPort: 9) + ["--metrics", "127.0.0.1:\(port)", tunnel.id.lowercasedString])
        #expect(result.status == 1)
        let output = result.stderr + result.stdout
        #expect(output.contains("Cannot start the metrics server on 127.0.0.1:\(port)"), "\(output)")
        #expect(output.contains("--metrics host:port"))

        let bad = try await sandbox.run(Run.runArguments(credentialsFile: file, edgePort: 9, pki: sandbox.pki, originPort: 9) + ["--metrics", "nowhere", tunnel.id.lowercasedString])
        #expect(bad.status == 1)
        #expect((bad.stderr + bad.stdout).contains("invalid --metrics \"nowhere\""), "\(bad.stderr)")
    }

    @Test("--metrics address forms", arguments: [
        ("localhost:0", "localhost", 0, TunnelMetricsServer.Configuration.knownPorts),
        ("127.0.0.1:0", "127.0.0.1", 0, []),
        ("localhost:20241", "localhost", 20241, []),
        ("[::1]:9100", "::1", 9100, []),
        (":2000", "0.0.0.0", 2000, []),
    ])
    func addressForms(text: String, host: String, port: Int, preferred: [Int]) throws {
        let configuration = try #require(TunnelMetricsServer.Configuration(address: text))
        #expect(configuration.host == host)
        #expect(configuration.port == port)
        #expect(configuration.preferredPorts == preferred)
    }

    @Test("malformed --metrics addresses are rejected", arguments: ["", "nowhere", "host:", "host:70000", "host:-1"])
    func badAddresses(text: String) {
        #expect(TunnelMetricsServer.Configuration(address: text) == nil)
    }
}
