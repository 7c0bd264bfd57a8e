import Crypto
import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization
import Testing
import TunnelTesting

/// Requests without a body to an `http://` origin are served on the stream's event loop
/// (`OriginExchange`): checked end to end through a real edge and connector against an origin
/// that counts its connections and can misbehave on purpose.
@Suite("event-loop exchange", .timeLimit(.minutes(2)))
struct EventLoopExchangeTests {
    /// An HTTP/1.1 origin: `/fixed` (Content-Length), `/chunked`, `/empty` (204), `/close`
    /// (answers with `Connection: close`), `/broken` (announces 100 000 bytes, sends 10, closes).
    final class CountingOrigin: ChannelInboundHandler, Sendable {
        typealias InboundIn = HTTPServerRequestPart
        typealias OutboundOut = HTTPServerResponsePart
        static let fixed = ByteBuffer(bytes: (0..<20_000).map { UInt8(truncatingIfNeeded: $0 &* 31) })

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            guard case .head(let head) = Self.unwrapInboundIn(data) else { return }
            func respond(_ status: HTTPResponseStatus, _ headers: HTTPHeaders, _ parts: [ByteBuffer], close: Bool = false) {
                context.write(Self.wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: status, headers: headers))), promise: nil)
                for part in parts { context.write(Self.wrapOutboundOut(.body(.byteBuffer(part))), promise: nil) }
                let done = context.writeAndFlush(Self.wrapOutboundOut(.end(nil)))
                if close { done.whenComplete { [channel = context.channel] _ in channel.close(promise: nil) } }
            }
            switch head.uri {
            case "/fixed": respond(.ok, ["content-length": "\(Self.fixed.readableBytes)"], [Self.fixed])
            case "/chunked": respond(.ok, ["transfer-encoding": "chunked"], [ByteBuffer(string: "abc"), ByteBuffer(string: "def")])
            case "/empty": respond(.noContent, [:], [])
            case "/close": respond(.ok, ["content-length": "2", "connection": "close"], [ByteBuffer(string: "ok")], close: true)
            default:
                context.write(Self.wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: .ok, headers: ["content-length": "100000"]))), promise: nil)
                context.writeAndFlush(Self.wrapOutboundOut(.body(.byteBuffer(ByteBuffer(string: "0123456789")))), promise: nil)
                context.close(promise: nil)
            }
        }
    }

    /// Connections the origin accepted.
    final class Count: Sendable {
        private let count = Mutex(0)
        func add() { self.count.withLock { $0 += 1 } }
        var value: Int { self.count.withLock { $0 } }
    }

    static func startOrigin(accepted: Count) async throws -> any Channel {
        try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                accepted.add()
                return channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    try channel.pipeline.syncOperations.addHandler(CountingOrigin())
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
    }

    @Test("sequential requests reuse the origin's connections; bodies arrive byte for byte")
    func reuse() async throws {
        let accepted = Count()
        let origin = try await Self.startOrigin(accepted: accepted)
        defer { origin.close(promise: nil) }
        try await withTestTunnel(origin: .url("http://127.0.0.1:\(origin.localAddress!.port!)")) { tunnel in
            for round in 0..<30 {
                switch round % 3 {
                case 0:
                    let response = try await tunnel.client.get("/fixed")
                    #expect(response.status == .ok)
                    #expect(Data(SHA256.hash(data: Data(response.body.readableBytesView))) == Data(SHA256.hash(data: Data(CountingOrigin.fixed.readableBytesView))))
                case 1:
                    let response = try await tunnel.client.get("/chunked")
                    #expect(response.status == .ok && response.text == "abcdef")
                default:
                    let response = try await tunnel.client.get("/empty")
                    #expect(response.status == .noContent && response.body.readableBytes == 0)
                }
            }
        }
        // One idle connection per event loop at most, not one per request.
        let count = accepted.value
        #expect(count <= System.coreCount, "the origin accepted \(count) connections for 30 sequential requests")
    }

    @Test("an origin that closes after answering, or breaks off a body, or is down")
    func misbehaving() async throws {
        let accepted = Count()
        let origin = try await Self.startOrigin(accepted: accepted)
        let port = origin.localAddress!.port!
        try await withTestTunnel(origin: .url("http://127.0.0.1:\(port)")) { tunnel in
            for _ in 0..<3 {
                let closed = try await tunnel.client.get("/close")
                #expect(closed.status == .ok && closed.text == "ok")
            }
            // Announced 100 000 bytes, sent 10: the visitor must not see a complete response.
            await #expect(throws: (any Error).self) {
                let response = try await tunnel.client.get("/broken")
                if response.body.readableBytes < 100_000 { throw CancellationError() }
            }
            let after = try await tunnel.client.get("/fixed")
            #expect(after.status == .ok && after.body.readableBytes == CountingOrigin.fixed.readableBytes)
        }
        try await origin.close()
        // Nothing listens on the port any more: the connector's own 502.
        try await withTestTunnel(origin: .url("http://127.0.0.1:\(port)")) { tunnel in
            let down = try await tunnel.client.get("/fixed")
            #expect(down.status == .badGateway)
        }
    }
}
