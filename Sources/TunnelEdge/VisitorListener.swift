import NIOCore
import NIOPosix
import NIOSSL
import NIOTLS
import TunnelTransport

/// Binds the visitor listeners. The clear-text one speaks HTTP/1.1, or HTTP/2 when the
/// visitor opens with the HTTP/2 preface (prior knowledge, "h2c"); the TLS one chooses by ALPN
/// (`h2`, else HTTP/1.1). Each accepted connection yields a future that completes once its
/// protocol is known; visitors that take longer than ``VisitorLimits/headerTimeout`` to get
/// there (TLS handshake, preface) are disconnected.
enum VisitorListener {
    typealias Listener = NIOAsyncChannel<EventLoopFuture<VisitorConnection>, Never>

    /// Binds a listener; `tls` turns on TLS with ALPN `h2` and `http/1.1`.
    static func bind(host: String, port: Int, limits: VisitorLimits, tls: VisitorTLSConfiguration? = nil) async throws -> Listener {
        let sslContext: NIOSSLContext? = try tls.map { tls in
            var configuration = TLSConfiguration.makeServerConfiguration(
                certificateChain: tls.certificateChain.map { .certificate($0) }, privateKey: .privateKey(tls.privateKey))
            configuration.applicationProtocols = ["h2", "http/1.1"]
            return try NIOSSLContext(configuration: configuration)
        }
        return try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.backlog, value: 1024)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelOption(.allowRemoteHalfClosure, value: true)
            .bind(host: host, port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    let negotiated: EventLoopFuture<VisitorConnection>
                    if let sslContext {
                        try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: sslContext))
                        let alpn = NIOTypedApplicationProtocolNegotiationHandler<VisitorConnection> { result, channel in
                            channel.eventLoop.makeCompletedFuture {
                                try VisitorConnection.configure(channel, http2: result == .negotiated("h2"), limits: limits)
                            }
                        }
                        try channel.pipeline.syncOperations.addHandler(alpn)
                        negotiated = alpn.protocolNegotiationResult
                    } else {
                        let promise = channel.eventLoop.makePromise(of: VisitorConnection.self)
                        do {
                            try channel.pipeline.syncOperations.addHandler(VisitorProtocolSniffer(promise: promise, limits: limits))
                        } catch {
                            promise.fail(error)
                            throw error
                        }
                        negotiated = promise.futureResult
                    }
                    // Slowloris guard until the protocol is known; the proxy takes over after.
                    let timer = channel.eventLoop.scheduleTask(in: limits.headerTimeout.timeAmount) { channel.close(promise: nil) }
                    negotiated.whenComplete { _ in timer.cancel() }
                    return negotiated
                }
            }
    }
}

/// Looks at the first bytes of a clear-text visitor connection: the HTTP/2 connection preface
/// selects HTTP/2 (prior knowledge), anything else HTTP/1.1. Then it configures the pipeline,
/// replays the bytes and leaves.
final class VisitorProtocolSniffer: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    private static let preface = Array("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".utf8)
    private let promise: EventLoopPromise<VisitorConnection>
    private let limits: VisitorLimits
    private var buffered: ByteBuffer?
    private var decided = false

    init(promise: EventLoopPromise<VisitorConnection>, limits: VisitorLimits) {
        self.promise = promise
        self.limits = limits
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var incoming = unwrapInboundIn(data)
        guard !decided else {
            context.fireChannelRead(wrapInboundOut(incoming))
            return
        }
        if buffered == nil { buffered = incoming } else { buffered!.writeBuffer(&incoming) }
        let view = buffered!.readableBytesView
        let count = min(view.count, Self.preface.count)
        let matches = view.prefix(count).elementsEqual(Self.preface.prefix(count))
        if matches && count < Self.preface.count { return }
        decided = true
        do {
            promise.succeed(try VisitorConnection.configure(context.channel, http2: matches, limits: limits))
        } catch {
            promise.fail(error)
            context.close(promise: nil)
            return
        }
        let bytes = buffered.take()!
        context.fireChannelRead(wrapInboundOut(bytes))
        context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if !decided, case ChannelEvent.inputClosed = event {
            fail(context: context, ChannelError.eof)
            return
        }
        context.fireUserInboundEventTriggered(event)
    }

    func channelInactive(context: ChannelHandlerContext) {
        if !decided { fail(context: context, ChannelError.eof) }
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        // Torn down before the first bytes (the channel closed before it became active).
        if !decided {
            decided = true
            promise.fail(ChannelError.eof)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if !decided { fail(context: context, error) } else { context.fireErrorCaught(error) }
    }

    private func fail(context: ChannelHandlerContext, _ error: any Error) {
        decided = true
        promise.fail(error)
        context.close(promise: nil)
    }
}
