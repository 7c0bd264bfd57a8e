public import NIOCore
public import NIOHPACK
public import NIOHTTP2
import Synchronization

/// The edge's end of one tunnel connection: the HTTP/2 **client** on a TLS connection the
/// connector dialed (edge-protocol.md 0, 1.5, 12.3).
///
/// Create it in the accepting channel's initializer (``configure(on:configuration:)``, or use
/// ``ConnectorListener``), then call ``run(_:)``: it opens stream 1 as the control stream,
/// hands it to the closure as a ``TunnelByteStream`` for the RPC server, sends PINGs while the
/// closure runs, and closes the connection when the closure returns. Proxied requests go
/// through ``withStream(_:endStream:_:)`` from any task while `run` is active.
public final class ConnectorConnection: Sendable {
    /// HTTP/2 parameters of the edge side.
    public struct Configuration: Sendable {
        /// SETTINGS sent to the connector. Default ``ConnectorConnection/edgeSettings``.
        public var settings: HTTP2Settings
        /// Connection-level receive window in bytes (the rest over 65 535 goes out as a
        /// WINDOW_UPDATE after SETTINGS). Default 16 MiB.
        public var connectionWindowSize: Int
        /// Per-stream receive window in bytes; keep equal to SETTINGS_INITIAL_WINDOW_SIZE. Default 1 MiB.
        public var streamWindowSize: Int
        /// Interval between keep-alive PINGs while ``run(_:)`` is active; `nil` disables them.
        /// Default 15 s (cloudflared never pings; the edge detects dead connections, 1.5).
        public var pingInterval: Duration?
        /// How long a PING may stay unanswered before the connection is closed. Default 15 s.
        public var pingTimeout: Duration
        /// `:authority` of the control-stream request. Default `h2.cftunnel.com`.
        public var controlStreamAuthority: String
        /// Limits for decoding `cf-cloudflared-response-headers`.
        public var responseHeaderLimits: SerializedHeaders.Limits

        /// The defaults, overridable per field.
        public init(
            settings: HTTP2Settings = ConnectorConnection.edgeSettings,
            connectionWindowSize: Int = 16 << 20,
            streamWindowSize: Int = 1 << 20,
            pingInterval: Duration? = .seconds(15),
            pingTimeout: Duration = .seconds(15),
            controlStreamAuthority: String = "h2.cftunnel.com",
            responseHeaderLimits: SerializedHeaders.Limits = .init()
        ) {
            self.settings = settings
            self.connectionWindowSize = connectionWindowSize
            self.streamWindowSize = streamWindowSize
            self.pingInterval = pingInterval
            self.pingTimeout = pingTimeout
            self.controlStreamAuthority = controlStreamAuthority
            self.responseHeaderLimits = responseHeaderLimits
        }
    }

    /// SETTINGS of the edge: ENABLE_PUSH 0, INITIAL_WINDOW_SIZE 1 MiB, MAX_HEADER_LIST_SIZE
    /// 16 MiB (serialized response headers can be large, 1.5), MAX_CONCURRENT_STREAMS 100
    /// (the connector never opens streams; a value is required by NIOHTTP2). MAX_FRAME_SIZE
    /// stays at 16 KiB: with frames as large as the 1 MiB stream window a 100 MB echo through
    /// the reference connector was once cut at 80 MiB (under investigation), and cloudflared
    /// sends 16 KiB frames anyway (1.5).
    public static let edgeSettings: HTTP2Settings = [
        HTTP2Setting(parameter: .enablePush, value: 0),
        HTTP2Setting(parameter: .initialWindowSize, value: 1 << 20),
        HTTP2Setting(parameter: .maxHeaderListSize, value: 16 << 20),
        HTTP2Setting(parameter: .maxConcurrentStreams, value: 100),
    ]

    let core: HTTP2ConnectionCore
    let multiplexer: NIOHTTP2Handler.AsyncStreamMultiplexer<Void>
    let configuration: Configuration

    /// Why the connection was closed before HTTP/2 started: its first bytes were not a
    /// connector's server preface (``ServerPrefaceCheck``).
    public var prefaceFailure: String? { prefaceCheck.reason.withLock { $0 } }
    let prefaceCheck: PrefaceFailure

    private init(core: HTTP2ConnectionCore, multiplexer: NIOHTTP2Handler.AsyncStreamMultiplexer<Void>, configuration: Configuration, prefaceCheck: PrefaceFailure) {
        self.prefaceCheck = prefaceCheck
        self.core = core
        self.multiplexer = multiplexer
        self.configuration = configuration
    }

    /// Adds the HTTP/2 client handlers to `channel` (after any TLS handler). Call on the
    /// channel's event loop, normally from a channel initializer.
    public static func configure(on channel: any Channel, configuration: Configuration = .init()) throws -> ConnectorConnection {
        var http2 = NIOHTTP2Handler.Configuration()
        http2.connection.initialSettings = configuration.settings
        http2.connection.targetWindowSize = configuration.connectionWindowSize
        http2.stream.targetWindowSize = configuration.streamWindowSize
        // Garbage or a peer in the wrong role is closed at once, not at the registration timeout.
        let prefaceCheck = ServerPrefaceCheck()
        try channel.pipeline.syncOperations.addHandler(prefaceCheck)
        let prefaceFailure = prefaceCheck.failure
        try channel.pipeline.syncOperations.addHandler(HTTP2FrameAligningHandler(expectsClientPreface: false))
        try channel.pipeline.syncOperations.addHandler(FlushCoalescingHandler())
        // The connector never opens streams (push is off); refuse any it tries.
        let multiplexer = try channel.pipeline.syncOperations.configureAsyncHTTP2Pipeline(
            mode: .client,
            configuration: http2
        ) { streamChannel in
            streamChannel.close()
        }
        let core = HTTP2ConnectionCore(
            channel: channel,
            initialWindowIncrement: max(0, configuration.connectionWindowSize - 65_535),
            closeWhenIdleAfterPeerGoAway: nil,
            answersGoAway: false
        )
        try channel.pipeline.syncOperations.addHandler(ConnectionFrameHandler(core: core))
        return ConnectorConnection(core: core, multiplexer: multiplexer, configuration: configuration, prefaceCheck: prefaceFailure)
    }

    /// Opens the control stream (3.1: `GET /` with `cf-cloudflared-proxy-connection-upgrade:
    /// control-stream`, no END_STREAM), runs `body` with it while sending keep-alive PINGs,
    /// and closes the connection when `body` returns or throws.
    ///
    /// The control stream's inbound body first checks the connector's response head: anything
    /// but `:status 200` fails the iteration with ``TunnelStreamError/invalidResponse(_:file:line:)``.
    /// A missed PING ACK closes the connection, which fails the control stream (and so,
    /// normally, `body`).
    public func run<Result: Sendable>(
        _ body: (TunnelByteStream) async throws -> Result
    ) async throws -> Result {
        defer { self.core.channel.close(promise: nil) }
        return try await withTaskCancellationHandler {
            try await self.withStream(EdgeRequestHeaders.controlStream(authority: self.configuration.controlStreamAuthority)) { stream in
                let control = TunnelByteStream(
                    inbound: TunnelInboundBody(reader: stream.reader, expectsResponseHead: true),
                    outbound: stream.requestBody,
                    streamID: stream.streamID
                )
                guard let interval = self.configuration.pingInterval else { return try await body(control) }
                return try await withThrowingTaskGroup(of: Void.self) { group in
                    // A missed PING ACK closes the channel, which fails the control stream
                    // and so the body.
                    group.addTask {
                        while true {
                            try await Task.sleep(for: interval)
                            do {
                                _ = try await self.core.ping(timeout: self.configuration.pingTimeout)
                            } catch let error as TunnelStreamError where error == .pingTimeout() {
                                self.core.channel.close(promise: nil)
                                throw error
                            }
                        }
                    }
                    defer { group.cancelAll() }
                    return try await body(control)
                }
            }
        } onCancel: {
            self.core.channel.close(promise: nil)
        }
    }

    /// Opens a request stream with `requestHeaders` (END_STREAM on the HEADERS when
    /// `endStream`), runs `body`, and closes the stream afterwards: a stream not complete by
    /// then is cancelled with RST_STREAM(CANCEL) (S13).
    ///
    /// Throws ``TunnelStreamError/connectionDraining(file:line:)`` once a GOAWAY was sent or
    /// received: the connector would silently ignore new streams (3.10).
    public func withStream<Result: Sendable>(
        _ requestHeaders: HPACKHeaders,
        endStream: Bool = false,
        _ body: (TunnelClientStream) async throws -> Result
    ) async throws -> Result {
        guard !self.core.isDraining else { throw TunnelStreamError.connectionDraining() }
        // The HEADERS go out from the stream's initializer, on the event loop, in the same trip
        // as opening the stream (not awaited: a failure closes the stream, which the response
        // read reports); the stream ID is known right after.
        let opened: OpenedStream = try await self.multiplexer.openStream { streamChannel in
            streamChannel.eventLoop.makeCompletedFuture {
                let channel = try StreamFrameChannel(
                    wrappingChannelSynchronously: streamChannel,
                    configuration: .init(isOutboundHalfClosureEnabled: false)
                )
                streamChannel.writeAndFlush(HTTP2Frame.FramePayload.headers(.init(headers: requestHeaders, endStream: endStream)), promise: nil)
                let streamID = try? streamChannel.syncOptions?.getOption(HTTP2StreamChannelOptions.streamID)
                return OpenedStream(channel: channel, streamID: streamID)
            }
        }
        let channel = opened.channel
        self.core.streamOpened(peerStreamID: nil)
        defer { self.core.streamClosed() }
        return try await channel.executeThenClose { inbound, _ in
            let state = TunnelStreamState()
            try state.with {
                $0.headSent = true
                $0.localEnded = endStream
            }
            let writer = TunnelBodyWriter(channel: channel.channel, state: state)
            let streamID: HTTP2StreamID
            if let known = opened.streamID {
                streamID = known
            } else {
                streamID = try await channel.channel.getOption(HTTP2StreamChannelOptions.streamID).get()
            }
            let stream = TunnelClientStream(
                streamID: streamID,
                requestBody: writer,
                reader: StreamFrameReader(inbound, state: state),
                limits: self.configuration.responseHeaderLimits
            )
            return try await body(stream)
        }
    }

    /// A stream opened by ``withStream(_:endStream:_:)`` with its HEADERS already written.
    private struct OpenedStream: Sendable {
        let channel: StreamFrameChannel
        let streamID: HTTP2StreamID?
    }

    /// Sends GOAWAY(`errorCode`, last-stream-id 0) once: the connector finishes open streams
    /// and answers with its own GOAWAY; ``withStream(_:endStream:_:)`` refuses new streams.
    /// Close the connection (or return from ``run(_:)``) once the streams you care about are done.
    public func goAway(errorCode: HTTP2ErrorCode = .noError) {
        self.core.goAway(errorCode: errorCode, lastStreamID: .rootStream)
    }

    /// Sends a PING and waits for the ACK; returns the round-trip time.
    public func ping(timeout: Duration = .seconds(15)) async throws -> Duration {
        try await self.core.ping(timeout: timeout)
    }

    /// Closes the connection at once.
    public func close() async {
        await self.core.close()
    }

    /// The connector's SETTINGS as received so far, or `nil` before the first SETTINGS frame.
    public var remoteSettings: HTTP2Settings? { self.core.remoteSettings }

    /// The connector's GOAWAY, if one arrived.
    public var receivedGoAway: (lastStreamID: HTTP2StreamID, errorCode: HTTP2ErrorCode)? {
        self.core.state.withLock { $0.goAwayReceived }
    }

    /// Whether new streams are refused (GOAWAY sent or received, or connection closed).
    public var isDraining: Bool { self.core.isDraining }

    /// Number of streams currently open through ``withStream(_:endStream:_:)`` (control stream included).
    public var openStreamCount: Int { self.core.state.withLock { $0.activeStreams } }

    /// The connector's address.
    public var remoteAddress: SocketAddress? { self.core.channel.remoteAddress }

    /// Completes when the underlying channel closes.
    public var closeFuture: EventLoopFuture<Void> { self.core.channel.closeFuture }
}
