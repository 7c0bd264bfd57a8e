import Logging
import NIOCore
import NIOHPACK
import NIOHTTP1
import NIOHTTP2
import NIOPosix
import TunnelTransport

/// One request without a body, served on its stream's event loop: the tunnel stream channel glued
/// to an HTTP/1.1 origin connection of the same loop. The request goes out with one flush;
/// response parts are written to the stream as they are read and flushed once per origin read
/// cycle; the origin is not read while the stream cannot take more (HTTP/2 flow control). No task
/// takes part.
///
/// It sits on the stream channel (where it sees resets and writability) and is driven from the
/// origin channel by ``OriginConnectionHandler``.
final class OriginExchange: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTP2Frame.FramePayload
    typealias OutboundOut = HTTP2Frame.FramePayload

    private enum State {
        case connecting
        case waitingForHead
        case streamingBody
        case done
    }

    private let stream: any Channel
    private let head: HTTPRequestHead
    private let endpoint: OriginEndpoint
    private let configuration: OriginHTTPClient.Configuration
    private let pool: OriginEventLoopPool?
    private let metrics: ConnectorMetrics
    private let logger: Logger

    private var state = State.connecting
    private var origin: (any Channel)?
    private var reused = false
    private var keepAlive = true
    /// A head held back until the first body bytes (or the end), so both go out together.
    private var pendingHead: HPACKHeaders?
    /// Body bytes still due by the origin's Content-Length.
    private var remaining: Int?
    /// END_STREAM went out on the last DATA frame.
    private var ended = false

    init(
        stream: any Channel, head: HTTPRequestHead, endpoint: OriginEndpoint, configuration: OriginHTTPClient.Configuration,
        pool: OriginEventLoopPool?, metrics: ConnectorMetrics, logger: Logger
    ) {
        self.stream = stream
        self.head = head
        self.endpoint = endpoint
        self.configuration = configuration
        self.pool = pool
        self.metrics = metrics
        self.logger = logger
    }

    /// Sends the request on an idle connection of this loop, or on a new one.
    func start() {
        self.metrics.streamStarted(tcp: false)
        if let idle = self.pool?.take(self.endpoint) {
            self.attach(idle, reused: true)
        } else {
            self.connect()
        }
    }

    private func connect() {
        let bootstrap = ClientBootstrap(group: self.stream.eventLoop)
            .connectTimeout(self.configuration.connectTimeout.timeAmount)
            .channelOption(.socketOption(.so_keepalive), value: 1)
            .channelInitializer { [endpoint, pool] channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHTTPClientHandlers()
                    try channel.pipeline.syncOperations.addHandler(OriginConnectionHandler(endpoint: endpoint, pool: pool))
                }
            }
        let connected: EventLoopFuture<any Channel>
        switch self.endpoint.address {
        case .tcp(let host, let port): connected = bootstrap.connect(host: host, port: port)
        case .unixSocket(let path): connected = bootstrap.connect(unixDomainSocketPath: path)
        }
        connected.hop(to: self.stream.eventLoop).assumeIsolated().whenComplete { result in
            switch result {
            case .success(let channel): self.attach(channel, reused: false)
            case .failure(let error): self.failBeforeResponse(error)
            }
        }
    }

    private func attach(_ channel: any Channel, reused: Bool) {
        guard case .connecting = self.state, let handler = try? channel.pipeline.syncOperations.handler(type: OriginConnectionHandler.self) else {
            // The stream went away meanwhile: the connection is still clean.
            if let pool, pool.checkIn(channel, endpoint: self.endpoint, configuration: self.configuration) { return }
            channel.close(promise: nil)
            return
        }
        self.origin = channel
        self.reused = reused
        self.state = .waitingForHead
        handler.exchange = self
        channel.write(HTTPClientRequestPart.head(self.head), promise: nil)
        channel.writeAndFlush(HTTPClientRequestPart.end(nil), promise: nil)
    }

    // MARK: From the origin connection

    func originRead(_ part: HTTPClientResponsePart) {
        switch part {
        case .head(let response):
            guard case .waitingForHead = self.state else { return }
            // Interim responses (100 Continue, 103 Early Hints) are not forwarded.
            if response.status.code < 200 { return }
            let (fields, status, length) = TunnelOriginResponseWriter.tunnelHead(for: response)
            self.metrics.recordResponse(status: status)
            self.keepAlive = self.head.isKeepAlive && response.isKeepAlive
            self.state = .streamingBody
            if let length {
                self.pendingHead = fields
                self.remaining = length
            } else {
                self.stream.write(HTTP2Frame.FramePayload.headers(.init(headers: fields)), promise: nil)
            }
        case .body(let buffer):
            guard case .streamingBody = self.state, !self.ended, buffer.readableBytes > 0 else { return }
            if let head = self.pendingHead {
                self.pendingHead = nil
                self.stream.write(HTTP2Frame.FramePayload.headers(.init(headers: head)), promise: nil)
            }
            var last = false
            if let remaining {
                self.remaining = remaining - buffer.readableBytes
                last = remaining == buffer.readableBytes
            }
            self.ended = last
            self.stream.write(HTTP2Frame.FramePayload.data(.init(data: .byteBuffer(buffer), endStream: last)), promise: nil)
            if !self.stream.isWritable { self.origin?.setAutoRead(false) }
        case .end(let trailers):
            guard case .streamingBody = self.state else { return }
            if !self.ended {
                let trailerFields = TunnelOriginResponseWriter.tunnelTrailers(trailers)
                if let head = self.pendingHead {
                    // A body of known length that was empty: the head carries END_STREAM.
                    self.pendingHead = nil
                    self.stream.write(HTTP2Frame.FramePayload.headers(.init(headers: head, endStream: trailerFields == nil)), promise: nil)
                    if let trailerFields {
                        self.stream.write(HTTP2Frame.FramePayload.headers(.init(headers: trailerFields, endStream: true)), promise: nil)
                    }
                } else if let trailerFields {
                    self.stream.write(HTTP2Frame.FramePayload.headers(.init(headers: trailerFields, endStream: true)), promise: nil)
                } else {
                    self.stream.write(HTTP2Frame.FramePayload.data(.init(data: .byteBuffer(ByteBuffer()), endStream: true)), promise: nil)
                }
            }
            // Done before the flush: sending END_STREAM closes the stream channel at once.
            self.finish(reuseOrigin: self.keepAlive)
            self.stream.flush()
        }
    }

    /// The origin's read cycle is over: one flush for what it produced.
    func originReadComplete() {
        self.stream.flush()
    }

    /// The origin connection closed (or failed) while this exchange used it.
    func originClosed(_ error: (any Error)?) {
        switch self.state {
        case .connecting, .done:
            return
        case .waitingForHead:
            self.origin = nil
            if self.reused {
                // A kept-alive connection the origin closed just before we used it: once more,
                // on a fresh connection (nothing of the request was answered).
                self.reused = false
                self.state = .connecting
                self.connect()
            } else {
                self.failBeforeResponse(error ?? OriginError.closedBeforeResponse)
            }
        case .streamingBody:
            self.origin = nil
            self.logger.warning("origin response broken", metadata: ["error": "\(error ?? OriginError.closedBeforeResponse)", "path": "\(self.head.uri)"])
            self.metrics.recordRequestError()
            self.stream.writeAndFlush(HTTP2Frame.FramePayload.rstStream(.internalError), promise: nil)
            self.finish(reuseOrigin: false)
        }
    }

    private func failBeforeResponse(_ error: any Error) {
        guard self.state != .done else { return }
        self.logger.error("origin unreachable", metadata: ["error": "\(error)", "authority": "\(self.head.headers.first(name: "host") ?? "")", "path": "\(self.head.uri)"])
        self.metrics.recordResponse(status: 502)
        self.metrics.recordRequestError()
        self.stream.writeAndFlush(HTTP2Frame.FramePayload.headers(.init(headers: TunnelResponseHead.connectorError().headers, endStream: true)), promise: nil)
        self.finish(reuseOrigin: false)
    }

    private func finish(reuseOrigin: Bool) {
        guard self.state != .done else { return }
        self.state = .done
        self.metrics.streamEnded(tcp: false)
        guard let origin = self.origin else { return }
        self.origin = nil
        (try? origin.pipeline.syncOperations.handler(type: OriginConnectionHandler.self))?.exchange = nil
        origin.setAutoRead(true)
        if reuseOrigin, let pool = self.pool, pool.checkIn(origin, endpoint: self.endpoint, configuration: self.configuration) { return }
        origin.close(promise: nil)
    }

    // MARK: The stream

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        // The request had no body; nothing else is expected (resets arrive as errors).
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable, let origin = self.origin {
            origin.setAutoRead(true)
        }
        context.fireChannelWritabilityChanged()
    }

    func channelInactive(context: ChannelHandlerContext) {
        // The edge reset the stream or the connection went away: an exchange still running
        // cannot finish, and its origin connection cannot be reused. (After our END_STREAM the
        // stream closes normally; the origin's end of the response is still read, and the
        // connection then goes back to the pool.)
        if self.state != .done && !self.ended {
            self.state = .done
            self.metrics.streamEnded(tcp: false)
            self.origin?.close(promise: nil)
            self.origin = nil
        }
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}

@available(*, unavailable)
extension OriginExchange: Sendable {}

/// The origin side of an ``OriginExchange``: passes response parts to the exchange using the
/// connection, and forgets the connection in the pool when it closes while idle.
final class OriginConnectionHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPClientResponsePart

    private let endpoint: OriginEndpoint
    private let pool: OriginEventLoopPool?
    /// The exchange using the connection; `nil` while it is idle.
    var exchange: OriginExchange?

    init(endpoint: OriginEndpoint, pool: OriginEventLoopPool?) {
        self.endpoint = endpoint
        self.pool = pool
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard let exchange = self.exchange else {
            // Bytes from an idle origin: the connection cannot be trusted for the next request.
            context.close(promise: nil)
            return
        }
        exchange.originRead(Self.unwrapInboundIn(data))
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        self.exchange?.originReadComplete()
    }

    func channelInactive(context: ChannelHandlerContext) {
        if let exchange = self.exchange {
            self.exchange = nil
            exchange.originClosed(nil)
        } else {
            self.pool?.remove(context.channel, endpoint: self.endpoint)
        }
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if let exchange = self.exchange {
            self.exchange = nil
            exchange.originClosed(error)
        }
        context.close(promise: nil)
    }
}

@available(*, unavailable)
extension OriginConnectionHandler: Sendable {}

extension Channel {
    /// Stops or resumes reading (backpressure between glued channels). Call on the channel's loop.
    func setAutoRead(_ on: Bool) {
        try? self.syncOptions?.setOption(ChannelOptions.autoRead, value: on)
        if on { self.read() }
    }
}
