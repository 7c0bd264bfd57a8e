import NIOConcurrencyHelpers
public import NIOCore
public import NIOHTTP1
import NIOPosix
import NIOSSL
import TunnelCore
import TunnelTransport

/// Byte relays for origins that stop speaking HTTP: WebSocket after `101`, and raw TCP.
enum RawOriginRelay {
    typealias RawConnection = NIOAsyncChannel<ByteBuffer, ByteBuffer>

    static func connect(_ endpoint: OriginEndpoint, connectTimeout: Duration, tlsTimeout: Duration = .seconds(10)) async throws -> RawConnection {
        let sslContext = try endpoint.tls.map { try sharedTLSContexts.context(for: $0) }
        let bootstrap = ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connectTimeout(connectTimeout.timeAmount)
        let initializer: @Sendable (any Channel) -> EventLoopFuture<RawConnection> = { channel in
            channel.eventLoop.makeCompletedFuture {
                if let sslContext, let tls = endpoint.tls {
                    let handler = try NIOSSLClientHandler(context: sslContext, serverHostname: tls.serverName.isIPAddress ? nil : tls.serverName)
                    try channel.pipeline.syncOperations.addHandler(handler)
                    try channel.pipeline.syncOperations.addHandler(TLSHandshakeTimeoutHandler(timeout: tlsTimeout.timeAmount))
                }
                return try RawConnection(
                    wrappingChannelSynchronously: channel,
                    configuration: .init(isOutboundHalfClosureEnabled: true)
                )
            }
        }
        switch endpoint.address {
        case .tcp(let host, let port):
            return try await bootstrap.channelOption(.allowRemoteHalfClosure, value: true).connect(host: host, port: port, channelInitializer: initializer)
        case .unixSocket(let path):
            return try await bootstrap.connect(unixDomainSocketPath: path, channelInitializer: initializer)
        }
    }

    static let sharedTLSContexts = OriginTLSContextCache()

    /// Sends an upgrade request and relays the connection once the origin switched protocols.
    static func upgrade<Body: AsyncSequence & Sendable>(
        _ head: HTTPRequestHead,
        body: Body,
        endpoint: OriginEndpoint,
        options: OriginRequestConfiguration,
        writer: some OriginResponseWriter
    ) async -> OriginExchangeOutcome where Body.Element == ByteBuffer {
        let connection: RawConnection
        do {
            connection = try await connect(endpoint, connectTimeout: options.connectTimeout, tlsTimeout: options.tlsTimeout)
        } catch {
            return .failedBeforeResponse(error)
        }
        let started = NIOLockedValueBox(false)
        do {
            try await connection.executeThenClose { inbound, outbound in
                try await outbound.write(head.serialized())
                var iterator = inbound.makeAsyncIterator()
                var parser = HTTP1ResponseHeadParser()
                var response: HTTPResponseHead?
                while response == nil {
                    guard let bytes = try await iterator.next() else { throw OriginError.closedBeforeResponse }
                    parser.append(bytes)
                    response = try parser.next()
                    if let interim = response, interim.status.code < 200, interim.status != .switchingProtocols {
                        response = nil
                    }
                }
                started.withLockedValue { $0 = true }
                try await writer.writeHead(response!)
                let leftover = parser.leftover
                if leftover.readableBytes > 0 { try await writer.writeBody(leftover) }
                if response!.status == .switchingProtocols {
                    try await pump(body: body, outbound: outbound, inbound: &iterator, writer: writer)
                } else {
                    // Not upgraded: pass the rest of the answer on as it comes.
                    while let bytes = try await iterator.next() { try await writer.writeBody(bytes) }
                    try await writer.writeEnd(trailers: nil)
                }
            }
            return .completed
        } catch {
            return started.withLockedValue { $0 } ? .failedDuringResponse(error) : .failedBeforeResponse(error)
        }
    }

    /// Connects to a TCP origin and relays bytes both ways.
    static func tcp<Body: AsyncSequence & Sendable>(
        endpoint: OriginEndpoint,
        body: Body,
        connectTimeout: Duration,
        writer: some OriginResponseWriter
    ) async -> OriginExchangeOutcome where Body.Element == ByteBuffer {
        let connection: RawConnection
        do {
            connection = try await connect(endpoint, connectTimeout: connectTimeout)
        } catch {
            return .failedBeforeResponse(error)
        }
        do {
            try await writer.writeHead(HTTPResponseHead(version: .http1_1, status: .ok))
        } catch {
            try? await connection.channel.close()
            return .failedDuringResponse(error)
        }
        do {
            try await connection.executeThenClose { inbound, outbound in
                var iterator = inbound.makeAsyncIterator()
                try await pump(body: body, outbound: outbound, inbound: &iterator, writer: writer)
            }
            return .completed
        } catch {
            return .failedDuringResponse(error)
        }
    }

    /// Copies bytes both ways until either side ends; the other direction is then finished too.
    private static func pump<Body: AsyncSequence & Sendable>(
        body: Body,
        outbound: NIOAsyncChannelOutboundWriter<ByteBuffer>,
        inbound: inout NIOAsyncChannelInboundStream<ByteBuffer>.AsyncIterator,
        writer: some OriginResponseWriter
    ) async throws where Body.Element == ByteBuffer {
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                for try await chunk in body {
                    try await outbound.write(chunk)
                }
                outbound.finish()
            }
            while let bytes = try await inbound.next() {
                try await writer.writeBody(bytes)
            }
            try await writer.writeEnd(trailers: nil)
            group.cancelAll()
        }
    }
}
