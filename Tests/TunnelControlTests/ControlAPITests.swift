import Foundation
import Hummingbird
import HummingbirdTesting
import NIOCore
import Testing
@testable import TunnelControl
import TunnelCore

/// The v4 API through Hummingbird's own test client: envelopes, status codes, error codes and
/// hostile input, against a real SQLite store.
@Suite("control-plane API")
struct ControlAPITests {
    struct Fixture {
        let controlPlane: ControlPlane
        let accountID: String
        let zoneID: String
        let token: String
        let otherToken: String
        var auth: HTTPFields { [.authorization: "Bearer \(token)", .accept: "application/json;version=1"] }
        var tunnels: String { "/client/v4/accounts/\(accountID)/cfd_tunnel" }
    }

    static func withAPI(maxBodyBytes: Int = 65536, _ body: @escaping @Sendable (any TestClientProtocol, Fixture) async throws -> Void) async throws {
        try await TemporaryStore.withControlPlane { controlPlane, _ in
            let (account, zones, token) = try await controlPlane.createAccount(name: "acme", zones: ["example.test", "second.test"])
            let (_, _, other) = try await controlPlane.createAccount(name: "other", zones: ["other.test"])
            let fixture = Fixture(controlPlane: controlPlane, accountID: account.id, zoneID: zones[0].id, token: token.value.value, otherToken: other.value.value)
            let app = Application(responder: ControlAPI.responder(controlPlane: controlPlane, maxBodyBytes: maxBodyBytes))
            try await app.test(.router) { client in try await body(client, fixture) }
        }
    }

    static func json(_ response: TestResponse) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(response.body.readableBytesView)) as? [String: Any])
    }

    /// Checks the v4 error envelope and returns its first code.
    static func errorCode(_ response: TestResponse, status: HTTPResponse.Status) throws -> Int? {
        #expect(response.status == status)
        #expect(response.headers[.contentType] == "application/json")
        let body = try json(response)
        #expect(body["success"] as? Bool == false)
        #expect(body.keys.contains("result"))
        #expect((body["messages"] as? [Any])?.isEmpty == true)
        let errors = try #require(body["errors"] as? [[String: Any]])
        #expect(errors.count == 1 && errors[0]["message"] is String)
        return errors.first?["code"] as? Int
    }

    static func create(_ client: any TestClientProtocol, _ fixture: Fixture, name: String) async throws -> [String: Any] {
        let body = #"{"name":"\#(name)","tunnel_secret":"\#(TunnelSecret.random().base64)"}"#
        let response = try await client.execute(uri: fixture.tunnels, method: .post, headers: fixture.auth, body: ByteBuffer(string: body))
        #expect(response.status == .ok)
        return try #require(try json(response)["result"] as? [String: Any])
    }

    @Test("create, get, list, token, connections, cleanup, delete: 200 with the v4 envelope and cloudflared's keys")
    func lifecycle() async throws {
        try await Self.withAPI { client, fixture in
            let secret = TunnelSecret.random()
            let response = try await client.execute(
                uri: fixture.tunnels, method: .post, headers: fixture.auth,
                body: ByteBuffer(string: #"{"name":"web","tunnel_secret":"\#(secret.base64)"}"#))
            #expect(response.status == .ok)
            #expect(response.headers[.contentType] == "application/json")
            let body = try Self.json(response)
            #expect(body["success"] as? Bool == true)
            #expect((body["errors"] as? [Any])?.isEmpty == true)
            let tunnel = try #require(body["result"] as? [String: Any])
            let id = try #require(tunnel["id"] as? String)
            #expect(id == id.lowercased() && UUID(uuidString: id) != nil)
            #expect(tunnel["name"] as? String == "web")
            #expect(tunnel["deleted_at"] is NSNull)
            #expect(tunnel["status"] as? String == "inactive")
            #expect(V4.parseTimestamp(tunnel["created_at"] as? String ?? "") != nil)
            let token = try TunnelToken(try #require(tunnel["token"] as? String))
            #expect(token.tunnelSecret == secret && token.accountTag == fixture.accountID && token.tunnelID.lowercasedString == id)
            let credentials = try #require(tunnel["credentials_file"] as? [String: Any])
            #expect(credentials["TunnelSecret"] as? String == secret.base64)

            let got = try Self.json(try await client.execute(uri: "\(fixture.tunnels)/\(id)", method: .get, headers: fixture.auth))
            #expect((got["result"] as? [String: Any])?["id"] as? String == id)

            let listed = try Self.json(try await client.execute(uri: "\(fixture.tunnels)?is_deleted=false&name=web&page=1", method: .get, headers: fixture.auth))
            #expect((listed["result"] as? [[String: Any]])?.map { $0["id"] as? String } == [id])
            let info = try #require(listed["result_info"] as? [String: Int])
            #expect(info == ["count": 1, "page": 1, "per_page": 20, "total_count": 1])

            let tokenBody = try Self.json(try await client.execute(uri: "\(fixture.tunnels)/\(id)/token", method: .get, headers: fixture.auth))
            #expect(try TunnelToken(try #require(tokenBody["result"] as? String)) == token)

            let connections = try Self.json(try await client.execute(uri: "\(fixture.tunnels)/\(id)/connections", method: .get, headers: fixture.auth))
            #expect((connections["result"] as? [Any])?.isEmpty == true)
            let cleanup = try await client.execute(uri: "\(fixture.tunnels)/\(id)/connections?client_id=\(UUID().uuidString)", method: .delete, headers: fixture.auth)
            #expect(cleanup.status == .ok)
            #expect(try Self.json(cleanup)["result"] is NSNull)

            let deleted = try Self.json(try await client.execute(uri: "\(fixture.tunnels)/\(id)?cascade=true", method: .delete, headers: fixture.auth))
            #expect((deleted["result"] as? [String: Any])?["deleted_at"] is String)
            // Deleted tunnels are still there for GET (cloudflared checks deleted_at itself) ...
            let again = try Self.json(try await client.execute(uri: "\(fixture.tunnels)/\(id)", method: .get, headers: fixture.auth))
            #expect((again["result"] as? [String: Any])?["deleted_at"] is String)
            // ... but have no token any more.
            let gone = try await client.execute(uri: "\(fixture.tunnels)/\(id)/token", method: .get, headers: fixture.auth)
            #expect(try Self.errorCode(gone, status: .badRequest) == 1023)
            let verify = try Self.json(try await client.execute(uri: "/client/v4/user/tokens/verify", method: .get, headers: fixture.auth))
            #expect((verify["result"] as? [String: String])?["status"] == "active")
        }
    }

    @Test("authentication: no token, a wrong one (10000) and a revoked one (10001) are 401; another account's is 403")
    func authentication() async throws {
        try await Self.withAPI { client, fixture in
            #expect(try Self.errorCode(try await client.execute(uri: fixture.tunnels, method: .get), status: .unauthorized) == 10000)
            #expect(try Self.errorCode(try await client.execute(uri: fixture.tunnels, method: .get, headers: [.authorization: "Bearer nope"]), status: .unauthorized) == 10000)
            #expect(try Self.errorCode(try await client.execute(uri: fixture.tunnels, method: .get, headers: [.authorization: "Bearer \(fixture.otherToken)"]), status: .forbidden) == 10000)
            let extra = try await fixture.controlPlane.createToken(accountIDOrName: "acme", name: "svc")
            #expect(try await client.execute(uri: fixture.tunnels, method: .get, headers: [.authorization: "Bearer \(extra.value.value)"]).status == .ok)
            _ = try await fixture.controlPlane.revokeToken(id: extra.record.id)
            #expect(try Self.errorCode(try await client.execute(uri: fixture.tunnels, method: .get, headers: [.authorization: "Bearer \(extra.value.value)"]), status: .unauthorized) == 10001)
        }
    }

    static let badBodyCases: [(String, Int, Int)] = [
        (#"{"name":"web""#, 400, 1001),
        (#"[1,2,3]"#, 400, 1001),
        (#"{"name":5,"tunnel_secret":"AAAA"}"#, 400, 1001),
        (#"{"tunnel_secret":"AAAA"}"#, 400, 1001),
        (#"{"name":"web","tunnel_secret":"c2hvcnQ="}"#, 400, 1001),
        (#"{"name":"web","tunnel_secret":"not base64!"}"#, 400, 1001),
        (#"{"name":"6b0c3b1e-7f0a-4a8e-9b6c-1f1a2b3c4d5e","tunnel_secret":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="}"#, 400, 1001),
        (#"{"name":"","tunnel_secret":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="}"#, 400, 1001),
        ("", 400, 1001),
    ]

    @Test("bad bodies get a 400 v4 error, never a 5xx")
    func badBodies() async throws {
        try await Self.withAPI { client, fixture in
            for (body, status, code) in Self.badBodyCases {
                let response = try await client.execute(uri: fixture.tunnels, method: .post, headers: fixture.auth, body: ByteBuffer(string: body))
                let actual = try Self.errorCode(response, status: HTTPResponse.Status(code: status))
                #expect(actual == code, "\(body)")
            }
        }
    }

    @Test("unknown and malformed IDs, unknown paths, wrong methods, bad query values, oversized bodies")
    func badRequests() async throws {
        try await Self.withAPI(maxBodyBytes: 4096) { client, fixture in
            #expect(try Self.errorCode(try await client.execute(uri: "\(fixture.tunnels)/\(UUID().uuidString.lowercased())", method: .get, headers: fixture.auth), status: .notFound) == 1002)
            #expect(try Self.errorCode(try await client.execute(uri: "\(fixture.tunnels)/not-a-uuid", method: .get, headers: fixture.auth), status: .notFound) == 7003)
            #expect(try Self.errorCode(try await client.execute(uri: "/client/v4/nothing/here", method: .get, headers: fixture.auth), status: .notFound) == 7000)
            #expect(try Self.errorCode(try await client.execute(uri: fixture.tunnels, method: .put, headers: fixture.auth), status: .methodNotAllowed) == 7001)
            for query in ["is_deleted=maybe", "page=0", "page=x", "per_page=0", "uuid=nope", "existed_at=yesterday"] {
                #expect(try Self.errorCode(try await client.execute(uri: "\(fixture.tunnels)?\(query)", method: .get, headers: fixture.auth), status: .badRequest) == 1001, "\(query)")
            }
            let big = ByteBuffer(repeating: UInt8(ascii: "a"), count: 70 * 1024)
            #expect(try Self.errorCode(try await client.execute(uri: fixture.tunnels, method: .post, headers: fixture.auth, body: big), status: .contentTooLarge) == 1004)
            // Another account's tunnel is "not found", not "forbidden": IDs do not leak.
            let (other, _, otherToken) = try await fixture.controlPlane.createAccount(name: "third", zones: ["third.test"])
            let foreign = try await fixture.controlPlane.createTunnel(accountID: other.id, name: "x", secretBase64: TunnelSecret.random().base64, actor: "test")
            _ = otherToken
            #expect(try Self.errorCode(try await client.execute(uri: "\(fixture.tunnels)/\(foreign.id)", method: .get, headers: fixture.auth), status: .notFound) == 1002)
            #expect(try Self.errorCode(try await client.execute(uri: "\(fixture.tunnels)/\(foreign.id)?cascade=true", method: .delete, headers: fixture.auth), status: .notFound) == 1002)
        }
    }

    @Test("a duplicate live name is 409 with code 1013")
    func duplicateName() async throws {
        try await Self.withAPI { client, fixture in
            _ = try await Self.create(client, fixture, name: "web")
            let response = try await client.execute(
                uri: fixture.tunnels, method: .post, headers: fixture.auth,
                body: ByteBuffer(string: #"{"name":"web","tunnel_secret":"\#(TunnelSecret.random().base64)"}"#))
            #expect(try Self.errorCode(response, status: .conflict) == 1013)
        }
    }

    @Test("pagination as cloudflared's fetchExhaustively walks it: page=1,2,… until count < per_page")
    func pagination() async throws {
        try await Self.withAPI { client, fixture in
            var created: [String] = []
            for index in 0..<45 {
                let tunnel = try await Self.create(client, fixture, name: "p-\(index)")
                created.append(tunnel["id"] as? String ?? "")
            }
            var seen: [String] = []
            var page = 1
            while true {
                let body = try Self.json(try await client.execute(uri: "\(fixture.tunnels)?is_deleted=false&page=\(page)", method: .get, headers: fixture.auth))
                let info = try #require(body["result_info"] as? [String: Int])
                let items = try #require(body["result"] as? [[String: Any]])
                #expect(info["count"] == items.count && info["total_count"] == 45 && info["per_page"] == 20 && info["page"] == page)
                seen += items.map { $0["id"] as? String ?? "" }
                if (info["count"] ?? 0) < (info["per_page"] ?? 0) || seen.count >= (info["total_count"] ?? 0) { break }
                page += 1
            }
            #expect(seen == created)
            let huge = try Self.json(try await client.execute(uri: "\(fixture.tunnels)?per_page=5000", method: .get, headers: fixture.auth))
            #expect((huge["result_info"] as? [String: Int])?["per_page"] == ControlPlane.maxPageSize)
        }
    }

    @Test("random bodies, paths and queries never get a 5xx")
    func randomInput() async throws {
        var random = SeededGenerator.logged("ControlAPITests.randomInput")
        let alphabet = Array(#"{}[]":,0123456789abcdefxyz-_ \/%&=?.+tn"#.utf8)
        var cases: [(String, HTTPRequest.Method, [UInt8])] = []
        for _ in 0..<300 {
            let length = Int.random(in: 0..<200, using: &random)
            let bytes = (0..<length).map { _ in alphabet[Int.random(in: 0..<alphabet.count, using: &random)] }
            let noise = String(decoding: bytes.prefix(24).filter { $0 != UInt8(ascii: " ") && $0 != UInt8(ascii: "\\") }, as: UTF8.self)
            let methods: [HTTPRequest.Method] = [.get, .post, .delete, .put, .patch]
            let method = methods[Int.random(in: 0..<methods.count, using: &random)]
            let suffixes = ["", "/\(noise)", "?\(noise)", "/\(UUID().uuidString)/\(noise)", "/\(UUID().uuidString)?cascade=\(noise)"]
            cases.append((suffixes[Int.random(in: 0..<suffixes.count, using: &random)], method, bytes))
        }
        let inputs = cases
        try await Self.withAPI { client, fixture in
            for (suffix, method, body) in inputs {
                let uri = (fixture.tunnels + suffix).addingPercentEncoding(withAllowedCharacters: .urlQueryAllowed) ?? fixture.tunnels
                let response = try await client.execute(uri: uri, method: method, headers: fixture.auth, body: ByteBuffer(bytes: body))
                #expect(response.status.code < 500, "\(method) \(uri) -> \(response.status)")
                #expect(response.headers[.contentType] == "application/json", "\(method) \(uri) -> \(response.status)")
            }
        }
    }

    static func route(_ client: any TestClientProtocol, _ fixture: Fixture, tunnel: String, _ body: String, token: String? = nil, zone: String? = nil) async throws -> TestResponse {
        try await client.execute(
            uri: "/client/v4/zones/\(zone ?? fixture.zoneID)/tunnels/\(tunnel)/routes", method: .put,
            headers: [.authorization: "Bearer \(token ?? fixture.token)", .contentType: "application/json"], body: ByteBuffer(string: body))
    }

    @Test("route dns: new, unchanged, the record in the way, overwrite, relative names, the apex, other zones and accounts")
    func dnsRoutes() async throws {
        try await Self.withAPI { client, fixture in
            let web = try await Self.create(client, fixture, name: "web")["id"] as? String ?? ""
            let api = try await Self.create(client, fixture, name: "api")["id"] as? String ?? ""
            func result(_ response: TestResponse) throws -> [String: String] {
                #expect(response.status == .ok, "\(String(buffer: response.body))")
                return try #require(try Self.json(response)["result"] as? [String: String])
            }
            // A name without a dot is relative to the path's zone, as on Cloudflare.
            #expect(try result(try await Self.route(client, fixture, tunnel: web, #"{"type":"dns","user_hostname":"app","overwrite_existing":false}"#)) == ["cname": "new", "name": "app.example.test"])
            #expect(try result(try await Self.route(client, fixture, tunnel: web, #"{"type":"dns","user_hostname":"APP.example.test.","overwrite_existing":false}"#)) == ["cname": "unchanged", "name": "app.example.test"])
            // Another tunnel's record is in the way: the refusal names it.
            let refused = try await Self.route(client, fixture, tunnel: api, #"{"type":"dns","user_hostname":"app.example.test","overwrite_existing":false}"#)
            #expect(try Self.errorCode(refused, status: .badRequest) == 1003)
            #expect(String(buffer: refused.body).contains("An A, AAAA or CNAME record already exists with that host: app.example.test CNAME \(web).cfargotunnel.com"))
            #expect(try result(try await Self.route(client, fixture, tunnel: api, #"{"type":"dns","user_hostname":"app.example.test","overwrite_existing":true}"#)) == ["cname": "updated", "name": "app.example.test"])
            #expect(try await fixture.controlPlane.routedTunnel(host: "app.example.test")?.lowercasedString == api)
            // The apex, another zone of the account, a wildcard.
            #expect(try result(try await Self.route(client, fixture, tunnel: web, #"{"type":"dns","user_hostname":"example.test"}"#))["cname"] == "new")
            #expect(try result(try await Self.route(client, fixture, tunnel: web, #"{"type":"dns","user_hostname":"x.second.test"}"#))["name"] == "x.second.test")
            #expect(try result(try await Self.route(client, fixture, tunnel: web, #"{"type":"dns","user_hostname":"*.example.test"}"#))["cname"] == "new")
            #expect(try await fixture.controlPlane.routedTunnel(host: "anything.example.test")?.lowercasedString == web)
            #expect(try await fixture.controlPlane.routedTunnel(host: "app.example.test")?.lowercasedString == api)
            // Outside the account's zones, bad names, another account's zone, load balancers.
            let outside = try await Self.route(client, fixture, tunnel: web, #"{"type":"dns","user_hostname":"app.other.test"}"#)
            #expect(try Self.errorCode(outside, status: .badRequest) == 1050)
            #expect(String(buffer: outside.body).contains("example.test, second.test"))
            #expect(try Self.errorCode(try await Self.route(client, fixture, tunnel: web, #"{"type":"dns","user_hostname":"bad name!"}"#), status: .badRequest) == 1001)
            #expect(try Self.errorCode(try await Self.route(client, fixture, tunnel: web, #"{"type":"lb","lb_name":"x","lb_pool":"y"}"#), status: .badRequest) == 1001)
            #expect(try Self.errorCode(try await Self.route(client, fixture, tunnel: web, #"{"type":"dns","user_hostname":"app"}"#, token: fixture.otherToken), status: .forbidden) == 10000)
            #expect(try Self.errorCode(try await Self.route(client, fixture, tunnel: web, #"{"type":"dns","user_hostname":"app"}"#, zone: "nope"), status: .forbidden) == 10000)
            #expect(try Self.errorCode(try await Self.route(client, fixture, tunnel: UUID().uuidString, #"{"type":"dns","user_hostname":"app"}"#), status: .notFound) == 1002)
            // CNAME add is an audit event.
            let audit = try Self.json(try await client.execute(uri: "/client/v4/accounts/\(fixture.accountID)/audit_logs?tunnel_id=\(api)", method: .get, headers: fixture.auth))
            let entries = try #require(audit["result"] as? [[String: Any]])
            let added = try #require(entries.first { $0["action"] as? String == "dns.cname_added" })
            let metadata = try #require(added["metadata"] as? [String: String])
            #expect(metadata["hostname"] == "app.example.test" && metadata["replaced"] == "CNAME \(web).cfargotunnel.com")
        }
    }
}
