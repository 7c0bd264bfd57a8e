import NIOCore
import NIOHTTP1
import NIOHTTP2
import TunnelTransport

/// One visitor exchange channel speaking HTTP/1 parts: a whole HTTP/1.1 connection, or one
/// HTTP/2 stream behind `HTTP2FramePayloadToHTTP1ServerCodec`.
struct VisitorHTTPChannel: Sendable {
    typealias Channel = NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>
    let asyncChannel: Channel

    static let decoderName = "visitor-http-decoder"
    static let encoderName = "visitor-http-encoder"

    /// After a `101 Switching Protocols` went out: the HTTP codec leaves the pipeline and the
    /// connection carries raw bytes, still as `.body` parts so the async channel types stay.
    /// HTTP/1.1 connections only.
    func switchToRawBytes() async throws {
        let channel = asyncChannel.channel
        try await channel.eventLoop.submit {
            let sync = channel.pipeline.syncOperations
            let decoder = try sync.context(name: Self.decoderName)
            try sync.addHandler(RawBytesBridge(), position: .after(decoder.handler))
            sync.removeHandler(name: Self.encoderName, promise: nil)
            // Removing the decoder forwards bytes it had buffered past the request to the bridge.
            sync.removeHandler(name: Self.decoderName, promise: nil)
        }.get()
    }
}

/// A visitor's HTTP/2 connection: the connection channel and its inbound streams.
struct VisitorHTTP2Connection: Sendable {
    let channel: any Channel
    let streams: NIOHTTP2Handler.AsyncStreamMultiplexer<VisitorHTTPChannel>
}

/// A visitor connection once its protocol is known (ALPN, or the HTTP/2 preface on the
/// clear-text port).
enum VisitorConnection: Sendable {
    case http1(VisitorHTTPChannel)
    case http2(VisitorHTTP2Connection)

    /// The connection channel.
    var channel: any Channel {
        switch self {
        case .http1(let http1): http1.asyncChannel.channel
        case .http2(let http2): http2.channel
        }
    }

    /// Adds the handlers for the chosen protocol behind whatever is in the pipeline (TLS).
    /// Call on the channel's event loop.
    static func configure(_ channel: any Channel, http2: Bool, limits: VisitorLimits) throws -> VisitorConnection {
        let sync = channel.pipeline.syncOperations
        guard http2 else {
            try sync.addHandler(ByteToMessageHandler(HTTPRequestDecoder(leftOverBytesStrategy: .forwardBytes)), name: VisitorHTTPChannel.decoderName)
            try sync.addHandler(HTTPResponseEncoder(), name: VisitorHTTPChannel.encoderName)
            return .http1(VisitorHTTPChannel(asyncChannel: try VisitorHTTPChannel.Channel(wrappingChannelSynchronously: channel)))
        }
        let goAwayState = VisitorGoAwayWatcher.State()
        try sync.addHandler(VisitorGoAwayWatcher(state: goAwayState))
        try sync.addHandler(HTTP2FrameAligningHandler(expectsClientPreface: true))
        let management = NIOHTTP2ServerConnectionManagementHandler(
            eventLoop: channel.eventLoop,
            configuration: .init(maxIdleTime: limits.idleTimeout.timeAmount, maxAge: nil, maxGraceTime: nil, keepalive: nil))
        let streams = try sync.configureAsyncHTTP2Pipeline(
            mode: .server, streamDelegate: management.http2StreamDelegate, configuration: limits.http2.nioConfiguration(maxHeaderBytes: limits.maxHeaderBytes)
        ) { stream in
            stream.eventLoop.makeCompletedFuture {
                try stream.pipeline.syncOperations.addHandler(VisitorExtendedConnect())
                try stream.pipeline.syncOperations.addHandler(HTTP2FramePayloadToHTTP1ServerCodec())
                return VisitorHTTPChannel(asyncChannel: try VisitorHTTPChannel.Channel(wrappingChannelSynchronously: stream))
            }
        }
        try sync.addHandler(management)
        try sync.addHandler(VisitorStreamCounter(state: goAwayState))
        return .http2(VisitorHTTP2Connection(channel: channel, streams: streams))
    }
}

extension VisitorLimits.HTTP2Limits {
    /// The NIOHTTP2 configuration enforcing these limits.
    func nioConfiguration(maxHeaderBytes: Int) -> NIOHTTP2Handler.Configuration {
        var configuration = NIOHTTP2Handler.Configuration()
        configuration.connection.initialSettings = [
            HTTP2Setting(parameter: .maxConcurrentStreams, value: maxConcurrentStreams),
            HTTP2Setting(parameter: .initialWindowSize, value: streamWindowSize),
            // Twice the limit: NIOHTTP2 closes the connection above the advertised size, so
            // blocks between the limit and twice it are decoded and answered 431 (RFC 9113 8.2.3),
            // while decoding work stays bounded.
            HTTP2Setting(parameter: .maxHeaderListSize, value: 2 * maxHeaderBytes),
            HTTP2Setting(parameter: .enablePush, value: 0),
            // RFC 8441: WebSockets over HTTP/2 (extended CONNECT).
            HTTP2Setting(parameter: .enableConnectProtocol, value: 1),
        ]
        configuration.connection.targetWindowSize = connectionWindowSize
        configuration.connection.maximumConnectionGlitches = maxConnectionGlitches
        configuration.connection.controlFrameRateLimit.maximumCount = maxControlFrames
        configuration.connection.controlFrameRateLimit.windowLength = resetWindow.timeAmount
        configuration.stream.targetWindowSize = streamWindowSize
        configuration.stream.streamResetFrameRateLimit.maximumCount = maxResetStreams
        configuration.stream.streamResetFrameRateLimit.windowLength = resetWindow.timeAmount
        configuration.stream.streamErrorRateLimit.maximumCount = maxStreamErrors
        configuration.stream.streamErrorRateLimit.windowLength = resetWindow.timeAmount
        return configuration
    }
}

/// Carries raw bytes as HTTP body parts, both ways, once a connection has been upgraded.
final class RawBytesBridge: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = HTTPServerRequestPart
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = ByteBuffer

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        context.fireChannelRead(wrapInboundOut(.body(unwrapInboundIn(data))))
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        switch unwrapOutboundIn(data) {
        case .body(.byteBuffer(let buffer)):
            context.write(wrapOutboundOut(buffer), promise: promise)
        case .body(.fileRegion):
            promise?.fail(ChannelError.operationUnsupported)
        case .head, .end:
            promise?.succeed(())
        }
    }
}
