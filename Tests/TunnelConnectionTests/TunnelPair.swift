import NIOCore
import NIOHPACK
import NIOHTTP2
import NIOPosix
import NIOSSL
import TunnelTransport

/// Runs a connector-side ``EdgeConnection`` (dialed) against an edge-side
/// ``ConnectorConnection`` (accepted) over real loopback TCP + TLS.
enum TunnelPair {
    static func run<Result: Sendable>(
        pki: TestPKI,
        edgeConfiguration: ConnectorConnection.Configuration = .init(pingInterval: nil),
        controlHandler: @escaping @Sendable (TunnelByteStream) async throws -> Void = { _ in },
        streamHandler: some TunnelStreamHandler = TestOriginHandler(),
        _ edgeBody: @escaping @Sendable (ConnectorConnection, EdgeConnection, TunnelByteStream) async throws -> Result
    ) async throws -> Result {
        let listener = try await ConnectorListener.bind(
            host: "127.0.0.1", port: 0, configuration: pki.listenerConfiguration(connection: edgeConfiguration))
        let port = listener.channel.localAddress!.port!
        return try await listener.executeThenClose { inbound in
            let edgeConnection = try await EdgeDialer.connect(
                host: "127.0.0.1", port: port, configuration: .init(trustRoots: [pki.caCertificate]))
            var connections = inbound.makeAsyncIterator()
            guard let connectorConnection = try await connections.next() else { throw TunnelStreamError.connectionClosed() }
            return try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask {
                    try await edgeConnection.run(controlStreamHandler: controlHandler, streamHandler: streamHandler)
                }
                let result = try await connectorConnection.run { control in
                    try await edgeBody(connectorConnection, edgeConnection, control)
                }
                try await group.waitForAll()
                return result
            }
        }
    }
}

/// A deterministic byte pattern, `count` bytes long (a 65 521-byte block, prime so that
/// chunk boundaries never line up with it, repeated).
func pattern(_ count: Int, seed: UInt8 = 0) -> ByteBuffer {
    var block = [UInt8](repeating: 0, count: 65_521)
    for index in block.indices { block[index] = UInt8(truncatingIfNeeded: index &* 31 &+ Int(seed) &+ index >> 8) }
    var buffer = ByteBuffer()
    buffer.reserveCapacity(count)
    while buffer.readableBytes < count { buffer.writeBytes(block.prefix(count - buffer.readableBytes)) }
    return buffer
}

/// A connector-side handler playing the origin for the loopback tests.
///
/// - `/echo`: 200 with serialized user headers, echoes the request body; with request
///   header `want-trailers`, ends with trailers `grpc-status: 0`, `x-checksum: abc123`.
/// - `/download?<n>`: 200 and `n` pattern bytes in 64 KiB writes.
/// - `/count`: reads the whole body and answers its length as text.
/// - `/reset`: head, some bytes, then RST_STREAM(INTERNAL_ERROR).
/// - `/slow?<n>`: head, then `n` 100-byte chunks 50 ms apart.
/// - `/nohead`: returns without writing (→ 502 from the connection).
struct TestOriginHandler: TunnelStreamHandler {
    func handleStream(_ request: TunnelRequest, body: TunnelInboundBody, response: TunnelResponseWriter) async throws {
        let path = request.path ?? ""
        let query = path.split(separator: "?").dropFirst().first.flatMap { Int($0) } ?? 0
        switch path.split(separator: "?").first.map(String.init) ?? "" {
        case "/echo":
            try await response.writeHead(
                .origin(
                    status: 200,
                    headers: [
                        SerializedHeaderField(name: "Content-Type", value: "application/octet-stream"),
                        SerializedHeaderField(name: "Set-Cookie", value: "a=1"),
                        SerializedHeaderField(name: "Set-Cookie", value: "b=2"),
                        SerializedHeaderField(name: Array("X-Latin1".utf8), value: [0xE9, 0x74, 0xE9]),
                    ]))
            for try await chunk in body { try await response.write(chunk) }
            if request.headers.contains(name: "want-trailers") {
                try await response.finish(trailers: ["grpc-status": "0", "x-checksum": "abc123"])
            }
        case "/download":
            try await response.writeHead(.origin(status: 200, headers: [], fields: ["content-length": String(query)]))
            var remaining = pattern(query)
            while remaining.readableBytes > 0 {
                try await response.write(remaining.readSlice(length: min(65_536, remaining.readableBytes))!)
            }
        case "/count":
            var total = 0
            for try await chunk in body { total += chunk.readableBytes }
            try await response.writeHead(.origin(status: 200, headers: []))
            try await response.write(ByteBuffer(string: String(total)))
        case "/reset":
            try await response.writeHead(.origin(status: 200, headers: []))
            try await response.write(ByteBuffer(string: "partial"))
            try await response.reset(.internalError)
        case "/slow":
            try await response.writeHead(.origin(status: 200, headers: []))
            for index in 0..<query {
                try await Task.sleep(for: .milliseconds(50))
                try await response.write(ByteBuffer(repeating: UInt8(index & 0xFF), count: 100))
            }
        case "/nohead":
            return
        default:
            try await response.writeHead(.origin(status: 404, headers: []), endStream: true)
        }
    }
}

/// Request headers for a plain GET/POST to the test handler.
func testRequest(_ path: String, method: String = "GET", extra: HPACKHeaders = [:]) -> HPACKHeaders {
    var headers: HPACKHeaders = [":method": method, ":scheme": "https", ":authority": "app.test", ":path": path]
    headers.add(contentsOf: extra)
    return headers
}
