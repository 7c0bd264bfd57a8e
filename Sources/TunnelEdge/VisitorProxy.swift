import Foundation
import Logging
import NIOCore
import NIOHPACK
import NIOHTTP1
import NIOHTTP2
import Synchronization
import TunnelCore
import TunnelTransport

/// Proxies visitors' requests (HTTP/1.1 connections and HTTP/2 streams) to the tunnel that
/// owns their hostname.
struct VisitorProxy: Sendable {
    let store: any EdgeTunnelStore
    let registry: EdgeConnectionRegistry
    let limits: VisitorLimits
    let metrics: EdgeMetrics
    let logger: Logger
    /// Open visitor connections, for a graceful shutdown.
    let open = VisitorConnectionSet()

    typealias Inbound = NIOAsyncChannelInboundStream<HTTPServerRequestPart>.AsyncIterator
    typealias Outbound = NIOAsyncChannelOutboundWriter<HTTPServerResponsePart>

    /// What the proxy knows about the visitor beyond the request.
    struct Context: Sendable {
        /// `http` or `https`: how the visitor reached the edge.
        var scheme: String
        /// The visitor's IP address.
        var visitorIP: String?
        /// Whether this is an HTTP/2 stream (one request, no keep-alive, no HTTP/1.1 upgrade).
        var isHTTP2: Bool
        /// Set once a whole response (head, body, end) was handed to the visitor's stream.
        var completion: ResponseCompletion? = nil
    }

    /// Whether a response was written completely (so its stream may finish on its own).
    final class ResponseCompletion: Sendable {
        private let done = Mutex(false)
        func mark() { done.withLock { $0 = true } }
        var isDone: Bool { done.withLock { $0 } }
    }

    /// Serves one accepted visitor connection once its protocol is known, until it closes or
    /// the edge shuts down.
    func serve(_ negotiation: EventLoopFuture<VisitorConnection>, scheme: String, shutdown: ShutdownSignal) async {
        let connection: VisitorConnection
        do {
            connection = try await negotiation.get()
        } catch {
            logger.debug("visitor connection failed before a request", metadata: ["error": "\(error)"])
            return
        }
        let channel = connection.channel
        let context = Context(scheme: scheme, visitorIP: channel.remoteAddress?.ipAddress, isHTTP2: false)
        open.insert(channel, isHTTP2: { if case .http2 = connection { true } else { false } }())
        defer { open.remove(channel) }
        if shutdown.isFired { open.quiesce(channel) }
        switch connection {
        case .http1(let visitor):
            await serveHTTP1(visitor, context: context, shutdown: shutdown)
        case .http2(let http2):
            await serveHTTP2(http2, context: Context(scheme: scheme, visitorIP: context.visitorIP, isHTTP2: true))
        }
    }

    /// Stops idle visitor connections and tells HTTP/2 visitors (GOAWAY) to open no new streams.
    func quiesce() {
        open.quiesceAll()
    }

    private func serveHTTP1(_ visitor: VisitorHTTPChannel, context: Context, shutdown: ShutdownSignal) async {
        let channel = visitor.asyncChannel.channel
        try? await visitor.asyncChannel.executeThenClose { inbound, outbound in
            await serveRequests(inbound: inbound, outbound: outbound, visitor: visitor, context: context, shutdown: shutdown)
            // The close below drops writes still pending for a slow visitor: let what was written
            // reach it first (closing the output waits for pending writes), up to the idle timeout.
            let outputClosed = channel.eventLoop.makePromise(of: Void.self)
            channel.close(mode: .output, promise: outputClosed)
            await Self.wait(for: outputClosed.futureResult, upTo: limits.idleTimeout, on: channel.eventLoop)
        }
    }

    private func serveRequests(
        inbound: NIOAsyncChannelInboundStream<HTTPServerRequestPart>, outbound: Outbound, visitor: VisitorHTTPChannel, context: Context,
        shutdown: ShutdownSignal
    ) async {
        let channel = visitor.asyncChannel.channel
        var requests = inbound.makeAsyncIterator()
        var firstRequest = true
        while !shutdown.isFired {
            // Slowloris and idle protection: a complete head must arrive in time.
            let timer = channel.eventLoop.scheduleTask(in: (firstRequest ? limits.headerTimeout : limits.idleTimeout).timeAmount) {
                channel.close(promise: nil)
            }
            open.setIdle(channel, true)
            let part: HTTPServerRequestPart?
            do {
                part = try await requests.next()
            } catch {
                timer.cancel()
                await answerDecodingError(error, outbound: outbound)
                return
            }
            timer.cancel()
            open.setIdle(channel, false)
            guard case .head(let head)? = part else { return }
            firstRequest = false
            let keepAlive = await handle(head, requests: &requests, outbound: outbound, visitor: visitor, context: context)
            if !keepAlive { return }
        }
    }

    /// Waits for `future` (success or failure), at most `limit`.
    static func wait(for future: EventLoopFuture<Void>, upTo limit: Duration, on eventLoop: any EventLoop) async {
        let done = eventLoop.makePromise(of: Void.self)
        future.whenComplete { _ in done.succeed() }
        let timer = eventLoop.scheduleTask(in: limit.timeAmount) { done.succeed() }
        try? await done.futureResult.get()
        timer.cancel()
    }

    private func serveHTTP2(_ connection: VisitorHTTP2Connection, context: Context) async {
        await withDiscardingTaskGroup { group in
            do {
                for try await stream in connection.streams.inbound {
                    group.addTask {
                        try? await stream.asyncChannel.executeThenClose { inbound, outbound in
                            var requests = inbound.makeAsyncIterator()
                            guard case .head(let head)? = try await requests.next() else { return }
                            var streamContext = context
                            let completion = ResponseCompletion()
                            streamContext.completion = completion
                            _ = await handle(head, requests: &requests, outbound: outbound, visitor: stream, context: streamContext)
                            // After a complete response the stream closes by itself once its
                            // END_STREAM went out; closing it earlier resets it (CANCEL) and drops
                            // a slow visitor's last bytes, still waiting for flow-control window.
                            // Wait, up to the idle timeout. A failed response is reset at once.
                            if completion.isDone {
                                let channel = stream.asyncChannel.channel
                                await Self.wait(for: channel.closeFuture, upTo: limits.idleTimeout, on: channel.eventLoop)
                            }
                        }
                    }
                }
            } catch {
                logger.debug("visitor HTTP/2 connection ended", metadata: ["error": "\(error)"])
            }
        }
        try? await connection.channel.close()
    }

    private func answerDecodingError(_ error: any Error, outbound: Outbound) async {
        let status: HTTPResponseStatus
        if let parserError = error as? HTTPParserError, parserError == .headerOverflow {
            status = .requestHeaderFieldsTooLarge
        } else {
            status = .badRequest
        }
        try? await writePage(status: status, title: status.reasonPhrase, detail: "The request could not be parsed.", outbound: outbound, keepAlive: false)
    }

    /// Handles one request; returns whether the connection can serve another.
    private func handle(_ head: HTTPRequestHead, requests: inout Inbound, outbound: Outbound, visitor: VisitorHTTPChannel, context: Context) async -> Bool {
        metrics.requestStarted()
        defer { metrics.requestEnded() }
        let hosts = head.headers["host"]
        let headerBytes = head.headers.reduce(head.uri.utf8.count) { $0 + $1.name.utf8.count + $1.value.utf8.count + 4 }
        if headerBytes > limits.maxHeaderBytes {
            try? await writePage(status: .requestHeaderFieldsTooLarge, title: "Request Header Fields Too Large", detail: "The request headers exceed \(limits.maxHeaderBytes) bytes.", outbound: outbound, keepAlive: false, completion: context.completion)
            return false
        }
        guard hosts.count == 1, let host = hosts.first, !host.isEmpty else {
            try? await writePage(status: .badRequest, title: "Bad Request", detail: "The request must carry exactly one Host header.", outbound: outbound, keepAlive: false, completion: context.completion)
            return false
        }
        let hostname = HostnameRouter.normalize(host)
        let tunnel: EdgeTunnel?
        do {
            tunnel = try await store.tunnel(forHostname: hostname)
        } catch {
            logger.error("tunnel store failed", metadata: ["error": "\(error)"])
            tunnel = nil
        }
        let expectsContinue = !context.isHTTP2 && head.headers["expect"].contains { $0.lowercased() == "100-continue" }
        guard let tunnel else {
            // A visitor waiting for 100 Continue sends no body: answer and close instead.
            let keepAlive = expectsContinue ? false : await drainBody(&requests)
            try? await writePage(status: .custom(code: 530, reasonPhrase: "Origin Unreachable"), title: "No tunnel for \(hostname)", detail: "No tunnel is routed to the hostname \(hostname) on this edge. Route it with `tunnelctl tunnel route dns TUNNEL \(hostname)`.", outbound: outbound, keepAlive: keepAlive, completion: context.completion)
            return keepAlive
        }
        let extendedConnect = context.isHTTP2 && head.method == .CONNECT ? head.headers.first(name: VisitorExtendedConnect.markerHeader) : nil
        if head.method == .CONNECT && extendedConnect?.lowercased() != "websocket" {
            try? await writePage(status: .notImplemented, title: "Not Implemented", detail: "This edge tunnels HTTP and WebSockets only, not CONNECT.", outbound: outbound, keepAlive: false, completion: context.completion)
            return false
        }
        let isWebSocket = extendedConnect != nil || (!context.isHTTP2 && Self.isWebSocketUpgrade(head))
        let hasBody = isWebSocket || Self.hasBody(head)
        // `expect` is answered here (HTTP/1.1) and never forwarded: the tunnel stream carries
        // no interim responses.
        var visitorHeaders = head.headers.compactMap { field -> (name: String, value: String)? in
            let name = field.name.lowercased()
            return name == "expect" || name == VisitorExtendedConnect.markerHeader ? nil : (field.name, field.value)
        }
        if extendedConnect != nil {
            // RFC 8441 carries no WebSocket key; the connector's origin needs one (spec 7.6).
            visitorHeaders.append(("sec-websocket-key", VisitorExtendedConnect.randomKey()))
            visitorHeaders.removeAll { $0.name.lowercased() == "sec-websocket-version" }
            visitorHeaders.append(("sec-websocket-version", "13"))
        }
        let visitorRequest = VisitorRequest(
            method: extendedConnect != nil ? "GET" : head.method.rawValue, scheme: context.scheme, authority: host, path: head.uri,
            headers: visitorHeaders, visitorAddress: context.visitorIP)
        let fields: HPACKHeaders
        do {
            fields = try EdgeRequestHeaders.make(for: visitorRequest, purpose: isWebSocket ? .websocket : .http)
        } catch {
            try? await writePage(status: .badRequest, title: "Bad Request", detail: "The request headers are not valid: \(error).", outbound: outbound, keepAlive: false, completion: context.completion)
            return false
        }

        var excluded: Set<UUID> = []
        while true {
            guard let live = registry.candidates(for: tunnel.id, excluding: excluded).first else {
                let keepAlive = expectsContinue ? false : await drainBody(&requests)
                try? await writePage(status: .custom(code: 530, reasonPhrase: "Origin Unreachable"), title: "Tunnel \(tunnel.name.isEmpty ? tunnel.id.lowercasedString : tunnel.name) is not connected", detail: "The tunnel for \(hostname) has no healthy connector connection right now. Start it with `tunnelctl tunnel run` (or `cloudflared tunnel run`).", outbound: outbound, keepAlive: keepAlive, completion: context.completion)
                return keepAlive
            }
            let attempt = await forward(
                fields, hasBody: hasBody, isWebSocket: isWebSocket, expectsContinue: expectsContinue && hasBody, head: head, via: live,
                requests: &requests, outbound: outbound, visitor: visitor, context: context)
            switch attempt {
            case .done(let keepAlive):
                return keepAlive
            case .streamNotOpened:
                // Fail over to another connection; nothing was sent yet.
                excluded.insert(live.id)
            }
        }
    }

    private enum Attempt {
        case done(keepAlive: Bool)
        case streamNotOpened
    }

    /// Sends the request over one connection and the response back to the visitor.
    private func forward(
        _ fields: HPACKHeaders, hasBody: Bool, isWebSocket: Bool, expectsContinue: Bool, head: HTTPRequestHead, via live: LiveConnection,
        requests: inout Inbound, outbound: Outbound, visitor: VisitorHTTPChannel, context: Context
    ) async -> Attempt {
        live.streamStarted()
        defer { live.streamEnded() }
        let opened = LockedBox(false)
        let result = LockedBox<(keepAlive: Bool, upgraded: Bool)>((Self.keepAlive(head), false))
        do {
            try await live.connection.withStream(fields, endStream: !hasBody) { stream in
                opened.withLock { $0 = true }
                if expectsContinue {
                    try await outbound.write(.head(HTTPResponseHead(version: .http1_1, status: .continue)))
                }
                if !hasBody && !isWebSocket {
                    // Nothing goes up the stream: read to the request's end, then relay the
                    // response in this task (no child task per request).
                    var requestEnded = false
                    while !requestEnded, let part = try await requests.next() {
                        switch part {
                        case .head: throw EdgeServerError(message: "unexpected request head")
                        case .body: continue
                        case .end: requestEnded = true
                        }
                    }
                    let outcome = try await relayResponse(stream: stream, isWebSocket: false, head: head, outbound: outbound, visitor: visitor, context: context)
                    result.withLock { $0.keepAlive = $0.keepAlive && requestEnded && outcome.keepAlive }
                    return
                }
                try await withThrowingTaskGroup(of: Void.self) { group in
                    group.addTask {
                        let outcome = try await relayResponse(stream: stream, isWebSocket: isWebSocket, head: head, outbound: outbound, visitor: visitor, context: context)
                        result.withLock {
                            $0.keepAlive = $0.keepAlive && outcome.keepAlive
                            $0.upgraded = outcome.upgraded
                        }
                    }
                    // The visitor's body (or, after an upgrade, its raw bytes) goes up the stream.
                    var requestEnded = false
                    while let part = try await requests.next() {
                        switch part {
                        case .head:
                            throw EdgeServerError(message: "unexpected request head")
                        case .body(let buffer):
                            if hasBody { try await stream.requestBody.write(buffer) }
                        case .end:
                            requestEnded = true
                        }
                        // An HTTP/1.1 upgrade request ends before the raw bytes start; an HTTP/2
                        // stream's end is the visitor's end.
                        if requestEnded && (context.isHTTP2 || !isWebSocket) { break }
                    }
                    if hasBody { try? await stream.requestBody.finish() }
                    if !requestEnded && !isWebSocket { result.withLock { $0.keepAlive = false } }
                    try await group.waitForAll()
                }
            }
        } catch {
            if !opened.withLock({ $0 }) {
                return .streamNotOpened
            }
            logger.info("visitor request failed", metadata: ["error": "\(error)", "path": "\(head.uri)"])
            return .done(keepAlive: false)
        }
        let final = result.withLock { $0 }
        return .done(keepAlive: final.keepAlive && !final.upgraded)
    }

    /// Reads the connector's response and writes it to the visitor.
    private func relayResponse(
        stream: TunnelClientStream, isWebSocket: Bool, head: HTTPRequestHead, outbound: Outbound, visitor: VisitorHTTPChannel, context: Context
    ) async throws -> (keepAlive: Bool, upgraded: Bool) {
        let response: (head: TunnelResponseHead, body: TunnelInboundBody)
        do {
            response = try await stream.response(timeout: limits.responseTimeout)
        } catch let error as TunnelStreamError where error == .responseTimeout(limits.responseTimeout) {
            try await writePage(status: .custom(code: 524, reasonPhrase: "A Timeout Occurred"), title: "The origin did not answer in time", detail: "The tunnel's origin did not send a response within \(limits.responseTimeout).", outbound: outbound, keepAlive: false, completion: context.completion)
            return (false, false)
        } catch {
            try await writePage(status: .badGateway, title: "Bad Gateway", detail: "The tunnel connection failed before a response arrived.", outbound: outbound, keepAlive: false, completion: context.completion)
            return (false, false)
        }
        if response.head.meta?.source == .cloudflared {
            try await writePage(status: .badGateway, title: "Bad Gateway", detail: "The connector could not reach the origin service for this hostname. Check that the origin is running and that the tunnel's ingress rules point at it.", outbound: outbound, keepAlive: true, completion: context.completion)
            return (true, false)
        }
        metrics.recordResponse(status: response.head.status)
        var headers = HTTPHeaders()
        var upgradeHeader = false
        var hasLength = false
        for field in response.head.userHeaders ?? [] {
            let name = String(decoding: field.name, as: UTF8.self)
            let value = String(decoding: field.value, as: UTF8.self)
            let lower = name.lowercased()
            if lower == "upgrade" && value.lowercased() == "websocket" { upgradeHeader = true }
            if lower == "content-length" { hasLength = true }
            if Self.hopByHop.contains(lower) && !(isWebSocket && (lower == "upgrade" || lower == "connection")) { continue }
            // Internal headers never reach visitors, whatever a connector sends.
            if lower.hasPrefix("cf-cloudflared-") || lower.hasPrefix("cf-int-") || lower.hasPrefix("cf-proxy-") { continue }
            headers.add(name: name, value: value)
        }
        if isWebSocket && upgradeHeader && response.head.status == 200 && context.isHTTP2 {
            // RFC 8441: 200 on the CONNECT stream, then the stream carries the WebSocket bytes.
            for name in ["upgrade", "connection", "sec-websocket-accept"] { headers.remove(name: name) }
            try await outbound.write(.head(HTTPResponseHead(version: .http2, status: .ok, headers: headers)))
            for try await bytes in response.body {
                try await outbound.write(.body(.byteBuffer(bytes)))
            }
            try await outbound.write(.end(nil))
            return (false, true)
        }
        if isWebSocket && upgradeHeader && response.head.status == 200 {
            try await outbound.write(.head(HTTPResponseHead(version: .http1_1, status: .switchingProtocols, headers: headers)))
            try await visitor.switchToRawBytes()
            for try await bytes in response.body {
                try await outbound.write(.body(.byteBuffer(bytes)))
            }
            visitor.asyncChannel.channel.close(mode: .output, promise: nil)
            return (false, true)
        }
        if !hasLength, head.method == .HEAD || response.head.status == 204 || response.head.status == 304 {
            headers.replaceOrAdd(name: "content-length", value: "0")
        }
        if !context.isHTTP2 && !Self.keepAlive(head) { headers.replaceOrAdd(name: "connection", value: "close") }
        let responseHead = HTTPResponseHead(version: .http1_1, status: .init(statusCode: response.head.status), headers: headers)
        var body = response.body.makeAsyncIterator()
        if hasLength {
            // A body of known length: its head waits for the first bytes, so a small response
            // (which arrives as one HEADERS + DATA with END_STREAM) is one write and one flush.
            var parts: [HTTPServerResponsePart] = [.head(responseHead)]
            if let first = try await body.next() { parts.append(.body(.byteBuffer(first))) }
            if response.body.isComplete {
                parts.append(.end(Self.trailers(response.body)))
                try await outbound.write(contentsOf: parts)
                return (true, false)
            }
            try await outbound.write(contentsOf: parts)
        } else {
            try await outbound.write(.head(responseHead))
        }
        while let bytes = try await body.next() {
            try await outbound.write(.body(.byteBuffer(bytes)))
        }
        try await outbound.write(.end(Self.trailers(response.body)))
        context.completion?.mark()
        return (true, false)
    }

    private static func trailers(_ body: TunnelInboundBody) -> HTTPHeaders? {
        guard let received = body.trailers, !received.isEmpty else { return nil }
        return HTTPHeaders(received.map { ($0.name, $0.value) })
    }

    /// Reads and discards the rest of a request body; `false` if the connection cannot be reused.
    private func drainBody(_ requests: inout Inbound) async -> Bool {
        var drained = 0
        do {
            while let part = try await requests.next() {
                switch part {
                case .head: return false
                case .body(let buffer):
                    drained += buffer.readableBytes
                    if drained > 1 << 20 { return false }
                case .end: return true
                }
            }
        } catch {
            return false
        }
        return false
    }

    private func writePage(
        status: HTTPResponseStatus, title: String, detail: String, outbound: Outbound, keepAlive: Bool, completion: ResponseCompletion? = nil
    ) async throws {
        metrics.recordResponse(status: Int(status.code))
        let body = ErrorPage.html(status: Int(status.code), title: title, detail: detail)
        var headers = HTTPHeaders()
        headers.add(name: "content-type", value: "text/html; charset=utf-8")
        headers.add(name: "content-length", value: "\(body.readableBytes)")
        headers.add(name: "cache-control", value: "no-store")
        if !keepAlive { headers.add(name: "connection", value: "close") }
        try await outbound.write(contentsOf: [.head(HTTPResponseHead(version: .http1_1, status: status, headers: headers)), .body(.byteBuffer(body)), .end(nil)])
        completion?.mark()
    }

    static let hopByHop: Set<String> = ["connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade", "te", "trailer"]

    static func isWebSocketUpgrade(_ head: HTTPRequestHead) -> Bool {
        head.headers["upgrade"].contains { $0.lowercased() == "websocket" }
            && head.headers["connection"].contains { $0.lowercased().split(separator: ",").contains { $0.trimmingCharacters(in: .whitespaces) == "upgrade" } }
    }

    static func hasBody(_ head: HTTPRequestHead) -> Bool {
        if head.headers["transfer-encoding"].contains(where: { $0.lowercased().contains("chunked") }) { return true }
        if let length = head.headers.first(name: "content-length"), let value = Int(length) { return value > 0 }
        return false
    }

    static func keepAlive(_ head: HTTPRequestHead) -> Bool {
        head.isKeepAlive
    }
}

/// The edge's own error pages.
enum ErrorPage {
    static func html(status: Int, title: String, detail: String) -> ByteBuffer {
        func escape(_ text: String) -> String {
            text.replacing("&", with: "&amp;").replacing("<", with: "&lt;").replacing(">", with: "&gt;")
        }
        return ByteBuffer(string: """
            <!DOCTYPE html>
            <html><head><meta charset="utf-8"><title>\(status) \(escape(title))</title></head>
            <body><h1>Error \(status): \(escape(title))</h1><p>\(escape(detail))</p><hr><p>swift-tunnel edge</p></body></html>

            """)
    }
}

/// A mutable value shared between tasks.
final class LockedBox<Value: Sendable>: Sendable {
    private let mutex: Mutex<Value>

    init(_ value: Value) { mutex = Mutex(value) }

    func withLock<Result>(_ body: (inout Value) -> Result) -> Result {
        mutex.withLock { body(&$0) }
    }
}
