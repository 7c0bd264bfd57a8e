import NIOCore
import NIOHTTP2

/// Closes a visitor's HTTP/2 connection after NIOHTTP2 sent a GOAWAY with an error code, once no
/// stream that the GOAWAY still allows is open.
///
/// NIOHTTP2 answers a connection error (an HPACK block over the header-list limit, a reset
/// flood, garbage) with GOAWAY but leaves the socket open, and reports the error the same way
/// as stream errors, so the pipeline cannot tell them apart. ``VisitorGoAwayWatcher`` sits below
/// NIOHTTP2Handler and follows the frame boundaries of the outbound bytes (9-byte header, then
/// the payload length); ``VisitorStreamCounter`` sits above it and counts open streams. A
/// GOAWAY with last-stream-id 0 (NIOHTTP2 already failed every stream) closes at once;
/// otherwise the connection closes when its last stream ends. A graceful GOAWAY (NO_ERROR)
/// changes nothing. Both handlers share one ``State`` on the connection's event loop.
final class VisitorGoAwayWatcher: ChannelOutboundHandler, RemovableChannelHandler {
    typealias OutboundIn = IOData
    typealias OutboundOut = IOData

    /// Shared between the two handlers of one connection; touched on its event loop only.
    final class State {
        var openStreams = 0
        var failed = false
    }

    private let state: State
    /// Bytes of the current frame still to skip.
    private var payloadRemaining = 0
    /// A frame header (or the GOAWAY payload prefix) being assembled across writes.
    private var pending: [UInt8] = []
    /// Whether the payload being read is a GOAWAY's (its first 8 bytes matter).
    private var readingGoAway = false

    init(state: State) {
        self.state = state
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        guard !state.failed, case .byteBuffer(let buffer) = unwrapOutboundIn(data), let lastStreamID = scan(buffer) else {
            context.write(data, promise: promise)
            return
        }
        state.failed = true
        if lastStreamID == 0 || state.openStreams == 0 {
            let written = promise ?? context.eventLoop.makePromise()
            written.futureResult.whenComplete { _ in context.close(promise: nil) }
            context.write(data, promise: written)
        } else {
            context.write(data, promise: promise)
        }
    }

    /// Feeds outbound bytes; returns the last-stream-id of a GOAWAY with a non-zero error code.
    private func scan(_ buffer: ByteBuffer) -> UInt32? {
        var view = buffer.readableBytesView[...]
        while !view.isEmpty {
            if payloadRemaining > 0 && !readingGoAway {
                let skip = min(payloadRemaining, view.count)
                view = view.dropFirst(skip)
                payloadRemaining -= skip
                continue
            }
            let wanted = readingGoAway ? 8 : 9
            let take = min(wanted - pending.count, view.count)
            pending += view.prefix(take)
            view = view.dropFirst(take)
            guard pending.count == wanted else { continue }
            if readingGoAway {
                let lastStreamID = pending[0...3].reduce(0) { $0 << 8 | UInt32($1) } & 0x7FFF_FFFF
                let code = pending[4...7].reduce(0) { $0 << 8 | UInt32($1) }
                readingGoAway = false
                payloadRemaining -= 8
                pending = []
                if code != 0 { return lastStreamID }
            } else {
                payloadRemaining = Int(pending[0]) << 16 | Int(pending[1]) << 8 | Int(pending[2])
                readingGoAway = pending[3] == 0x7 && payloadRemaining >= 8
                pending = []
            }
        }
        return nil
    }
}

/// Counts a visitor connection's open HTTP/2 streams for ``VisitorGoAwayWatcher`` and closes the
/// connection when the last one ends after an erroring GOAWAY.
final class VisitorStreamCounter: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = Any

    private let state: VisitorGoAwayWatcher.State

    init(state: VisitorGoAwayWatcher.State) {
        self.state = state
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        context.fireChannelRead(data)
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        switch event {
        case is NIOHTTP2StreamCreatedEvent:
            state.openStreams += 1
        case is StreamClosedEvent:
            state.openStreams -= 1
            if state.failed && state.openStreams <= 0 { context.close(promise: nil) }
        default:
            break
        }
        context.fireUserInboundEventTriggered(event)
    }
}
