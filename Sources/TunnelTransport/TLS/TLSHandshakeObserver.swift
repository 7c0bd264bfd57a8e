import NIOCore
import NIOSSL
import NIOTLS

/// Completes a promise when the TLS handshake finishes, fails it with a typed
/// ``TunnelTLSError`` when the handshake fails, the channel closes first, or it times out.
final class TLSHandshakeObserver: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = NIOAny

    private let promise: EventLoopPromise<Void>
    private let serverName: String
    private let timeout: TimeAmount
    private var timer: Scheduled<Void>?

    init(promise: EventLoopPromise<Void>, serverName: String, timeout: TimeAmount) {
        self.promise = promise
        self.serverName = serverName
        self.timeout = timeout
    }

    func handlerAdded(context: ChannelHandlerContext) {
        let promise = self.promise
        let serverName = self.serverName
        let channel = context.channel
        self.timer = context.eventLoop.scheduleTask(in: self.timeout) {
            promise.fail(TunnelTLSError.handshakeTimeout(serverName: serverName))
            channel.close(promise: nil)
        }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.timer?.cancel()
        // Removed without a handshake result (the channel closed before it became active):
        // the dialer must still hear about it. Does nothing if the promise already completed.
        self.promise.fail(TunnelTLSError.connectionClosedDuringHandshake())
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case TLSUserEvent.handshakeCompleted = event {
            self.timer?.cancel()
            self.promise.succeed()
        }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        self.timer?.cancel()
        self.promise.fail(Self.classify(error, serverName: self.serverName))
        context.fireErrorCaught(error)
    }

    func channelInactive(context: ChannelHandlerContext) {
        self.timer?.cancel()
        self.promise.fail(TunnelTLSError.connectionClosedDuringHandshake())
        context.fireChannelInactive()
    }

    static func classify(_ error: any Error, serverName: String) -> any Error {
        if let extra = error as? NIOSSLExtraError, extra == .failedToValidateHostname {
            return TunnelTLSError.serverNameMismatch(serverName: serverName, detail: "\(extra)")
        }
        if case NIOSSLError.handshakeFailed(let underlying)? = error as? NIOSSLError {
            let text = "\(underlying)"
            if text.contains("CERTIFICATE_VERIFY_FAILED") {
                return TunnelTLSError.untrustedCertificate(serverName: serverName, detail: text)
            }
            return TunnelTLSError.handshakeFailed(serverName: serverName, detail: text)
        }
        if error is NIOSSLError || error is BoringSSLError {
            return TunnelTLSError.handshakeFailed(serverName: serverName, detail: "\(error)")
        }
        return error
    }
}
