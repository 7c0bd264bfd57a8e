import Foundation
import NIOCore
import NIOSSL
import Testing
import TunnelCore
import TunnelEdge
import TunnelTesting

/// `tunnelctl tunnel run` as a subprocess, against the reference edge (`edge_peer.py`) and our
/// in-process edge, with the Python test origin behind it and curl as the visitor.
@Suite("tunnelctl tunnel run", .serialized)
struct TunnelRunCommandTests {
    static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let accountTag = "0123456789abcdef0123456789abcdef"

    /// A temporary HOME holding the test PKI and credentials; removed afterwards.
    final class Sandbox {
        let pki: TestPKI
        let home: URL
        init() throws {
            pki = try TestPKI()
            home = pki.directory.appendingPathComponent("home")
            try FileManager.default.createDirectory(at: home, withIntermediateDirectories: true)
        }
        deinit { pki.remove() }

        func writeCredentials(_ credentials: TunnelCredentials) throws -> String {
            let path = pki.directory.appendingPathComponent("\(credentials.tunnelID!.lowercasedString).json").path
            try credentials.write(to: path)
            return path
        }

        /// Starts `tunnelctl` with `arguments`; stdout and stderr are merged.
        func start(_ arguments: [String], environment: [String: String] = [:]) throws -> PeerProcess {
            var env = ["HOME": home.path]
            for (key, value) in environment { env[key] = value }
            return try PeerProcess(TunnelctlProcess.executableURL.path, arguments, environment: env)
        }

        func run(_ arguments: [String], environment: [String: String] = [:]) async throws -> TunnelctlProcess.Output {
            var env = ["HOME": home.path]
            for (key, value) in environment { env[key] = value }
            return try await TunnelctlProcess.run(arguments, environment: env, timeout: 30)
        }
    }

    // MARK: Peers

    static func startOrigin() async throws -> (PeerProcess, port: Int) {
        let script = packageRoot.appendingPathComponent("Tests/TunnelOriginTests/Peers/origin_server.py").path
        let process = try PeerProcess(PeerProcess.python(packageRoot: packageRoot), [script])
        let line = try await process.waitForLine { $0.hasPrefix("{") }
        let info = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] ?? [:]
        return (process, info["http"] as? Int ?? 0)
    }

    static func startEdgePeer(pki: TestPKI, credentials: TunnelCredentials) async throws -> (PeerProcess, connectorPort: Int, visitorPort: Int) {
        let script = PeerProcess.peersDirectory(packageRoot: packageRoot).appendingPathComponent("edge_peer.py").path
        let process = try PeerProcess(PeerProcess.python(packageRoot: packageRoot), [
            script, "--listen", "127.0.0.1:0", "--cert", pki.certPath, "--key", pki.keyPath, "--visitor", "127.0.0.1:0",
            "--tunnel", credentials.tunnelID!.lowercasedString, credentials.accountTag, credentials.tunnelSecret.base64, "app.test",
        ])
        let line = try await process.waitForLine { $0.contains("listening for connectors on") }
        let ports = line.split(whereSeparator: { $0 == " " || $0 == "," }).compactMap { part -> Int? in
            guard let colon = part.lastIndex(of: ":") else { return nil }
            return Int(part[part.index(after: colon)...])
        }
        guard ports.count == 2 else { throw PeerProcessError(message: "unexpected edge_peer banner: \(line)") }
        return (process, ports[0], ports[1])
    }

    static func makeEdge(pki: TestPKI, tunnel: EdgeTunnel, connectorPort: Int = 0, store: InMemoryTunnelStore? = nil) throws -> TunnelEdgeServer {
        let configuration = EdgeConfiguration(
            certificateChain: try NIOSSLCertificate.fromPEMFile(pki.certPath),
            privateKey: try NIOSSLPrivateKey(file: pki.keyPath, format: .pem),
            connectorPort: connectorPort, visitorPort: 0, gracePeriod: .seconds(30))
        return TunnelEdgeServer(configuration: configuration, store: store ?? InMemoryTunnelStore([tunnel]))
    }

    /// curl through the visitor port; returns (status, bytes downloaded).
    static func curl(_ port: Int, _ path: String, extra: [String] = []) throws -> PeerProcess {
        try PeerProcess("curl", ["-sS", "-o", "/dev/null", "-w", "%{http_code} %{size_download}\n", "--max-time", "120", "-H", "Host: app.test"] + extra + ["http://127.0.0.1:\(port)\(path)"])
    }

    static func result(of curl: PeerProcess, timeout: Duration = .seconds(130)) async throws -> (status: Int, size: Int) {
        guard await curl.waitForExit(timeout: timeout) == 0 else {
            throw PeerProcessError(message: "curl failed: \(curl.outputLines.joined(separator: "\n"))")
        }
        let parts = (curl.outputLines.last ?? "").split(separator: " ")
        return (Int(parts.first ?? "") ?? 0, Int(parts.last ?? "") ?? -1)
    }

    static func registrations(_ process: PeerProcess) -> [String] {
        process.outputLines.filter { $0.contains(" INF Registered tunnel connection ") }
    }

    static func waitForRegistrations(_ process: PeerProcess, count: Int, timeout: Duration = .seconds(30)) async throws {
        let deadline = ContinuousClock.now + timeout
        while registrations(process).count < count {
            guard ContinuousClock.now < deadline, process.isRunning else {
                throw PeerProcessError(message: "only \(registrations(process).count) of \(count) registrations. Output:\n\(process.outputLines.suffix(30).joined(separator: "\n"))")
            }
            try await Task.sleep(for: .milliseconds(20))
        }
    }

    static func runArguments(credentialsFile: String, edgePort: Int, pki: TestPKI, originPort: Int, gracePeriod: String = "30s") -> [String] {
        [
            "tunnel", "--edge", "127.0.0.1:\(edgePort)", "--cacert", pki.caPath, "run",
            "--credentials-file", credentialsFile, "--url", "http://127.0.0.1:\(originPort)", "--grace-period", gracePeriod,
        ]
    }

    /// Registers 4 connections, proxies, then SIGTERM during a rate-limited download: the
    /// download completes and tunnelctl exits 0.
    static func endToEnd(tunnelctl: PeerProcess, visitorPort: Int, downloadBytes: Int, rate: String) async throws {
        try await waitForRegistrations(tunnelctl, count: 4)
        let lines = registrations(tunnelctl)
        for index in 0..<4 {
            let line = lines.first { $0.contains("connIndex=\(index) ") }
            #expect(line != nil)
            #expect(line?.wholeMatch(of: /\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ INF Registered tunnel connection connIndex=\d connection=[0-9a-f-]{36} event=0 ip=127\.0\.0\.1 location=\S+ protocol=http2/) != nil, "\(line ?? "")")
        }
        let small = try await result(of: try curl(visitorPort, "/bytes/100000"))
        #expect(small.status == 200 && small.size == 100_000)

        let download = try curl(visitorPort, "/bytes/\(downloadBytes)", extra: ["--limit-rate", rate])
        try await Task.sleep(for: .seconds(1))
        #expect(download.isRunning, "the download should still be running when SIGTERM arrives")
        let signalled = ContinuousClock.now
        tunnelctl.signal(SIGTERM)
        let finished = try await result(of: download)
        #expect(finished.status == 200)
        #expect(finished.size == downloadBytes)
        let status = await tunnelctl.waitForExit(timeout: .seconds(35))
        #expect(status == 0, "\(tunnelctl.outputLines.suffix(20).joined(separator: "\n"))")
        #expect(ContinuousClock.now - signalled < .seconds(31))
        #expect(tunnelctl.count { $0.contains("Initiating graceful shutdown") } >= 1)
        #expect(tunnelctl.count { $0.contains("Unregistered tunnel connection") } == 4)
    }

    // MARK: Against edge_peer.py

    @Test("against the reference edge: 4 connections, proxying, SIGTERM drains a download and exits 0")
    func edgePeer() async throws {
        let sandbox = try Sandbox()
        let credentials = TunnelCredentials(accountTag: Self.accountTag, tunnelSecret: .random(), tunnelID: UUID())
        let file = try sandbox.writeCredentials(credentials)
        let (origin, originPort) = try await Self.startOrigin()
        defer { origin.stop() }
        let (edge, connectorPort, visitorPort) = try await Self.startEdgePeer(pki: sandbox.pki, credentials: credentials)
        defer { edge.stop() }
        let tunnelctl = try sandbox.start(Self.runArguments(credentialsFile: file, edgePort: connectorPort, pki: sandbox.pki, originPort: originPort) + [credentials.tunnelID!.lowercasedString])
        defer { tunnelctl.stop() }
        try await Self.endToEnd(tunnelctl: tunnelctl, visitorPort: visitorPort, downloadBytes: 30_000_000, rate: "4M")
        #expect(edge.count { $0.contains("unregistered tunnel") } == 4)
    }

    // MARK: Against TunnelEdgeServer

    @Test("against our edge: 4 connections, proxying, SIGTERM drains a 200 MB download and exits 0")
    func ourEdge() async throws {
        let sandbox = try Sandbox()
        let tunnel = EdgeTunnel(id: UUID(), accountTag: Self.accountTag, secret: .random(), name: "web", hostnames: ["app.test"])
        let file = try sandbox.writeCredentials(tunnel.credentials)
        let (origin, originPort) = try await Self.startOrigin()
        defer { origin.stop() }
        let edge = try Self.makeEdge(pki: sandbox.pki, tunnel: tunnel)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await edge.run() }
            defer { edge.shutdown() }
            let addresses = try await edge.listeningAddresses()
            // Flags before and after `run`, and the tunnel from TUNNEL_* variables.
            let tunnelctl = try sandbox.start(
                ["tunnel", "--cacert", sandbox.pki.caPath, "run", "--url", "http://127.0.0.1:\(originPort)", tunnel.id.lowercasedString],
                environment: ["TUNNEL_EDGE": "127.0.0.1:\(addresses.connector.port!)", "TUNNEL_CRED_FILE": file, "TUNNEL_GRACE_PERIOD": "30s"])
            defer { tunnelctl.stop() }
            try await Self.endToEnd(tunnelctl: tunnelctl, visitorPort: addresses.visitor.port!, downloadBytes: 200_000_000, rate: "25M")
            edge.shutdown()
            try await group.waitForAll()
        }
    }

    @Test("a deleted tunnel: exits 1 quickly with a clear message and no retry storm")
    func revoked() async throws {
        let sandbox = try Sandbox()
        let tunnel = EdgeTunnel(id: UUID(), accountTag: Self.accountTag, secret: .random(), name: "web", hostnames: ["app.test"])
        let file = try sandbox.writeCredentials(tunnel.credentials)
        let store = InMemoryTunnelStore([tunnel])
        store.delete(id: tunnel.id)
        let edge = try Self.makeEdge(pki: sandbox.pki, tunnel: tunnel, store: store)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await edge.run() }
            defer { edge.shutdown() }
            let port = try await edge.listeningAddresses().connector.port!
            let started = ContinuousClock.now
            let tunnelctl = try sandbox.start(Self.runArguments(credentialsFile: file, edgePort: port, pki: sandbox.pki, originPort: 1) + [tunnel.id.lowercasedString])
            defer { tunnelctl.stop() }
            let status = await tunnelctl.waitForExit(timeout: .seconds(15))
            let output = tunnelctl.outputLines.joined(separator: "\n")
            #expect(status == 1, "\(output)")
            #expect(ContinuousClock.now - started < .seconds(10))
            #expect(output.contains("deleted"), "\(output)")
            #expect(output.contains("ERR Tunnel stopped"), "\(output)")
            #expect(tunnelctl.count { $0.contains("Register tunnel error") } <= 4, "\(output)")
            #expect(tunnelctl.count { $0.contains("Retrying connection") } == 0, "\(output)")
            edge.shutdown()
            try await group.waitForAll()
        }
    }

    @Test("an edge certificate from another CA: a clear TLS error in the log")
    func wrongCACert() async throws {
        let sandbox = try Sandbox()
        let other = try TestPKI()
        defer { other.remove() }
        let tunnel = EdgeTunnel(id: UUID(), accountTag: Self.accountTag, secret: .random(), name: "web", hostnames: ["app.test"])
        let file = try sandbox.writeCredentials(tunnel.credentials)
        let edge = try Self.makeEdge(pki: sandbox.pki, tunnel: tunnel)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await edge.run() }
            defer { edge.shutdown() }
            let port = try await edge.listeningAddresses().connector.port!
            let tunnelctl = try sandbox.start(Self.runArguments(credentialsFile: file, edgePort: port, pki: other, originPort: 1) + [tunnel.id.lowercasedString])
            defer { tunnelctl.stop() }
            let line = try await tunnelctl.waitForLine(timeout: .seconds(15)) { $0.contains(" ERR ") && $0.contains("TLS") }
            #expect(line.contains("127.0.0.1:\(port)"))
            #expect(Self.registrations(tunnelctl).isEmpty)
            tunnelctl.signal(SIGTERM)
            _ = await tunnelctl.waitForExit(timeout: .seconds(10))
            edge.shutdown()
            try await group.waitForAll()
        }
    }

    @Test("kill and restart the edge on the same port: all 4 connections re-register")
    func reconnect() async throws {
        let sandbox = try Sandbox()
        let tunnel = EdgeTunnel(id: UUID(), accountTag: Self.accountTag, secret: .random(), name: "web", hostnames: ["app.test"])
        let file = try sandbox.writeCredentials(tunnel.credentials)
        let first = try Self.makeEdge(pki: sandbox.pki, tunnel: tunnel)
        let firstRun = Task { try await first.run() }
        let port = try await first.listeningAddresses().connector.port!
        let tunnelctl = try sandbox.start(Self.runArguments(credentialsFile: file, edgePort: port, pki: sandbox.pki, originPort: 1) + [tunnel.id.lowercasedString])
        defer { tunnelctl.stop() }
        try await Self.waitForRegistrations(tunnelctl, count: 4)

        let killed = ContinuousClock.now
        first.shutdown()
        try await firstRun.value
        let second = try Self.makeEdge(pki: sandbox.pki, tunnel: tunnel, connectorPort: port)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await second.run() }
            defer { second.shutdown() }
            _ = try await second.listeningAddresses()
            let restarted = ContinuousClock.now
            let deadline = restarted + .seconds(20)
            while second.registry.connections(of: tunnel.id).count < 4 && ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(10))
            }
            let reRegistered = ContinuousClock.now
            #expect(second.registry.connections(of: tunnel.id).count == 4, "tunnelctl (running: \(tunnelctl.isRunning), status \(tunnelctl.exitStatus.map(String.init) ?? "-")):\n\(tunnelctl.outputLines.suffix(25).joined(separator: "\n"))")
            // The edge records a registration just before the connector logs it.
            let logDeadline = ContinuousClock.now + .seconds(5)
            while Self.registrations(tunnelctl).count < 8 && ContinuousClock.now < logDeadline {
                try await Task.sleep(for: .milliseconds(20))
            }
            #expect(Self.registrations(tunnelctl).count == 8)
            if second.registry.connections(of: tunnel.id).count == 4 {
                print("reconnect: edge down for \(restarted - killed), all 4 connections re-registered \(reRegistered - restarted) after the restart (\(reRegistered - killed) after the kill)")
            }
            tunnelctl.signal(SIGTERM)
            #expect(await tunnelctl.waitForExit(timeout: .seconds(35)) == 0)
            second.shutdown()
            try await group.waitForAll()
        }
    }

    // MARK: Bad input

    @Test("missing credentials, token, --cacert or --edge: exit 1 with a clear message")
    func badInput() async throws {
        let sandbox = try Sandbox()
        let id = UUID().lowercasedString
        let base = ["tunnel", "run", "--edge", "127.0.0.1:1", "--cacert", sandbox.pki.caPath]

        let missing = try await sandbox.run(base + [id])
        #expect(missing.status == 1)
        #expect(missing.stderr.contains("ERR tunnel credentials file not found"), "\(missing.stderr)")

        let badToken = try await sandbox.run(base + ["--token", "not-a-token"])
        #expect(badToken.status == 1)
        #expect(badToken.stderr.contains("Provided Tunnel token is not valid."), "\(badToken.stderr)")

        let badEnvToken = try await sandbox.run(base, environment: ["TUNNEL_TOKEN": "eyJhIjoiMSJ9"])
        #expect(badEnvToken.status == 1)
        #expect(badEnvToken.stderr.contains("Provided Tunnel token is not valid."), "\(badEnvToken.stderr)")
        #expect(badEnvToken.stderr.contains("TUNNEL_TOKEN"), "\(badEnvToken.stderr)")

        let credentials = TunnelCredentials(accountTag: Self.accountTag, tunnelSecret: .random(), tunnelID: UUID())
        let file = try sandbox.writeCredentials(credentials)

        let badFamily = try await sandbox.run(["tunnel", "run", "--cacert", sandbox.pki.caPath, "--cred-file", file, "--edge-ip-version", "5"])
        #expect(badFamily.status == 1)
        #expect(badFamily.stderr.contains("invalid value for edge-ip-version: 5"), "\(badFamily.stderr)")

        let quic = try await sandbox.run(base + ["--credentials-file", file, "--protocol", "quic"])
        #expect(quic.status == 1)
        #expect(quic.stderr.contains("--protocol quic is not supported"), "\(quic.stderr)")

        let name = try await sandbox.run(base + ["my-tunnel"])
        #expect(name.status == 1)
        #expect(name.stderr.contains("not a tunnel UUID"), "\(name.stderr)")
    }
}
