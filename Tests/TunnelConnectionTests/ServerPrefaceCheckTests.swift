import NIOCore
import NIOEmbedded
import Synchronization
import Testing
import TunnelTransport

/// ``ServerPrefaceCheck`` on an EmbeddedChannel: a connector's SETTINGS passes through byte for
/// byte (drip-fed too); anything else closes the channel with a reason.
@Suite("server preface check")
struct ServerPrefaceCheckTests {
    /// A SETTINGS frame with two settings, then a PING: what a connector sends first.
    static let preface: [UInt8] = [0, 0, 12, 4, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 3, 0, 0, 0, 100]
        + [0, 0, 8, 6, 0, 0, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8]

    static func feed(_ chunks: [[UInt8]]) throws -> (passed: [UInt8], closed: Bool, reason: String?) {
        let check = ServerPrefaceCheck()
        let channel = EmbeddedChannel(handler: check)
        try channel.connect(to: .init(ipAddress: "127.0.0.1", port: 7844)).wait()
        for chunk in chunks where channel.isActive {
            try channel.writeInbound(ByteBuffer(bytes: chunk))
        }
        var passed: [UInt8] = []
        while let buffer = try channel.readInbound(as: ByteBuffer.self) { passed += buffer.readableBytesView }
        let closed = !channel.isActive
        if !closed { _ = try? channel.finish() }
        return (passed, closed, check.failure.reason.withLock { $0 })
    }

    @Test("the server preface passes through unchanged, in one piece, drip-fed, or split at the header")
    func passes() throws {
        for chunks in [[Self.preface], Self.preface.map { [$0] }, [Array(Self.preface.prefix(5)), Array(Self.preface.dropFirst(5))]] {
            let result = try Self.feed(chunks)
            #expect(result.passed == Self.preface && !result.closed && result.reason == nil)
        }
    }

    @Test(arguments: [
        (Array("GET / HTTP/1.1\r\n\r\n".utf8), "HTTP/1.1 request"),
        (Array("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".utf8), "client preface"),
        ([0, 0, 0, 4, 1, 0, 0, 0, 0], "is an ACK"),
        ([0, 0, 0, 1, 4, 0, 0, 0, 1], "type 1"),
        ([0, 0, 6, 4, 0, 0, 0, 0, 3, 0, 1, 0, 0, 0, 0], "not on stream 0"),
        ([0, 0, 7, 4, 0, 0, 0, 0, 0], "length 7"),
        ([0x16, 0x03, 0x01, 0x02, 0x00], "cannot be a SETTINGS frame"),
    ] as [([UInt8], String)])
    func refuses(bytes: [UInt8], reason: String) throws {
        // All at once and one byte at a time: closed as soon as the bytes cannot be a preface.
        for chunks in [[bytes], bytes.map { [$0] }] {
            let result = try Self.feed(chunks)
            #expect(result.closed && result.passed.isEmpty, "\(bytes)")
            #expect(result.reason?.contains(reason) == true, "\(result.reason ?? "nil")")
        }
    }

    @Test("random first bytes never pass unless they form a SETTINGS header")
    func random() throws {
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<500 {
            let bytes = (0..<16).map { _ in UInt8.random(in: 0...255, using: &generator) }
            let result = try Self.feed([bytes])
            let valid = ServerPrefaceCheck.problem(bytes) == nil
            #expect(result.closed == !valid)
            if valid { #expect(bytes[3] == 4 && bytes[4] & 1 == 0 && bytes[5..<9].allSatisfy { $0 == 0 }) }
        }
    }
}
