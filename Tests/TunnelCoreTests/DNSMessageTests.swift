import Testing
import TunnelCore

/// The DNS message codec: round trips, compressed names as servers send them, and hostile input.
@Suite("DNS messages")
struct DNSMessageTests {
    @Test("a query encodes as RFC 1035 says")
    func queryBytes() throws {
        let bytes = try DNSMessage.query(id: 0xBEEF, name: "_v2-origintunneld._tcp.argotunnel.com", type: .srv).encoded()
        let expected: [UInt8] = [0xBE, 0xEF, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]
            + [17] + Array("_v2-origintunneld".utf8) + [4] + Array("_tcp".utf8) + [10] + Array("argotunnel".utf8) + [3] + Array("com".utf8) + [0]
            + [0, 33, 0, 1]
        #expect(bytes == expected)
    }

    @Test("every record kind round-trips")
    func roundTrip() throws {
        let message = DNSMessage(
            id: 7, flags: 0x8180, questions: [DNSQuestion(name: "region1.v2.argotunnel.com", type: .a)],
            answers: [
                DNSResourceRecord(name: "region1.v2.argotunnel.com", type: .a, ttl: 60, data: .a([198, 41, 192, 7])),
                DNSResourceRecord(name: "region1.v2.argotunnel.com", type: .aaaa, ttl: 60, data: .aaaa([0x26, 0x06, 0x47, 0x00] + Array(repeating: 0, count: 11) + [1])),
                DNSResourceRecord(name: "_v2-origintunneld._tcp.argotunnel.com", type: .srv, ttl: 300, data: .srv(priority: 1, weight: 1, port: 7844, target: "region1.v2.argotunnel.com")),
                DNSResourceRecord(name: "www.example.com", type: .cname, ttl: 1, data: .cname("abc.cfargotunnel.com")),
                DNSResourceRecord(name: "protocol-v2.argotunnel.com", type: .txt, ttl: 1, data: .txt(["[{\"protocol\":\"http2\"}]", ""])),
                DNSResourceRecord(name: "x.test", type: DNSRecordType(rawValue: 99), ttl: 1, data: .other([1, 2, 3])),
            ],
            additionals: [DNSResourceRecord(name: "", type: DNSRecordType(rawValue: 41), recordClass: 1232, ttl: 0, data: .other([]))])
        let decoded = try DNSMessage(bytes: try message.encoded())
        #expect(decoded == message)
        #expect(decoded.isResponse && !decoded.isTruncated && decoded.responseCode == 0)
    }

    @Test("compressed names, as servers send them, one byte at a time or whole")
    func compression() throws {
        // Question name at offset 12; the answer's name and SRV target point back into it.
        var bytes: [UInt8] = [0, 1, 0x81, 0x80, 0, 1, 0, 1, 0, 0, 0, 0]
        bytes += [4] + Array("_srv".utf8) + [4] + Array("_tcp".utf8) + [7] + Array("example".utf8) + [0] + [0, 33, 0, 1]
        bytes += [0xC0, 12, 0, 33, 0, 1, 0, 0, 0, 60]
        let rdata: [UInt8] = [0, 1, 0, 2, 0x1E, 0xA4, 2] + Array("r1".utf8) + [0xC0, 22]
        bytes += [0, UInt8(rdata.count)] + rdata
        let message = try DNSMessage(bytes: bytes)
        #expect(message.answers.first?.name == "_srv._tcp.example")
        #expect(message.answers.first?.data == .srv(priority: 1, weight: 2, port: 7844, target: "r1.example"))
        // Every proper prefix is truncated, never a crash.
        for length in 0..<bytes.count {
            #expect(throws: DNSMessageError.self) { try DNSMessage(bytes: bytes[..<length]) }
        }
    }

    @Test(
        "hostile input is a typed error",
        arguments: [
            // A pointer to itself (loop).
            [0, 1, 0x81, 0x80, 0, 1, 0, 0, 0, 0, 0, 0, 0xC0, 12, 0, 1, 0, 1] as [UInt8],
            // A pointer forwards.
            [0, 1, 0x81, 0x80, 0, 1, 0, 0, 0, 0, 0, 0, 0xC0, 14, 0, 0, 1, 0, 1],
            // A label running past the end.
            [0, 1, 0x81, 0x80, 0, 1, 0, 0, 0, 0, 0, 0, 63, 65, 65],
            // The reserved label type 0x40.
            [0, 1, 0x81, 0x80, 0, 1, 0, 0, 0, 0, 0, 0, 0x40, 0, 0, 1, 0, 1],
            // An A record with 5 bytes.
            [0, 1, 0x81, 0x80, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 1, 0, 1, 0, 0, 0, 1, 0, 5, 1, 2, 3, 4, 5],
            // A record count far beyond the data.
            [0, 1, 0x81, 0x80, 0, 0, 0xFF, 0xFF, 0, 0, 0, 0],
        ])
    func hostile(bytes: [UInt8]) {
        #expect(throws: DNSMessageError.self) { try DNSMessage(bytes: bytes) }
    }

    @Test("random bytes never crash the decoder")
    func randomBytes() {
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<20_000 {
            let count = Int.random(in: 0..<80, using: &generator)
            let bytes = (0..<count).map { _ in UInt8.random(in: 0...255, using: &generator) }
            _ = try? DNSMessage(bytes: bytes)
        }
    }

    @Test("names that cannot be encoded")
    func badNames() {
        #expect(throws: DNSMessageError.self) { try DNSMessage.query(id: 1, name: "a..b", type: .a).encoded() }
        #expect(throws: DNSMessageError.self) { try DNSMessage.query(id: 1, name: String(repeating: "x", count: 64) + ".com", type: .a).encoded() }
        #expect(throws: DNSMessageError.self) { try DNSMessage.query(id: 1, name: Array(repeating: "abcdefghi", count: 30).joined(separator: "."), type: .a).encoded() }
    }
}
