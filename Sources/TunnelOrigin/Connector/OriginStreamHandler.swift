#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
public import Logging
import NIOCore
import NIOHPACK
import NIOHTTP1
import Synchronization
import TunnelCore
public import TunnelTransport

/// Serves the data streams of a connector's tunnel connections from its origins: the bridge
/// between the tunnel's HTTP/2 streams and ``OriginProxy``.
///
/// The proxy can be swapped while streams run (a configuration push or a reload): each stream
/// uses the proxy current when it started.
public final class OriginStreamHandler: TunnelStreamHandler {
    private let current: Mutex<OriginProxy>
    private let lastAppliedVersion = Mutex<Int?>(nil)
    let logger: Logger
    /// Where request counts, statuses and errors are recorded.
    public let metrics: ConnectorMetrics

    /// Creates a handler serving from `proxy`.
    public init(proxy: OriginProxy, metrics: ConnectorMetrics = ConnectorMetrics(), logger: Logger = Logger(label: "tunnel.connector")) {
        self.current = Mutex(proxy)
        self.metrics = metrics
        self.logger = logger
    }

    /// Runs the origin connection pool of the proxy's client until cancelled.
    public func run() async {
        await self.proxy.client.run()
    }

    /// The proxy new streams use.
    public var proxy: OriginProxy {
        get { current.withLock { $0 } }
        set { current.withLock { $0 = newValue } }
    }

    /// Serves plain HTTP requests without a body to `http://` origins on the stream's event loop:
    /// the stream channel glued to an origin connection of the same loop (``OriginExchange``).
    /// Everything else (bodies, WebSockets, TCP, TLS origins, built-in services) takes the
    /// asynchronous path.
    public func serveOnEventLoop(_ request: TunnelRequest, channel: any Channel) -> Bool {
        guard request.kind == .http, request.endStream, var head = try? request.originRequestHead() else { return false }
        let proxy = self.proxy
        let rule = proxy.rule(for: head)
        guard case .http = rule.service,
            let endpoint = OriginEndpoint(service: rule.service, options: rule.originRequest, requestHost: head.headers.first(name: "host")),
            endpoint.tls == nil
        else { return false }
        proxy.prepare(&head, options: rule.originRequest)
        OriginHTTPClient.frame(&head, hasBody: false)
        let exchange = OriginExchange(
            stream: channel, head: head, endpoint: endpoint, configuration: .init(options: rule.originRequest),
            pool: proxy.client.eventLoopPool(for: channel.eventLoop), metrics: metrics, logger: logger)
        do {
            try channel.pipeline.syncOperations.addHandler(exchange)
        } catch {
            return false
        }
        exchange.start()
        return true
    }

    public func handleStream(_ request: TunnelRequest, body: TunnelInboundBody, response: TunnelResponseWriter) async throws {
        switch request.kind {
        case .configurationUpdate:
            try await acknowledgeConfiguration(body: body, response: response)
            return
        case .control:
            return
        case .http, .websocket, .tcp:
            break
        }
        metrics.streamStarted(tcp: request.kind == .tcp)
        defer { metrics.streamEnded(tcp: request.kind == .tcp) }
        do {
            if try await proxyStream(request, body: body, response: response) == .failed {
                metrics.recordRequestError()
            }
        } catch {
            metrics.recordRequestError()
            throw error
        }
    }

    private enum ProxyResult { case served, failed }

    /// Proxies one stream; `.failed` when the origin could not be reached (a 502 was sent).
    private func proxyStream(_ request: TunnelRequest, body: TunnelInboundBody, response: TunnelResponseWriter) async throws -> ProxyResult {
        let proxy = self.proxy
        let writer = TunnelOriginResponseWriter(response: response, metrics: metrics)
        let outcome: OriginExchangeOutcome
        switch request.kind {
        case .http:
            let head = try request.originRequestHead()
            outcome = await proxy.serveHTTP(head, body: request.endStream ? nil : body, writer: writer)
        case .websocket:
            let head = try request.originRequestHead()
            outcome = await proxy.serveWebSocket(head, body: body, writer: writer)
        case .tcp:
            guard let destination = request.authority, let endpoint = Self.tcpEndpoint(destination) else {
                metrics.recordResponse(status: 502)
                try await response.writeHead(.connectorError(), endStream: true)
                return .failed
            }
            outcome = await proxy.serveTCP(to: endpoint, body: body, writer: writer)
        case .configurationUpdate, .control:
            return .served
        }
        switch outcome {
        case .completed:
            return .served
        case .failedBeforeResponse(let error):
            logger.error("origin unreachable", metadata: ["error": "\(error)", "authority": "\(request.authority ?? "")", "path": "\(request.path ?? "")"])
            if !writer.headWritten {
                metrics.recordResponse(status: 502)
                try await response.writeHead(.connectorError(), endStream: true)
            }
            return .failed
        case .failedDuringResponse(let error):
            logger.warning("origin response broken", metadata: ["error": "\(error)", "path": "\(request.path ?? "")"])
            throw error
        }
    }

    /// Acknowledges a configuration push with the version it carried, as cloudflared does
    /// (`{"lastAppliedVersion":N,"err":null}`). The configuration itself is not applied yet.
    private func acknowledgeConfiguration(body: TunnelInboundBody, response: TunnelResponseWriter) async throws {
        let bytes = try await body.collect(upTo: 1 << 20)
        struct Push: Decodable { var version: Int }
        let version = (try? JSONDecoder().decode(Push.self, from: Data(bytes.readableBytesView)))?.version
        if let version { lastAppliedVersion.withLock { $0 = version } }
        let applied = lastAppliedVersion.withLock { $0 } ?? -1
        let answer = ByteBuffer(string: "{\"lastAppliedVersion\":\(applied),\"err\":null}")
        try await response.writeHead(fields: [
            ":status": "200", "content-type": "text/plain; charset=utf-8", "content-length": "\(answer.readableBytes)",
        ])
        try await response.write(answer)
        try await response.finish()
    }

    static func tcpEndpoint(_ authority: String) -> OriginEndpoint? {
        guard let colon = authority.lastIndex(of: ":"), let port = Int(authority[authority.index(after: colon)...]), (1...65535).contains(port) else {
            return nil
        }
        var host = String(authority[..<colon])
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        guard !host.isEmpty else { return nil }
        return OriginEndpoint(address: .tcp(host: host, port: port))
    }
}

/// Writes an origin's response into a tunnel stream in cloudflared's format (spec 7.2):
/// status (101 → 200), user headers serialized, meta `{"src":"origin"}`, `content-length` copied.
final class TunnelOriginResponseWriter: OriginResponseWriter {
    let response: TunnelResponseWriter
    let metrics: ConnectorMetrics

    private struct State {
        var headWritten = false
        /// A head held back until the first body bytes (or the end), so both go out in one flush.
        var pendingHead: HPACKHeaders?
        /// Body bytes still due by the origin's Content-Length.
        var remaining: Int?
        /// END_STREAM already went out on the last DATA frame.
        var ended = false
    }

    private let state = Mutex(State())

    init(response: TunnelResponseWriter, metrics: ConnectorMetrics) {
        self.response = response
        self.metrics = metrics
    }

    /// Whether the origin's head arrived (it may still be held back with the first body bytes).
    var headWritten: Bool { state.withLock { $0.headWritten } }

    /// The tunnel HEADERS for an origin's response head (spec 7.2): the status (101 → 200), the
    /// user headers serialized, `content-length` copied; and the body length it announced.
    static func tunnelHead(for head: HTTPResponseHead) -> (fields: HPACKHeaders, status: Int, length: Int?) {
        let status = head.status == .switchingProtocols ? 200 : Int(head.status.code)
        var serialized: [SerializedHeaderField] = []
        var fields = HPACKHeaders()
        var length: Int?
        for (name, value) in head.headers {
            let lower = name.lowercased()
            if Self.isControlHeader(lower) || lower == "transfer-encoding" || lower == "trailer" { continue }
            serialized.append(SerializedHeaderField(name: Array(SerializedHeaders.canonicalName(name).utf8), value: Array(value.utf8)))
            if lower == "content-length" {
                fields.add(name: "content-length", value: value)
                length = Int(value)
            }
        }
        return (TunnelResponseHead.origin(status: status, headers: serialized, fields: fields).headers, status, length)
    }

    /// The origin's trailers as a trailing HEADERS block (lowercase names); `nil` when it sent none.
    static func tunnelTrailers(_ trailers: HTTPHeaders?) -> HPACKHeaders? {
        guard let trailers, !trailers.isEmpty else { return nil }
        return HPACKHeaders(trailers.map { ($0.name.lowercased(), $0.value) })
    }

    func writeHead(_ head: HTTPResponseHead) async throws {
        let (headers, status, length) = Self.tunnelHead(for: head)
        metrics.recordResponse(status: status)
        // A body of known length goes out with its head, and its last bytes carry END_STREAM:
        // one flush for a small response instead of three (cloudflared also holds the head of a
        // non-streaming body). Streaming responses (chunked, SSE, WebSocket, TCP) get their head at once.
        let hold = length != nil && head.status != .switchingProtocols
        state.withLock {
            $0.headWritten = true
            $0.remaining = hold ? length : nil
            if hold { $0.pendingHead = headers }
        }
        if !hold { try await response.writeHead(fields: headers) }
    }

    func writeBody(_ buffer: ByteBuffer) async throws {
        guard buffer.readableBytes > 0 else { return }
        let (pending, last) = state.withLock { state -> (HPACKHeaders?, Bool) in
            let pending = state.pendingHead
            state.pendingHead = nil
            guard let remaining = state.remaining else { return (pending, false) }
            state.remaining = remaining - buffer.readableBytes
            state.ended = remaining == buffer.readableBytes
            return (pending, state.ended)
        }
        if let pending {
            try await response.writeHead(fields: pending, body: buffer, endStream: last)
        } else if last {
            try await response.writeLast(buffer)
        } else {
            try await response.write(buffer)
        }
    }

    func writeEnd(trailers: HTTPHeaders?) async throws {
        let (pending, ended) = state.withLock { state -> (HPACKHeaders?, Bool) in
            let pending = state.pendingHead
            state.pendingHead = nil
            return (pending, state.ended)
        }
        if ended { return }
        let hpack = Self.tunnelTrailers(trailers)
        if let pending {
            guard hpack != nil else { return try await response.writeHead(fields: pending, endStream: true) }
            try await response.writeHead(fields: pending)
        }
        try await response.finish(trailers: hpack)
    }

    /// Names cloudflared never forwards as user headers.
    static func isControlHeader(_ lowercasedName: String) -> Bool {
        lowercasedName.hasPrefix(":") || lowercasedName.hasPrefix("cf-int-") || lowercasedName.hasPrefix("cf-cloudflared-")
            || lowercasedName.hasPrefix("cf-proxy-")
    }
}
