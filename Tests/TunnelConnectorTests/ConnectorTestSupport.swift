import Crypto
import Foundation
import NIOSSL
import TunnelCore
import TunnelOrigin
import TunnelTesting
import TunnelTransport

/// Paths and processes shared by the connector tests.
enum ConnectorTestSupport {
    static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static var python: String { PeerProcess.python(packageRoot: packageRoot) }
    static var peers: URL { PeerProcess.peersDirectory(packageRoot: packageRoot) }
    static let originScript = packageRoot.appendingPathComponent("Tests/TunnelOriginTests/Peers/origin_server.py").path

    static let accountTag = "0123456789abcdef0123456789abcdef"

    static func credentials() -> TunnelCredentials {
        TunnelCredentials(accountTag: accountTag, tunnelSecret: .random(), tunnelID: UUID())
    }

    /// The Python test origins; returns the process and its ports.
    static func startOrigins() async throws -> (PeerProcess, http: Int, ws: Int) {
        let process = try PeerProcess(python, [originScript])
        let line = try await process.waitForLine { $0.hasPrefix("{") }
        let info = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] ?? [:]
        return (process, info["http"] as? Int ?? 0, info["ws"] as? Int ?? 0)
    }

    /// The reference edge (`edge_peer.py`) serving `credentials` for `hostnames`.
    static func startEdgePeer(pki: TestPKI, credentials: TunnelCredentials, hostnames: String = "app.test") async throws -> (PeerProcess, connectorPort: Int, visitorPort: Int) {
        let script = peers.appendingPathComponent("edge_peer.py").path
        guard FileManager.default.fileExists(atPath: script) else {
            throw PeerProcessError(message: "the reference edge is missing at \(script); set TUNNEL_PEERS_DIR to the shared peers folder")
        }
        let process = try PeerProcess(python, [
            script, "--listen", "127.0.0.1:0", "--cert", pki.certPath, "--key", pki.keyPath, "--visitor", "127.0.0.1:0",
            "--tunnel", credentials.tunnelID!.lowercasedString, credentials.accountTag, credentials.tunnelSecret.base64, hostnames,
        ])
        let line = try await process.waitForLine { $0.contains("listening for connectors on") }
        // "edge_peer listening for connectors on 127.0.0.1:P, visitors on 127.0.0.1:V"
        let ports = line.split(whereSeparator: { $0 == " " || $0 == "," }).compactMap { part -> Int? in
            guard let colon = part.lastIndex(of: ":") else { return nil }
            return Int(part[part.index(after: colon)...])
        }
        guard ports.count == 2 else { throw PeerProcessError(message: "unexpected edge_peer banner: \(line)") }
        return (process, ports[0], ports[1])
    }

    static func connectorConfiguration(credentials: TunnelCredentials, edgePort: Int, pki: TestPKI, haConnections: Int = 4, gracePeriod: Duration = .seconds(5)) throws -> TunnelConnectorConfiguration {
        TunnelConnectorConfiguration(
            credentials: credentials,
            edgeAddresses: Array(repeating: EdgeAddress(host: "127.0.0.1", port: edgePort), count: haConnections),
            edgeTrustRoots: try NIOSSLCertificate.fromPEMFile(pki.caPath),
            haConnections: haConnections, retries: 2, gracePeriod: gracePeriod)
    }

    /// Runs curl against the visitor port and returns (status, body SHA-256, body size).
    static func curl(_ arguments: [String]) async throws -> (status: Int, sha256: String, size: Int) {
        let output = FileManager.default.temporaryDirectory.appendingPathComponent("curl-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: output) }
        let process = try PeerProcess("curl", ["-sS", "-o", output.path, "-w", "%{http_code}\n", "--max-time", "60"] + arguments)
        guard await process.waitForExit(timeout: .seconds(90)) == 0 else {
            throw PeerProcessError(message: "curl failed: \(process.outputLines.joined(separator: "\n"))")
        }
        let status = Int(process.outputLines.last ?? "") ?? 0
        let data = (try? Data(contentsOf: output)) ?? Data()
        return (status, SHA256.hash(data: data).map { String(format: "%02x", $0) }.joined(), data.count)
    }

    static func sha256(_ bytes: [UInt8]) -> String {
        SHA256.hash(data: bytes).map { String(format: "%02x", $0) }.joined()
    }

    /// The value of one series (name plus `{labels}`) in Prometheus text.
    static func series(_ series: String, in text: String) -> Double? {
        text.split(separator: "\n").first { $0.hasPrefix(series + " ") }.flatMap { Double($0.dropFirst(series.count + 1)) }
    }

    static func pattern(_ count: Int) -> [UInt8] { (0..<count).map { UInt8($0 % 251) } }

    /// Waits for `count` `.registered` events.
    static func waitForRegistrations(_ connector: TunnelConnector, count: Int, timeout: Duration = .seconds(20)) async throws {
        let deadline = ContinuousClock.now + timeout
        while connector.registeredConnections.count < count {
            guard ContinuousClock.now < deadline else {
                throw PeerProcessError(message: "only \(connector.registeredConnections.count) of \(count) connections registered")
            }
            try await Task.sleep(for: .milliseconds(25))
        }
    }
}
