import Foundation
import NIOCore
import NIOPosix
import Testing
import TunnelCore
import TunnelOrigin
import TunnelTesting

/// `tunnelctl tunnel diag exposure` against real listeners (one on loopback, one on every
/// interface), and `tunnelctl tunnel diag`'s archive read by Python's tarfile.
@Suite("tunnelctl tunnel diag", .serialized)
struct TunnelDiagTests {
    typealias Run = TunnelRunCommandTests
    typealias Serve = EdgeServeCommandTests

    static func listen(_ host: String) async throws -> any Channel {
        try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .bind(host: host, port: 0).get()
    }

    @Test("exposure: the origin bound to all interfaces is open, the loopback one closed; exit 1, then 0 without it")
    func exposure() async throws {
        let address = try #require(try OriginExposureCheck.nonLoopbackAddresses().first { !$0.contains(":") }, "this test needs a non-loopback IPv4 address")
        let loopback = try await Self.listen("127.0.0.1")
        let everywhere = try await Self.listen("0.0.0.0")
        defer {
            loopback.close(promise: nil)
            everywhere.close(promise: nil)
        }
        let safe = loopback.localAddress?.port ?? 0
        let exposed = everywhere.localAddress?.port ?? 0
        let sandbox = try Run.Sandbox()
        let config = sandbox.pki.directory.appendingPathComponent("config.yml").path
        try """
            ingress:
              - hostname: safe.test
                service: http://localhost:\(safe)
              - hostname: exposed.test
                service: http://127.0.0.1:\(exposed)
              - service: http://198.51.100.7:8080
            """.write(toFile: config, atomically: true, encoding: .utf8)
        let output = try await sandbox.run(["tunnel", "--config", config, "diag", "exposure", "--host", address, "--timeout", "1000"])
        #expect(output.status == 1, "\(output.stdout)\(output.stderr)")
        let lines = output.stdout.split(separator: "\n").map(String.init)
        #expect(lines.contains("\(address):\(safe) (http://localhost:\(safe)): closed"))
        #expect(lines.contains { $0.hasPrefix("\(address):\(exposed) (http://127.0.0.1:\(exposed)): open: anyone who can reach \(address):\(exposed) bypasses the tunnel; bind the origin to 127.0.0.1") })
        #expect(lines.contains("http://198.51.100.7:8080: on another host, not checked here; run this check there"))
        #expect(lines.contains { $0.hasPrefix("\(address):80") } && lines.contains { $0.hasPrefix("\(address):443") })

        // Only the loopback origin: nothing is open (unless this machine serves 80/443 itself).
        let web = await OriginExposureCheck.probe([80, 443].map { OriginExposureCheck.Target(address: address, port: $0, services: []) })
        let clean = try await sandbox.run(["tunnel", "diag", "exposure", "--url", "http://localhost:\(safe)", "--host", address, "--timeout", "1000"])
        if web.allSatisfy({ $0.state != .open }) {
            #expect(clean.status == 0, "\(clean.stdout)")
            #expect(clean.stdout.hasSuffix("Nothing answers from outside the tunnel.\n"))
        }
        // Without --host: this machine's own non-loopback addresses.
        let own = try await sandbox.run(["tunnel", "--config", config, "diag", "exposure", "--timeout", "1000"])
        #expect(own.status == 1 && own.stdout.contains("\(address):\(exposed) (http://127.0.0.1:\(exposed)): open"))
        let nothing = try await sandbox.run(["tunnel", "diag", "exposure"])
        #expect(nothing.status == 1 && nothing.stderr.contains("no ingress rules to check"))
    }

    @Test("diag: one tar archive with the redacted configuration and environment, versions, a metrics snapshot, exposure and logs")
    func archive() async throws {
        let sandbox = try Run.Sandbox()
        let state = sandbox.pki.directory.appendingPathComponent("state").path
        let edge = try await Serve.RunningEdge.start(sandbox, ["--state-dir", state, "--metrics", "127.0.0.1:0"])
        defer { edge.process.stop() }
        let metricsLine = try await edge.process.waitForLine { $0.hasPrefix("metrics on http://") }
        let metrics = String(try #require(metricsLine.firstMatch(of: /http:\/\/([0-9.:]+)\/metrics/)).1)

        let directory = sandbox.pki.directory
        let config = directory.appendingPathComponent("config.yml").path
        try """
            tunnel: 6ff42ae2-765d-4adf-8112-31c55c1551ef
            token: config-secret-1234
            credentials-contents: '{"TunnelSecret":"config-secret-5678"}'
            url: http://localhost:8000
            """.write(toFile: config, atomically: true, encoding: .utf8)
        let logs = directory.appendingPathComponent("tunnel.log").path
        try "2026-12-04T03:00:00Z INF Registered tunnel connection connIndex=0\nAuthorization: Bearer log-secret-9999\n".write(toFile: logs, atomically: true, encoding: .utf8)
        let output = directory.appendingPathComponent("diag.tar").path
        let run = try await sandbox.run(
            ["tunnel", "--config", config, "diag", "--metrics", metrics, "--log-file", logs, "--output", output],
            environment: ["TUNNEL_TOKEN": "env-secret-4321", "TUNNEL_LOGLEVEL": "debug"])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stdout.contains("Diagnostic archive written to \(output)"))

        let reader = try PeerProcess(PeerProcess.python(packageRoot: Run.packageRoot), ["-c", """
            import json, sys, tarfile
            with tarfile.open(sys.argv[1]) as archive:
                print(json.dumps({m.name: archive.extractfile(m).read().decode() for m in archive.getmembers()}))
            """, output])
        #expect(await reader.waitForExit(timeout: .seconds(30)) == 0, "\(reader.outputLines)")
        let files = try #require(try JSONSerialization.jsonObject(with: Data((reader.outputLines.last ?? "").utf8)) as? [String: String])
        #expect(Set(files.keys) == ["versions.txt", "config.yml", "environment.txt", "metrics.txt", "ready.json", "quicktunnel.json", "exposure.txt", "logs.txt"])
        let everything = files.values.joined(separator: "\n")
        for secret in ["config-secret-1234", "config-secret-5678", "env-secret-4321", "log-secret-9999"] {
            #expect(!everything.contains(secret), "\(secret) leaked into the archive")
        }
        #expect(files["versions.txt"]?.hasPrefix("tunnelctl ") == true)
        #expect(files["config.yml"]?.contains("token: REDACTED") == true && files["config.yml"]?.contains("url: http://localhost:8000") == true)
        #expect(files["environment.txt"]?.contains("TUNNEL_TOKEN=REDACTED") == true && files["environment.txt"]?.contains("TUNNEL_LOGLEVEL=debug") == true)
        #expect(files["metrics.txt"]?.contains("# TYPE") == true)
        #expect(files["ready.json"]?.contains("readyConnections") == true)
        #expect(files["exposure.txt"]?.contains("http://localhost:8000") == true)
        #expect(files["logs.txt"]?.contains("Bearer REDACTED") == true && files["logs.txt"]?.contains("Registered tunnel connection") == true)
    }
}
