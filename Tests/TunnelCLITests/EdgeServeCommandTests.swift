import Foundation
import Logging
import NIOSSL
import Testing
import TunnelCore
import TunnelOrigin
import TunnelTesting
import TunnelTransport

/// `tunnelctl edge serve` as a subprocess: the embedded default, edge.yml with a static tunnel
/// served by the reference connector (`connector_peer.py`), curl as the visitor, SIGTERM
/// draining, and one-line errors for unusable ports, certificates and files.
@Suite("tunnelctl edge serve", .serialized)
struct EdgeServeCommandTests {
    typealias Run = TunnelRunCommandTests

    /// Starts `edge serve` and reads the addresses it prints.
    struct RunningEdge {
        let process: PeerProcess
        let connectorPort: Int
        let visitorPort: Int
        let caPath: String?

        static func start(_ sandbox: Run.Sandbox, _ arguments: [String]) async throws -> RunningEdge {
            let api = arguments.contains("--api-address") ? [] : ["--api-address", "127.0.0.1:0"]
            let process = try sandbox.start(["edge", "serve", "--connector-address", "127.0.0.1:0", "--visitor-address", "127.0.0.1:0"] + api + arguments)
            let visitors = try await process.waitForLine { $0.hasPrefix("listening for visitors on http://") || $0.hasPrefix("error:") }
            guard !visitors.hasPrefix("error:") else { throw PeerProcessError(message: visitors) }
            // The API line comes last: once it is printed every listener is up.
            let ready = try await process.waitForLine { $0.hasPrefix("control-plane API on ") || $0.hasPrefix("error:") }
            guard !ready.hasPrefix("error:") else { throw PeerProcessError(message: ready) }
            let lines = process.outputLines
            func port(_ line: String?) -> Int {
                guard let line, let address = line.split(separator: " ").first(where: { $0.contains("127.0.0.1:") }) else { return 0 }
                return Int(address.split(separator: ":").last ?? "") ?? 0
            }
            let ca = lines.first { $0.hasPrefix("edge CA: ") }.map { String($0.dropFirst("edge CA: ".count).prefix { $0 != " " }) }
            return RunningEdge(
                process: process, connectorPort: port(lines.first { $0.hasPrefix("listening for connectors on") }),
                visitorPort: port(visitors), caPath: ca)
        }
    }

    @Test("embedded default: prints the CA and addresses, answers 530 for unknown hosts, exits 0 on SIGTERM")
    func embeddedDefault() async throws {
        let sandbox = try Run.Sandbox()
        let state = sandbox.pki.directory.appendingPathComponent("state").path
        let edge = try await RunningEdge.start(sandbox, ["--state-dir", state])
        defer { edge.process.stop() }
        #expect(edge.caPath == state + "/ca.pem")
        let ca = try String(contentsOfFile: edge.caPath ?? "", encoding: .utf8)
        #expect(ca.hasPrefix("-----BEGIN CERTIFICATE-----"))
        #expect(edge.process.count { $0.hasPrefix("control-plane API on http://127.0.0.1:") && $0.contains("/client/v4") } == 1)
        #expect(edge.process.count { $0 == "control-plane store: \(state)/control.sqlite" } == 1)

        let curl = try PeerProcess("curl", ["-sS", "-o", "/dev/null", "-w", "%{http_code}\n", "-H", "Host: nobody.test", "http://127.0.0.1:\(edge.visitorPort)/"])
        #expect(await curl.waitForExit(timeout: .seconds(20)) == 0)
        #expect(curl.outputLines.last == "530")

        // The same port again: one line on standard error and exit 1.
        let clash = try await sandbox.run(["edge", "serve", "--state-dir", state, "--connector-address", "127.0.0.1:\(edge.connectorPort)", "--visitor-address", "127.0.0.1:0", "--api-address", "127.0.0.1:0"])
        #expect(clash.status == 1)
        #expect(clash.stderr == "error: cannot listen for connectors on 127.0.0.1:\(edge.connectorPort): the address is already in use; stop the other process or pick another port\n")

        edge.process.signal(SIGTERM)
        #expect(await edge.process.waitForExit(timeout: .seconds(10)) == 0)
        // The last lines may still be in the pipe when the process has exited.
        let logged = try? await edge.process.waitForLine(timeout: .seconds(5)) { $0.contains("Initiating graceful shutdown") }
        #expect(logged != nil, "\(edge.process.outputLines.suffix(5))")
    }

    @Test("edge.yml with a cloudflared credentials file: the reference connector registers 4 connections, curl gets bodies, SIGTERM drains a download")
    func staticTunnelWithReferenceConnector() async throws {
        let sandbox = try Run.Sandbox()
        let credentials = TunnelCredentials(accountTag: Run.accountTag, tunnelSecret: .random(), tunnelID: UUID())
        let credentialsFile = try sandbox.writeCredentials(credentials)
        let config = sandbox.pki.directory.appendingPathComponent("edge.yml").path
        try """
            stateDirectory: state
            location: TEST
            gracePeriod: 20s
            tunnels:
              - credentialsFile: \(credentialsFile)
                name: app
                hostnames: [app.test]
            """.write(toFile: config, atomically: true, encoding: .utf8)
        let edge = try await RunningEdge.start(sandbox, ["--config", config, "--metrics", "127.0.0.1:0"])
        defer { edge.process.stop() }
        #expect(edge.process.count { $0 == "tunnel \(credentials.tunnelID!.lowercasedString) (app): app.test" } == 1)
        let metricsLine = try await edge.process.waitForLine { $0.hasPrefix("metrics on http://") }
        let metricsURL = String(metricsLine.dropFirst("metrics on ".count))

        let (origin, originPort) = try await Run.startOrigin()
        defer { origin.stop() }
        let script = PeerProcess.peersDirectory(packageRoot: Run.packageRoot).appendingPathComponent("connector_peer.py").path
        let connector = try PeerProcess(PeerProcess.python(packageRoot: Run.packageRoot), [
            script, "--cacert", try #require(edge.caPath), "--credentials-file", credentialsFile,
            "--url", "http://127.0.0.1:\(originPort)", "--grace-period", "5s",
        ] + Array(repeating: ["--edge", "127.0.0.1:\(edge.connectorPort)"], count: 4).flatMap { $0 })
        defer { connector.stop() }
        let deadline = ContinuousClock.now + .seconds(30)
        while edge.process.count(where: { $0.contains("Registered tunnel connection") }) < 4 {
            guard ContinuousClock.now < deadline, connector.isRunning else {
                Issue.record("connections did not register:\n\(edge.process.outputLines.joined(separator: "\n"))\n\(connector.outputLines.suffix(20).joined(separator: "\n"))")
                return
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        let registered = edge.process.outputLines.filter { $0.contains("Registered tunnel connection") }
        for index in 0..<4 {
            #expect(registered.contains { $0.contains("connIndex=\(index) ") && $0.contains("tunnelID=\(credentials.tunnelID!.lowercasedString)") })
        }

        let small = try await Run.result(of: try Run.curl(edge.visitorPort, "/bytes/100000"))
        #expect(small.status == 200 && small.size == 100_000)
        let http2 = try await Run.result(of: try Run.curl(edge.visitorPort, "/bytes/300000", extra: ["--http2-prior-knowledge"]))
        #expect(http2.status == 200 && http2.size == 300_000)

        // The edge's own metrics: connections, registrations and visitor responses by status.
        let metrics = try await TunnelMetricsTests.get(metricsURL)
        #expect(metrics.status == 200)
        #expect(TunnelMetricsTests.value("tunnel_edge_connector_connections", in: metrics.body) == 4, "\(metrics.body)")
        #expect(TunnelMetricsTests.value("tunnel_edge_registrations_total{result=\"registered\"}", in: metrics.body) == 4)
        #expect(TunnelMetricsTests.value("tunnel_edge_visitor_requests_total{status_code=\"200\"}", in: metrics.body) == 2)
        #expect(TunnelMetricsTests.value("tunnel_edge_visitor_requests_in_flight", in: metrics.body) == 0)
        let ready = try await TunnelMetricsTests.get(metricsURL.replacing("/metrics", with: "/ready"))
        #expect(ready.status == 200 && ready.body.contains("\"readyConnections\":4"), "\(ready.body)")

        // SIGTERM while a rate-limited download runs (about 8 s, so a loaded machine still
        // signals mid-transfer): it completes, then the edge exits 0.
        let download = try Run.curl(edge.visitorPort, "/bytes/16000000", extra: ["--limit-rate", "2M"])
        try await Task.sleep(for: .seconds(1))
        #expect(download.isRunning)
        edge.process.signal(SIGTERM)
        let finished = try await Run.result(of: download)
        #expect(finished.status == 200 && finished.size == 16_000_000)
        #expect(await edge.process.waitForExit(timeout: .seconds(25)) == 0, "\(edge.process.outputLines.suffix(10).joined(separator: "\n"))")
    }

    @Test("an edge that freezes (SIGSTOP) is noticed by PINGs; after SIGCONT every connection registers again")
    func frozenEdge() async throws {
        let sandbox = try Run.Sandbox()
        let credentials = TunnelCredentials(accountTag: Run.accountTag, tunnelSecret: .random(), tunnelID: UUID())
        let credentialsFile = try sandbox.writeCredentials(credentials)
        let config = sandbox.pki.directory.appendingPathComponent("edge.yml").path
        try "stateDirectory: state\ntunnels: [{credentialsFile: \(credentialsFile), hostnames: [app.test]}]\n".write(toFile: config, atomically: true, encoding: .utf8)
        let edge = try await RunningEdge.start(sandbox, ["--config", config])
        defer { edge.process.stop() }

        // The library connector, with a short PING interval.
        let connector = TunnelConnector(
            configuration: TunnelConnectorConfiguration(
                credentials: credentials,
                edgeAddresses: Array(repeating: EdgeAddress(host: "127.0.0.1", port: edge.connectorPort), count: 2),
                edgeTrustRoots: try NIOSSLCertificate.fromPEMFile(try #require(edge.caPath)),
                haConnections: 2, gracePeriod: .seconds(1), pingInterval: .milliseconds(300), pingTimeout: .milliseconds(700)),
            proxy: OriginProxy(ingress: try Ingress(rules: [IngressRuleConfig(service: "hello_world")]), client: OriginHTTPClient()))
        let events = connector.events
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await connector.run() }
            defer { connector.shutdown() }
            var registered = 0
            var failed: [String] = []
            var iterator = events.makeAsyncIterator()
            while registered < 2, let event = await iterator.next() {
                if case .registered = event { registered += 1 }
            }
            edge.process.signal(SIGSTOP)
            while failed.count < 2, let event = await iterator.next() {
                if case .connectionFailed(_, let reason, _) = event { failed.append(reason) }
            }
            #expect(failed.allSatisfy { $0.contains("did not answer a PING") }, "\(failed)")
            edge.process.signal(SIGCONT)
            registered = 0
            while registered < 2, let event = await iterator.next() {
                if case .registered = event { registered += 1 }
            }
            #expect(registered == 2)
            let curl = try await Run.result(of: try Run.curl(edge.visitorPort, "/"))
            #expect(curl.status == 200)
            connector.shutdown()
            try await group.waitForAll()
        }
    }

    @Test("an unreadable certificate, a bad edge.yml and a bad flag: one line naming the file, exit 1")
    func badInput() async throws {
        let sandbox = try Run.Sandbox()
        let directory = sandbox.pki.directory.path
        let missing = directory + "/edge.yml"
        let cases: [([String], String)] = [
            (["--config", missing], "error: \(missing): cannot read the file (no such file); check the path and its permissions\n"),
            (["--config", try write(directory + "/certs.yml", "connectors:\n  certificate: nope.pem\n  key: nope.key\n")],
             "error: \(directory)/nope.pem: cannot read (no such file); check the path and its permissions\n"),
            (["--config", try write(directory + "/uuid.yml", "tunnels:\n  - id: nope\n    accountTag: a\n    secret: b\n")],
             "error: \(directory)/uuid.yml: tunnels[0].id: \"nope\" is not a UUID\n"),
            (["--visitor-address", "localhost"], "error: command line: visitors.address: \"localhost\" is not host:port (examples: 127.0.0.1:7844, [::1]:7844, :7844)\n"),
        ]
        for (arguments, expected) in cases {
            let output = try await sandbox.run(["edge", "serve", "--state-dir", directory + "/state"] + arguments)
            #expect(output.status == 1, "\(arguments)")
            #expect(output.stderr == expected)
        }
        let help = try await sandbox.run(["edge", "serve", "--help"])
        #expect(help.status == 0)
        for flag in ["--config", "--state-dir", "--connector-address", "--visitor-address", "--visitor-tls-address", "--grace-period", "--api-address", "--loglevel"] {
            #expect(help.stdout.contains(flag), "\(flag)")
        }
    }

    private func write(_ path: String, _ text: String) throws -> String {
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }
}
