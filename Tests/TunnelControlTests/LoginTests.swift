import Crypto
import Foundation
import Hummingbird
import HummingbirdTesting
import NIOCore
import SwiftASN1
import Synchronization
import Testing
@testable import TunnelControl
import TunnelCore
import TunnelEdge
import X509

/// The login flow through Hummingbird's test client against a real SQLite store: the pages,
/// the poll, the cert.pem it hands out, users, token rolling and origin certificates.
@Suite("login and origin certificates")
struct LoginTests {
    struct Fixture {
        let controlPlane: ControlPlane
        let accountID: String
        let zones: [Zone]
        let adminToken: String
        let password: String
        let otherZoneID: String
    }

    /// A control plane with an account `acme` (two zones), its user `alice`, and an account
    /// `other`; polls are held 1 s.
    static func withLogin(pollHold: Duration = .seconds(1), _ body: @escaping @Sendable (any TestClientProtocol, Fixture) async throws -> Void) async throws {
        try await TemporaryStore.withControlPlane { controlPlane, _ in
            controlPlane.configureLogin(ca: nil, settings: LoginSettings(pollHold: pollHold, passwordCost: 4))
            let (account, zones, token) = try await controlPlane.createAccount(name: "acme", zones: ["example.test", "second.test"])
            let (_, otherZones, _) = try await controlPlane.createAccount(name: "other", zones: ["other.test"])
            let (_, password) = try await controlPlane.addUser(accountIDOrName: "acme", name: "alice")
            let fixture = Fixture(
                controlPlane: controlPlane, accountID: account.id, zones: zones, adminToken: token.value.value,
                password: password.value, otherZoneID: otherZones[0].id)
            let app = Application(responder: ControlAPI.responder(controlPlane: controlPlane))
            try await app.test(.router) { client in try await body(client, fixture) }
        }
    }

    /// A login key as `tunnelctl login` makes it, and its page URL.
    struct Key {
        let key: String
        var callback: String { "http://127.0.0.1:8787/login-store/\(key)" }
        var page: String { "/argotunnel?aud=&callback=" + ControlAPIClient.formEncode(callback) }

        init() {
            key = LoginClient(apiURL: "http://127.0.0.1:8787/client/v4").key
        }
    }

    static func form(_ fields: [(String, String)]) -> ByteBuffer {
        ByteBuffer(string: fields.map { "\(ControlAPIClient.formEncode($0.0))=\(ControlAPIClient.formEncode($0.1))" }.joined(separator: "&"))
    }

    static let formHeaders: HTTPFields = [.contentType: "application/x-www-form-urlencoded"]

    static func text(_ response: TestResponse) -> String { String(buffer: response.body) }

    /// The value of a hidden or radio input in a page.
    static func inputValue(_ html: String, name: String) -> String? {
        guard let range = html.range(of: #"name="\#(name)" value=""#) else { return nil }
        return String(html[range.upperBound...].prefix { $0 != "\"" })
    }

    /// Opens the page, signs in as alice and returns the cookie header and the CSRF token.
    static func signIn(_ client: any TestClientProtocol, _ fixture: Fixture, _ key: Key) async throws -> (cookie: HTTPFields, csrf: String) {
        let page = try await client.execute(uri: key.page, method: .get)
        #expect(page.status == .ok)
        let signIn = try await client.execute(
            uri: "/argotunnel/sign-in", method: .post, headers: formHeaders,
            body: form([("callback", key.callback), ("user", "alice"), ("password", fixture.password)]))
        #expect(signIn.status == .seeOther)
        #expect(signIn.headers[.location] == key.page)
        let setCookie = try #require(signIn.headers[.setCookie])
        #expect(setCookie.contains("HttpOnly") && setCookie.contains("SameSite=Strict"))
        let cookie = String(setCookie.prefix { $0 != ";" })
        let picker = try await client.execute(uri: key.page, method: .get, headers: [.cookie: cookie])
        let html = text(picker)
        #expect(picker.status == .ok)
        #expect(html.contains("example.test") && html.contains("second.test"))
        #expect(html.contains(LoginWeb.code(forKey: key.key)))
        return ([.cookie: cookie], try #require(inputValue(html, name: "csrf")))
    }

    @Test("sign in, pick a zone, approve: the poll gets a cert.pem that cloudflared reads, once")
    func browserFlow() async throws {
        try await Self.withLogin { client, fixture in
            let key = Key()
            let first = try await client.execute(uri: key.page, method: .get)
            #expect(first.headers[.contentType] == "text/html; charset=utf-8")
            #expect(first.headers[.cacheControl] == "no-store")
            #expect(first.headers[.contentSecurityPolicy]?.contains("default-src 'none'") == true)
            #expect(Self.text(first).contains(#"<label for="user">"#) && Self.text(first).contains("autofocus"))
            #expect(!Self.text(first).contains("<script"))

            let (cookie, csrf) = try await Self.signIn(client, fixture, key)
            let zone = fixture.zones[1]
            let approve = try await client.execute(
                uri: "/argotunnel/approve", method: .post, headers: Self.formHeaders + cookie,
                body: Self.form([("callback", key.callback), ("csrf", csrf), ("zone", zone.id)]))
            #expect(approve.status == .ok)
            #expect(Self.text(approve).contains(#"id="approved""#))

            let poll = try await client.execute(uri: "/login-store/\(key.key)", method: .get)
            #expect(poll.status == .ok)
            let pem = Self.text(poll)
            try Self.checkCertPEM(pem, fixture: fixture, zone: zone)
            let bundle = try OriginCertificate(pemEncoded: pem)
            let token = try await fixture.controlPlane.authenticate(authorization: "Bearer \(bundle.apiToken.value)")
            #expect(token.accountID == fixture.accountID && token.name == "alice" && token.userID != nil)

            // Handed out once: a replayed key is told it was used, the page too.
            let again = try await client.execute(uri: "/login-store/\(key.key)", method: .get)
            #expect(again.status == .gone && Self.text(again).contains("used already"))
            let page = try await client.execute(uri: key.page, method: .get)
            #expect(page.status == .gone)
            let download = try await client.execute(
                uri: "/argotunnel/download", method: .post, headers: Self.formHeaders + cookie,
                body: Self.form([("callback", key.callback), ("csrf", csrf)]))
            #expect(download.status == .gone)

            let events = try await fixture.controlPlane.auditLog(accountID: fixture.accountID, filter: AuditFilter()).items.compactMap { AuditAction(rawValue: $0.action) }
            #expect(events.contains(.login) && events.contains(.originCertificateIssued) && events.contains(.userAdded))
        }
    }

    /// The cert.pem holds a PKCS#8 key, the origin certificate for `zone` and `*.zone` signed by
    /// the origin CA and valid at least 10 years, and the token block exactly as credentials.md
    /// §1.3 encodes it.
    static func checkCertPEM(_ pem: String, fixture: Fixture, zone: Zone) throws {
        let labels = pem.split(separator: "\n").filter { $0.hasPrefix("-----BEGIN ") }
        #expect(labels == ["-----BEGIN PRIVATE KEY-----", "-----BEGIN CERTIFICATE-----", "-----BEGIN ARGO TUNNEL TOKEN-----"])
        #expect(pem.hasSuffix("-----END ARGO TUNNEL TOKEN-----\n"))
        #expect(pem.split(separator: "\n").allSatisfy { $0.count <= 64 })
        let bundle = try OriginCertificate(pemEncoded: pem)
        #expect(bundle.zoneID == zone.id && bundle.accountID == fixture.accountID)
        let tokenBlock = try #require(pem.range(of: "-----BEGIN ARGO TUNNEL TOKEN-----\n")).upperBound
        let body = pem[tokenBlock...].prefix { $0 != "-" }.replacingOccurrences(of: "\n", with: "")
        let json = String(decoding: try #require(Data(base64Encoded: body)), as: UTF8.self)
        #expect(json == #"{"zoneID":"\#(zone.id)","accountID":"\#(fixture.accountID)","apiToken":"\#(bundle.apiToken.value)"}"#)
        let certificate = try #require(bundle.certificate)
        let key = try #require(bundle.privateKey)
        #expect(certificate.publicKey == key.publicKey)
        let names = try #require(try certificate.extensions.subjectAlternativeNames)
        #expect(Array(names) == [.dnsName(zone.name), .dnsName("*." + zone.name)])
        #expect(certificate.notValidAfter.timeIntervalSince(Date()) >= 10 * 365.25 * 86400 - 86400)
        let ca = try fixture.controlPlane.originCA()
        #expect(certificate.issuer == ca.certificate.subject)
        #expect(ca.certificate.publicKey.isValidSignature(certificate.signature, for: certificate))
    }

    @Test("a poll waiting for the approval is answered as soon as it comes")
    func pollWakesOnApproval() async throws {
        try await Self.withLogin(pollHold: .seconds(30)) { client, fixture in
            let key = Key()
            let (cookie, csrf) = try await Self.signIn(client, fixture, key)
            let started = ContinuousClock.now
            async let poll = client.execute(uri: "/login-store/\(key.key)", method: .get)
            // Approve only once the poll is parked on the control plane.
            while fixture.controlPlane.loginState.withLock({ $0.waiters.isEmpty }) { await Task.yield() }
            let approve = try await client.execute(
                uri: "/argotunnel/approve", method: .post, headers: Self.formHeaders + cookie,
                body: Self.form([("callback", key.callback), ("csrf", csrf), ("zone", fixture.zones[0].id)]))
            #expect(approve.status == .ok)
            let answer = try await poll
            #expect(answer.status == .ok && Self.text(answer).contains("ARGO TUNNEL TOKEN"))
            #expect(ContinuousClock.now - started < .seconds(15))
            #expect(fixture.controlPlane.loginState.withLock { $0.waiters.isEmpty })
        }
    }

    @Test("bad keys, unknown keys, expired logins, wrong passwords, stale forms: clear 4xx and nothing issued")
    func refusals() async throws {
        try await Self.withLogin { client, fixture in
            // A malformed key: 400 at once, on the page and the poll.
            for bad in ["short", String(repeating: "A", count: 44), String(repeating: "A", count: 43) + "=="] {
                let poll = try await client.execute(uri: "/login-store/\(bad)", method: .get)
                #expect(poll.status == .badRequest, "\(bad)")
                #expect(poll.headers[.contentType] == "text/plain; charset=utf-8")
            }
            let page = try await client.execute(uri: "/argotunnel?aud=&callback=http%3A%2F%2Fx%2Fnot-a-key", method: .get)
            #expect(page.status == .badRequest && Self.text(page).contains("not a login link"))
            let noCallback = try await client.execute(uri: "/argotunnel", method: .get)
            #expect(noCallback.status == .badRequest)

            // A key nobody signed in with: held, then 404 with what to do.
            let unknown = Key()
            let waiting = try await client.execute(uri: "/login-store/\(unknown.key)", method: .get)
            #expect(waiting.status == .notFound && Self.text(waiting).contains("sign in on the login page"))

            // An expired login: 410 on the page and the poll.
            let expired = Key()
            _ = try await fixture.controlPlane.store.beginLogin(LoginRequest(
                keyDigest: ControlPlane.digest(expired.key), state: .pending, createdAt: Date(timeIntervalSinceNow: -1200), expiresAt: Date(timeIntervalSinceNow: -600)))
            #expect(try await client.execute(uri: "/login-store/\(expired.key)", method: .get).status == .gone)
            let expiredPage = try await client.execute(uri: expired.page, method: .get)
            #expect(expiredPage.status == .gone && Self.text(expiredPage).contains("expired"))

            // A wrong password, an unknown user: the same 401 page, the name escaped.
            let key = Key()
            for (user, password) in [("alice", "wrong"), ("<b>mallory</b>", fixture.password)] {
                let refused = try await client.execute(
                    uri: "/argotunnel/sign-in", method: .post, headers: Self.formHeaders,
                    body: Self.form([("callback", key.callback), ("user", user), ("password", password)]))
                #expect(refused.status == .unauthorized)
                #expect(refused.headers[.setCookie] == nil)
                #expect(Self.text(refused).contains("Wrong user name or password"))
                #expect(!Self.text(refused).contains("<b>mallory"))
            }
            // A form without a session, or with another page's CSRF token.
            let (cookie, _) = try await Self.signIn(client, fixture, key)
            let noSession = try await client.execute(
                uri: "/argotunnel/approve", method: .post, headers: Self.formHeaders,
                body: Self.form([("callback", key.callback), ("csrf", "x"), ("zone", fixture.zones[0].id)]))
            #expect(noSession.status == .unauthorized && Self.text(noSession).contains("sign in again"))
            let staleForm = try await client.execute(
                uri: "/argotunnel/approve", method: .post, headers: Self.formHeaders + cookie,
                body: Self.form([("callback", key.callback), ("csrf", "forged"), ("zone", fixture.zones[0].id)]))
            #expect(staleForm.status == .badRequest)
            let notForm = try await client.execute(
                uri: "/argotunnel/approve", method: .post, headers: cookie, body: ByteBuffer(string: #"{"zone":"x"}"#))
            #expect(notForm.status == .badRequest)
            let unknownPage = try await client.execute(uri: "/argotunnel/nothing", method: .get)
            #expect(unknownPage.status == .notFound)
            #expect(try await fixture.controlPlane.originCertificates(accountID: fixture.accountID).isEmpty)
        }
    }

    @Test("a zone of another account cannot be approved")
    func otherAccountsZone() async throws {
        try await Self.withLogin { client, fixture in
            let key = Key()
            let (cookie, csrf) = try await Self.signIn(client, fixture, key)
            let refused = try await client.execute(
                uri: "/argotunnel/approve", method: .post, headers: Self.formHeaders + cookie,
                body: Self.form([("callback", key.callback), ("csrf", csrf), ("zone", fixture.otherZoneID)]))
            #expect(refused.status == .forbidden)
            #expect(try await fixture.controlPlane.originCertificates(accountID: fixture.accountID).isEmpty)
            // The login is still open: the right zone works afterwards.
            let approve = try await client.execute(
                uri: "/argotunnel/approve", method: .post, headers: Self.formHeaders + cookie,
                body: Self.form([("callback", key.callback), ("csrf", csrf), ("zone", fixture.zones[0].id)]))
            #expect(approve.status == .ok)
        }
    }

    @Test("failed sign-ins are limited per user name with 429 and Retry-After")
    func signInThrottle() async throws {
        try await Self.withLogin { client, fixture in
            let key = Key()
            var statuses: [UInt16] = []
            for _ in 0..<6 {
                let response = try await client.execute(
                    uri: "/argotunnel/sign-in", method: .post, headers: Self.formHeaders,
                    body: Self.form([("callback", key.callback), ("user", "alice"), ("password", "guess")]))
                statuses.append(UInt16(response.status.code))
                if response.status == .tooManyRequests { #expect(Int(response.headers[.retryAfter] ?? "") ?? 0 > 0) }
            }
            #expect(statuses == [401, 401, 401, 401, 401, 429])
            // Even the right password waits out the window.
            await #expect(throws: ControlPlaneError.self) { try await fixture.controlPlane.signIn(name: "alice", password: fixture.password) }
        }
    }

    @Test("rolling: a user's tokens, a removed user's, a service token and the cert.pem it logged in for")
    func rolling() async throws {
        try await Self.withLogin { client, fixture in
            let plane = fixture.controlPlane
            let user = try await plane.issueCertificatePEM(
                accountID: fixture.accountID, zoneID: fixture.zones[0].id, userID: try await plane.store.user(name: "alice")?.user.id, name: "alice", actor: "test")
            let userToken = try OriginCertificate(pemEncoded: user.pem).apiToken.value
            _ = try await plane.authenticate(authorization: "Bearer \(userToken)")
            #expect(try await plane.rollUserToken(name: "alice").count == 1)
            await #expect(throws: ControlPlaneError.tokenRolled()) { try await plane.authenticate(authorization: "Bearer \(userToken)") }
            // Through the API: 401 with code 10001.
            let rolled = try await client.execute(uri: "/client/v4/user/tokens/verify", method: .get, headers: [.authorization: "Bearer \(userToken)"])
            #expect(try ControlAPITests.errorCode(rolled, status: .unauthorized) == 10001)

            // A service token logs in without a browser; rolling it ends both.
            let service = try await plane.createToken(accountIDOrName: "acme", name: "ci")
            let zonesResponse = try await client.execute(
                uri: "/client/v4/zones?name=second.test", method: .get, headers: [.authorization: "Bearer \(service.value.value)"])
            let zones = try #require(try ControlAPITests.json(zonesResponse)["result"] as? [[String: Any]])
            #expect(zones.count == 1 && zones[0]["id"] as? String == fixture.zones[1].id)
            #expect((zones[0]["account"] as? [String: Any])?["id"] as? String == fixture.accountID)
            let issued = try await client.execute(
                uri: "/client/v4/zones/\(fixture.zones[1].id)/cert_pem", method: .post, headers: [.authorization: "Bearer \(service.value.value)"])
            let result = try #require(try ControlAPITests.json(issued)["result"] as? [String: Any])
            let pem = try #require(result["cert_pem"] as? String)
            try Self.checkCertPEM(pem, fixture: fixture, zone: fixture.zones[1])
            let certToken = try OriginCertificate(pemEncoded: pem).apiToken.value
            #expect(certToken != service.value.value)
            let (newToken, rolledTokens) = try await plane.rollServiceToken(accountIDOrName: "acme", name: "ci")
            #expect(Set(rolledTokens.map(\.id)).count == 2)
            for old in [service.value.value, certToken] {
                await #expect(throws: ControlPlaneError.tokenRolled()) { try await plane.authenticate(authorization: "Bearer \(old)") }
            }
            _ = try await plane.authenticate(authorization: "Bearer \(newToken.value.value)")
            await #expect(throws: ControlPlaneError.tokenNotFound("nobody")) { _ = try await plane.rollServiceToken(accountIDOrName: "acme", name: "nobody") }

            // A removed user cannot sign in, and their tokens are rolled.
            let again = try await plane.issueCertificatePEM(
                accountID: fixture.accountID, zoneID: fixture.zones[0].id, userID: try await plane.store.user(name: "alice")?.user.id, name: "alice", actor: "test")
            _ = try await plane.removeUser(name: "alice")
            await #expect(throws: ControlPlaneError.tokenRolled()) {
                try await plane.authenticate(authorization: "Bearer \(try OriginCertificate(pemEncoded: again.pem).apiToken.value)")
            }
            await #expect(throws: ControlPlaneError.signInFailed()) { try await plane.signIn(name: "alice", password: fixture.password) }
            let actions = try await plane.auditLog(accountID: fixture.accountID, filter: AuditFilter()).items.compactMap { AuditAction(rawValue: $0.action) }
            #expect(actions.filter { $0 == .tokenRolled }.count == 2 && actions.contains(.userRemoved))
        }
    }

    @Test("origin certificates: listed, fetched and revoked through the API; a revoked one's token no longer authenticates")
    func originCertificates() async throws {
        try await Self.withLogin { client, fixture in
            let admin: HTTPFields = [.authorization: "Bearer \(fixture.adminToken)"]
            let issued = try await fixture.controlPlane.issueCertificatePEM(
                accountID: fixture.accountID, zoneID: fixture.zones[0].id, userID: nil, name: "admin", actor: "test")
            let listed = try #require(try ControlAPITests.json(try await client.execute(uri: "/client/v4/certificates?zone_id=\(fixture.zones[0].id)", method: .get, headers: admin))["result"] as? [[String: Any]])
            #expect(listed.count == 1 && listed[0]["id"] as? String == issued.record.id)
            #expect(listed[0]["hostnames"] as? [String] == ["example.test", "*.example.test"])
            #expect(listed[0]["request_type"] as? String == "origin-ecc" && listed[0]["revoked_at"] is NSNull)
            let certificate = try Certificate(pemEncoded: try #require(listed[0]["certificate"] as? String))
            #expect(OriginCA.id(of: certificate) == issued.record.id)
            let none = try #require(try ControlAPITests.json(try await client.execute(uri: "/client/v4/certificates?zone_id=\(fixture.zones[1].id)", method: .get, headers: admin))["result"] as? [Any])
            #expect(none.isEmpty)

            let revoked = try await client.execute(uri: "/client/v4/certificates/\(issued.record.id)", method: .delete, headers: admin)
            #expect((try ControlAPITests.json(revoked)["result"] as? [String: Any])?["revoked_at"] is String)
            let token = try OriginCertificate(pemEncoded: issued.pem).apiToken.value
            await #expect(throws: ControlPlaneError.tokenRolled()) { try await fixture.controlPlane.authenticate(authorization: "Bearer \(token)") }
            let fetched = try ControlAPITests.json(try await client.execute(uri: "/client/v4/certificates/\(issued.record.id)", method: .get, headers: admin))
            #expect((fetched["result"] as? [String: Any])?["revoked_at"] is String)

            // Unknown IDs and another account's token: 404, nothing revoked.
            #expect(try ControlAPITests.errorCode(try await client.execute(uri: "/client/v4/certificates/00ff", method: .delete, headers: admin), status: .notFound) == 1030)
            let (_, _, other) = try await fixture.controlPlane.createAccount(name: "third", zones: ["third.test"])
            let foreign = try await client.execute(uri: "/client/v4/certificates/\(issued.record.id)", method: .get, headers: [.authorization: "Bearer \(other.value.value)"])
            #expect(try ControlAPITests.errorCode(foreign, status: .notFound) == 1030)
            let actions = try await fixture.controlPlane.auditLog(accountID: fixture.accountID, filter: AuditFilter()).items.compactMap { AuditAction(rawValue: $0.action) }
            #expect(actions.contains(.originCertificateRevoked))
        }
    }

    @Test("the origin CA is generated once into the state directory and reloaded; a mismatched key is refused")
    func originCAFiles() throws {
        let temporary = try TemporaryStore()
        defer { temporary.remove() }
        let first = try OriginCA.loadOrCreate(in: temporary.directory.path)
        let again = try OriginCA.loadOrCreate(in: temporary.directory.path)
        #expect(first.certificate == again.certificate)
        let keyPath = temporary.directory.appendingPathComponent("origin-ca.key").path
        #expect((try FileManager.default.attributesOfItem(atPath: keyPath)[.posixPermissions] as? Int) == 0o600)
        try P256.Signing.PrivateKey().pemRepresentation.write(toFile: keyPath, atomically: true, encoding: .utf8)
        #expect(throws: OriginCAError.self) { try OriginCA.loadOrCreate(in: temporary.directory.path) }
        try "garbage".write(toFile: keyPath, atomically: true, encoding: .utf8)
        #expect(throws: OriginCAError.self) { try OriginCA.loadOrCreate(in: temporary.directory.path) }
    }

    @Test("passwords are bcrypt hashes in the store; users are unique by name")
    func users() async throws {
        try await TemporaryStore.withControlPlane { plane, store in
            plane.configureLogin(ca: nil, settings: LoginSettings(passwordCost: 4))
            _ = try await plane.createAccount(name: "acme", zones: ["example.test"])
            let (user, password) = try await plane.addUser(accountIDOrName: "acme", name: "bob@example.test")
            let stored = try #require(try await store.user(name: "bob@example.test"))
            #expect(stored.passwordHash.hasPrefix("$2b$04$") && !stored.passwordHash.contains(password.value))
            #expect("\(password)" != password.value)
            #expect(try await plane.signIn(name: "bob@example.test", password: password.value).id == user.id)
            await #expect(throws: ControlPlaneError.userExists("bob@example.test")) { _ = try await plane.addUser(accountIDOrName: "acme", name: "bob@example.test") }
            await #expect(throws: ControlPlaneError.self) { _ = try await plane.addUser(accountIDOrName: "acme", name: "bad name") }
            await #expect(throws: ControlPlaneError.accountNotFound("nope")) { _ = try await plane.addUser(accountIDOrName: "nope", name: "carol") }
            await #expect(throws: ControlPlaneError.userNotFound("carol")) { _ = try await plane.removeUser(name: "carol") }
            _ = try await plane.removeUser(name: "bob@example.test")
            // The name is free again after removal.
            _ = try await plane.addUser(accountIDOrName: "acme", name: "bob@example.test")
            #expect(try await plane.users(accountIDOrName: "acme").count == 2)
        }
    }

    @Test("every audit action is in the OpenAPI contract's enum")
    func auditActionsDocumented() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let spec = try String(contentsOf: root.appendingPathComponent("Docs/openapi.yaml"), encoding: .utf8)
        let enumText = try #require(spec.range(of: "enum: [tunnel.registered").map { String(spec[$0.lowerBound...].prefix { $0 != "]" }) })
        for action in AuditAction.allCases {
            #expect(enumText.contains(action.rawValue), "\(action.rawValue) is missing from Docs/openapi.yaml")
        }
    }

    @Test("random forms, keys and cookies on the login pages and the poll never get a 5xx or issue anything")
    func randomLoginInput() async throws {
        var random = SeededGenerator.logged("LoginTests.randomLoginInput")
        let alphabet = Array("abcXYZ019-_=%&+;<>\"' /:?.".utf8)
        func noise(_ length: Int) -> String {
            String(decoding: (0..<length).map { _ in alphabet[Int.random(in: 0..<alphabet.count, using: &random)] }, as: UTF8.self)
        }
        var cases: [(String, HTTPRequest.Method, String, String)] = []
        let paths = ["/argotunnel", "/argotunnel/sign-in", "/argotunnel/approve", "/argotunnel/download", "/login-store/"]
        for _ in 0..<200 {
            let path = paths[Int.random(in: 0..<paths.count, using: &random)]
            let key = Bool.random(using: &random) ? Key().key : noise(Int.random(in: 0..<50, using: &random))
            let query = path == "/argotunnel" ? "?aud=&callback=" + ControlAPIClient.formEncode("http://x/login-store/" + key) : ""
            let uri = (path == "/login-store/" ? path + ControlAPIClient.formEncode(key) : path + query)
            let body = ["callback=" + ControlAPIClient.formEncode("http://x/login-store/" + key), "user=alice", "password=" + noise(8),
                        "csrf=" + noise(10), "zone=" + noise(32), noise(40)].shuffled(using: &random).prefix(Int.random(in: 0...6, using: &random)).joined(separator: "&")
            cases.append((uri, [.get, .post, .put][Int.random(in: 0..<3, using: &random)], body, "tunnel_login=" + noise(20)))
        }
        let inputs = cases
        try await Self.withLogin(pollHold: .milliseconds(10)) { client, fixture in
            var statuses: Set<Int> = []
            for (uri, method, body, cookie) in inputs {
                let response = try await client.execute(
                    uri: uri, method: method, headers: [.contentType: "application/x-www-form-urlencoded", .cookie: cookie], body: ByteBuffer(string: body))
                #expect(response.status.code < 500, "\(method) \(uri) -> \(response.status)")
                statuses.insert(response.status.code)
            }
            // The sign-in page itself came up too, not only refusals.
            #expect(statuses.contains(200) && statuses.contains(400))
            #expect(try await fixture.controlPlane.originCertificates(accountID: fixture.accountID).isEmpty)
        }
    }
}
