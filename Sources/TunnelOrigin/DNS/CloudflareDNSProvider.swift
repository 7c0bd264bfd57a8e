public import AsyncHTTPClient
public import Foundation
import NIOCore
import NIOHTTP1
public import TunnelCore

/// DNS records through a Cloudflare-v4 `dns_records` API: Cloudflare's own, or this project's
/// control plane, which serves the same endpoints for its zones. Lists page by page; a 429 is
/// retried after its `Retry-After` (a few times, each wait bounded).
public struct CloudflareDNSProvider: DNSRecordProvider {
    /// Where the API is and which zone to change.
    public struct Configuration: Sendable {
        /// The API base. Default `https://api.cloudflare.com/client/v4`.
        public var baseURL: String
        /// The zone's ID (tag).
        public var zoneID: String
        /// A bearer API token allowed to edit the zone's DNS.
        public var token: RedactedString
        /// Page size of lists. Default 100.
        public var perPage: Int
        /// How many times a 429 is retried. Default 3.
        public var maxRetries: Int
        /// The longest `Retry-After` honoured; longer ones fail at once. Default 60 s.
        public var maxRetryAfter: Duration

        /// Creates a configuration; see each property for defaults.
        public init(baseURL: String = "https://api.cloudflare.com/client/v4", zoneID: String, token: RedactedString, perPage: Int = 100, maxRetries: Int = 3, maxRetryAfter: Duration = .seconds(60)) {
            self.baseURL = baseURL.hasSuffix("/") ? String(baseURL.dropLast()) : baseURL
            self.zoneID = zoneID
            self.token = token
            self.perPage = perPage
            self.maxRetries = maxRetries
            self.maxRetryAfter = maxRetryAfter
        }
    }

    /// The configuration.
    public let configuration: Configuration
    let httpClient: HTTPClient

    /// Creates a provider using `httpClient` (default: the shared one).
    public init(configuration: Configuration, httpClient: HTTPClient = .shared) {
        self.configuration = configuration
        self.httpClient = httpClient
    }

    struct Record: Codable, Sendable {
        var id: String
        var name: String
        var type: String
        var content: String
    }

    struct Body: Codable, Sendable {
        var type: String
        var name: String
        var content: String
        var ttl: Int
        var proxied: Bool
    }

    struct Envelope<Result: Decodable>: Decodable {
        struct Item: Decodable { var code: Int; var message: String }
        struct Info: Decodable { var count: Int; var page: Int; var per_page: Int; var total_count: Int }
        var success: Bool
        var errors: [Item]
        var result: Result?
        var result_info: Info?
    }

    public func setCNAME(name: String, target: String, ttl: UInt32 = 300, overwrite: Bool) async throws -> DNSRecordChange {
        let name = name.lowercased()
        let owners = try await records(name: name, type: nil).filter { ["A", "AAAA", "CNAME"].contains($0.type) }
        if let cname = owners.first(where: { $0.type == "CNAME" }), cname.content.lowercased() == target.lowercased(), owners.count == 1 {
            return .unchanged
        }
        if let first = owners.first, !overwrite {
            throw DNSRecordProviderError.recordExists(name, type: first.type, content: first.content, at: configuration.baseURL)
        }
        let body = try JSONEncoder().encode(Body(type: "CNAME", name: name, content: target, ttl: Int(ttl), proxied: false))
        guard let first = owners.first else {
            let _: Record = try await send(.POST, "/zones/\(configuration.zoneID)/dns_records", body: body)
            return .created
        }
        // The others first: a CNAME cannot stand beside them.
        for other in owners.dropFirst() {
            let _: [String: String] = try await send(.DELETE, "/zones/\(configuration.zoneID)/dns_records/\(other.id)")
        }
        let _: Record = try await send(.PUT, "/zones/\(configuration.zoneID)/dns_records/\(first.id)", body: body)
        return .replaced(type: first.type, content: first.content)
    }

    public func removeCNAME(name: String) async throws {
        for record in try await records(name: name.lowercased(), type: "CNAME") {
            let _: [String: String] = try await send(.DELETE, "/zones/\(configuration.zoneID)/dns_records/\(record.id)")
        }
    }

    /// Every record of `name` (and `type`), page by page.
    func records(name: String, type: String?) async throws -> [Record] {
        var all: [Record] = []
        var page = 1
        while true {
            var query = "name=\(Self.escape(name))&page=\(page)&per_page=\(configuration.perPage)"
            if let type { query += "&type=\(type)" }
            let (items, info): ([Record], Envelope<[Record]>.Info?) = try await sendPage(.GET, "/zones/\(configuration.zoneID)/dns_records?\(query)")
            all += items
            guard let info, info.count >= info.per_page, all.count < info.total_count, !items.isEmpty else { return all }
            page += 1
        }
    }

    func send<Result: Decodable>(_ method: HTTPMethod, _ path: String, body: Data? = nil) async throws -> Result {
        let (result, _): (Result, Envelope<Result>.Info?) = try await sendPage(method, path, body: body)
        return result
    }

    func sendPage<Result: Decodable>(_ method: HTTPMethod, _ path: String, body: Data? = nil) async throws -> (Result, Envelope<Result>.Info?) {
        var attempt = 0
        while true {
            let response: (status: HTTPResponseStatus, retryAfter: String?, body: Data)
            do {
                response = try await V4HTTPRequest(method: method, url: configuration.baseURL + path, token: configuration.token, body: body).send(with: httpClient)
            } catch {
                throw DNSRecordProviderError(.unreachable, "cannot reach the DNS API at \(configuration.baseURL) (\(error))")
            }
            if response.status.code == 429, attempt < configuration.maxRetries {
                let wait = Duration.seconds(Int(response.retryAfter ?? "") ?? 1)
                guard wait <= configuration.maxRetryAfter else {
                    throw DNSRecordProviderError(.refused, "the DNS API asks to wait \(wait) before the next request (429); try again later")
                }
                attempt += 1
                try await Task.sleep(for: wait)
                continue
            }
            let envelope = try? JSONDecoder().decode(Envelope<Result>.self, from: response.body)
            guard response.status.code == 200, let envelope, envelope.success, envelope.errors.isEmpty, let result = envelope.result else {
                let reasons = envelope?.errors.map { "code: \($0.code), reason: \($0.message)" }.joined(separator: "; ") ?? "status \(response.status.code)"
                let kind: DNSRecordProviderError.Kind = response.status.code == 401 || response.status.code == 403 ? .authentication : (envelope?.errors.contains { $0.code == 81053 || $0.code == 1003 } ?? false ? .recordExists : .refused)
                throw DNSRecordProviderError(kind, "the DNS API refused \(method) \(path.split(separator: "?").first ?? ""): \(reasons)")
            }
            return (result, envelope.result_info)
        }
    }

    static func escape(_ text: String) -> String {
        text.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(CharacterSet(charactersIn: "-._~*"))) ?? text
    }
}
