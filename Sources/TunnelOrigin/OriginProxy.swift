#if canImport(FoundationEssentials)
public import FoundationEssentials
#else
public import Foundation
#endif
public import Logging
public import NIOCore
public import NIOHTTP1
import NIOPosix
import NIOSSL
public import TunnelCore

/// The connector's origin side: picks the ingress rule for each request and serves it, from an
/// origin (HTTP/1.1, WebSocket, raw TCP, unix sockets) or directly (`http_status:NNN`, `hello_world`).
public struct OriginProxy: Sendable {
    /// The rules requests are matched against.
    public var ingress: Ingress
    /// The HTTP client (and its keep-alive pool) used for origins.
    public let client: OriginHTTPClient
    /// The connector's ID, sent to origins as `Cf-Warp-Tag-Id` as cloudflared does.
    public var connectorID: UUID?
    /// Logger for per-request diagnostics.
    public var logger: Logger

    /// Creates a proxy.
    public init(ingress: Ingress, client: OriginHTTPClient, connectorID: UUID? = nil, logger: Logger = Logger(label: "tunnel.origin")) {
        self.ingress = ingress
        self.client = client
        self.connectorID = connectorID
        self.logger = logger
    }

    /// The rule for a request head: host from `Host` (port stripped), path without the query.
    public func rule(for head: HTTPRequestHead) -> IngressRule {
        let host = head.headers.first(name: "host") ?? ""
        var path = Substring(head.uri)
        if let query = path.firstIndex(of: "?") { path = path[..<query] }
        return ingress.matchingRule(host: host, path: String(path))
    }

    /// Serves one HTTP request. The request head is as it goes to the origin (`Host` set).
    public func serveHTTP<Body: AsyncSequence & Sendable>(
        _ head: HTTPRequestHead,
        body: Body?,
        writer: some OriginResponseWriter
    ) async -> OriginExchangeOutcome where Body.Element == ByteBuffer {
        let rule = rule(for: head)
        switch rule.service {
        case .httpStatus(let code):
            return await respond(status: code, body: nil, writer: writer)
        case .helloWorld:
            return await respond(status: 200, body: HelloWorldPage.html(for: head), contentType: "text/html; charset=utf-8", writer: writer)
        default:
            break
        }
        guard let endpoint = OriginEndpoint(service: rule.service, options: rule.originRequest, requestHost: head.headers.first(name: "host")) else {
            return .failedBeforeResponse(OriginError.noOriginForService("\(rule.service)"))
        }
        var head = head
        prepare(&head, options: rule.originRequest)
        return await client.execute(head, body: body, endpoint: endpoint, configuration: .init(options: rule.originRequest), writer: writer)
    }

    /// Serves a WebSocket: sends the upgrade to the origin; on `101` the writer gets the head and
    /// then the raw bytes both ways, until either side ends. Other answers are passed on as HTTP.
    public func serveWebSocket<Body: AsyncSequence & Sendable>(
        _ head: HTTPRequestHead,
        body: Body,
        writer: some OriginResponseWriter
    ) async -> OriginExchangeOutcome where Body.Element == ByteBuffer {
        let rule = rule(for: head)
        if case .httpStatus(let code) = rule.service {
            return await respond(status: code, body: nil, writer: writer)
        }
        guard let endpoint = OriginEndpoint(service: rule.service, options: rule.originRequest, requestHost: head.headers.first(name: "host")) else {
            return .failedBeforeResponse(OriginError.noOriginForService("\(rule.service)"))
        }
        var head = head
        prepare(&head, options: rule.originRequest)
        head.headers.replaceOrAdd(name: "Connection", value: "Upgrade")
        head.headers.replaceOrAdd(name: "Upgrade", value: "websocket")
        head.headers.remove(name: "content-length")
        head.headers.remove(name: "transfer-encoding")
        return await RawOriginRelay.upgrade(head, body: body, endpoint: endpoint, options: rule.originRequest, writer: writer)
    }

    /// Serves a raw TCP stream to `host:port` (`tcp://` services and private-network streams):
    /// `onConnected` runs once the origin accepted the connection, then bytes flow both ways.
    public func serveTCP<Body: AsyncSequence & Sendable>(
        to endpoint: OriginEndpoint,
        body: Body,
        connectTimeout: Duration = .seconds(30),
        writer: some OriginResponseWriter
    ) async -> OriginExchangeOutcome where Body.Element == ByteBuffer {
        await RawOriginRelay.tcp(endpoint: endpoint, body: body, connectTimeout: connectTimeout, writer: writer)
    }

    func prepare(_ head: inout HTTPRequestHead, options: OriginRequestConfiguration) {
        if !options.httpHostHeader.isEmpty {
            head.headers.replaceOrAdd(name: "Host", value: options.httpHostHeader)
        }
        if let connectorID {
            head.headers.replaceOrAdd(name: "Cf-Warp-Tag-Id", value: connectorID.lowercasedString)
        }
        if options.disableChunkedEncoding, head.headers.first(name: "transfer-encoding") == "chunked" {
            head.headers.remove(name: "transfer-encoding")
        }
    }

    private func respond(status: Int, body: String?, contentType: String? = nil, writer: some OriginResponseWriter) async -> OriginExchangeOutcome {
        var headers = HTTPHeaders()
        let bytes = body.map { ByteBuffer(string: $0) }
        headers.add(name: "Content-Length", value: "\(bytes?.readableBytes ?? 0)")
        if let contentType { headers.add(name: "Content-Type", value: contentType) }
        do {
            try await writer.writeHead(HTTPResponseHead(version: .http1_1, status: .init(statusCode: status), headers: headers))
            if let bytes { try await writer.writeBody(bytes) }
            try await writer.writeEnd(trailers: nil)
            return .completed
        } catch {
            return .failedDuringResponse(error)
        }
    }
}

/// The built-in `hello_world` origin: a small page that proves the tunnel works.
enum HelloWorldPage {
    static func html(for head: HTTPRequestHead) -> String {
        let host = head.headers.first(name: "host") ?? "this tunnel"
        let escapedHost = host.replacing("&", with: "&amp;").replacing("<", with: "&lt;").replacing(">", with: "&gt;")
        return """
            <!DOCTYPE html>
            <html><head><meta charset="utf-8"><title>swift-tunnel: hello world</title></head>
            <body><h1>Congrats! You created a tunnel!</h1>
            <p>This page is served by the built-in <code>hello_world</code> service of swift-tunnel, through the tunnel for <code>\(escapedHost)</code>.</p>
            </body></html>

            """
    }
}
