import NIOCore
import NIOHTTP2
import Synchronization

/// Connection-level state and control frames shared by both roles: PINGs, GOAWAY, the
/// peer's SETTINGS and the count of open streams.
final class HTTP2ConnectionCore: Sendable {
    struct State {
        var remoteSettings: HTTP2Settings?
        var pendingPings: [UInt64: EventLoopPromise<Void>] = [:]
        var goAwayReceived: (lastStreamID: HTTP2StreamID, errorCode: HTTP2ErrorCode)?
        var goAwaySent = false
        var highestPeerStreamID: HTTP2StreamID = .rootStream
        var activeStreams = 0
        var closed = false
    }

    let channel: any Channel
    /// Connection-level window increment sent right after our SETTINGS (0: none).
    let initialWindowIncrement: Int
    /// Closing delay once the connection is idle after a GOAWAY from the peer (nil: never).
    let closeWhenIdleAfterPeerGoAway: TimeAmount?
    /// Whether to answer a peer GOAWAY with our own GOAWAY(NO_ERROR, highest peer stream).
    let answersGoAway: Bool
    let state = Mutex(State())

    init(channel: any Channel, initialWindowIncrement: Int, closeWhenIdleAfterPeerGoAway: TimeAmount?, answersGoAway: Bool) {
        self.channel = channel
        self.initialWindowIncrement = initialWindowIncrement
        self.closeWhenIdleAfterPeerGoAway = closeWhenIdleAfterPeerGoAway
        self.answersGoAway = answersGoAway
    }

    var remoteSettings: HTTP2Settings? { self.state.withLock { $0.remoteSettings } }

    var isDraining: Bool { self.state.withLock { $0.goAwaySent || $0.goAwayReceived != nil || $0.closed } }

    // MARK: events from the frame handler (on the event loop)

    func receivedSettings(_ settings: HTTP2Settings) {
        self.state.withLock { state in
            var merged = state.remoteSettings ?? []
            for setting in settings {
                merged.removeAll { $0.parameter == setting.parameter }
                merged.append(setting)
            }
            state.remoteSettings = merged
        }
    }

    func receivedPingAck(_ data: HTTP2PingData) {
        let promise = self.state.withLock { $0.pendingPings.removeValue(forKey: data.integer) }
        promise?.succeed()
    }

    func receivedGoAway(lastStreamID: HTTP2StreamID, errorCode: HTTP2ErrorCode) {
        let (answer, highest, idle) = self.state.withLock { state -> (Bool, HTTP2StreamID, Bool) in
            let first = state.goAwayReceived == nil
            state.goAwayReceived = (lastStreamID, errorCode)
            let answer = first && self.answersGoAway && !state.goAwaySent
            if answer { state.goAwaySent = true }
            return (answer, state.highestPeerStreamID, state.activeStreams == 0)
        }
        if answer {
            self.writeControlFrame(.goAway(lastStreamID: highest, errorCode: .noError, opaqueData: nil))
        }
        if idle { self.scheduleIdleClose() }
    }

    func channelClosed() {
        let pings = self.state.withLock { state in
            state.closed = true
            defer { state.pendingPings.removeAll() }
            return Array(state.pendingPings.values)
        }
        for promise in pings { promise.fail(TunnelStreamError.connectionClosed()) }
    }

    // MARK: stream accounting

    /// Counts a new stream; peer-initiated ids raise the highest id seen.
    func streamOpened(peerStreamID: HTTP2StreamID?) {
        self.state.withLock { state in
            state.activeStreams += 1
            if let peerStreamID, peerStreamID > state.highestPeerStreamID { state.highestPeerStreamID = peerStreamID }
        }
    }

    func streamClosed() {
        let idleAfterGoAway = self.state.withLock { state in
            state.activeStreams -= 1
            return state.activeStreams == 0 && state.goAwayReceived != nil
        }
        if idleAfterGoAway { self.scheduleIdleClose() }
    }

    private func scheduleIdleClose() {
        guard let delay = self.closeWhenIdleAfterPeerGoAway else { return }
        let channel = self.channel
        channel.eventLoop.scheduleTask(in: delay) {
            channel.close(promise: nil)
        }
    }

    // MARK: actions

    func writeControlFrame(_ payload: HTTP2Frame.FramePayload) {
        self.channel.writeAndFlush(HTTP2Frame(streamID: .rootStream, payload: payload), promise: nil)
    }

    /// Sends GOAWAY once; later calls do nothing.
    func goAway(errorCode: HTTP2ErrorCode, lastStreamID: HTTP2StreamID? = nil) {
        let highest = self.state.withLock { state -> HTTP2StreamID? in
            guard !state.goAwaySent else { return nil }
            state.goAwaySent = true
            return state.highestPeerStreamID
        }
        guard let highest else { return }
        self.writeControlFrame(.goAway(lastStreamID: lastStreamID ?? highest, errorCode: errorCode, opaqueData: nil))
    }

    /// Sends a PING and waits for its ACK; returns the round-trip time.
    func ping(timeout: Duration) async throws -> Duration {
        let data = HTTP2PingData(withInteger: UInt64.random(in: 1...UInt64.max))
        let promise = self.channel.eventLoop.makePromise(of: Void.self)
        let closed = self.state.withLock { state in
            if !state.closed { state.pendingPings[data.integer] = promise }
            return state.closed
        }
        if closed {
            promise.fail(TunnelStreamError.connectionClosed())
        } else {
            let start = ContinuousClock.now
            self.writeControlFrame(.ping(data, ack: false))
            let timer = self.channel.eventLoop.scheduleTask(in: timeout.timeAmount) {
                let expired = self.state.withLock { $0.pendingPings.removeValue(forKey: data.integer) }
                expired?.fail(TunnelStreamError.pingTimeout())
            }
            defer { timer.cancel() }
            try await promise.futureResult.get()
            return ContinuousClock.now - start
        }
        try await promise.futureResult.get()
        return .zero
    }

    func close() async {
        try? await self.channel.close()
    }
}

/// Sits after `NIOHTTP2Handler` on the connection channel and sees the stream-0 frames:
/// SETTINGS, PING ACKs and GOAWAY. It also sends the initial connection WINDOW_UPDATE
/// right after the HTTP/2 handler's SETTINGS, as cloudflared's Go server does.
final class ConnectionFrameHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTP2Frame
    typealias InboundOut = HTTP2Frame
    typealias OutboundOut = HTTP2Frame

    private let core: HTTP2ConnectionCore
    private var sentWindowUpdate = false

    init(core: HTTP2ConnectionCore) {
        self.core = core
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { self.sendInitialWindowUpdate(context: context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        self.sendInitialWindowUpdate(context: context)
        context.fireChannelActive()
    }

    private func sendInitialWindowUpdate(context: ChannelHandlerContext) {
        guard !self.sentWindowUpdate else { return }
        self.sentWindowUpdate = true
        guard self.core.initialWindowIncrement > 0 else { return }
        let frame = HTTP2Frame(streamID: .rootStream, payload: .windowUpdate(windowSizeIncrement: self.core.initialWindowIncrement))
        context.writeAndFlush(self.wrapOutboundOut(frame), promise: nil)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = self.unwrapInboundIn(data)
        switch frame.payload {
        case .settings(.settings(let settings)):
            self.core.receivedSettings(settings)
        case .ping(let data, ack: true):
            self.core.receivedPingAck(data)
        case .goAway(let lastStreamID, let errorCode, _):
            self.core.receivedGoAway(lastStreamID: lastStreamID, errorCode: errorCode)
        default:
            break
        }
        // Nothing after this handler wants connection frames; do not forward them.
    }

    func channelInactive(context: ChannelHandlerContext) {
        self.core.channelClosed()
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // Connection errors make NIOHTTP2 send GOAWAY and close; stream errors are delivered
        // to the stream channels. Nothing more to do here.
        context.fireErrorCaught(error)
    }
}
