import NIOConcurrencyHelpers
import NIOCore
import NIOSSL
import NIOTLS

/// Builds (once per settings) the TLS contexts used towards origins: the system trust store
/// plus the optional `caPool` bundle; verification off only with `noTLSVerify`.
final class OriginTLSContextCache: Sendable {
    private let contexts = NIOLockedValueBox<[OriginTLSSettings: NIOSSLContext]>([:])

    func context(for settings: OriginTLSSettings) throws -> NIOSSLContext {
        if let cached = contexts.withLockedValue({ $0[settings] }) {
            return cached
        }
        var configuration = TLSConfiguration.makeClientConfiguration()
        if let caPool = settings.caPoolPath {
            do {
                let extra = try NIOSSLCertificate.fromPEMFile(caPool)
                configuration.additionalTrustRoots = [.certificates(extra)]
            } catch {
                throw OriginError.caPoolUnreadable(path: caPool, reason: "\(error)")
            }
        }
        if settings.noTLSVerify {
            configuration.certificateVerification = .none
        }
        let context = try NIOSSLContext(configuration: configuration)
        contexts.withLockedValue { $0[settings] = context }
        return context
    }
}

/// Closes a connection whose TLS handshake has not completed within the timeout (`tlsTimeout`).
final class TLSHandshakeTimeoutHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = NIOAny

    private let timeout: TimeAmount
    private var timer: Scheduled<Void>?

    init(timeout: TimeAmount) {
        self.timeout = timeout
    }

    func handlerAdded(context: ChannelHandlerContext) {
        let loopBound = NIOLoopBound(context, eventLoop: context.eventLoop)
        timer = context.eventLoop.scheduleTask(in: timeout) {
            loopBound.value.close(promise: nil)
        }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        timer?.cancel()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case TLSUserEvent.handshakeCompleted = event {
            timer?.cancel()
            context.pipeline.syncOperations.removeHandler(self, promise: nil)
        }
        context.fireUserInboundEventTriggered(event)
    }
}

/// Errors reaching an origin.
public struct OriginError: Error, Hashable, Sendable, CustomStringConvertible {
    private enum Code: Hashable, Sendable {
        case caPoolUnreadable(String, String)
        case closedBeforeResponse
        case noOriginForService(String)
        case cancelled
    }

    private let code: Code

    /// The CA bundle given as `caPool` / `--origin-ca-pool` cannot be read.
    public static func caPoolUnreadable(path: String, reason: String) -> Self { Self(code: .caPoolUnreadable(path, reason)) }
    /// The origin closed the connection before sending a complete response.
    public static let closedBeforeResponse = Self(code: .closedBeforeResponse)
    /// The ingress service does not forward to an origin.
    public static func noOriginForService(_ service: String) -> Self { Self(code: .noOriginForService(service)) }
    /// The request was cancelled (the visitor went away).
    public static let cancelled = Self(code: .cancelled)

    public var description: String {
        switch code {
        case .caPoolUnreadable(let path, let reason):
            return "cannot read the origin CA pool \(path): \(reason). Fix caPool / --origin-ca-pool to point at a PEM bundle."
        case .closedBeforeResponse:
            return "the origin closed the connection before sending a complete response; check the origin's logs"
        case .noOriginForService(let service):
            return "the ingress service \(service) does not forward to an origin"
        case .cancelled:
            return "the request was cancelled"
        }
    }
}
