public import NIOCore

/// Turns the flushes requested during one pass of the event loop into one flush, issued once the
/// work already queued on the loop has run.
///
/// Many streams share a tunnel connection, and each response part used to flush on its own: one
/// TLS record and one `write(2)` per response, about a quarter of the connector's time under
/// load. With this handler between TLS and HTTP/2, the responses of all streams that answered in
/// the same pass go out in one record and one system call. A lone request waits for nothing:
/// its flush runs as soon as the loop has finished what was already queued (the Netty
/// `FlushConsolidationHandler` idea, without its flush-count threshold).
public final class FlushCoalescingHandler: ChannelOutboundHandler, RemovableChannelHandler {
    public typealias OutboundIn = NIOAny
    public typealias OutboundOut = NIOAny

    private var flushScheduled = false

    /// Creates the handler.
    public init() {}

    public func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        context.write(data, promise: promise)
    }

    public func flush(context: ChannelHandlerContext) {
        guard !self.flushScheduled else { return }
        self.flushScheduled = true
        context.eventLoop.assumeIsolated().execute {
            self.flushScheduled = false
            context.flush()
        }
    }

    public func handlerRemoved(context: ChannelHandlerContext) {
        // Whatever was written still goes out.
        if self.flushScheduled {
            self.flushScheduled = false
            context.flush()
        }
    }
}

@available(*, unavailable)
extension FlushCoalescingHandler: Sendable {}
