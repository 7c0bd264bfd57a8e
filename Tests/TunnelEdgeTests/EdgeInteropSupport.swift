import Foundation
import NIOCore
import NIOSSL
import TunnelCore
import TunnelEdge
import TunnelTesting

/// Our edge on loopback with independent peers around it: the reference connector
/// (`connector_peer.py`), the Python test origins, and curl / nghttp / Python scripts as
/// visitors.
enum EdgeInterop {
    static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static var python: String { PeerProcess.python(packageRoot: packageRoot) }
    static var peers: URL { PeerProcess.peersDirectory(packageRoot: packageRoot) }
    static let originScript = packageRoot.appendingPathComponent("Tests/TunnelOriginTests/Peers/origin_server.py").path
    static let scripts = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Peers")

    static func tunnel(_ name: String, hostnames: [String]) -> EdgeTunnel {
        EdgeTunnel(id: UUID(), accountTag: "0123456789abcdef0123456789abcdef", secret: .random(), name: name, hostnames: hostnames)
    }

    /// A running edge and what tests need to reach it.
    struct Edge {
        let server: TunnelEdgeServer
        let store: InMemoryTunnelStore
        let pki: TestPKI
        let directory: URL
        let connectorPort: Int
        let visitorPort: Int
        let tlsPort: Int?

        var visitorURL: String { "http://127.0.0.1:\(visitorPort)" }
        var tlsURL: String { "https://localhost:\(tlsPort ?? 0)" }

        /// Waits until `tunnel` has `count` registered connections.
        func waitForConnections(_ tunnel: EdgeTunnel, count: Int, timeout: Duration = .seconds(20)) async throws {
            let deadline = ContinuousClock.now + timeout
            while server.registry.connections(of: tunnel.id).count < count {
                guard ContinuousClock.now < deadline else {
                    throw PeerProcessError(message: "only \(server.registry.connections(of: tunnel.id).count) of \(count) connections registered for \(tunnel.name)")
                }
                try await Task.sleep(for: .milliseconds(25))
            }
        }

        /// Starts the reference connector for `tunnel`, proxying to `url` (and WebSockets to `wsURL`).
        func connectorPeer(for tunnel: EdgeTunnel, url: String, wsURL: String? = nil, connections: Int = 2, secret: TunnelSecret? = nil) throws -> PeerProcess {
            var credentials = tunnel.credentials
            if let secret { credentials = TunnelCredentials(accountTag: tunnel.accountTag, tunnelSecret: secret, tunnelID: tunnel.id) }
            let file = directory.appendingPathComponent("creds-\(UUID().uuidString.prefix(8)).json")
            let json = #"{"AccountTag":"\#(credentials.accountTag)","TunnelSecret":"\#(credentials.tunnelSecret.base64)","TunnelID":"\#(tunnel.id.lowercasedString)"}"#
            try json.write(to: file, atomically: true, encoding: .utf8)
            let script = EdgeInterop.peers.appendingPathComponent("connector_peer.py").path
            guard FileManager.default.fileExists(atPath: script) else {
                throw PeerProcessError(message: "the reference connector is missing at \(script); set TUNNEL_PEERS_DIR to the shared peers folder")
            }
            var arguments = [script]
            for _ in 0..<connections { arguments += ["--edge", "127.0.0.1:\(connectorPort)"] }
            arguments += ["--cacert", pki.caPath, "--credentials-file", file.path, "--url", url, "--grace-period", "2s"]
            if let wsURL { arguments += ["--ws-url", wsURL] }
            return try PeerProcess(EdgeInterop.python, arguments)
        }
    }

    /// Starts an edge serving `tunnels`, runs `body`, shuts the edge down.
    static func withEdge(
        tunnels: [EdgeTunnel], limits: VisitorLimits = VisitorLimits(), tls: Bool = false,
        _ body: (Edge) async throws -> Void
    ) async throws {
        let pki = try TestPKI()
        defer { pki.remove() }
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("edge-test-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let store = InMemoryTunnelStore(tunnels)
        let chain = try NIOSSLCertificate.fromPEMFile(pki.certPath)
        let key = try NIOSSLPrivateKey(file: pki.keyPath, format: .pem)
        let configuration = EdgeConfiguration(
            certificateChain: chain, privateKey: key, connectorPort: 0, visitorPort: 0, registrationTimeout: .seconds(3),
            gracePeriod: .seconds(3), visitorLimits: limits,
            visitorTLS: tls ? VisitorTLSConfiguration(certificateChain: chain, privateKey: key, port: 0) : nil)
        let server = TunnelEdgeServer(configuration: configuration, store: store)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await server.run() }
            let addresses = try await server.listeningAddresses()
            let edge = Edge(
                server: server, store: store, pki: pki, directory: directory, connectorPort: addresses.connector.port!,
                visitorPort: addresses.visitor.port!, tlsPort: addresses.visitorTLS?.port)
            do {
                try await body(edge)
            } catch {
                server.shutdown()
                try? await group.waitForAll()
                throw error
            }
            server.shutdown()
            try await group.waitForAll()
        }
    }

    /// The Python test origins: HTTP and WebSocket echo ports.
    static func startOrigins() async throws -> (process: PeerProcess, http: Int, ws: Int) {
        let process = try PeerProcess(python, [originScript])
        let line = try await process.waitForLine { $0.hasPrefix("{") }
        let info = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] ?? [:]
        return (process, info["http"] as? Int ?? 0, info["ws"] as? Int ?? 0)
    }

    /// What a curl run produced.
    struct CurlResult {
        var exitCode: Int32?
        var status: Int
        var body: String
        var output: [String]
        var elapsed: Duration
    }

    /// Runs curl; the body goes to `bodyFile` when given (and is returned as text otherwise).
    static func curl(_ arguments: [String], bodyFile: URL? = nil, timeout: Duration = .seconds(60)) async throws -> CurlResult {
        let output = bodyFile ?? FileManager.default.temporaryDirectory.appendingPathComponent("curl-\(UUID().uuidString)")
        defer { if bodyFile == nil { try? FileManager.default.removeItem(at: output) } }
        let start = ContinuousClock.now
        let process = try PeerProcess("curl", ["-sS", "-o", output.path, "-w", "\nstatus=%{http_code}\n", "--max-time", "\(timeout.components.seconds)"] + arguments)
        let exitCode = await process.waitForExit(timeout: timeout + .seconds(10))
        let elapsed = ContinuousClock.now - start
        let lines = process.outputLines
        let status = lines.last { $0.hasPrefix("status=") }.flatMap { Int($0.dropFirst(7)) } ?? 0
        let body = bodyFile == nil ? ((try? String(contentsOf: output, encoding: .utf8)) ?? "") : ""
        return CurlResult(exitCode: exitCode, status: status, body: body, output: lines, elapsed: elapsed)
    }

    /// Runs a shell command line and returns its output lines (stdout and stderr).
    @discardableResult
    static func shell(_ command: String, timeout: Duration = .seconds(60)) async throws -> [String] {
        let process = try PeerProcess("/bin/sh", ["-c", command])
        guard let status = await process.waitForExit(timeout: timeout) else {
            process.stop()
            throw PeerProcessError(message: "timed out: \(command)")
        }
        guard status == 0 else { throw PeerProcessError(message: "`\(command)` exited \(status): \(process.outputLines.suffix(20).joined(separator: "\n"))") }
        return process.outputLines
    }

    /// SHA-256 of a file, streamed by `sha256sum`.
    static func sha256(of file: URL) async throws -> String {
        let lines = try await shell("sha256sum '\(file.path)'")
        return String(lines.first?.prefix(64) ?? "")
    }

    static func hasTool(_ name: String) -> Bool {
        ProcessInfo.processInfo.environment["PATH", default: "/usr/bin:/bin"].split(separator: ":").contains {
            FileManager.default.isExecutableFile(atPath: "\($0)/\(name)")
        }
    }
}
