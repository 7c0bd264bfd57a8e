import NIOCore
import NIOHPACK
import NIOHTTP2
import Synchronization

/// The frame-level view of one HTTP/2 stream channel.
typealias StreamFrameChannel = NIOAsyncChannel<HTTP2Frame.FramePayload, HTTP2Frame.FramePayload>

/// What both directions of one stream have done so far; shared by its reader and writers.
final class TunnelStreamState: Sendable {
    struct Flags {
        var headSent = false
        var localEnded = false
        var remoteEnded = false
        var resetCode: HTTP2ErrorCode?
        var trailers: HPACKHeaders?
    }

    private let flags = Mutex(Flags())

    func with<R>(_ body: (inout Flags) throws(TunnelStreamError) -> R) throws(TunnelStreamError) -> R {
        try self.flags.withLock { (flags: inout Flags) throws(TunnelStreamError) -> R in try body(&flags) }
    }

    var snapshot: Flags { self.flags.withLock { $0 } }
}


/// Reads the inbound frames of one stream; owned by whoever reads the stream (one task at a time).
final class StreamFrameReader: @unchecked Sendable {
    // Unchecked: the iterator is used by one consumer at a time, which the public types
    // (`TunnelInboundBody` is iterated once) guarantee by contract.
    private var iterator: NIOAsyncChannelInboundStream<HTTP2Frame.FramePayload>.AsyncIterator
    let state: TunnelStreamState

    init(_ inbound: NIOAsyncChannelInboundStream<HTTP2Frame.FramePayload>, state: TunnelStreamState) {
        self.iterator = inbound.makeAsyncIterator()
        self.state = state
    }

    /// The next frame payload; `nil` when the stream channel closed. Stream resets surface
    /// as ``TunnelStreamError/reset(_:)``.
    func nextFrame() async throws -> HTTP2Frame.FramePayload? {
        do {
            let frame = try await self.iterator.next()
            if case .rstStream(let code) = frame { return try self.handleReset(code) }
            return frame
        } catch let error as NIOHTTP2Errors.StreamClosed {
            return try self.handleReset(error.errorCode)
        }
    }

    private func handleReset(_ code: HTTP2ErrorCode) throws -> HTTP2Frame.FramePayload? {
        let ended = try self.state.with { flags in
            if flags.resetCode == nil { flags.resetCode = code }
            return flags.remoteEnded
        }
        // RST_STREAM(NO_ERROR) after the peer's side ended just stops our sending (RFC 9113 8.1).
        if code == .noError || ended { return nil }
        throw TunnelStreamError.reset(code)
    }

    /// Reads the first HEADERS of the stream (skipping 1xx heads when `skipInformational`).
    func readHead(skipInformational: Bool) async throws -> HPACKHeaders {
        while let frame = try await self.nextFrame() {
            switch frame {
            case .headers(let headers):
                if skipInformational, let status = headers.headers.first(name: ":status"), status.hasPrefix("1"),
                    !headers.endStream
                {
                    continue
                }
                if headers.endStream { try self.state.with { $0.remoteEnded = true } }
                return headers.headers
            case .windowUpdate, .priority:
                continue
            default:
                throw TunnelStreamError.unexpectedFrame("\(frame) before HEADERS")
            }
        }
        throw TunnelStreamError.connectionClosed()
    }

    /// The next body chunk; `nil` at END_STREAM. Trailers are stored in the state.
    func nextChunk() async throws -> ByteBuffer? {
        while true {
            if self.state.snapshot.remoteEnded { return nil }
            guard let frame = try await self.nextFrame() else {
                if self.state.snapshot.remoteEnded || self.state.snapshot.resetCode != nil { return nil }
                throw TunnelStreamError.connectionClosed()
            }
            switch frame {
            case .data(let data):
                if data.endStream { try self.state.with { $0.remoteEnded = true } }
                guard case .byteBuffer(let buffer) = data.data else { continue }
                if buffer.readableBytes > 0 { return buffer }
            case .headers(let headers):
                // A second HEADERS block is the trailer section; it must end the stream.
                guard headers.endStream else { throw TunnelStreamError.unexpectedFrame("HEADERS without END_STREAM after the body started") }
                try self.state.with {
                    $0.trailers = headers.headers
                    $0.remoteEnded = true
                }
            case .windowUpdate, .priority:
                continue
            default:
                throw TunnelStreamError.unexpectedFrame("\(frame)")
            }
        }
    }
}

/// The inbound body of a tunnel stream: request body on the connector, response body on
/// the edge, RPC bytes on the control stream.
///
/// Iterate it once, from one task at a time. Iteration ends at END_STREAM (trailers are then
/// in ``trailers``) and throws ``TunnelStreamError`` if the peer resets the stream or the
/// connection closes first. Reading is what returns HTTP/2 flow-control credit to the peer,
/// so a slow consumer slows the sender down.
public struct TunnelInboundBody: AsyncSequence, Sendable {
    /// Body chunks, in order.
    public typealias Element = ByteBuffer
    /// Failures are ``TunnelStreamError``.
    public typealias Failure = any Error

    let reader: StreamFrameReader
    /// For the edge's control stream: check the connector's `:status` before the first byte.
    let expectsResponseHead: Bool

    init(reader: StreamFrameReader, expectsResponseHead: Bool = false) {
        self.reader = reader
        self.expectsResponseHead = expectsResponseHead
    }

    /// Trailers received after the body, once iteration has ended.
    public var trailers: HPACKHeaders? { self.reader.state.snapshot.trailers }

    /// Whether the peer's END_STREAM has arrived: the chunks read so far are the whole body.
    public var isComplete: Bool { self.reader.state.snapshot.remoteEnded }

    /// The single iterator of this body.
    public func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(reader: self.reader, needsHead: self.expectsResponseHead)
    }

    /// Iterator over body chunks.
    public struct AsyncIterator: AsyncIteratorProtocol {
        let reader: StreamFrameReader
        var needsHead: Bool

        /// The next chunk, or `nil` at the end of the body.
        public mutating func next() async throws -> ByteBuffer? {
            if self.needsHead {
                self.needsHead = false
                let head = try await self.reader.readHead(skipInformational: true)
                guard head.first(name: ":status") == "200" else {
                    throw TunnelStreamError.invalidResponse(
                        "the connector answered the control stream with :status \(head.first(name: ":status") ?? "none")")
                }
            }
            return try await self.reader.nextChunk()
        }
    }

    /// Reads and concatenates the whole body, failing once more than `maxBytes` arrived.
    public func collect(upTo maxBytes: Int) async throws -> ByteBuffer {
        var all = ByteBuffer()
        for try await var chunk in self {
            guard all.readableBytes + chunk.readableBytes <= maxBytes else {
                throw TunnelStreamError.unexpectedFrame("body over \(maxBytes) bytes")
            }
            all.writeBuffer(&chunk)
        }
        return all
    }
}

/// Writes the outbound half of a tunnel stream: response body on the connector, request
/// body on the edge, RPC bytes on the control stream.
///
/// Every write is flushed, and returns once its frames left the stream (i.e. the peer's
/// HTTP/2 flow-control window admitted them): that is the backpressure. Because writes
/// complete in order, a stream that ended with ``finish(trailers:)`` has really sent its
/// END_STREAM and can be closed without losing data.
public struct TunnelBodyWriter: Sendable {
    let channel: any Channel
    let state: TunnelStreamState

    func send(_ payload: HTTP2Frame.FramePayload) async throws {
        try await self.mapErrors { try await self.channel.writeAndFlush(payload).get() }
    }

    /// Sends several frames with one flush, in one trip to the event loop (one TLS record and
    /// one syscall for a small response instead of one per frame).
    func send(_ payloads: [HTTP2Frame.FramePayload]) async throws {
        guard let last = payloads.last else { return }
        if payloads.count == 1 { return try await self.send(last) }
        let channel = self.channel
        let done = channel.eventLoop.makePromise(of: Void.self)
        channel.eventLoop.execute {
            for payload in payloads.dropLast() { channel.write(payload, promise: nil) }
            channel.writeAndFlush(last, promise: done)
        }
        try await self.mapErrors { try await done.futureResult.get() }
    }

    private func mapErrors(_ body: () async throws -> Void) async throws {
        do {
            try await body()
        } catch let error as NIOHTTP2Errors.StreamClosed {
            throw TunnelStreamError.reset(error.errorCode)
        } catch is ChannelError {
            if let code = self.state.snapshot.resetCode { throw TunnelStreamError.reset(code) }
            throw TunnelStreamError.connectionClosed()
        }
    }

    /// Sends `bytes` as DATA. Empty buffers are skipped.
    public func write(_ bytes: ByteBuffer) async throws {
        guard bytes.readableBytes > 0 else { return }
        try self.state.with { flags throws(TunnelStreamError) in
            if flags.localEnded || flags.resetCode != nil { throw TunnelStreamError.alreadyFinished() }
        }
        try await self.send(.data(.init(data: .byteBuffer(bytes))))
    }

    /// Ends the local side: END_STREAM on an empty DATA frame, or on a trailing HEADERS
    /// frame carrying `trailers` (plain fields, lowercase names).
    public func finish(trailers: HPACKHeaders? = nil) async throws {
        try self.state.with { flags throws(TunnelStreamError) in
            if flags.localEnded || flags.resetCode != nil { throw TunnelStreamError.alreadyFinished() }
            flags.localEnded = true
        }
        if let trailers, !trailers.isEmpty {
            try await self.send(.headers(.init(headers: trailers, endStream: true)))
        } else {
            try await self.send(.data(.init(data: .byteBuffer(ByteBuffer()), endStream: true)))
        }
    }

    /// Aborts the stream with RST_STREAM (default `INTERNAL_ERROR`, what cloudflared sends
    /// when an origin body breaks; the edge cancels with `CANCEL`). Does nothing if the
    /// stream was already reset.
    public func reset(_ code: HTTP2ErrorCode = .internalError) async throws {
        let send = try self.state.with { flags -> Bool in
            guard flags.resetCode == nil else { return false }
            flags.resetCode = code
            flags.localEnded = true
            return true
        }
        if send { try await self.send(.rstStream(code)) }
    }

    /// Whether the local side has ended (finished or reset).
    public var isFinished: Bool { self.state.snapshot.localEnded }
}

/// A bidirectional byte stream over one HTTP/2 stream: the control stream that carries the
/// registration RPC, or a WebSocket / TCP stream.
public struct TunnelByteStream: Sendable {
    /// Bytes from the peer.
    public let inbound: TunnelInboundBody
    /// Bytes to the peer.
    public let outbound: TunnelBodyWriter
    /// The HTTP/2 stream id (1 for the control stream opened first).
    public let streamID: HTTP2StreamID
}
