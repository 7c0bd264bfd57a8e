import Foundation
import Testing
import TunnelCore
import TunnelTesting

/// Quick tunnels end to end: `tunnelctl edge serve` hands them out, `tunnelctl tunnel --url`
/// asks for one and serves through it, cloudflared's request gets the same answer.
@Suite("tunnelctl tunnel --url (quick tunnels)", .serialized)
struct QuickTunnelCommandTests {
    typealias Run = TunnelRunCommandTests
    typealias Serve = EdgeServeCommandTests

    /// curl through the edge's visitor port with `Host: host`; the status code.
    static func status(visitorPort: Int, host: String) async throws -> Int {
        let curl = try PeerProcess("curl", ["-sS", "-o", "/dev/null", "-w", "%{http_code}\n", "--max-time", "20", "-H", "Host: \(host)", "http://127.0.0.1:\(visitorPort)/headers"])
        guard await curl.waitForExit(timeout: .seconds(30)) == 0 else { throw PeerProcessError(message: "curl failed: \(curl.outputLines)") }
        return Int(curl.outputLines.last ?? "") ?? 0
    }

    @Test("a quick tunnel: asked for, printed in a box, served, /quicktunnel answers, gone when the connector stops; cloudflared's request works too")
    func quickTunnel() async throws {
        let sandbox = try Run.Sandbox()
        let state = sandbox.pki.directory.appendingPathComponent("state").path
        let edge = try await Serve.RunningEdge.start(sandbox, ["--state-dir", state])
        defer { edge.process.stop() }
        let quickLine = try #require(edge.process.outputLines.first { $0.hasPrefix("quick tunnels on *.quick.localhost") })
        let service = try #require(quickLine.firstMatch(of: /--quick-service (http:\/\/127\.0\.0\.1:[0-9]+)/)).1

        // cloudflared's own request, from an independent client.
        let python = PeerProcess.python(packageRoot: Run.packageRoot)
        let peer = try PeerProcess(python, [Run.packageRoot.appendingPathComponent("Tests/TunnelControlTests/Peers/cloudflared_api.py").path, String(service), "-", "-", "quick"])
        #expect(await peer.waitForExit(timeout: .seconds(30)) == 0, "\(peer.outputLines.joined(separator: "\n"))")
        #expect(peer.outputLines.last?.contains(".quick.localhost") == true)

        let (origin, originPort) = try await Run.startOrigin()
        defer { origin.stop() }
        let tunnel = try sandbox.start([
            "tunnel", "--edge", "127.0.0.1:\(edge.connectorPort)", "--cacert", try #require(edge.caPath),
            "--quick-service", String(service), "--url", "http://127.0.0.1:\(originPort)", "--metrics", "127.0.0.1:0",
        ])
        defer { tunnel.stop() }
        let urlLine = try await tunnel.waitForLine { $0.contains("|  https://") || $0.contains(" ERR ") }
        let hostname = String(try #require(urlLine.firstMatch(of: /https:\/\/([a-z-]+\.quick\.localhost)/)).1)
        let box = tunnel.outputLines.filter { $0.contains("+----") || $0.contains("|  ") }
        #expect(box.count == 4 && box[1].contains("Your quick Tunnel has been created! Visit it at"), "\(box)")
        #expect(tunnel.outputLines.contains { $0.contains("Requesting new quick Tunnel on \(service)...") })
        try await Run.waitForRegistrations(tunnel, count: 4)
        #expect(try await Self.status(visitorPort: edge.visitorPort, host: hostname) == 200)

        let metricsLine = try #require(tunnel.outputLines.first { $0.contains("Starting metrics server on ") })
        let metrics = String(try #require(metricsLine.firstMatch(of: /on (127\.0\.0\.1:[0-9]+)\/metrics/)).1)
        let quick = try await TunnelMetricsTests.get("http://\(metrics)/quicktunnel")
        #expect(quick.status == 200 && quick.body == #"{"hostname":"\#(hostname)"}"#)

        // The connector stops: the quick tunnel and its hostname go with it.
        tunnel.signal(SIGTERM)
        #expect(await tunnel.waitForExit(timeout: .seconds(40)) == 0, "\(tunnel.outputLines.suffix(10).joined(separator: "\n"))")
        let removed = try await edge.process.waitForLine(timeout: .seconds(15)) { $0.contains("quick tunnel removed") }
        #expect(removed.contains("connector left") && removed.contains(hostname))
        #expect(try await Self.status(visitorPort: edge.visitorPort, host: hostname) == 530)
    }

    @Test("no quick tunnels: one line saying where they come from")
    func refused() async throws {
        let sandbox = try Run.Sandbox()
        let output = try await sandbox.run(["tunnel", "--edge", "127.0.0.1:1", "--cacert", sandbox.pki.caPath, "--quick-service", "http://127.0.0.1:1", "--url", "http://127.0.0.1:2"])
        #expect(output.status == 1)
        #expect(output.stderr.contains("cannot reach the quick-tunnel service at http://127.0.0.1:1"))
        let help = try await sandbox.run(["tunnel"])
        #expect(help.status == 0 && help.stdout.contains("quick tunnel"))
    }
}
