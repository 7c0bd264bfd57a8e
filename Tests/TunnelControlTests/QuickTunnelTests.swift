import Foundation
import Hummingbird
import HummingbirdTesting
import NIOCore
import Testing
@testable import TunnelControl
import TunnelCore
import TunnelEdge

/// Quick tunnels through Hummingbird's test client against a real SQLite store: what
/// `POST /tunnel` answers, the route it adds, the per-address limit and the reaping.
@Suite("quick tunnels")
struct QuickTunnelTests {
    static func withQuick(_ settings: QuickTunnelSettings? = QuickTunnelSettings(domain: "quick.test", perAddress: 2), _ body: @escaping @Sendable (any TestClientProtocol, ControlPlane) async throws -> Void) async throws {
        try await TemporaryStore.withControlPlane { controlPlane, _ in
            try await controlPlane.configureQuickTunnels(settings)
            let app = Application(responder: ControlAPI.responder(controlPlane: controlPlane))
            try await app.test(.router) { client in try await body(client, controlPlane) }
        }
    }

    /// `POST /tunnel` with what cloudflared sends.
    static func post(_ client: any TestClientProtocol) async throws -> TestResponse {
        try await client.execute(uri: "/tunnel", method: .post, headers: [.contentType: "application/json", .userAgent: "cloudflared/2026.8.2"])
    }

    @Test("POST /tunnel: a UUID, four words under the quick domain, the account tag and a 32-byte secret; the hostname routes to the tunnel")
    func create() async throws {
        try await Self.withQuick { client, controlPlane in
            let response = try await Self.post(client)
            #expect(response.status == .ok && response.headers[.contentType] == "application/json")
            let body = try ControlAPITests.json(response)
            #expect(body["success"] as? Bool == true && (body["errors"] as? [Any])?.isEmpty == true)
            let result = try #require(body["result"] as? [String: Any])
            let id = try #require(UUID(tunnelIDString: result["id"] as? String ?? ""))
            let hostname = try #require(result["hostname"] as? String)
            #expect(hostname.wholeMatch(of: /[a-z]+-[a-z]+-[a-z]+-[a-z]+\.quick\.test/) != nil, "\(hostname)")
            #expect(TunnelSecret(base64: result["secret"] as? String ?? "")?.bytes.count == 32)
            let account = try #require(result["account_tag"] as? String)
            #expect(try await controlPlane.store.account(idOrName: "quick-tunnels-quick.test")?.id == account)
            #expect(try await controlPlane.routedTunnel(host: hostname) == id)
            // The edge finds it like any tunnel: the secret authenticates.
            let stored = try #require(try await controlPlane.store.tunnel(id: id))
            #expect(stored.secret.base64 == result["secret"] as? String && stored.accountID == account)
            // Two of them never share a hostname.
            let second = try #require(try ControlAPITests.json(try await Self.post(client))["result"] as? [String: Any])
            #expect(second["hostname"] as? String != hostname && second["id"] as? String != result["id"] as? String)
        }
    }

    @Test("the per-address limit answers 429 in the v4 envelope; off answers 404")
    func limits() async throws {
        try await Self.withQuick { client, _ in
            #expect(try await Self.post(client).status == .ok)
            #expect(try await Self.post(client).status == .ok)
            #expect(try ControlAPITests.errorCode(try await Self.post(client), status: .tooManyRequests) == 1062)
            let wrongMethod = try await client.execute(uri: "/tunnel", method: .get)
            #expect(try ControlAPITests.errorCode(wrongMethod, status: .methodNotAllowed) == 7001)
        }
        try await Self.withQuick(nil) { client, _ throws in
            let response = try await Self.post(client)
            #expect(try ControlAPITests.errorCode(response, status: .notFound) == 1060)
        }
    }

    @Test("reaping: expired tunnels and tunnels no connector came for go with their route; others stay")
    func reaping() async throws {
        try await Self.withQuick(QuickTunnelSettings(domain: "quick.test", perAddress: 5, lifetime: .seconds(3600), connectWithin: .seconds(60))) { client, controlPlane in
            let first = try #require(try ControlAPITests.json(try await Self.post(client))["result"] as? [String: Any])
            let id = try #require(UUID(tunnelIDString: first["id"] as? String ?? ""))
            let hostname = try #require(first["hostname"] as? String)
            #expect(try await controlPlane.reapQuickTunnels().isEmpty)
            // A minute later no connector has come: it goes, route and all.
            #expect(try await controlPlane.reapQuickTunnels(now: Date(timeIntervalSinceNow: 61)) == [id])
            #expect(try await controlPlane.routedTunnel(host: hostname) == nil)
            #expect(try await controlPlane.store.dnsRecord(name: hostname) == nil)
            #expect(try await controlPlane.store.tunnel(id: id)?.deletedAt != nil)
            #expect(try await controlPlane.store.quickTunnels().isEmpty)
            // Past its lifetime, whatever happens.
            let second = try #require(try ControlAPITests.json(try await Self.post(client))["result"] as? [String: Any])
            #expect(try await controlPlane.reapQuickTunnels(now: Date(timeIntervalSinceNow: 3601)).map(\.lowercasedString) == [second["id"] as? String ?? ""])
            let actions = try await controlPlane.auditLog(accountID: first["account_tag"] as? String ?? "", filter: AuditFilter()).items.map(\.action)
            #expect(actions.filter { $0 == AuditAction.recordRemoved.rawValue }.count == 2)
        }
    }

    @Test("a quick domain that is another account's zone is refused")
    func domainTaken() async throws {
        try await TemporaryStore.withControlPlane { controlPlane, _ in
            _ = try await controlPlane.createAccount(name: "acme", zones: ["quick.test"])
            await #expect(throws: ControlPlaneError.self) { try await controlPlane.configureQuickTunnels(QuickTunnelSettings(domain: "quick.test")) }
            await #expect(throws: ControlPlaneError.self) { try await controlPlane.configureQuickTunnels(QuickTunnelSettings(domain: "not a domain")) }
        }
    }
}
