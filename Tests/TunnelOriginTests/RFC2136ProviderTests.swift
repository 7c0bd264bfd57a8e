import Foundation
import Testing
import TunnelCore
import TunnelOrigin
import TunnelTesting

/// RFC 2136 updates signed with TSIG against a real BIND9 `named`, results checked with `dig`.
@Suite("RFC 2136 provider against BIND9", .serialized)
struct RFC2136ProviderTests {
    static let secret: [UInt8] = (0..<32).map { UInt8($0 &* 7 &+ 3) }
    static let target = "6b0c3b1e-7f0a-4a8e-9b6c-1f1a2b3c4d5e.tunnels.test"

    static func dig(_ server: BindServer, _ name: String, _ type: String) async throws -> [String] {
        let process = try PeerProcess("dig", ["@127.0.0.1", "-p", "\(server.port)", "+short", "+time=5", "+tries=1", name, type])
        #expect(await process.waitForExit(timeout: .seconds(30)) == 0)
        return process.outputLines
    }

    static func provider(_ server: BindServer, key: DNSTSIGKey?) -> RFC2136Provider {
        RFC2136Provider(configuration: .init(host: "127.0.0.1", port: server.port, zone: "example.test", key: key))
    }

    @Test("create, unchanged, the record in the way, overwrite, delete; a wrong key and no key are refused clearly")
    func roundTrips() async throws {
        // 40 A records at "many": their answer does not fit 512 bytes, so the lookup goes over TCP.
        let many = (1...40).map { "many IN A 192.0.2.\($0)" }
        let server = try await BindServer(zone: "example.test", records: ["taken IN A 192.0.2.9"] + many, updateKey: ("update-key", Base64.encode(Self.secret)))
        defer { server.stop() }
        let provider = Self.provider(server, key: DNSTSIGKey(name: "update-key", secret: Self.secret))

        #expect(try await provider.setCNAME(name: "app.example.test", target: Self.target, ttl: 60, overwrite: false) == .created)
        #expect(try await Self.dig(server, "app.example.test", "CNAME") == [Self.target + "."])
        #expect(try await provider.setCNAME(name: "APP.example.test", target: Self.target, ttl: 60, overwrite: false) == .unchanged)

        // The apex-adjacent name already holds an A record: refused without overwrite, named.
        do {
            _ = try await provider.setCNAME(name: "taken.example.test", target: Self.target, ttl: 60, overwrite: false)
            Issue.record("the A record in the way should have been refused")
        } catch let error as DNSRecordProviderError {
            #expect(error.kind == .recordExists && error.message.contains("taken.example.test A 192.0.2.9"))
        }
        #expect(try await Self.dig(server, "taken.example.test", "A") == ["192.0.2.9"])
        #expect(try await provider.setCNAME(name: "taken.example.test", target: Self.target, ttl: 60, overwrite: true) == .replaced(type: "A", content: "192.0.2.9"))
        #expect(try await Self.dig(server, "taken.example.test", "CNAME") == [Self.target + "."])
        #expect(try await Self.dig(server, "taken.example.test", "A").allSatisfy { !$0.hasPrefix("192.0.2.9") })

        // Truncated over UDP, answered over TCP: the 40 A records are found and replaced.
        let replaced = try await provider.setCNAME(name: "many.example.test", target: Self.target, ttl: 60, overwrite: true)
        guard case .replaced(let type, let content) = replaced else {
            Issue.record("expected the A records to be replaced, got \(replaced)")
            return
        }
        #expect(type == "A" && content.hasPrefix("192.0.2."))
        #expect(try await Self.dig(server, "many.example.test", "CNAME") == [Self.target + "."])

        try await provider.removeCNAME(name: "app.example.test")
        #expect(try await Self.dig(server, "app.example.test", "CNAME").isEmpty)
        try await provider.removeCNAME(name: "app.example.test")   // gone already: not an error

        // The wrong secret: BIND answers NOTAUTH with BADSIG; no update happens.
        let wrong = Self.provider(server, key: DNSTSIGKey(name: "update-key", secret: Array(Self.secret.reversed())))
        do {
            _ = try await wrong.setCNAME(name: "evil.example.test", target: Self.target, ttl: 60, overwrite: false)
            Issue.record("a wrong key should be refused")
        } catch let error as DNSRecordProviderError {
            #expect(error.kind == .authentication, "\(error)")
            #expect(error.message.contains("BADSIG") || error.message.contains("secret"), "\(error)")
        }
        // An unknown key name and an unsigned update are refused too.
        let unknown = Self.provider(server, key: DNSTSIGKey(name: "other-key", secret: Self.secret))
        await #expect(throws: DNSRecordProviderError.self) { _ = try await unknown.setCNAME(name: "evil.example.test", target: Self.target, ttl: 60, overwrite: false) }
        let unsigned = Self.provider(server, key: nil)
        do {
            _ = try await unsigned.setCNAME(name: "evil.example.test", target: Self.target, ttl: 60, overwrite: false)
            Issue.record("an unsigned update should be refused")
        } catch let error as DNSRecordProviderError {
            #expect(error.kind == .refused && error.message.contains("allow-update"), "\(error)")
        }
        #expect(try await Self.dig(server, "evil.example.test", "CNAME").isEmpty)
    }

    @Test("TSIG: a signed update carries one TSIG record with a 32-byte HMAC-SHA256 MAC")
    func tsigSelfCheck() throws {
        let key = DNSTSIGKey(name: "k", secret: Self.secret)
        let message = try DNSMessage.update(id: 7, zone: "example.test", updates: []).encoded()
        let (signed, mac) = try key.sign(message)
        #expect(mac.count == 32 && signed.count > message.count)
        #expect((try DNSMessage(bytes: signed)).additionals.first?.type.rawValue == 250)
    }
}
