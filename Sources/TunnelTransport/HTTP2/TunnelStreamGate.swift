import NIOCore
import NIOHTTP2
import Synchronization

/// Where the streams of one connector-side tunnel connection go: the stream handler's event-loop
/// path, or the asynchronous path of ``EdgeConnection/run(controlStreamHandler:streamHandler:)``.
final class TunnelStreamRouter: Sendable {
    let core: HTTP2ConnectionCore
    private let handler = Mutex<(any TunnelStreamHandler)?>(nil)
    private let continuation: AsyncStream<EdgeConnection.InboundStream>.Continuation
    let inbound: AsyncStream<EdgeConnection.InboundStream>

    init(core: HTTP2ConnectionCore) {
        self.core = core
        (self.inbound, self.continuation) = AsyncStream.makeStream()
        core.channel.closeFuture.whenComplete { [continuation] _ in continuation.finish() }
    }

    /// The handler offered each data stream first; set once `run` starts.
    var streamHandler: (any TunnelStreamHandler)? {
        get { self.handler.withLock { $0 } }
        set { self.handler.withLock { $0 = newValue } }
    }

    func handOff(_ stream: EdgeConnection.InboundStream) {
        self.continuation.yield(stream)
    }
}

/// The first handler of every stream the edge opens: it waits for the request HEADERS, offers
/// the stream to ``TunnelStreamHandler/serveOnEventLoop(_:channel:)`` (a proxied request is then
/// a few NIO events, with no task), and otherwise wraps the stream for the asynchronous path and
/// passes the HEADERS on. Either way it then leaves the pipeline.
final class TunnelStreamGate: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTP2Frame.FramePayload
    typealias InboundOut = HTTP2Frame.FramePayload

    private let router: TunnelStreamRouter

    init(router: TunnelStreamRouter) {
        self.router = router
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let streamID = (try? context.channel.syncOptions?.getOption(HTTP2StreamChannelOptions.streamID)) ?? .rootStream
        let core = self.router.core
        core.streamOpened(peerStreamID: streamID)
        context.channel.closeFuture.whenComplete { _ in core.streamClosed() }
        if case .headers(let headers) = Self.unwrapInboundIn(data) {
            let kind = TunnelStreamKind(requestHeaders: headers.headers)
            if kind != .control, kind != .configurationUpdate, let handler = self.router.streamHandler {
                let request = TunnelRequest(kind: kind, headers: headers.headers, streamID: streamID, endStream: headers.endStream)
                if handler.serveOnEventLoop(request, channel: context.channel) {
                    context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
                    return
                }
            }
        }
        // The asynchronous path: it reads these frames again from the async channel.
        do {
            let channel = try StreamFrameChannel(
                wrappingChannelSynchronously: context.channel, configuration: .init(isOutboundHalfClosureEnabled: false))
            context.fireChannelRead(data)
            context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
            self.router.handOff(EdgeConnection.InboundStream(channel: channel, streamID: streamID))
        } catch {
            context.close(promise: nil)
        }
    }
}

@available(*, unavailable)
extension TunnelStreamGate: Sendable {}
