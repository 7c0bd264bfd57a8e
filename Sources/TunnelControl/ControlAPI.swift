public import Foundation
public import Hummingbird
import Logging
import NIOCore
import TunnelCore

/// The Cloudflare-v4-compatible HTTP API of the control plane, as Hummingbird routes under
/// `/client/v4`: the tunnel endpoints cloudflared calls (management-api.md A4 #1–#7), the
/// audit log and token verification. Docs/openapi.yaml is its contract.
///
/// Every answer, errors included, is a v4 envelope with `Content-Type: application/json`
/// (exactly: cloudflared ignores error bodies otherwise); success is always 200.
public enum ControlAPI {
    /// The path prefix (cloudflared's `--api-url http://HOST:PORT/client/v4`).
    public static let basePath = "/client/v4"
    /// The quick-tunnel endpoint (cloudflared's `--quick-service http://HOST:PORT` appends it).
    public static let quickTunnelPath = "/tunnel"

    /// The responder: routes wrapped so that every error becomes a v4 error body.
    public static func responder(controlPlane: ControlPlane, maxBodyBytes: Int = 65536, rateLimit: RateLimit? = nil) -> some HTTPResponder<ControlRequestContext> {
        let router = Router(context: ControlRequestContext.self)
        let api = Handlers(controlPlane: controlPlane, maxBodyBytes: maxBodyBytes, limiter: rateLimit.map(RateLimiter.init))
        let tunnels = "\(basePath)/accounts/:account/cfd_tunnel"
        router.post(RouterPath(tunnels)) { request, context in try await api.createTunnel(request, context) }
        router.get(RouterPath(tunnels)) { request, context in try await api.listTunnels(request, context) }
        router.get(RouterPath("\(tunnels)/:tunnel")) { request, context in try await api.getTunnel(request, context) }
        router.delete(RouterPath("\(tunnels)/:tunnel")) { request, context in try await api.deleteTunnel(request, context) }
        router.get(RouterPath("\(tunnels)/:tunnel/token")) { request, context in try await api.tunnelToken(request, context) }
        router.get(RouterPath("\(tunnels)/:tunnel/connections")) { request, context in try await api.connections(request, context) }
        router.delete(RouterPath("\(tunnels)/:tunnel/connections")) { request, context in try await api.cleanup(request, context) }
        router.get(RouterPath("\(basePath)/accounts/:account/audit_logs")) { request, context in try await api.audit(request, context) }
        router.put(RouterPath("\(basePath)/zones/:zone/tunnels/:tunnel/routes")) { request, context in try await api.route(request, context) }
        let records = "\(basePath)/zones/:zone/dns_records"
        router.get(RouterPath(records)) { request, context in try await api.listRecords(request, context) }
        router.post(RouterPath(records)) { request, context in try await api.putRecord(request, context, id: nil) }
        router.put(RouterPath("\(records)/:record")) { request, context in try await api.putRecord(request, context, id: context.parameters.get("record")) }
        router.delete(RouterPath("\(records)/:record")) { request, context in try await api.deleteRecord(request, context) }
        router.get(RouterPath("\(basePath)/user/tokens/verify")) { request, context in try await api.verifyToken(request, context) }
        router.post(RouterPath(quickTunnelPath)) { request, context in try await api.createQuickTunnel(request, context) }
        router.get(RouterPath("\(basePath)/zones")) { request, context in try await api.listZones(request, context) }
        router.post(RouterPath("\(basePath)/zones/:zone/cert_pem")) { request, context in try await api.issueCertPEM(request, context) }
        router.get(RouterPath("\(basePath)/certificates")) { request, context in try await api.listCertificates(request, context) }
        router.get(RouterPath("\(basePath)/certificates/:certificate")) { request, context in try await api.getCertificate(request, context) }
        router.delete(RouterPath("\(basePath)/certificates/:certificate")) { request, context in try await api.revokeCertificate(request, context) }
        return LoginDispatchResponder(
            api: ErrorEnvelopeResponder(inner: router.buildResponder(), logger: controlPlane.logger),
            login: LoginWeb.routes(controlPlane: controlPlane))
    }

    /// The routes' paths, `*` standing for one parameter segment.
    static let routePatterns: [[Substring]] = [
        "client/v4/accounts/*/cfd_tunnel", "client/v4/accounts/*/cfd_tunnel/*", "client/v4/accounts/*/cfd_tunnel/*/token",
        "client/v4/accounts/*/cfd_tunnel/*/connections", "client/v4/accounts/*/audit_logs", "client/v4/user/tokens/verify",
        "client/v4/zones/*/tunnels/*/routes", "client/v4/zones/*/dns_records", "client/v4/zones/*/dns_records/*",
        "client/v4/zones", "client/v4/zones/*/cert_pem", "client/v4/certificates", "client/v4/certificates/*", "tunnel",
    ].map { $0.split(separator: "/") }

    /// Whether `path` is one of the routes (whatever the method).
    static func isKnownPath(_ path: String) -> Bool {
        let segments = path.split(separator: "/")
        return routePatterns.contains { pattern in
            pattern.count == segments.count && zip(pattern, segments).allSatisfy { $0 == "*" || $0 == $1 }
        }
    }

    /// A JSON response with the v4 envelope.
    static func json<Result: Codable & Sendable>(_ envelope: V4.Envelope<Result>, status: HTTPResponse.Status = .ok) -> Response {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes]
        let data = (try? encoder.encode(envelope)) ?? Data(#"{"success":false,"errors":[{"code":1000,"message":"encoding failed"}],"messages":[],"result":null}"#.utf8)
        var headers = HTTPFields()
        headers[.contentType] = "application/json"
        return Response(status: status, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: data)))
    }

    /// A page of a list, with its `result_info`.
    static func json<Item: Codable & Sendable>(_ page: Page<Item>) -> Response {
        json(V4.Envelope(
            success: true, result: page.items,
            resultInfo: V4.ResultInfo(count: page.items.count, page: page.page, perPage: page.perPage, totalCount: page.totalCount)))
    }

    /// The v4 error body for `error`.
    static func errorResponse(_ error: ControlPlaneError) -> Response {
        var response = json(V4.Envelope<String>(success: false, errors: [V4.ErrorItem(code: error.apiCode, message: error.message)], result: nil),
                            status: HTTPResponse.Status(code: error.httpStatus))
        if let retryAfter = error.retryAfter { response.headers[.retryAfter] = "\(retryAfter)" }
        return response
    }

    /// Requests one API token may make per window (Cloudflare allows 1200 per 5 minutes).
    public struct RateLimit: Sendable, Hashable {
        /// Requests per window.
        public var requests: Int
        /// The window.
        public var window: Duration

        /// Creates a limit.
        public init(requests: Int, window: Duration) {
            self.requests = requests
            self.window = window
        }
    }
}

/// Turns every failure into a v4 error body: ``ControlPlaneError``s as they are, Hummingbird's
/// (no route, body too large) mapped, anything else logged and answered 500.
struct ErrorEnvelopeResponder<Inner: HTTPResponder>: HTTPResponder where Inner.Context == ControlRequestContext {
    let inner: Inner
    let logger: Logger

    func respond(to request: Request, context: ControlRequestContext) async throws -> Response {
        do {
            let response = try await inner.respond(to: request, context: context)
            // The router answers unmatched paths itself, with an empty 404.
            if response.status.code >= 400, response.headers[.contentType] == nil {
                return Self.map(status: response.status, path: request.uri.path)
            }
            return response
        } catch let error as ControlPlaneError {
            if error.httpStatus >= 500 { logger.error("API request failed", metadata: ["path": "\(request.uri.path)", "error": "\(error)"]) }
            return ControlAPI.errorResponse(error)
        } catch is NIOTooManyBytesError {
            return ControlAPI.errorResponse(.bodyTooLarge(limit: 0))
        } catch let error as HTTPError {
            return Self.map(status: error.status, path: request.uri.path, message: error.body)
        } catch {
            logger.error("API request failed", metadata: ["path": "\(request.uri.path)", "error": "\(error)"])
            return ControlAPI.errorResponse(.storage("\(error)"))
        }
    }
}

extension ErrorEnvelopeResponder {
    /// A v4 error for one of Hummingbird's own answers.
    static func map(status: HTTPResponse.Status, path: String, message: String? = nil) -> Response {
        switch status {
        case .notFound:
            // The router answers 404 for a known path with another method too.
            return ControlAPI.errorResponse(ControlAPI.isKnownPath(path) ? .methodNotAllowed() : .noRoute())
        case .methodNotAllowed: return ControlAPI.errorResponse(.methodNotAllowed())
        case .contentTooLarge: return ControlAPI.errorResponse(.bodyTooLarge(limit: 0))
        default: return ControlAPI.errorResponse(.invalidRequest(message ?? "invalid request"))
        }
    }
}

/// The endpoint handlers: parse and validate, authenticate, call the control plane, render.
struct Handlers: Sendable {
    let controlPlane: ControlPlane
    let maxBodyBytes: Int
    let limiter: RateLimiter?

    /// The token of the request, within its rate limit.
    func token(_ request: Request) async throws -> APITokenRecord {
        let token = try await controlPlane.authenticate(authorization: request.headers[.authorization])
        try limiter?.admit(token.id)
        return token
    }

    /// The token, checked against the path's account.
    func authorize(_ request: Request, _ context: ControlRequestContext) async throws -> (accountID: String, actor: String) {
        let token = try await token(request)
        let account = context.parameters.get("account") ?? ""
        try controlPlane.authorize(token, accountID: account)
        return (account, "token:\(token.id)")
    }

    func tunnelID(_ request: Request, _ context: ControlRequestContext) throws -> UUID {
        let text = context.parameters.get("tunnel") ?? ""
        guard let id = UUID(tunnelIDString: text) else { throw ControlPlaneError.invalidObjectIdentifier(request.uri.path) }
        return id
    }

    /// The JSON body, within the size limit.
    func body<Body: Decodable>(_ request: Request, as type: Body.Type) async throws -> Body {
        var request = request
        let body: ByteBuffer
        do {
            body = try await request.collectBody(upTo: maxBodyBytes)
        } catch is NIOTooManyBytesError {
            throw ControlPlaneError.bodyTooLarge(limit: maxBodyBytes)
        }
        do {
            return try JSONDecoder().decode(Body.self, from: Data(body.readableBytesView))
        } catch let error as DecodingError {
            throw ControlPlaneError.invalidRequest("request body: \(Self.describe(error))")
        } catch {
            throw ControlPlaneError.invalidRequest("request body is not JSON")
        }
    }

    func listRecords(_ request: Request, _ context: ControlRequestContext) async throws -> Response {
        let token = try await token(request)
        let query = QueryParameters(request.uri.query)
        let (page, perPage) = try query.paging(defaultPerPage: 100)
        return ControlAPI.json(try await controlPlane.listRecords(
            accountID: token.accountID, zoneID: context.parameters.get("zone") ?? "", name: query["name"], type: query["type"], page: page, perPage: perPage))
    }

    func putRecord(_ request: Request, _ context: ControlRequestContext, id: String?) async throws -> Response {
        let token = try await token(request)
        let body = try await body(request, as: V4.DNSRecordRequest.self)
        let record = try await controlPlane.putRecord(accountID: token.accountID, zoneID: context.parameters.get("zone") ?? "", id: id, request: body, actor: "token:\(token.id)")
        return ControlAPI.json(V4.Envelope(success: true, result: record))
    }

    func deleteRecord(_ request: Request, _ context: ControlRequestContext) async throws -> Response {
        let token = try await token(request)
        let id = context.parameters.get("record") ?? ""
        try await controlPlane.deleteRecord(accountID: token.accountID, zoneID: context.parameters.get("zone") ?? "", id: id, actor: "token:\(token.id)")
        return ControlAPI.json(V4.Envelope(success: true, result: ["id": id]))
    }

    func route(_ request: Request, _ context: ControlRequestContext) async throws -> Response {
        let token = try await token(request)
        let id = try tunnelID(request, context)
        let route = try await body(request, as: V4.HostnameRouteRequest.self)
        guard route.type == "dns" else {
            throw ControlPlaneError.invalidRequest("route type \(String(reflecting: route.type)) is not supported: only dns routes (load balancers are not part of this control plane)")
        }
        guard let hostname = route.userHostname, !hostname.isEmpty else { throw ControlPlaneError.invalidRequest("user_hostname is required") }
        let result = try await controlPlane.routeDNS(
            accountID: token.accountID, zoneID: context.parameters.get("zone") ?? "", tunnelID: id, hostname: hostname,
            overwrite: route.overwriteExisting ?? false, actor: "token:\(token.id)")
        var envelope = V4.Envelope(success: true, result: result)
        envelope.messages = result.messages
        return ControlAPI.json(envelope)
    }

    func createTunnel(_ request: Request, _ context: ControlRequestContext) async throws -> Response {
        let (account, actor) = try await authorize(request, context)
        let create = try await body(request, as: V4.CreateTunnelRequest.self)
        let tunnel = try await controlPlane.createTunnel(accountID: account, name: create.name, secretBase64: create.tunnelSecret, actor: actor)
        return ControlAPI.json(V4.Envelope(success: true, result: tunnel))
    }

    func listTunnels(_ request: Request, _ context: ControlRequestContext) async throws -> Response {
        let (account, _) = try await authorize(request, context)
        let query = QueryParameters(request.uri.query)
        var filter = TunnelFilter()
        filter.isDeleted = try query.bool("is_deleted")
        filter.name = query["name"]
        filter.namePrefix = query["name_prefix"].flatMap { $0.isEmpty ? nil : $0 }
        filter.excludePrefix = query["exclude_prefix"].flatMap { $0.isEmpty ? nil : $0 }
        filter.existedAt = try query.date("existed_at")
        filter.id = try query.uuid("uuid")
        let (page, perPage) = try query.paging(defaultPerPage: ControlPlane.defaultPageSize)
        return ControlAPI.json(try await controlPlane.listTunnels(accountID: account, filter: filter, page: page, perPage: perPage))
    }

    func getTunnel(_ request: Request, _ context: ControlRequestContext) async throws -> Response {
        let (account, _) = try await authorize(request, context)
        let tunnel = try await controlPlane.tunnel(accountID: account, id: try tunnelID(request, context))
        return ControlAPI.json(V4.Envelope(success: true, result: tunnel))
    }

    func deleteTunnel(_ request: Request, _ context: ControlRequestContext) async throws -> Response {
        let (account, actor) = try await authorize(request, context)
        let id = try tunnelID(request, context)
        let cascade = try QueryParameters(request.uri.query).bool("cascade") ?? false
        let tunnel = try await controlPlane.deleteTunnel(accountID: account, id: id, cascade: cascade, actor: actor)
        return ControlAPI.json(V4.Envelope(success: true, result: tunnel))
    }

    func tunnelToken(_ request: Request, _ context: ControlRequestContext) async throws -> Response {
        let (account, _) = try await authorize(request, context)
        let token = try await controlPlane.tunnelToken(accountID: account, id: try tunnelID(request, context))
        return ControlAPI.json(V4.Envelope(success: true, result: token))
    }

    func connections(_ request: Request, _ context: ControlRequestContext) async throws -> Response {
        let (account, _) = try await authorize(request, context)
        let clients = try await controlPlane.activeClients(accountID: account, id: try tunnelID(request, context))
        return ControlAPI.json(V4.Envelope(success: true, result: clients))
    }

    func cleanup(_ request: Request, _ context: ControlRequestContext) async throws -> Response {
        let (account, actor) = try await authorize(request, context)
        let id = try tunnelID(request, context)
        let connector = try QueryParameters(request.uri.query).uuid("client_id")
        try await controlPlane.cleanupConnections(accountID: account, id: id, connectorID: connector, actor: actor)
        return ControlAPI.json(V4.Envelope<String>(success: true, result: nil))
    }

    func audit(_ request: Request, _ context: ControlRequestContext) async throws -> Response {
        let (account, _) = try await authorize(request, context)
        let query = QueryParameters(request.uri.query)
        let filter = AuditFilter(since: try query.date("since"), tunnelID: try query.uuid("tunnel_id"))
        let (page, perPage) = try query.paging(defaultPerPage: 100)
        return ControlAPI.json(try await controlPlane.auditLog(accountID: account, filter: filter, page: page, perPage: perPage))
    }

    func verifyToken(_ request: Request, _ context: ControlRequestContext) async throws -> Response {
        let token = try await token(request)
        return ControlAPI.json(V4.Envelope(success: true, result: ["id": token.id, "status": "active"]))
    }

    static func describe(_ error: DecodingError) -> String {
        switch error {
        case .keyNotFound(let key, _): return "\(key.stringValue) is required"
        case .typeMismatch(_, let context), .valueNotFound(_, let context):
            let path = context.codingPath.map(\.stringValue).joined(separator: ".")
            return path.isEmpty ? "expected a JSON object" : "\(path) has the wrong type"
        case .dataCorrupted: return "not valid JSON"
        @unknown default: return "not valid JSON"
        }
    }
}

/// A query string decoded as Go's `url.Values` encodes it (`+` is a space), first value wins.
struct QueryParameters: Sendable {
    private var values: [String: String] = [:]

    init(_ query: String?) {
        for pair in (query ?? "").split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            func decode(_ text: Substring) -> String? {
                String(text).replacingOccurrences(of: "+", with: " ").removingPercentEncoding
            }
            guard let key = decode(parts[0]) else { continue }
            let value = parts.count > 1 ? decode(parts[1]) : ""
            if values[key] == nil, let value { values[key] = value }
        }
    }

    subscript(key: String) -> String? { values[key] }

    func bool(_ key: String) throws -> Bool? {
        guard let text = values[key] else { return nil }
        switch text.lowercased() {
        case "true", "1": return true
        case "false", "0": return false
        default: throw ControlPlaneError.invalidRequest("\(key) must be true or false")
        }
    }

    func uuid(_ key: String) throws -> UUID? {
        guard let text = values[key] else { return nil }
        guard let id = UUID(tunnelIDString: text) else { throw ControlPlaneError.invalidRequest("\(key) must be a UUID") }
        return id
    }

    func date(_ key: String) throws -> Date? {
        guard let text = values[key] else { return nil }
        guard let date = V4.parseTimestamp(text) else { throw ControlPlaneError.invalidRequest("\(key) must be an RFC 3339 time (2024-05-31T13:26:00Z)") }
        return date
    }

    func paging(defaultPerPage: Int) throws -> (page: Int, perPage: Int) {
        var page = 1
        var perPage = defaultPerPage
        if let text = values["page"] {
            guard let value = Int(text), value >= 1, value <= 1_000_000 else { throw ControlPlaneError.invalidRequest("page must be a whole number from 1") }
            page = value
        }
        if let text = values["per_page"] {
            guard let value = Int(text), value >= 1 else { throw ControlPlaneError.invalidRequest("per_page must be a whole number from 1 to \(ControlPlane.maxPageSize)") }
            perPage = min(value, ControlPlane.maxPageSize)
        }
        return (page, perPage)
    }
}

/// A fixed-window request counter per API token.
final class RateLimiter: Sendable {
    let limit: ControlAPI.RateLimit
    private let counter: FixedWindowCounter

    init(_ limit: ControlAPI.RateLimit) {
        self.limit = limit
        counter = FixedWindowCounter(window: limit.window)
    }

    /// Counts a request of `token`; throws 429 with the seconds left in the window when over.
    func admit(_ token: String) throws {
        if let wait = counter.add(token, limit: limit.requests) {
            throw ControlPlaneError.rateLimited(retryAfter: FixedWindowCounter.retryAfter(wait))
        }
    }
}
