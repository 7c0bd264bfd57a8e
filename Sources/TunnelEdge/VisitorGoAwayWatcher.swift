import NIOCore

/// Closes a visitor's HTTP/2 connection once NIOHTTP2 has sent a GOAWAY with an error code.
///
/// NIOHTTP2 answers a connection error (an HPACK block over the header-list limit, a reset
/// flood, garbage) with GOAWAY but leaves the socket open, and reports the error the same way
/// as stream errors, so the pipeline cannot tell them apart. This handler sits below
/// NIOHTTP2Handler, follows the frame boundaries of the outbound bytes (9-byte header, then
/// the payload length), and closes after an erroring GOAWAY has been written, so a visitor is
/// never left hanging. A graceful GOAWAY (NO_ERROR) does not close.
final class VisitorGoAwayWatcher: ChannelOutboundHandler, RemovableChannelHandler {
    typealias OutboundIn = IOData
    typealias OutboundOut = IOData

    /// Bytes of the current frame still to skip.
    private var payloadRemaining = 0
    /// A frame header (and GOAWAY payload prefix) being assembled across writes.
    private var pending: [UInt8] = []
    /// The type of the frame whose payload is being read, when it matters (GOAWAY).
    private var readingGoAway = false
    private var closing = false

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if !closing, case .byteBuffer(let buffer) = unwrapOutboundIn(data), scan(buffer) {
            closing = true
            let written = promise ?? context.eventLoop.makePromise()
            written.futureResult.whenComplete { _ in context.close(promise: nil) }
            context.write(data, promise: written)
            return
        }
        context.write(data, promise: promise)
    }

    /// Feeds outbound bytes; returns true when a GOAWAY with a non-zero error code was seen.
    private func scan(_ buffer: ByteBuffer) -> Bool {
        var view = buffer.readableBytesView[...]
        while !view.isEmpty {
            if payloadRemaining > 0 && !readingGoAway {
                let skip = min(payloadRemaining, view.count)
                view = view.dropFirst(skip)
                payloadRemaining -= skip
                continue
            }
            // Collect a 9-byte header, or for GOAWAY the 8-byte prefix (last stream, error code).
            let wanted = readingGoAway ? 8 : 9
            let take = min(wanted - pending.count, view.count)
            pending += view.prefix(take)
            view = view.dropFirst(take)
            guard pending.count == wanted else { continue }
            if readingGoAway {
                let code = pending[4...7].reduce(0) { $0 << 8 | UInt32($1) }
                readingGoAway = false
                payloadRemaining -= 8
                pending = []
                if code != 0 { return true }
            } else {
                payloadRemaining = Int(pending[0]) << 16 | Int(pending[1]) << 8 | Int(pending[2])
                readingGoAway = pending[3] == 0x7 && payloadRemaining >= 8
                pending = []
            }
        }
        return false
    }
}
