import NIOConcurrencyHelpers
import NIOCore
import NIOEmbedded
import Testing
import TunnelTransport

/// ``FlushCoalescingHandler`` on an EmbeddedChannel: flushes of one loop pass become one, issued
/// when the loop runs its queued work; nothing written is held back.
@Suite("flush coalescing")
struct FlushCoalescingHandlerTests {
    /// Counts the flushes that reach the socket side.
    final class FlushCounter: ChannelOutboundHandler {
        typealias OutboundIn = NIOAny
        var flushes = 0
        func flush(context: ChannelHandlerContext) {
            self.flushes += 1
            context.flush()
        }
    }

    @Test("three writes and flushes in one pass reach the socket with one flush, in order")
    func coalesces() throws {
        let counter = FlushCounter()
        let channel = EmbeddedChannel(handlers: [counter, FlushCoalescingHandler()])
        try channel.connect(to: .init(ipAddress: "127.0.0.1", port: 1)).wait()
        for text in ["a", "b", "c"] { channel.writeAndFlush(ByteBuffer(string: text), promise: nil) }
        #expect(counter.flushes == 0)
        #expect(try channel.readOutbound(as: ByteBuffer.self) == nil)
        channel.embeddedEventLoop.run()
        #expect(counter.flushes == 1)
        var written = ""
        while let buffer = try channel.readOutbound(as: ByteBuffer.self) { written += String(buffer: buffer) }
        #expect(written == "abc")
        // The next pass flushes again.
        channel.writeAndFlush(ByteBuffer(string: "d"), promise: nil)
        channel.embeddedEventLoop.run()
        #expect(counter.flushes == 2)
        #expect(try channel.readOutbound(as: ByteBuffer.self).map { String(buffer: $0) } == "d")
        _ = try channel.finish()
    }

    @Test("a write's promise completes only after the coalesced flush")
    func promises() throws {
        let channel = EmbeddedChannel(handler: FlushCoalescingHandler())
        try channel.connect(to: .init(ipAddress: "127.0.0.1", port: 1)).wait()
        let written = channel.writeAndFlush(ByteBuffer(string: "x"))
        let done = NIOLockedValueBox(false)
        written.whenSuccess { done.withLockedValue { $0 = true } }
        #expect(!done.withLockedValue { $0 })
        channel.embeddedEventLoop.run()
        #expect(done.withLockedValue { $0 })
        _ = try channel.finish()
    }

    @Test("removing the handler flushes what is pending")
    func removal() throws {
        let handler = FlushCoalescingHandler()
        let channel = EmbeddedChannel(handler: handler)
        try channel.connect(to: .init(ipAddress: "127.0.0.1", port: 1)).wait()
        channel.writeAndFlush(ByteBuffer(string: "y"), promise: nil)
        try channel.pipeline.syncOperations.removeHandler(handler).wait()
        #expect(try channel.readOutbound(as: ByteBuffer.self).map { String(buffer: $0) } == "y")
        _ = try channel.finish()
    }
}
