import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import Testing
@testable import TunnelControl
import TunnelCore
import TunnelOrigin

/// The `dns_records` API of the control plane, and the two providers over it: the Cloudflare-v4
/// client against a live API listener (real socket, rate-limited so that 429 happens), and the
/// control plane's own zones through the library.
@Suite("DNS record providers")
struct DNSRecordProviderTests {
    @Test("dns_records: create, list with pages, update, delete; one owner per name; other zones refused")
    func recordsAPI() async throws {
        try await ControlAPITests.withAPI { client, fixture in
            let records = "/client/v4/zones/\(fixture.zoneID)/dns_records"
            func send(_ method: HTTPRequest.Method, _ uri: String, _ body: String? = nil) async throws -> TestResponse {
                try await client.execute(uri: uri, method: method, headers: fixture.auth, body: body.map { ByteBuffer(string: $0) })
            }
            var ids: [String] = []
            for index in 0..<5 {
                let response = try await send(.post, records, #"{"type":"A","name":"h\#(index).example.test","content":"192.0.2.\#(index)","ttl":60,"proxied":false}"#)
                #expect(response.status == .ok, "\(String(buffer: response.body))")
                ids.append(try #require((try ControlAPITests.json(response)["result"] as? [String: Any])?["id"] as? String))
            }
            let taken = try await send(.post, records, #"{"type":"CNAME","name":"h0.example.test","content":"x.example.test"}"#)
            #expect(try ControlAPITests.errorCode(taken, status: .badRequest) == 1003)
            let page2 = try ControlAPITests.json(try await send(.get, "\(records)?page=2&per_page=2"))
            #expect((page2["result"] as? [[String: Any]])?.count == 2)
            #expect((page2["result_info"] as? [String: Int])?["total_count"] == 5)
            let byName = try ControlAPITests.json(try await send(.get, "\(records)?name=h3.example.test&type=A"))
            #expect((byName["result"] as? [[String: Any]])?.first?["content"] as? String == "192.0.2.3")
            let updated = try await send(.put, "\(records)/\(ids[1])", #"{"type":"AAAA","name":"h1.example.test","content":"2001:db8::1"}"#)
            #expect((try ControlAPITests.json(updated)["result"] as? [String: Any])?["type"] as? String == "AAAA")
            #expect(try await send(.delete, "\(records)/\(ids[2])").status == .ok)
            #expect(try ControlAPITests.errorCode(try await send(.delete, "\(records)/\(ids[2])"), status: .notFound) == 81044)
            #expect(try ControlAPITests.errorCode(try await send(.post, records, #"{"type":"A","name":"x.other.test","content":"192.0.2.1"}"#), status: .badRequest) == 1050)
            #expect(try ControlAPITests.errorCode(try await send(.post, records, #"{"type":"A","name":"bad.example.test","content":"nope"}"#), status: .badRequest) == 1001)
            #expect(try ControlAPITests.errorCode(try await send(.post, records, #"{"type":"MX","name":"m.example.test","content":"x"}"#), status: .badRequest) == 1001)
            let foreign = try await client.execute(uri: records, method: .get, headers: [.authorization: "Bearer \(fixture.otherToken)"])
            #expect(try ControlAPITests.errorCode(foreign, status: .forbidden) == 10000)
        }
    }

    @Test("a token over its rate limit gets 429 with Retry-After")
    func rateLimit() async throws {
        try await TemporaryStore.withControlPlane { controlPlane, _ in
            let (account, _, token) = try await controlPlane.createAccount(name: "acme", zones: ["example.test"])
            let app = Application(responder: ControlAPI.responder(controlPlane: controlPlane, rateLimit: .init(requests: 3, window: .seconds(60))))
            try await app.test(.router) { client in
                let headers: HTTPFields = [.authorization: "Bearer \(token.value.value)"]
                for _ in 0..<3 {
                    #expect(try await client.execute(uri: "/client/v4/accounts/\(account.id)/cfd_tunnel", method: .get, headers: headers).status == .ok)
                }
                let limited = try await client.execute(uri: "/client/v4/accounts/\(account.id)/cfd_tunnel", method: .get, headers: headers)
                #expect(try ControlAPITests.errorCode(limited, status: .tooManyRequests) == 971)
                #expect(Int(limited.headers[.retryAfter] ?? "").map { (1...60).contains($0) } == true)
            }
        }
    }

    @Test("the Cloudflare-v4 client against the live API: created, unchanged, the A record in the way, replaced, removed; 429s waited out")
    func cloudflareProvider() async throws {
        try await TemporaryStore.withControlPlane { controlPlane, _ in
            let (account, zones, token) = try await controlPlane.createAccount(name: "acme", zones: ["example.test"])
            var logger = Logger(label: "test.api")
            logger.logLevel = .warning
            // 4 requests a second: the provider's lists and writes run into 429 and wait.
            let server = ControlAPIServer(controlPlane: controlPlane, host: "127.0.0.1", port: 0, rateLimit: .init(requests: 4, window: .seconds(1)), logger: logger)
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await server.run() }
                let address = try await server.listeningAddress()
                let provider = CloudflareDNSProvider(configuration: .init(
                    baseURL: "http://127.0.0.1:\(address.port!)/client/v4", zoneID: zones[0].id, token: token.value, perPage: 1, maxRetryAfter: .seconds(5)))
                let target = "6b0c3b1e-7f0a-4a8e-9b6c-1f1a2b3c4d5e.cfargotunnel.com"
                #expect(try await provider.setCNAME(name: "app.example.test", target: target, ttl: 60, overwrite: false) == .created)
                #expect(try await provider.setCNAME(name: "app.example.test", target: target, ttl: 60, overwrite: false) == .unchanged)
                _ = try await controlPlane.putRecord(accountID: account.id, zoneID: zones[0].id, id: nil, request: .init(type: "A", name: "taken.example.test", content: "192.0.2.9"), actor: "test")
                do {
                    _ = try await provider.setCNAME(name: "taken.example.test", target: target, ttl: 60, overwrite: false)
                    Issue.record("the A record in the way should have been refused")
                } catch let error as DNSRecordProviderError {
                    #expect(error.kind == .recordExists && error.message.contains("taken.example.test A 192.0.2.9"))
                }
                #expect(try await provider.setCNAME(name: "taken.example.test", target: target, ttl: 60, overwrite: true) == .replaced(type: "A", content: "192.0.2.9"))
                try await provider.removeCNAME(name: "app.example.test")
                #expect(try await controlPlane.store.dnsRecord(name: "app.example.test") == nil)
                #expect(try await controlPlane.store.dnsRecord(name: "taken.example.test")?.content == target)
                // A CNAME to a tunnel made through dns_records routes like one from route dns.
                #expect(try await controlPlane.routedTunnel(host: "taken.example.test")?.lowercasedString == "6b0c3b1e-7f0a-4a8e-9b6c-1f1a2b3c4d5e")
                group.cancelAll()
            }
        }
    }

    @Test("the control plane's own zones as a provider")
    func ownZones() async throws {
        try await TemporaryStore.withControlPlane { controlPlane, _ in
            let (account, zones, _) = try await controlPlane.createAccount(name: "acme", zones: ["example.test"])
            let provider = ControlPlaneRecordProvider(controlPlane: controlPlane, accountID: account.id, zoneID: zones[0].id)
            #expect(try await provider.setCNAME(name: "a.example.test", target: "b.example.test", ttl: 60, overwrite: false) == .created)
            #expect(try await provider.setCNAME(name: "a.example.test", target: "b.example.test.", ttl: 60, overwrite: false) == .unchanged)
            await #expect(throws: DNSRecordProviderError.self) { _ = try await provider.setCNAME(name: "a.example.test", target: "c.example.test", ttl: 60, overwrite: false) }
            #expect(try await provider.setCNAME(name: "a.example.test", target: "c.example.test", ttl: 60, overwrite: true) == .replaced(type: "CNAME", content: "b.example.test"))
            try await provider.removeCNAME(name: "a.example.test")
            #expect(try await controlPlane.store.dnsRecord(name: "a.example.test") == nil)
        }
    }
}
