import AsyncHTTPClient
import Benchmark
import NIOCore
import NIOHTTP1
import NIOPosix
import TunnelTesting

// Allocations per proxied request, edge and connector together: 1 KB GETs through an in-process
// edge and connector (`withTestTunnel`), and the same GETs straight to the same origin with the
// same client. The difference of the two is what the tunnel adds (the client's and the origin's
// allocations are in both). Each iteration is 1,000 requests, one after another.

/// A 1 KB origin with Content-Length, kept alive.
private final class KilobyteOrigin: ChannelInboundHandler, Sendable {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart
    static let body = ByteBuffer(repeating: 0x61, count: 1024)

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard case .end = Self.unwrapInboundIn(data) else { return }
        context.write(Self.wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: .ok, headers: ["content-length": "1024"]))), promise: nil)
        context.write(Self.wrapOutboundOut(.body(.byteBuffer(Self.body))), promise: nil)
        context.writeAndFlush(Self.wrapOutboundOut(.end(nil)), promise: nil)
    }
}

private func startOrigin() async throws -> any Channel {
    try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
        .childChannelInitializer { channel in
            channel.eventLoop.makeCompletedFuture {
                try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                try channel.pipeline.syncOperations.addHandler(KilobyteOrigin())
            }
        }
        .bind(host: "127.0.0.1", port: 0).get()
}

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .mallocCountTotal, .throughput],
        scalingFactor: .kilo,
        maxDuration: .seconds(10),
        maxIterations: 10
    )

    Benchmark("GET 1 KB through edge and connector") { benchmark in
        let origin = try await startOrigin()
        try await withTestTunnel(origin: .url("http://127.0.0.1:\(origin.localAddress!.port!)")) { tunnel in
            for _ in 0..<200 { _ = try await tunnel.client.get("/") }
            benchmark.startMeasurement()
            for _ in benchmark.scaledIterations { blackHole(try await tunnel.client.get("/")) }
            benchmark.stopMeasurement()
        }
        try await origin.close()
    }

    Benchmark("GET 1 KB straight to the origin (same client)") { benchmark in
        let origin = try await startOrigin()
        let client = HTTPClient(eventLoopGroupProvider: .singleton)
        let url = "http://127.0.0.1:\(origin.localAddress!.port!)/"
        for _ in 0..<200 { _ = try await client.execute(HTTPClientRequest(url: url), timeout: .seconds(10)).body.collect(upTo: 1 << 20) }
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            let response = try await client.execute(HTTPClientRequest(url: url), timeout: .seconds(10))
            blackHole(try await response.body.collect(upTo: 1 << 20))
        }
        benchmark.stopMeasurement()
        try await client.shutdown()
        try await origin.close()
    }
}
