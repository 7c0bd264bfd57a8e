import Foundation
import Testing
import TunnelCore
import TunnelTesting

/// `tunnelctl login` against a real `tunnelctl edge serve`: the browser flow in headless
/// Chromium (Playwright), the non-interactive flow of a service token, the cert.pem in use by
/// `tunnelctl tunnel …` and cloudflared's reader, token rolling and the refusals.
@Suite("tunnelctl login", .serialized)
struct LoginCommandTests {
    typealias Run = TunnelRunCommandTests
    typealias Serve = EdgeServeCommandTests

    /// An account `acme` with two zones and a user `alice`, before the edge starts.
    struct Setup {
        let sandbox: Run.Sandbox
        let state: String
        let password: String

        init() async throws {
            sandbox = try Run.Sandbox()
            state = sandbox.pki.directory.appendingPathComponent("state").path
            let account = try await sandbox.run(["edge", "account", "create", "acme", "--zone", "example.test", "--zone", "second.test", "--state-dir", state])
            #expect(account.status == 0, "\(account.stderr)")
            let user = try await sandbox.run(["edge", "user", "add", "alice", "--account", "acme", "--state-dir", state])
            #expect(user.status == 0, "\(user.stderr)")
            password = user.stdout.split(separator: "\n").first { $0.hasPrefix("password:") }.map { String($0.dropFirst("password:".count)).trimmingCharacters(in: .whitespaces) } ?? ""
            #expect(password.count >= 16)
        }

        func startEdge(_ extra: [String] = []) async throws -> (Serve.RunningEdge, api: String) {
            let edge = try await Serve.RunningEdge.start(sandbox, ["--state-dir", state] + extra)
            let line = edge.process.outputLines.first { $0.hasPrefix("control-plane API on ") } ?? ""
            #expect(edge.process.outputLines.contains { $0.hasPrefix("login page on http://127.0.0.1:") })
            return (edge, String(line.dropFirst("control-plane API on ".count).prefix { $0 != " " }))
        }

        var defaultCertPath: String { sandbox.home.appendingPathComponent(".cloudflared/cert.pem").path }

        func edgeCommand(_ arguments: [String]) async throws -> TunnelctlProcess.Output {
            try await sandbox.run(["edge"] + arguments + ["--state-dir", state])
        }
    }

    static var python: String { PeerProcess.python(packageRoot: Run.packageRoot) }
    static var peers: URL { Run.packageRoot.appendingPathComponent("Tests/TunnelControlTests/Peers") }

    /// Reads a cert.pem the way cloudflared does and uses its token against the API.
    static func checkWithCloudflaredReader(api: String, certPath: String) async throws {
        let reader = try PeerProcess(python, [peers.appendingPathComponent("cloudflared_api.py").path, api, "-", "-", "certpem", certPath])
        #expect(await reader.waitForExit(timeout: .seconds(60)) == 0, "\(reader.outputLines.suffix(10).joined(separator: "\n"))")
    }

    @Test("browser login: Chromium signs in and approves while tunnelctl waits; the cert.pem works until the user's token is rolled")
    func browserLogin() async throws {
        let setup = try await Setup()
        let (edge, api) = try await setup.startEdge()
        defer { edge.process.stop() }

        let login = try setup.sandbox.start(["login", "--api-url", api])
        defer { login.stop() }
        let urlLine = try await login.waitForLine { $0.hasPrefix("http://") || $0.hasPrefix("error:") }
        #expect(urlLine.hasPrefix("http://127.0.0.1:") && urlLine.contains("/argotunnel?aud=&callback=http%3A%2F%2F127.0.0.1%3A"))
        let codeLine = try await login.waitForLine { $0.contains("login code") }
        let code = try #require(codeLine.firstMatch(of: /login code ([0-9A-F]{4}-[0-9A-F]{4})/)).1
        #expect(login.outputLines.contains("Please open the following URL and log in with your account:"))

        let browser = try PeerProcess(Self.python, [Self.peers.appendingPathComponent("login_browser.py").path, urlLine, "alice", setup.password, String(code), "second.test"])
        #expect(await browser.waitForExit(timeout: .seconds(90)) == 0, "\(browser.outputLines.suffix(15).joined(separator: "\n"))")
        #expect(await login.waitForExit(timeout: .seconds(30)) == 0, "\(login.outputLines.joined(separator: "\n"))")
        #expect(login.outputLines.suffix(3) == ["You have successfully logged in.", "If you wish to copy your credentials to a server, they have been saved to:", setup.defaultCertPath])

        // The file: mode 0600, our reader's view of it, cloudflared's reader, and in use.
        #expect((try FileManager.default.attributesOfItem(atPath: setup.defaultCertPath)[.posixPermissions] as? Int) == 0o600)
        let certificate = try OriginCertificate(pemEncoded: String(contentsOfFile: setup.defaultCertPath, encoding: .utf8))
        #expect(certificate.certificate != nil && certificate.privateKey != nil && certificate.accountID.count == 32)
        try await Self.checkWithCloudflaredReader(api: api, certPath: setup.defaultCertPath)
        let created = try await setup.sandbox.run(["tunnel", "--api-url", api, "create", "web"])
        #expect(created.status == 0, "\(created.stderr)")
        let listed = try await setup.sandbox.run(["tunnel", "--api-url", api, "list"])
        #expect(listed.status == 0 && listed.stdout.contains("web"))

        // A second login refuses to overwrite it, and says what to do.
        let again = try await setup.sandbox.run(["login", "--api-url", api])
        #expect(again.status == 1)
        #expect(again.stderr == "error: You have an existing certificate at \(setup.defaultCertPath) which login would overwrite. If this is intentional, please move or delete that file then run this command again.\n")

        // The administrator rolls alice's token: the old cert.pem fails with one line.
        let roll = try await setup.edgeCommand(["user", "roll-token", "alice"])
        #expect(roll.status == 0 && roll.stdout.contains("rolled 1 token of alice"))
        let refused = try await setup.sandbox.run(["tunnel", "--api-url", api, "list"])
        #expect(refused.status == 1)
        #expect(refused.stderr == "error: the API token in \(setup.defaultCertPath) was rolled or revoked; move that file away and run `tunnelctl login` to get a new cert.pem\n")

        let audit = try await setup.edgeCommand(["audit", "--account", "acme"])
        for action in ["user.added", "user.login", "origin_certificate.issued", "token.rolled"] {
            #expect(audit.stdout.contains(action), "\(action) missing from the audit log")
        }
    }

    @Test("non-interactive login with a service token; rolling the service token and revoking the origin certificate end it")
    func serviceTokenLogin() async throws {
        let setup = try await Setup()
        let (edge, api) = try await setup.startEdge()
        defer { edge.process.stop() }
        let created = try await setup.edgeCommand(["token", "create", "--account", "acme", "--service", "ci"])
        let token = created.stdout.split(separator: "\n").first { $0.hasPrefix("API token:") }.map { String($0.dropFirst("API token:".count)).trimmingCharacters(in: .whitespaces) } ?? ""
        #expect(!token.isEmpty)
        let certPath = setup.sandbox.pki.directory.appendingPathComponent("ci/cert.pem").path

        let wrongZone = try await setup.sandbox.run(["login", "--api-url", api, "--api-token", token, "--zone", "nowhere.test", "--origincert", certPath])
        #expect(wrongZone.status == 1 && wrongZone.stderr.contains("has no zone nowhere.test (its zones: example.test, second.test)"), "status \(wrongZone.status): \(wrongZone.stdout)\(wrongZone.stderr)")
        let wrongToken = try await setup.sandbox.run(["login", "--api-url", api, "--api-token", "not-a-token", "--zone", "second.test", "--origincert", certPath])
        #expect(wrongToken.status == 1 && wrongToken.stderr.contains("refused the API token"))
        #expect(!FileManager.default.fileExists(atPath: certPath))

        let login = try await setup.sandbox.run(["login", "--api-url", api, "--zone", "second.test", "--origincert", certPath], environment: ["TUNNEL_API_TOKEN": token])
        #expect(login.status == 0, "\(login.stderr)")
        #expect(login.stderr.contains("You have successfully logged in."))
        try await Self.checkWithCloudflaredReader(api: api, certPath: certPath)
        let list = try await setup.sandbox.run(["tunnel", "--api-url", api, "--origincert", certPath, "list"])
        #expect(list.status == 0, "\(list.stderr)")

        // The certificate is listed; rolling the service token ends this cert.pem too.
        let certificates = try await setup.edgeCommand(["origin-cert", "list", "--account", "acme", "-o", "json"])
        let rows = try #require(try JSONSerialization.jsonObject(with: Data(certificates.stdout.utf8)) as? [[String: Any]])
        #expect(rows.count == 1 && rows[0]["zone"] as? String == "second.test" && rows[0]["issuedTo"] as? String == "service:ci")
        let roll = try await setup.edgeCommand(["token", "roll", "ci", "--account", "acme"])
        #expect(roll.status == 0 && roll.stdout.contains("rolled 2 tokens named ci"))
        let newToken = roll.stdout.split(separator: "\n").first { $0.hasPrefix("API token:") }.map { String($0.dropFirst("API token:".count)).trimmingCharacters(in: .whitespaces) } ?? ""
        let refused = try await setup.sandbox.run(["tunnel", "--api-url", api, "--origincert", certPath, "list"])
        #expect(refused.status == 1 && refused.stderr.contains("was rolled or revoked; move that file away and run `tunnelctl login`"))

        // A fresh login with the new token, then the administrator revokes its certificate.
        try FileManager.default.removeItem(atPath: certPath)
        let relogin = try await setup.sandbox.run(["login", "--api-url", api, "--api-token", newToken, "--zone", "second.test", "--origincert", certPath])
        #expect(relogin.status == 0, "\(relogin.stderr)")
        await #expect(try setup.sandbox.run(["tunnel", "--api-url", api, "--origincert", certPath, "list"]).status == 0)
        let second = try await setup.edgeCommand(["origin-cert", "list", "--account", "acme", "-o", "json"])
        let ids = (try JSONSerialization.jsonObject(with: Data(second.stdout.utf8)) as? [[String: Any]] ?? []).compactMap { $0["revokedAt"] == nil ? $0["id"] as? String : nil }
        let active = try #require(ids.last)
        let revoke = try await setup.edgeCommand(["origin-cert", "revoke", active])
        #expect(revoke.status == 0, "\(revoke.stderr)")
        await #expect(try setup.sandbox.run(["tunnel", "--api-url", api, "--origincert", certPath, "list"]).status == 1)
        let unknown = try await setup.edgeCommand(["origin-cert", "revoke", "00ff"])
        #expect(unknown.status == 1 && unknown.stderr.contains("No origin certificate 00ff"))
    }

    @Test("no approval: tunnelctl polls the given number of times, showing progress, then says what to do")
    func unapprovedLoginGivesUp() async throws {
        let setup = try await Setup()
        let config = setup.sandbox.pki.directory.appendingPathComponent("edge.yml")
        try "login:\n  pollHold: 1s\n".write(to: config, atomically: true, encoding: .utf8)
        let (edge, api) = try await setup.startEdge(["--config", config.path])
        defer { edge.process.stop() }
        let login = try await setup.sandbox.run(["login", "--api-url", api, "--no-browser", "--poll-attempts", "2"])
        #expect(login.status == 1)
        #expect(login.stderr.contains("Waiting for login... (1 of 2)") && login.stderr.contains("Waiting for login... (2 of 2)"))
        #expect(login.stderr.hasSuffix("error: Failed to fetch resource: the login was not approved within 2 polls; run `tunnelctl login` again\n"))
        #expect(!FileManager.default.fileExists(atPath: setup.defaultCertPath))
        let down = try await setup.sandbox.run(["login", "--api-url", "http://127.0.0.1:1/client/v4", "--no-browser"])
        #expect(down.status == 1 && down.stderr.contains("cannot reach the login store at http://127.0.0.1:1/login-store/"))
    }
}
