#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
public import Logging
public import NIOCore
import NIOExtras
import NIOPosix
public import ServiceLifecycle
public import TunnelCore
import TunnelTransport

/// The edge's authoritative DNS server, over UDP and TCP on one address: it answers for the
/// zones the control plane holds, from a ``DNSZoneData`` snapshot it asks for per query
/// (``DNSAuthority``). Each query is a few events on an event loop: decode, answer, write.
public final class DNSServer: Service, Sendable {
    /// Where it listens; port 0 picks one (the same for UDP and TCP when free).
    public let host: String
    /// The requested port.
    public let port: Int
    let zoneData: @Sendable () -> DNSZoneData?
    let logger: Logger
    private let bound = OnceValue<(udp: SocketAddress, tcp: SocketAddress)>()
    private let shutdownRequest = ShutdownSignal()

    /// Creates the server; `zoneData` returns the current snapshot, `nil` while unavailable
    /// (answered SERVFAIL).
    public init(host: String, port: Int, logger: Logger = Logger(label: "tunnel.dns"), zoneData: @escaping @Sendable () -> DNSZoneData?) {
        self.host = host
        self.port = port
        self.logger = logger
        self.zoneData = zoneData
    }

    /// The bound UDP and TCP addresses, once listening; throws if binding failed.
    public func listeningAddresses() async throws -> (udp: SocketAddress, tcp: SocketAddress) {
        try await bound.wait()
    }

    /// Stops listening.
    public func shutdown() {
        shutdownRequest.fire()
    }

    /// Serves until shutdown (graceful via ServiceLifecycle or ``shutdown()``).
    public func run() async throws {
        let group = MultiThreadedEventLoopGroup.singleton
        let zoneData = zoneData
        let udp: any Channel
        let tcp: any Channel
        do {
            (udp, tcp) = try await bind(group: group, zoneData: zoneData)
        } catch {
            let failure = EdgeServerError(message: "cannot serve DNS on \(host):\(port): \(EdgeServerError.bindFailureReason(error))")
            bound.fail(failure)
            throw failure
        }
        bound.succeed((udp.localAddress!, tcp.localAddress!))
        logger.info("DNS listening", metadata: ["udp": "\(udp.localAddress!)", "tcp": "\(tcp.localAddress!)"])
        await withGracefulShutdownHandler {
            await shutdownRequest.wait()
        } onGracefulShutdown: {
            self.shutdownRequest.fire()
        }
        try? await udp.close()
        try? await tcp.close()
    }
}

extension DNSServer {
    /// Binds UDP, then TCP on the same port. With port 0 the port UDP got may be taken for TCP
    /// by someone else: then both are given up and another port is tried, a few times.
    func bind(group: MultiThreadedEventLoopGroup, zoneData: @escaping @Sendable () -> DNSZoneData?) async throws -> (any Channel, any Channel) {
        var lastError: any Error = EdgeServerError(message: "no free port")
        for _ in 0..<(port == 0 ? 8 : 1) {
            let udp = try await DatagramBootstrap(group: group)
                .channelOption(.socketOption(.so_reuseaddr), value: 1)
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(DNSDatagramHandler(zoneData: zoneData)) }
                }
                .bind(host: host, port: port).get()
            do {
                let tcp = try await ServerBootstrap(group: group)
                    .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
                    .childChannelInitializer { channel in
                        channel.eventLoop.makeCompletedFuture {
                            let operations = channel.pipeline.syncOperations
                            try operations.addHandler(IdleStateHandler(readTimeout: .seconds(10)))
                            try operations.addHandler(ByteToMessageHandler(LengthFieldBasedFrameDecoder(lengthFieldBitLength: .twoBytes)))
                            try operations.addHandler(LengthFieldPrepender(lengthFieldBitLength: .twoBytes))
                            try operations.addHandler(DNSStreamHandler(zoneData: zoneData))
                        }
                    }
                    .bind(host: host, port: udp.localAddress?.port ?? port).get()
                return (udp, tcp)
            } catch {
                lastError = error
                try? await udp.close()
            }
        }
        throw lastError
    }
}

/// UDP: one datagram in, one answer out (truncated to 512 bytes or the client's EDNS size).
final class DNSDatagramHandler: ChannelInboundHandler {
    typealias InboundIn = AddressedEnvelope<ByteBuffer>
    typealias OutboundOut = AddressedEnvelope<ByteBuffer>
    let zoneData: @Sendable () -> DNSZoneData?

    init(zoneData: @escaping @Sendable () -> DNSZoneData?) { self.zoneData = zoneData }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let envelope = unwrapInboundIn(data)
        guard let answer = DNSAuthority.respond(to: Array(envelope.data.readableBytesView), data: zoneData(), maxSize: 512) else { return }
        context.write(wrapOutboundOut(AddressedEnvelope(remoteAddress: envelope.remoteAddress, data: context.channel.allocator.buffer(bytes: answer))), promise: nil)
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        context.flush()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // A datagram socket error (an ICMP unreachable from a past client) is not fatal.
    }
}

/// TCP: length-prefixed queries in, length-prefixed answers out (RFC 7766), several per
/// connection; closed after 10 s without a query.
final class DNSStreamHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer
    let zoneData: @Sendable () -> DNSZoneData?

    init(zoneData: @escaping @Sendable () -> DNSZoneData?) { self.zoneData = zoneData }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let query = unwrapInboundIn(data)
        guard let answer = DNSAuthority.respond(to: Array(query.readableBytesView), data: zoneData()) else {
            context.close(promise: nil)
            return
        }
        context.write(wrapOutboundOut(context.channel.allocator.buffer(bytes: answer)), promise: nil)
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        context.flush()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is IdleStateHandler.IdleStateEvent { context.close(promise: nil) }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}
