import Foundation
import Testing
import TunnelCore

/// The authoritative answer engine, as plain values: routes, apex flattening, wildcards,
/// negative answers, truncation, and hostile bytes.
@Suite("DNS authority")
struct DNSAuthorityTests {
    static let tunnel = "6b0c3b1e-7f0a-4a8e-9b6c-1f1a2b3c4d5e.tunnels.test"
    static let data = DNSZoneData(
        zones: ["example.test", "tunnels.test"],
        records: [
            "app.example.test": [.cname(tunnel)],
            "example.test": [.cname(tunnel)],
            "a.deep.example.test": [.cname(tunnel)],
            "*.wild.example.test": [.cname(tunnel)],
            "txt.example.test": [.txt(["hello", "world"])],
            "*.tunnels.test": [.a([192, 0, 2, 7]), .aaaa([0x20, 0x01, 0x0d, 0xb8] + Array(repeating: 0, count: 11) + [1])],
        ],
        nameServers: ["ns1.tunnels.test", "ns2.tunnels.test"], mailbox: "hostmaster.tunnels.test", serial: 42, ttl: 60)

    static func ask(_ name: String, _ type: DNSRecordType, data: DNSZoneData? = data) -> DNSMessage {
        DNSAuthority.answer(DNSMessage.query(id: 7, name: name, type: type), data: data)
    }

    @Test("a route answers its CNAME and the tunnel's addresses, authoritatively")
    func route() {
        let answer = Self.ask("App.Example.Test.", .a)
        #expect(answer.responseCode == 0 && answer.flags & 0x0400 != 0 && answer.isResponse && answer.id == 7)
        #expect(answer.answers.map(\.data) == [.cname(Self.tunnel), .a([192, 0, 2, 7])])
        #expect(answer.answers.map(\.name) == ["app.example.test", Self.tunnel])
        #expect(Self.ask("app.example.test", .aaaa).answers.count == 2)
        #expect(Self.ask("app.example.test", .cname).answers.map(\.data) == [.cname(Self.tunnel)])
    }

    @Test("an apex CNAME is flattened to the target's addresses under the apex's name")
    func apexFlattening() {
        let answer = Self.ask("example.test", .a)
        #expect(answer.answers.map(\.name) == ["example.test"])
        #expect(answer.answers.map(\.data) == [.a([192, 0, 2, 7])])
        #expect(Self.ask("example.test", .soa).answers.first?.type == .soa)
        #expect(Self.ask("example.test", .ns).answers.map(\.data) == [.ns("ns1.tunnels.test"), .ns("ns2.tunnels.test")])
    }

    @Test("routes as addresses: a route answers the edge's AAAA under its own name, no CNAME")
    func routesAsAddresses() {
        var data = Self.data
        data.flattenTargetsUnder = ["tunnels.test"]
        let answer = Self.ask("app.example.test", .aaaa, data: data)
        #expect(answer.answers.map(\.name) == ["app.example.test"] && answer.answers.first?.type == .aaaa)
    }

    @Test("wildcards, TXT, NXDOMAIN with the SOA, NODATA for empty non-terminals, REFUSED outside the zones")
    func negativeAndWildcard() {
        #expect(Self.ask("x.wild.example.test", .a).answers.first?.data == .cname(Self.tunnel))
        #expect(Self.ask("txt.example.test", .txt).answers.map(\.data) == [.txt(["hello", "world"])])
        let missing = Self.ask("nope.example.test", .a)
        #expect(missing.responseCode == 3 && missing.answers.isEmpty && missing.authorities.first?.type == .soa)
        if case .soa(_, _, let serial, _, _, _, let minimum)? = missing.authorities.first?.data {
            #expect(serial == 42 && minimum == 60)
        } else {
            Issue.record("no SOA in the negative answer")
        }
        let empty = Self.ask("deep.example.test", .a)
        #expect(empty.responseCode == 0 && empty.answers.isEmpty && empty.authorities.first?.type == .soa)
        let noData = Self.ask("txt.example.test", .a)
        #expect(noData.responseCode == 0 && noData.answers.isEmpty)
        #expect(Self.ask("example.org", .a).responseCode == 5)
        #expect(Self.ask("app.example.test", .a, data: nil).responseCode == 2)
    }

    @Test("UPDATE is not implemented, garbage is FORMERR or dropped, responses are never answered")
    func badQueries() throws {
        var update = DNSMessage.query(id: 9, name: "example.test", type: .soa)
        update.flags = 5 << 11
        #expect(DNSAuthority.answer(update, data: Self.data).responseCode == 4)
        let garbage: [UInt8] = [0, 9, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 63]
        let formerr = try DNSMessage(bytes: try #require(DNSAuthority.respond(to: garbage, data: Self.data)))
        #expect(formerr.id == 9 && formerr.responseCode == 1)
        #expect(DNSAuthority.respond(to: [1, 2, 3], data: Self.data) == nil)
        var response = try DNSMessage.query(id: 1, name: "app.example.test", type: .a).encoded()
        response[2] |= 0x80
        #expect(DNSAuthority.respond(to: response, data: Self.data) == nil)
    }

    @Test("over UDP an answer beyond 512 bytes (or the EDNS size) is cut to its question with TC; TCP gets it whole")
    func truncation() throws {
        var big = Self.data
        big.records["*.tunnels.test"] = (0..<40).map { .aaaa([0x20, 0x01, 0x0d, 0xb8] + Array(repeating: 0, count: 11) + [UInt8($0)]) }
        let query = try DNSMessage.query(id: 3, name: Self.tunnel, type: .aaaa).encoded()
        let udp = try DNSMessage(bytes: try #require(DNSAuthority.respond(to: query, data: big, maxSize: 512)))
        #expect(udp.isTruncated && udp.answers.isEmpty && udp.questions.count == 1)
        let tcp = try DNSMessage(bytes: try #require(DNSAuthority.respond(to: query, data: big)))
        #expect(!tcp.isTruncated && tcp.answers.count == 40)
        // A client announcing 4096 bytes of EDNS payload gets the whole answer over UDP.
        var edns = DNSMessage.query(id: 4, name: Self.tunnel, type: .aaaa)
        edns.additionals = [DNSResourceRecord(name: "", type: .opt, recordClass: 4096, ttl: 0, data: .other([]))]
        let large = try DNSMessage(bytes: try #require(DNSAuthority.respond(to: try edns.encoded(), data: big, maxSize: 512)))
        #expect(!large.isTruncated && large.answers.count == 40 && large.additionals.first?.type == .opt)
    }

    @Test("SOA and NS records survive encode and decode")
    func soaRoundTrip() throws {
        let answer = Self.ask("example.test", .any)
        let decoded = try DNSMessage(bytes: try answer.encoded())
        #expect(decoded.answers == answer.answers)
    }

    @Test("random and mutated queries never crash the authority")
    func randomQueries() throws {
        let seed = ProcessInfo.processInfo.environment["TUNNEL_TEST_SEED"].flatMap(UInt64.init) ?? UInt64.random(in: 1...UInt64.max)
        print("DNSAuthorityTests.randomQueries: seed \(seed) (replay with TUNNEL_TEST_SEED=\(seed))")
        var generator = SplitMix(seed: seed)
        let base = try DNSMessage.query(id: 1, name: "app.example.test", type: .a).encoded()
        for round in 0..<20_000 {
            var bytes: [UInt8]
            if round % 2 == 0 {
                bytes = (0..<Int(generator.next() % 64)).map { _ in UInt8(truncatingIfNeeded: generator.next()) }
            } else {
                bytes = base
                for _ in 0..<(1 + Int(generator.next() % 4)) {
                    bytes[Int(generator.next() % UInt64(bytes.count))] = UInt8(truncatingIfNeeded: generator.next())
                }
            }
            if let answer = DNSAuthority.respond(to: bytes, data: Self.data, maxSize: 512) {
                #expect(answer.count <= 512 || bytes.count > 12)
                #expect(answer.count >= 12)
            }
        }
    }
}

/// SplitMix64: a tiny seeded generator for reproducible random inputs.
struct SplitMix: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE5_E4B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
