public import NIOCore
import NIOHPACK
public import NIOHTTP2
import NIOSSL

/// The connector's end of one tunnel connection: the HTTP/2 **server** on a TLS
/// connection the connector dialed (edge-protocol.md 0, 1.5).
///
/// Create it inside the channel initializer (``configure(on:configuration:)``) so the
/// HTTP/2 handler is in place before the edge's preface arrives, or use ``EdgeDialer``.
/// Then call ``run(controlStreamHandler:streamHandler:)``:
/// - each control stream is answered `:status 200`, `content-type: application/octet-stream`
///   at once and handed to `controlStreamHandler` as a ``TunnelByteStream`` (the RPC bytes);
/// - every other stream is classified and handed to the ``TunnelStreamHandler``.
///
/// When a handler returns: no head written → 502 `{"src":"cloudflared"}`; head written but
/// not finished → END_STREAM; handler threw after the head → RST_STREAM(INTERNAL_ERROR).
/// If the edge is still sending the request body when the response ended, the stream is
/// closed with RST_STREAM(NO_ERROR), like cloudflared (7.2). A GOAWAY from the edge is
/// answered with GOAWAY(NO_ERROR, highest stream id) and the connection closes once no
/// stream is left (3.10).
public final class EdgeConnection: Sendable {
    /// HTTP/2 parameters of the connector side.
    public struct Configuration: Sendable {
        /// SETTINGS sent to the edge. Default ``EdgeConnection/cloudflaredSettings``.
        public var settings: HTTP2Settings
        /// Connection-level receive window, in bytes; the difference to 65 535 is sent as a
        /// WINDOW_UPDATE on stream 0 right after SETTINGS. Default 1 MiB (cloudflared's +983 041).
        public var connectionWindowSize: Int
        /// Per-stream receive window in bytes; keep equal to SETTINGS_INITIAL_WINDOW_SIZE. Default 1 MiB.
        public var streamWindowSize: Int
        /// Delay before closing an idle connection after the edge's GOAWAY. Default 1 s (Go's behaviour).
        public var closeDelayAfterGoAway: TimeAmount

        /// cloudflared's values, overridable per field.
        public init(
            settings: HTTP2Settings = EdgeConnection.cloudflaredSettings,
            connectionWindowSize: Int = 1 << 20,
            streamWindowSize: Int = 1 << 20,
            closeDelayAfterGoAway: TimeAmount = .seconds(1)
        ) {
            self.settings = settings
            self.connectionWindowSize = connectionWindowSize
            self.streamWindowSize = streamWindowSize
            self.closeDelayAfterGoAway = closeDelayAfterGoAway
        }
    }

    /// The SETTINGS cloudflared 2026.8.2 sends, in its order (observed): MAX_FRAME_SIZE
    /// 1 048 576, MAX_CONCURRENT_STREAMS 250, MAX_HEADER_LIST_SIZE 1 048 896,
    /// HEADER_TABLE_SIZE 4 096, INITIAL_WINDOW_SIZE 1 048 576, NO_RFC7540_PRIORITIES (0x9) 1.
    public static let cloudflaredSettings: HTTP2Settings = [
        HTTP2Setting(parameter: .maxFrameSize, value: 1 << 20),
        HTTP2Setting(parameter: .maxConcurrentStreams, value: 250),
        HTTP2Setting(parameter: .maxHeaderListSize, value: 1_048_896),
        HTTP2Setting(parameter: .headerTableSize, value: 4096),
        HTTP2Setting(parameter: .initialWindowSize, value: 1 << 20),
        HTTP2Setting(parameter: HTTP2SettingsParameter(extensionSetting: 9), value: 1),
    ]

    let core: HTTP2ConnectionCore
    let router: TunnelStreamRouter

    /// An accepted stream channel and its id.
    struct InboundStream: Sendable {
        let channel: StreamFrameChannel
        let streamID: HTTP2StreamID
    }

    private init(core: HTTP2ConnectionCore, router: TunnelStreamRouter) {
        self.core = core
        self.router = router
    }

    /// Adds the HTTP/2 server handlers to `channel` (after any TLS handler). Call on the
    /// channel's event loop, normally from a channel initializer.
    public static func configure(on channel: any Channel, configuration: Configuration = .init()) throws -> EdgeConnection {
        var http2 = NIOHTTP2Handler.Configuration()
        http2.connection.initialSettings = configuration.settings
        http2.connection.targetWindowSize = configuration.connectionWindowSize
        http2.stream.targetWindowSize = configuration.streamWindowSize
        try channel.pipeline.syncOperations.addHandler(HTTP2FrameAligningHandler(expectsClientPreface: true))
        try channel.pipeline.syncOperations.addHandler(FlushCoalescingHandler())
        let core = HTTP2ConnectionCore(
            channel: channel,
            initialWindowIncrement: max(0, configuration.connectionWindowSize - 65_535),
            closeWhenIdleAfterPeerGoAway: configuration.closeDelayAfterGoAway,
            answersGoAway: true
        )
        let router = TunnelStreamRouter(core: core)
        // Every stream starts at the gate: served on the event loop, or handed to `run`.
        _ = try channel.pipeline.syncOperations.configureHTTP2Pipeline(
            mode: .server,
            connectionConfiguration: http2.connection,
            streamConfiguration: http2.stream
        ) { streamChannel in
            streamChannel.eventLoop.makeCompletedFuture {
                try streamChannel.pipeline.syncOperations.addHandler(TunnelStreamGate(router: router))
            }
        }
        try channel.pipeline.syncOperations.addHandler(ConnectionFrameHandler(core: core))
        return EdgeConnection(core: core, router: router)
    }

    /// Serves the connection until it closes (or the calling task is cancelled, which closes it).
    /// Returns normally when the edge closes the connection (with or without TLS
    /// close_notify); throws for HTTP/2 connection errors. Control-stream handler errors end
    /// that stream only.
    public func run(
        controlStreamHandler: @escaping @Sendable (TunnelByteStream) async throws -> Void,
        streamHandler: some TunnelStreamHandler
    ) async throws {
        try await withTaskCancellationHandler {
            self.router.streamHandler = streamHandler
            await withDiscardingTaskGroup { group in
                // Ends when the connection closes; streams served on the event loop never come here.
                for await stream in self.router.inbound {
                    group.addTask {
                        await self.serve(
                            stream.channel, streamID: stream.streamID, control: controlStreamHandler, handler: streamHandler)
                    }
                }
            }
        } onCancel: {
            self.core.channel.close(promise: nil)
        }
    }

    private func serve(
        _ stream: StreamFrameChannel,
        streamID: HTTP2StreamID,
        control: @Sendable (TunnelByteStream) async throws -> Void,
        handler: some TunnelStreamHandler
    ) async {
        try? await stream.executeThenClose { inbound, _ in
            let state = TunnelStreamState()
            let reader = StreamFrameReader(inbound, state: state)
            let headers = try await reader.readHead(skipInformational: false)
            let endStream = state.snapshot.remoteEnded
            let writer = TunnelResponseWriter(body: TunnelBodyWriter(channel: stream.channel, state: state))
            let kind = TunnelStreamKind(requestHeaders: headers)
            var failed = false
            if kind == .control {
                try await writer.writeHead(fields: [":status": "200", "content-type": "application/octet-stream"])
                // The RPC layer reports its own failures; the stream then ends normally, as
                // cloudflared's does after a failed registration (3.2).
                try? await control(
                    TunnelByteStream(inbound: TunnelInboundBody(reader: reader), outbound: writer.body, streamID: streamID))
            } else {
                let request = TunnelRequest(kind: kind, headers: headers, streamID: streamID, endStream: endStream)
                do {
                    try await handler.handleStream(request, body: TunnelInboundBody(reader: reader), response: writer)
                } catch {
                    failed = true
                }
            }
            try await Self.complete(writer, failed: failed)
        }
    }

    /// Completes whatever the handler left open (see the type's documentation).
    private static func complete(_ writer: TunnelResponseWriter, failed: Bool) async throws {
        let flags = writer.body.state.snapshot
        if flags.resetCode != nil { return }
        if !flags.headSent {
            try await writer.writeHead(.connectorError(), endStream: true)
        } else if !flags.localEnded {
            if failed {
                try await writer.reset(.internalError)
                return
            }
            try await writer.finish()
        }
        if !writer.body.state.snapshot.remoteEnded {
            try await writer.reset(.noError)
        }
    }

    /// Sends GOAWAY (once): the edge should open no new streams. Open streams continue.
    public func goAway(errorCode: HTTP2ErrorCode = .noError) {
        self.core.goAway(errorCode: errorCode)
    }

    /// Sends a PING and waits for the ACK; returns the round-trip time.
    /// Throws ``TunnelStreamError/pingTimeout(file:line:)`` after `timeout`.
    public func ping(timeout: Duration = .seconds(15)) async throws -> Duration {
        try await self.core.ping(timeout: timeout)
    }

    /// Closes the connection (TLS close_notify, then TCP close). Running streams fail.
    public func close() async {
        await self.core.close()
    }

    /// The edge's SETTINGS as received so far (merged), or `nil` before the first SETTINGS frame.
    public var remoteSettings: HTTP2Settings? { self.core.remoteSettings }

    /// Whether a GOAWAY was sent or received, or the connection closed.
    public var isDraining: Bool { self.core.isDraining }

    /// The edge's address.
    public var remoteAddress: SocketAddress? { self.core.channel.remoteAddress }

    /// Completes when the underlying channel closes.
    public var closeFuture: EventLoopFuture<Void> { self.core.channel.closeFuture }
}
