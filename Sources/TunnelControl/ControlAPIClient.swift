public import AsyncHTTPClient
public import Foundation
import NIOCore
import NIOHTTP1
import TunnelCore
import TunnelOrigin

/// A failed API call, rendered as cloudflared renders them (`code: 1013, reason: …`), with
/// the HTTP status when there was one.
public struct ControlAPIClientError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The HTTP status, or `nil` when the server could not be reached or answered garbage.
    public let status: Int?
    /// The v4 error codes in the answer.
    public let codes: [Int]
    /// What went wrong.
    public let message: String

    public var description: String { message }
}

/// A client of the v4 API that sends what cloudflared sends (management-api.md A1): bearer
/// token, `Accept: application/json;version=1`, compact JSON bodies, lowercase UUIDs, query
/// keys in alphabetical order, a 15 s timeout per request.
public struct ControlAPIClient: Sendable {
    /// The API base, e.g. `http://127.0.0.1:8787/client/v4` (one trailing `/` trimmed).
    public let baseURL: String
    /// The account of the paths (cert.pem's `accountID`).
    public let accountID: String
    /// The zone (cert.pem's `zoneID`).
    public let zoneID: String
    let token: RedactedString
    let userAgent: String
    let httpClient: HTTPClient

    /// Creates a client; `token` is the bearer API token from cert.pem.
    public init(baseURL: String, token: RedactedString, accountID: String, zoneID: String = "", userAgent: String = "tunnelctl", httpClient: HTTPClient = .shared) {
        self.baseURL = baseURL.hasSuffix("/") ? String(baseURL.dropLast()) : baseURL
        self.token = token
        self.accountID = accountID
        self.zoneID = zoneID
        self.userAgent = userAgent
        self.httpClient = httpClient
    }

    var tunnelsPath: String { "\(baseURL)/accounts/\(accountID)/cfd_tunnel" }

    /// `POST …/cfd_tunnel`.
    public func createTunnel(name: String, secret: TunnelSecret) async throws -> V4.Tunnel {
        let body = try JSONEncoder().encode(V4.CreateTunnelRequest(name: name, tunnelSecret: secret.base64))
        return try await call(.POST, tunnelsPath, body: body, as: V4.Tunnel.self, operation: "create tunnel")
    }

    /// `GET …/cfd_tunnel/{id}`.
    public func tunnel(id: UUID) async throws -> V4.Tunnel {
        try await call(.GET, "\(tunnelsPath)/\(id.lowercasedString)", as: V4.Tunnel.self, operation: "get tunnel")
    }

    /// Every tunnel matching `filter`, page by page as cloudflared fetches them (A3).
    public func listTunnels(_ filter: TunnelFilter, perPage: Int? = nil) async throws -> [V4.Tunnel] {
        var query: [(String, String)] = []
        if let isDeleted = filter.isDeleted { query.append(("is_deleted", "\(isDeleted)")) }
        if let name = filter.name { query.append(("name", name)) }
        if let prefix = filter.namePrefix { query.append(("name_prefix", prefix)) }
        if let prefix = filter.excludePrefix { query.append(("exclude_prefix", prefix)) }
        if let existedAt = filter.existedAt { query.append(("existed_at", V4.timestamp(existedAt))) }
        if let id = filter.id { query.append(("uuid", id.lowercasedString)) }
        if let perPage { query.append(("per_page", "\(perPage)")) }
        var all: [V4.Tunnel] = []
        var page = 1
        while true {
            let (items, info) = try await callPaged(.GET, tunnelsPath, query: query + [("page", "\(page)")], as: [V4.Tunnel].self, operation: "list tunnels", page: page)
            all += items ?? []
            guard let info, info.count >= info.perPage, info.perPage > 0, all.count < info.totalCount, !(items ?? []).isEmpty else { break }
            page += 1
        }
        return all
    }

    /// `DELETE …/cfd_tunnel/{id}[?cascade=true]`.
    public func deleteTunnel(id: UUID, cascade: Bool) async throws {
        _ = try await callPaged(.DELETE, "\(tunnelsPath)/\(id.lowercasedString)", query: cascade ? [("cascade", "true")] : [], as: V4.Tunnel.self, operation: "delete tunnel", page: nil)
    }

    /// `GET …/cfd_tunnel/{id}/token`: the tunnel token.
    public func tunnelToken(id: UUID) async throws -> String {
        try await call(.GET, "\(tunnelsPath)/\(id.lowercasedString)/token", as: String.self, operation: "get tunnel token")
    }

    /// `GET …/cfd_tunnel/{id}/connections`.
    public func connections(id: UUID) async throws -> [V4.ActiveClient] {
        let (clients, _) = try await callPaged(.GET, "\(tunnelsPath)/\(id.lowercasedString)/connections", query: [], as: [V4.ActiveClient].self, operation: "list connection details", page: nil)
        return clients ?? []
    }

    /// `DELETE …/cfd_tunnel/{id}/connections[?client_id=…]`.
    public func cleanupConnections(id: UUID, connectorID: UUID?) async throws {
        let query = connectorID.map { [("client_id", $0.lowercasedString)] } ?? []
        _ = try await callPaged(.DELETE, "\(tunnelsPath)/\(id.lowercasedString)/connections", query: query, as: String.self, operation: "cleanup connections", page: nil)
    }

    /// `PUT /zones/{zone}/tunnels/{id}/routes` with a DNS route.
    public func routeDNS(tunnelID: UUID, hostname: String, overwrite: Bool) async throws -> ControlPlane.HostnameRouteResult {
        let body = try JSONEncoder().encode(V4.HostnameRouteRequest(hostname: hostname, overwrite: overwrite))
        let (result, _, messages) = try await envelope(.PUT, "\(baseURL)/zones/\(zoneID)/tunnels/\(tunnelID.lowercasedString)/routes", query: [], body: body, as: ControlPlane.HostnameRouteResult.self, operation: "add route", page: nil)
        guard var result else { throw ControlAPIClientError(status: 200, codes: [], message: "the API's answer to add route has no result") }
        result.messages = messages
        return result
    }

    /// `GET /zones[?name=]`: the zones of the token's account.
    public func zones(name: String? = nil) async throws -> [V4.ZoneObject] {
        let (zones, _) = try await callPaged(.GET, "\(baseURL)/zones", query: name.map { [("name", $0)] } ?? [], as: [V4.ZoneObject].self, operation: "list zones", page: nil)
        return zones ?? []
    }

    /// `POST /zones/{zone}/cert_pem`: a cert.pem for the zone (non-interactive login).
    public func issueCertPEM(zoneID: String) async throws -> V4.CertPEMObject {
        try await call(.POST, "\(baseURL)/zones/\(zoneID)/cert_pem", body: Data("{}".utf8), as: V4.CertPEMObject.self, operation: "issue cert.pem")
    }

    // MARK: Transport

    func call<Result: Codable & Sendable>(_ method: HTTPMethod, _ url: String, body: Data? = nil, as type: Result.Type, operation: String) async throws -> Result {
        let (result, _) = try await callPaged(method, url, query: [], body: body, as: type, operation: operation, page: nil)
        guard let result else {
            throw ControlAPIClientError(status: 200, codes: [], message: "the API's answer to \(operation) has no result")
        }
        return result
    }

    func callPaged<Result: Codable & Sendable>(_ method: HTTPMethod, _ url: String, query: [(String, String)], body: Data? = nil, as type: Result.Type, operation: String, page: Int?) async throws -> (Result?, V4.ResultInfo?) {
        let (result, info, _) = try await envelope(method, url, query: query, body: body, as: type, operation: operation, page: page)
        return (result, info)
    }

    /// One request; the envelope's result, paging and messages.
    func envelope<Result: Codable & Sendable>(_ method: HTTPMethod, _ url: String, query: [(String, String)], body: Data? = nil, as type: Result.Type, operation: String, page: Int?) async throws -> (Result?, V4.ResultInfo?, [String]) {
        var target = url
        if !query.isEmpty {
            // Go's url.Values.Encode: keys sorted, form-encoded values.
            target += "?" + query.sorted { $0.0 < $1.0 }.map { "\(Self.formEncode($0.0))=\(Self.formEncode($0.1))" }.joined(separator: "&")
        }
        let response: (status: HTTPResponseStatus, retryAfter: String?, body: Data)
        do {
            response = try await V4HTTPRequest(method: method, url: target, token: token, accept: "application/json;version=1", userAgent: userAgent, body: body)
                .send(with: httpClient, maxBodyBytes: 64 * 1024 * 1024)
        } catch {
            throw ControlAPIClientError(
                status: nil, codes: [],
                message: "cannot reach the control-plane API at \(baseURL) (\(error)); check --api-url (env TUNNEL_API_URL) and that `tunnelctl edge serve` runs there")
        }
        let data = response.body
        let envelope = try? JSONDecoder().decode(V4.Envelope<Result>.self, from: data)
        if response.status.code != 200 || !(envelope?.errors.isEmpty ?? true) {
            let errors = (try? JSONDecoder().decode(V4.Envelope<AnyResult>.self, from: data))?.errors ?? []
            let reason: String
            if errors.isEmpty {
                switch response.status.code {
                case 400: reason = "incorrect request parameters"
                case 401, 403: reason = "unauthorized"
                case 404: reason = "not found"
                default: reason = "API call to \(operation) failed with status \(response.status.code): \(response.status.reasonPhrase)"
                }
            } else {
                reason = errors.map { "code: \($0.code), reason: \($0.message)" }.joined(separator: "; ")
            }
            let prefix = page.map { "Error Parsing page \($0): " } ?? "Failed to \(operation): "
            throw ControlAPIClientError(status: Int(response.status.code), codes: errors.map(\.code), message: prefix + reason)
        }
        guard let envelope else {
            throw ControlAPIClientError(status: 200, codes: [], message: "the API's answer to \(operation) is not the expected JSON")
        }
        guard envelope.success else { throw ControlAPIClientError(status: 200, codes: [], message: "API call failed") }
        return (envelope.result, envelope.resultInfo, envelope.messages)
    }

    static func formEncode(_ text: String) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        return (text.addingPercentEncoding(withAllowedCharacters: allowed) ?? text).replacingOccurrences(of: "%20", with: "+")
    }
}

/// Decodes any `result` (to read the `errors` of an answer whatever its result type).
struct AnyResult: Codable, Sendable {
    init(from decoder: any Decoder) throws {}
    func encode(to encoder: any Encoder) throws {}
}
