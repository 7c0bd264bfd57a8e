public import NIOCore

/// Cuts inbound HTTP/2 bytes so that every piece ends on a frame boundary or inside a DATA
/// frame's payload, holding back a partial frame header or a small partial non-DATA frame
/// until it is complete.
///
/// Why: `NIOHTTP2Handler`'s frame parser (swift-nio-http2 1.46) appends each read to the buffer
/// it kept from the previous one. It starts that buffer over at index 0 only when a read ended
/// on a frame boundary or inside DATA bytes; when a read ends inside a frame header, inside a
/// small frame, or right after a DATA frame's header (common: the sender's TLS layer puts a
/// DATA frame's 9-byte header in a record of its own), the consumed bytes stay in front and the
/// next read goes behind them. The buffer then doubles again and again (to 32 MiB within two
/// 1 GiB downloads), and every copy-on-write (its DATA slices are still being written
/// downstream) copies all of it: a tunnel connection spent more CPU per byte the more it had
/// carried, and 1 GiB downloads fell from 132 to 17 MB/s over the same connection. Fed pieces
/// that end cleanly, the parser's buffer is empty after every piece and starts over.
///
/// A pure value type: bytes in, pieces out, no I/O (see ``HTTP2FrameAligningHandler``).
public struct HTTP2FrameAligner: Sendable {
    /// Non-DATA frames up to this payload size are held back until complete (the HTTP/2 default
    /// SETTINGS_MAX_FRAME_SIZE); a larger one passes through as it arrives, as before.
    public static let maxHeldPayload = 16_384

    private enum State: Sendable {
        /// Opaque bytes that must arrive whole: the client preface, on the server side.
        case preface(remaining: Int)
        /// Expecting a frame header (9 bytes, 10 for a padded DATA frame).
        case header
        /// Inside a DATA frame: this many payload bytes are still to come.
        case data(remaining: Int)
        /// Inside a non-DATA frame that is passed through as it arrives.
        case passThrough(remaining: Int)
    }

    private var state: State
    /// Bytes held back: a partial header, or a partial small non-DATA frame with its header.
    private var held = ByteBuffer()

    /// - Parameter expectsClientPreface: `true` on the HTTP/2 server side, whose peer first
    ///   sends the 24-byte connection preface.
    public init(expectsClientPreface: Bool) {
        self.state = expectsClientPreface ? .preface(remaining: 24) : .header
    }

    /// Bytes held back right now (at most one frame header or one small frame).
    public var heldBytes: Int { self.held.readableBytes }

    /// Splits `bytes` into pieces for the frame parser, calling `emit` for each, in order.
    public mutating func append(_ bytes: ByteBuffer, emit: (ByteBuffer) -> Void) {
        var input = bytes
        // Finish what is held first; it goes out as a piece of its own.
        if self.held.readableBytes > 0 {
            while let missing = self.missingHeldBytes() {
                guard input.readableBytes > 0 else { return }
                var chunk = input.readSlice(length: min(missing, input.readableBytes))!
                self.held.writeBuffer(&chunk)
            }
            emit(self.held)
            // The emitted piece belongs to the parser now: hold the next one in new storage.
            self.held = ByteBuffer()
        }
        // Walk the input, extending the current piece over whole frames and DATA bytes.
        var cursor = input.readerIndex
        let end = input.writerIndex
        var pieceEnd = end
        walk: while cursor < end {
            let available = end - cursor
            switch self.state {
            case .preface(let remaining):
                let take = min(remaining, available)
                cursor += take
                self.state = remaining == take ? .header : .preface(remaining: remaining - take)
            case .data(let remaining):
                let take = min(remaining, available)
                cursor += take
                self.state = remaining == take ? .header : .data(remaining: remaining - take)
            case .passThrough(let remaining):
                let take = min(remaining, available)
                cursor += take
                self.state = remaining == take ? .header : .passThrough(remaining: remaining - take)
            case .header:
                let header = Self.header(in: input, at: cursor, available: available)
                if let header, header.isData, available >= header.headerLength + header.firstPieceNeeds {
                    cursor += header.headerLength
                    self.state = .data(remaining: header.payloadLength)
                } else if let header, !header.isData, header.payloadLength > Self.maxHeldPayload {
                    cursor += header.headerLength
                    self.state = .passThrough(remaining: header.payloadLength)
                } else if let header, !header.isData, available >= header.headerLength + header.payloadLength {
                    cursor += header.headerLength + header.payloadLength
                } else {
                    // A partial header, a DATA header without a payload byte yet, or a partial
                    // small frame: hold it, emit what came before.
                    var tail = input.getSlice(at: cursor, length: available)!
                    self.held.clear()
                    self.held.writeBuffer(&tail)
                    pieceEnd = cursor
                    break walk
                }
            }
        }
        if pieceEnd > input.readerIndex {
            emit(input.getSlice(at: input.readerIndex, length: pieceEnd - input.readerIndex)!)
        }
    }

    /// Bytes still missing before `held` can be emitted; `nil` when it is complete (and the
    /// state is updated for what follows it).
    private mutating func missingHeldBytes() -> Int? {
        let count = self.held.readableBytes
        if count < 9 { return 9 - count }
        guard let header = Self.header(in: self.held, at: self.held.readerIndex, available: count) else {
            return 10 - count  // a padded DATA header still needs its pad-length byte
        }
        if header.isData {
            if count < header.headerLength + header.firstPieceNeeds { return header.headerLength + header.firstPieceNeeds - count }
            // The payload bytes already held go out with the header.
            let payloadHeld = count - header.headerLength
            self.state = payloadHeld == header.payloadLength ? .header : .data(remaining: header.payloadLength - payloadHeld)
            return nil
        }
        if header.payloadLength > Self.maxHeldPayload {
            let payloadHeld = count - header.headerLength
            self.state = .passThrough(remaining: header.payloadLength - payloadHeld)
            return nil
        }
        let total = header.headerLength + header.payloadLength
        if count >= total {
            self.state = .header
            return nil
        }
        return total - count
    }

    private struct FrameHeader {
        var payloadLength: Int
        var isData: Bool
        /// 9, or 10 for a padded DATA frame (the pad-length byte is part of what must arrive whole).
        var headerLength: Int

        /// Payload bytes that must come with a DATA header in one piece: one, unless it has
        /// none. The parser keeps a buffer that ends right after a DATA header unreset and
        /// appends the next read behind it: that is how its buffer grew on every read.
        var firstPieceNeeds: Int { self.isData && self.payloadLength > 0 ? 1 : 0 }
    }

    private static func header(in buffer: ByteBuffer, at index: Int, available: Int) -> FrameHeader? {
        guard available >= 9,
            let length = buffer.getInteger(at: index, as: UInt32.self).map({ Int($0 >> 8) }),
            let type = buffer.getInteger(at: index + 3, as: UInt8.self),
            let flags = buffer.getInteger(at: index + 4, as: UInt8.self)
        else { return nil }
        let isData = type == 0
        let padded = isData && flags & 0x8 != 0 && length > 0
        if padded && available < 10 { return nil }
        return FrameHeader(payloadLength: padded ? length - 1 : length, isData: isData, headerLength: padded ? 10 : 9)
    }
}

/// Feeds `NIOHTTP2Handler` pieces that end on frame boundaries (see ``HTTP2FrameAligner``).
/// Place it right before the HTTP/2 handler, after TLS.
public final class HTTP2FrameAligningHandler: ChannelInboundHandler, RemovableChannelHandler {
    public typealias InboundIn = ByteBuffer
    public typealias InboundOut = ByteBuffer

    private var aligner: HTTP2FrameAligner

    /// - Parameter expectsClientPreface: `true` on the HTTP/2 server side.
    public init(expectsClientPreface: Bool) {
        self.aligner = HTTP2FrameAligner(expectsClientPreface: expectsClientPreface)
    }

    public func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        self.aligner.append(Self.unwrapInboundIn(data)) { piece in
            context.fireChannelRead(Self.wrapInboundOut(piece))
        }
    }
}

@available(*, unavailable)
extension HTTP2FrameAligningHandler: Sendable {}
