public import NIOCore
public import NIOHPACK
public import NIOHTTP1
public import NIOHTTP2

/// Serves the data streams the edge opens on a connector's tunnel connection.
///
/// ``EdgeConnection/run(controlStreamHandler:streamHandler:)`` calls it once per stream,
/// concurrently. Before it returns, the handler should write a response head (or reset);
/// whatever it leaves open is completed as described on ``EdgeConnection``.
public protocol TunnelStreamHandler: Sendable {
    /// Handles one classified stream.
    ///
    /// - Parameters:
    ///   - request: The request HEADERS and the stream's kind (never `.control`).
    ///   - body: The request body (or the edge→origin bytes of a WebSocket/TCP stream).
    ///   - response: Writes the response head, body, trailers, or a reset.
    func handleStream(_ request: TunnelRequest, body: TunnelInboundBody, response: TunnelResponseWriter) async throws

    /// Offers a stream to be served on its channel's event loop, without a task: called on that
    /// loop when the request HEADERS arrived. Return `true` after taking it over (the handler
    /// added its own handlers to `channel`, which receive the frames that follow, and answers
    /// there); `false` leaves it to ``handleStream(_:body:response:)``. The default declines.
    func serveOnEventLoop(_ request: TunnelRequest, channel: any Channel) -> Bool

    /// Runs what the handler keeps between streams (an origin connection pool) until the task is
    /// cancelled; ``TunnelConnector`` runs it alongside its connections. The default does nothing.
    func run() async
}

extension TunnelStreamHandler {
    /// Nothing to run.
    public func run() async {}

    /// Every stream takes the asynchronous path.
    public func serveOnEventLoop(_ request: TunnelRequest, channel: any Channel) -> Bool { false }
}

/// The request HEADERS of a stream the edge opened.
public struct TunnelRequest: Sendable {
    /// The stream's kind (edge-protocol.md 2).
    public let kind: TunnelStreamKind
    /// All request fields, pseudo headers included.
    public let headers: HPACKHeaders
    /// The HTTP/2 stream id.
    public let streamID: HTTP2StreamID
    /// Whether the HEADERS frame carried END_STREAM (no request body follows).
    public let endStream: Bool

    /// A request (public for tests and for adapters that synthesize streams).
    public init(kind: TunnelStreamKind, headers: HPACKHeaders, streamID: HTTP2StreamID, endStream: Bool) {
        self.kind = kind
        self.headers = headers
        self.streamID = streamID
        self.endStream = endStream
    }

    /// `:method`.
    public var method: String? { self.headers.first(name: ":method") }
    /// `:authority` (or `host` when absent).
    public var authority: String? { self.headers.first(name: ":authority") ?? self.headers.first(name: "host") }
    /// `:path`.
    public var path: String? { self.headers.first(name: ":path") }

    /// The HTTP/1.1 request head for the origin (see ``OriginRequestHead``).
    public func originRequestHead() throws(RequestConversionError) -> HTTPRequestHead {
        try OriginRequestHead.make(from: self.headers)
    }
}

/// The connector's side of a data stream's response.
public struct TunnelResponseWriter: Sendable {
    /// The underlying body writer (DATA, trailers, reset).
    public let body: TunnelBodyWriter

    /// Sends the response HEADERS (``TunnelResponseHead/headers``). With `endStream` the
    /// response has no body (e.g. the 502 connector error, or HEAD requests).
    public func writeHead(_ head: TunnelResponseHead, endStream: Bool = false) async throws {
        try await self.writeHead(fields: head.headers, endStream: endStream)
    }

    /// Sends raw response HEADERS (must contain `:status`).
    public func writeHead(fields: HPACKHeaders, endStream: Bool = false) async throws {
        try self.body.state.with { flags throws(TunnelStreamError) in
            if flags.headSent || flags.localEnded || flags.resetCode != nil { throw TunnelStreamError.alreadyFinished() }
            flags.headSent = true
            if endStream { flags.localEnded = true }
        }
        try await self.body.send(.headers(.init(headers: fields, endStream: endStream)))
    }

    /// Sends the response HEADERS and the first body bytes with one flush; with `endStream`
    /// the bytes are the whole body (DATA carries END_STREAM).
    public func writeHead(fields: HPACKHeaders, body bytes: ByteBuffer, endStream: Bool) async throws {
        try self.body.state.with { flags throws(TunnelStreamError) in
            if flags.headSent || flags.localEnded || flags.resetCode != nil { throw TunnelStreamError.alreadyFinished() }
            flags.headSent = true
            if endStream { flags.localEnded = true }
        }
        if bytes.readableBytes == 0 {
            return try await self.body.send(.headers(.init(headers: fields, endStream: endStream)))
        }
        try await self.body.send([.headers(.init(headers: fields)), .data(.init(data: .byteBuffer(bytes), endStream: endStream))])
    }

    /// Sends body bytes (after the head).
    public func write(_ bytes: ByteBuffer) async throws {
        try await self.body.write(bytes)
    }

    /// Sends the last body bytes with END_STREAM on the same DATA frame.
    public func writeLast(_ bytes: ByteBuffer) async throws {
        try self.body.state.with { flags throws(TunnelStreamError) in
            if flags.localEnded || flags.resetCode != nil { throw TunnelStreamError.alreadyFinished() }
            flags.localEnded = true
        }
        try await self.body.send(.data(.init(data: .byteBuffer(bytes), endStream: true)))
    }

    /// Ends the response, with optional trailers.
    public func finish(trailers: HPACKHeaders? = nil) async throws {
        try await self.body.finish(trailers: trailers)
    }

    /// Aborts the response with RST_STREAM (default `INTERNAL_ERROR`).
    public func reset(_ code: HTTP2ErrorCode = .internalError) async throws {
        try await self.body.reset(code)
    }

    /// Whether the response HEADERS went out.
    public var isHeadWritten: Bool { self.body.state.snapshot.headSent }
}
