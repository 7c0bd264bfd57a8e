import NIOCore
import NIOEmbedded
import NIOHPACK
import NIOHTTP2
import Testing
import TunnelTesting
import TunnelTransport

/// ``HTTP2FrameAligner``: pieces end on frame boundaries or inside DATA payloads, whatever the
/// chunking; and behind it `NIOHTTP2Handler`'s buffer stays small on a long download.
@Suite("HTTP/2 frame aligner")
struct HTTP2FrameAlignerTests {
    /// A random frame stream: DATA (some padded), small and large non-DATA frames; returns the
    /// bytes and the offsets where no piece may end (inside a frame header, inside a frame small
    /// enough to hold, right after a DATA header).
    static func frames(count: Int, preface: Bool, using random: inout SeededRandomNumberGenerator) -> (bytes: [UInt8], forbiddenEnds: Set<Int>) {
        var bytes: [UInt8] = preface ? Array("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".utf8) : []
        var forbidden: Set<Int> = []
        for _ in 0..<count {
            let kind = Int.random(in: 0..<10, using: &random)
            let type: UInt8 = kind < 6 ? 0 : (kind < 9 ? 1 : 8)
            let padded = type == 0 && kind == 0
            let length = type == 0 ? Int.random(in: padded ? 1...20_000 : 0...20_000, using: &random)
                : (kind == 9 ? 4 : Int.random(in: 0...(kind == 8 ? 20_000 : 300), using: &random))
            let start = bytes.count
            bytes += [UInt8(length >> 16), UInt8(length >> 8 & 0xff), UInt8(length & 0xff), type, padded ? 0x8 : 0, 0, 0, 0, 1]
            if padded { bytes.append(UInt8(min(length - 1, 255))) }
            let payloadStart = bytes.count
            bytes += repeatElement(UInt8(truncatingIfNeeded: start), count: length - (padded ? 1 : 0))
            if type == 0 {
                forbidden.formUnion(start + 1..<payloadStart)
                if bytes.count > payloadStart { forbidden.insert(payloadStart) }
            } else if length > HTTP2FrameAligner.maxHeldPayload {
                forbidden.formUnion(start + 1..<payloadStart)
            } else {
                forbidden.formUnion(start + 1..<bytes.count)
            }
        }
        return (bytes, forbidden)
    }

    @Test("random frames cut at random points: the bytes pass unchanged and every piece ends cleanly")
    func randomChunking() {
        var random = SeededRandomNumberGenerator.logged("HTTP2FrameAlignerTests.randomChunking")
        for round in 0..<40 {
            let preface = round % 2 == 0
            let (bytes, forbiddenEnds) = Self.frames(count: 30, preface: preface, using: &random)
            var aligner = HTTP2FrameAligner(expectsClientPreface: preface)
            var output: [UInt8] = []
            var offset = 0
            let maxChunk = [3, 100, 20_000, 300_000][round % 4]
            while offset < bytes.count {
                let size = min(Int.random(in: 1...maxChunk, using: &random), bytes.count - offset)
                aligner.append(ByteBuffer(bytes: bytes[offset..<offset + size])) { piece in
                    output += piece.readableBytesView
                    let end = output.count
                    #expect(!forbiddenEnds.contains(end), "a piece ends at byte \(end): inside a frame header, a small frame, or right after a DATA header")
                }
                #expect(aligner.heldBytes <= 10 + HTTP2FrameAligner.maxHeldPayload)
                offset += size
            }
            #expect(output == bytes)
            #expect(aligner.heldBytes == 0)
        }
    }

    /// Sends `total` bytes of DATA from an HTTP/2 server to a client, each read of the client
    /// ending right after a DATA frame header; the client keeps the last `held` DATA
    /// buffers alive (a slow reader downstream). Returns the largest storage any DATA buffer
    /// lived in: the parser's buffer, since DATA payloads are slices of it.
    static func largestStorage(total: Int, aligned: Bool, held: Int) throws -> Int {
        let server = EmbeddedChannel()
        let client = EmbeddedChannel()
        defer {
            _ = try? server.finish()
            _ = try? client.finish()
        }
        let bigWindow = [HTTP2Setting(parameter: .initialWindowSize, value: (1 << 31) - 1), HTTP2Setting(parameter: .maxFrameSize, value: 1 << 20)]
        try server.pipeline.syncOperations.addHandler(NIOHTTP2Handler(mode: .server, initialSettings: bigWindow))
        if aligned { try client.pipeline.syncOperations.addHandler(HTTP2FrameAligningHandler(expectsClientPreface: false)) }
        var clientConfiguration = NIOHTTP2Handler.ConnectionConfiguration()
        clientConfiguration.initialSettings = bigWindow
        clientConfiguration.maximumBufferedControlFrames = 1_000_000
        try client.pipeline.syncOperations.addHandler(NIOHTTP2Handler(mode: .client, connectionConfiguration: clientConfiguration, streamConfiguration: .init()))
        server.pipeline.fireChannelActive()
        client.pipeline.fireChannelActive()

        // The worst case a TLS peer produces: every read ends with the 9-byte header of the next
        // DATA frame (the sender wrote header and payload separately, and the header's record
        // came in with the previous payload).
        func shuttle(_ from: EmbeddedChannel, _ to: EmbeddedChannel, chunked: Bool) throws {
            var read = ByteBuffer()
            while var out = try from.readOutbound(as: ByteBuffer.self) {
                let isHeader = out.readableBytes == 9
                read.writeBuffer(&out)
                if !chunked || isHeader {
                    try to.writeInbound(read)
                    read = ByteBuffer()
                }
            }
            if read.readableBytes > 0 { try to.writeInbound(read) }
        }
        let stream = HTTP2StreamID(1)
        let headers: HPACKHeaders = [":method": "GET", ":path": "/", ":scheme": "https", ":authority": "a"]
        try client.writeOutbound(HTTP2Frame(streamID: stream, payload: .headers(.init(headers: headers, endStream: true))))
        for _ in 0..<3 {
            try shuttle(client, server, chunked: false)
            try shuttle(server, client, chunked: false)
        }
        // The whole transfer fits the connection window (the stream's is already 2^31 - 1).
        try client.writeOutbound(HTTP2Frame(streamID: .rootStream, payload: .windowUpdate(windowSizeIncrement: (1 << 31) - 1 - 65_535)))
        try shuttle(client, server, chunked: false)
        try server.writeOutbound(HTTP2Frame(streamID: stream, payload: .headers(.init(headers: [":status": "200"]))))
        var kept: [ByteBuffer] = []
        var largest = 0
        var sent = 0
        var received = 0
        var payload = ByteBuffer(repeating: 0x5a, count: 16_384)
        while sent < total {
            for _ in 0..<64 {
                server.write(HTTP2Frame(streamID: stream, payload: .data(.init(data: .byteBuffer(payload)))), promise: nil)
                sent += payload.readableBytes
            }
            server.flush()
            try shuttle(server, client, chunked: true)
            while let frame = try client.readInbound(as: HTTP2Frame.self) {
                guard case .data(let data) = frame.payload, case .byteBuffer(let buffer) = data.data else { continue }
                largest = max(largest, buffer.storageCapacity)
                received += buffer.readableBytes
                kept.append(buffer)
                if kept.count > held { kept.removeFirst(kept.count - held) }
            }
            try shuttle(client, server, chunked: false)
            payload = ByteBuffer(repeating: 0x5a, count: 16_384)
        }
        #expect(received == total, "the client received \(received) of \(total) bytes")
        return largest
    }

    @Test("behind the aligner the HTTP/2 parser's buffer stays bounded over 256 MiB of DATA")
    func parserBufferStaysBounded() throws {
        let largest = try Self.largestStorage(total: 256 << 20, aligned: true, held: 8)
        // One DATA frame's worth here; without the aligner it reaches 2 MiB within these 256 MiB
        // (and 32 MiB within two 1 GiB downloads through a real tunnel), 4 times slower.
        #expect(largest <= 64 << 10, "the parser's buffer grew to \(largest) bytes")
    }
}
