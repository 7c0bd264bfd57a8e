public import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import TunnelCore

/// Asks a quick-tunnel service for a tunnel as cloudflared does (management-api.md A7):
/// `POST {service}/tunnel`, empty body, `Content-Type: application/json`, 15 s.
public struct QuickTunnelClient: Sendable {
    /// The service's base URL, e.g. `http://127.0.0.1:8787` (`/tunnel` is appended).
    public let serviceURL: String
    let userAgent: String
    let httpClient: HTTPClient

    /// Creates a client of `serviceURL`.
    public init(serviceURL: String, userAgent: String = "tunnelctl", httpClient: HTTPClient = .shared) {
        self.serviceURL = serviceURL.hasSuffix("/") ? String(serviceURL.dropLast()) : serviceURL
        self.userAgent = userAgent
        self.httpClient = httpClient
    }

    /// The quick tunnel: its ID (a UUID), hostname, account tag and secret.
    public func create() async throws -> V4.QuickTunnel {
        var request = HTTPClientRequest(url: serviceURL + ControlAPI.quickTunnelPath)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        request.headers.add(name: "User-Agent", value: userAgent)
        let response: HTTPClientResponse
        let body: ByteBuffer
        do {
            response = try await httpClient.execute(request, timeout: .seconds(15))
            body = try await response.body.collect(upTo: 1 << 20)
        } catch {
            throw QuickTunnelError("cannot reach the quick-tunnel service at \(serviceURL) (\(error)); check --quick-service and that `tunnelctl edge serve` runs there")
        }
        let data = Data(body.readableBytesView)
        guard let envelope = try? JSONDecoder().decode(V4.Envelope<V4.QuickTunnel>.self, from: data) else {
            throw QuickTunnelError("failed to unmarshal quick Tunnel: the service at \(serviceURL) answered \(response.status.code) with \(String(decoding: data.prefix(200), as: UTF8.self))")
        }
        guard let tunnel = envelope.result else {
            let reason = envelope.errors.map(\.message).joined(separator: "; ")
            throw QuickTunnelError("the quick-tunnel service refused (\(response.status.code)): \(reason.isEmpty ? "no reason given" : reason)")
        }
        guard UUID(tunnelIDString: tunnel.id) != nil else { throw QuickTunnelError("failed to parse quick Tunnel ID \(String(reflecting: tunnel.id))") }
        guard TunnelSecret(base64: tunnel.secret) != nil else { throw QuickTunnelError("the quick tunnel's secret is not base64") }
        return tunnel
    }

    /// The credentials a connector runs the quick tunnel with (kept in memory, never written).
    public static func credentials(of tunnel: V4.QuickTunnel) -> TunnelCredentials? {
        guard let id = UUID(tunnelIDString: tunnel.id), let secret = TunnelSecret(base64: tunnel.secret) else { return nil }
        return TunnelCredentials(accountTag: tunnel.accountTag, tunnelSecret: secret, tunnelID: id)
    }
}

/// The quick-tunnel service could not be reached or refused.
public struct QuickTunnelError: Error, Hashable, Sendable, CustomStringConvertible {
    /// What went wrong and what to do.
    public let message: String

    init(_ message: String) { self.message = message }

    public var description: String { message }
}
