import Foundation
import Testing
import TunnelCore
import TunnelTesting

/// The control plane through `tunnelctl` subprocesses against a real `tunnelctl edge serve`
/// with its SQLite file: admin commands on the edge host, the tunnel commands over the API,
/// restarts between steps, revocation of a running `tunnel run`, the audit log, the
/// credentials-only user, and cloudflared's exact requests and schemathesis against the API.
@Suite("tunnelctl control plane", .serialized)
struct EdgeControlPlaneCommandTests {
    typealias Run = TunnelRunCommandTests
    typealias Serve = EdgeServeCommandTests

    /// An edge process with its state directory, and what the admin commands printed.
    struct Deployment {
        let sandbox: Run.Sandbox
        let state: String
        let certPath: String
        let accountID: String
        let token: String
        let tokenID: String
        let zoneID: String

        /// `edge account create` before the edge runs (the admin talks to the store directly).
        static func create(_ sandbox: Run.Sandbox) async throws -> Deployment {
            let state = sandbox.pki.directory.appendingPathComponent("state").path
            let certPath = sandbox.home.appendingPathComponent(".cloudflared/cert.pem").path
            try FileManager.default.createDirectory(atPath: (certPath as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            let output = try await sandbox.run(["edge", "account", "create", "acme", "--zone", "example.test", "--state-dir", state, "--cert-out", certPath])
            #expect(output.status == 0, "\(output.stderr)")
            func value(_ label: String) -> String {
                output.stdout.split(separator: "\n").first { $0.hasPrefix(label) }.map { String($0.dropFirst(label.count)).trimmingCharacters(in: .whitespaces) } ?? ""
            }
            let zone = value("zone:").split(separator: " ").last.map(String.init) ?? ""
            return Deployment(sandbox: sandbox, state: state, certPath: certPath, accountID: value("account ID:"), token: value("API token:"), tokenID: value("token ID:"), zoneID: zone)
        }

        func startEdge() async throws -> (Serve.RunningEdge, api: String) {
            let edge = try await Serve.RunningEdge.start(sandbox, ["--state-dir", state])
            let line = edge.process.outputLines.first { $0.hasPrefix("control-plane API on ") } ?? ""
            let api = String(line.dropFirst("control-plane API on ".count).prefix { $0 != " " })
            return (edge, api)
        }

        /// `tunnelctl tunnel --api-url API ARGS…` with cert.pem found in ~/.cloudflared.
        func tunnel(_ api: String, _ arguments: [String]) async throws -> TunnelctlProcess.Output {
            try await sandbox.run(["tunnel", "--api-url", api] + arguments)
        }
    }

    @Test("admin commands, then every tunnel command against edge serve, with restarts between steps")
    func lifecycle() async throws {
        let sandbox = try Run.Sandbox()
        let deployment = try await Deployment.create(sandbox)
        #expect(deployment.accountID.count == 32 && !deployment.token.isEmpty)
        let accounts = try await sandbox.run(["edge", "account", "list", "--state-dir", deployment.state])
        #expect(accounts.stdout.contains("acme") && accounts.stdout.contains("example.test"))

        var (edge, api) = try await deployment.startEdge()
        #expect(api.hasPrefix("http://127.0.0.1:") && api.hasSuffix("/client/v4"))
        let created = try await deployment.tunnel(api, ["create", "web"])
        #expect(created.status == 0, "\(created.stderr)")
        let lines = created.stdout.split(separator: "\n", omittingEmptySubsequences: false)
        let id = try #require(lines.last { $0.hasPrefix("Created tunnel web with id ") }.map { String($0.dropFirst("Created tunnel web with id ".count)) })
        let credentialsPath = (deployment.certPath as NSString).deletingLastPathComponent + "/\(id).json"
        #expect(lines.first == "Tunnel credentials written to \(credentialsPath). tunnelctl chose this file based on where your origin certificate was found. Keep this file secret. To revoke these credentials, delete the tunnel.")
        let credentials = try TunnelCredentials(contentsOfFile: credentialsPath)
        #expect(credentials.accountTag == deployment.accountID && credentials.tunnelID?.lowercasedString == id)
        #expect((try FileManager.default.attributesOfItem(atPath: credentialsPath)[.posixPermissions] as? Int) == 0o400)
        let duplicate = try await deployment.tunnel(api, ["create", "web"])
        #expect(duplicate.status == 1 && duplicate.stderr.contains("tunnel with name already exists"))

        // A restart loses nothing.
        edge.process.signal(SIGTERM)
        #expect(await edge.process.waitForExit(timeout: .seconds(20)) == 0)
        (edge, api) = try await deployment.startEdge()
        defer { edge.process.stop() }

        let list = try await deployment.tunnel(api, ["list"])
        #expect(list.status == 0, "\(list.stderr)")
        let table = list.stdout.split(separator: "\n").map(String.init)
        #expect(table.first == "You can obtain more detailed information for each tunnel with `tunnelctl tunnel info <name/uuid>`")
        #expect(table.count == 3 && table[1].hasPrefix("ID ") && table[1].hasSuffix("CONNECTIONS ") && table[2].hasPrefix("\(id) web "))
        let json = try await deployment.tunnel(api, ["list", "-o", "json"])
        let listed = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [[String: Any]])
        #expect(listed.count == 1 && listed[0]["id"] as? String == id && listed[0]["deleted_at"] as? String == "0001-01-01T00:00:00Z")
        let info = try await deployment.tunnel(api, ["info", "web"])
        #expect(info.stdout == "Your tunnel \(id) does not have any active connection.\n")

        let token = try await deployment.tunnel(api, ["token", "web"])
        #expect(try TunnelToken(token.stdout.trimmingCharacters(in: .whitespacesAndNewlines)).credentials == credentials)
        let written = sandbox.pki.directory.appendingPathComponent("from-token.json").path
        await #expect(try deployment.tunnel(api, ["token", "--cred-file", written, id]).status == 0)
        #expect(try TunnelCredentials(contentsOfFile: written) == credentials)

        // Run it, look at it, revoke it while it runs.
        let (origin, originPort) = try await Run.startOrigin()
        defer { origin.stop() }
        let runner = try sandbox.start([
            "tunnel", "--edge", "127.0.0.1:\(edge.connectorPort)", "--cacert", try #require(edge.caPath), "run",
            "--credentials-file", credentialsPath, "--url", "http://127.0.0.1:\(originPort)", "--metrics", "127.0.0.1:0", id,
        ])
        defer { runner.stop() }
        try await Run.waitForRegistrations(runner, count: 4)
        let running = try await deployment.tunnel(api, ["list"])
        #expect(running.stdout.contains("4xSELF"))
        let details = try await deployment.tunnel(api, ["info", id])
        let detailLines = details.stdout.split(separator: "\n").map(String.init)
        #expect(detailLines.first == "NAME:     web" && detailLines.contains("ID:       \(id)"))
        #expect(detailLines.contains { $0.hasPrefix("CONNECTOR ID ") && $0.contains(" ORIGIN IP ") && $0.trimmingCharacters(in: .whitespaces).hasSuffix(" EDGE") })
        #expect(detailLines.contains { $0.contains(" 127.0.0.1 ") && $0.hasSuffix("4xSELF ") })
        let visit = try await Run.result(of: try PeerProcess("curl", ["-sS", "-o", "/dev/null", "-w", "%{http_code} %{size_download}\n", "-H", "Host: \(id).cfargotunnel.com", "http://127.0.0.1:\(edge.visitorPort)/bytes/1000"]))
        #expect(visit.status == 200 && visit.size == 1000)

        // Route a hostname of the zone to it: visitors of that name reach it at once.
        let routed = try await deployment.tunnel(api, ["route", "dns", "web", "app.example.test"])
        #expect(routed.status == 0, "\(routed.stderr)")
        #expect(routed.stderr.contains(" INF Added CNAME app.example.test which will route to this tunnel tunnelID=\(id)"), "\(routed.stderr)")
        let again = try await deployment.tunnel(api, ["route", "dns", id, "app"])
        #expect(again.stderr.contains(" INF app.example.test is already configured to route to your tunnel tunnelID=\(id)"), "\(again.stderr)")
        let outside = try await deployment.tunnel(api, ["route", "dns", "web", "app.elsewhere.test"])
        #expect(outside.status == 1 && outside.stderr.contains("not in a zone of this account (example.test)"), "\(outside.stderr)")
        let byName = try await Run.result(of: try PeerProcess("curl", ["-sS", "-o", "/dev/null", "-w", "%{http_code} %{size_download}\n", "-H", "Host: app.example.test", "http://127.0.0.1:\(edge.visitorPort)/bytes/2000"]))
        #expect(byName.status == 200 && byName.size == 2000)

        let refused = try await deployment.tunnel(api, ["delete", "web"])
        #expect(refused.status == 1 && refused.stderr.contains("has active connections"), "\(refused.stderr)")
        let deleted = try await deployment.tunnel(api, ["delete", "-f", "web"])
        #expect(deleted.status == 0, "\(deleted.stderr)")
        #expect(deleted.stdout.isEmpty)
        #expect(!FileManager.default.fileExists(atPath: credentialsPath))
        #expect(await runner.waitForExit(timeout: .seconds(15)) == 1)
        #expect(runner.outputLines.contains { $0.contains("has been deleted") })
        let gone = try await Run.result(of: try PeerProcess("curl", ["-sS", "-o", "/dev/null", "-w", "%{http_code} %{size_download}\n", "-H", "Host: \(id).cfargotunnel.com", "http://127.0.0.1:\(edge.visitorPort)/"]))
        #expect(gone.status == 530)
        let deletedAgain = try await deployment.tunnel(api, ["delete", id])
        #expect(deletedAgain.status == 1 && deletedAgain.stderr.contains("Tunnel \(id) has already been deleted"))
        let withDeleted = try await deployment.tunnel(api, ["list", "-d"])
        #expect(withDeleted.stdout.contains(id))
        await #expect(try deployment.tunnel(api, ["list"]).stdout == "No tunnels were found for the given filter flags. You can use 'tunnelctl tunnel create' to create a tunnel.\n")

        // The audit log, after another restart.
        edge.process.signal(SIGTERM)
        #expect(await edge.process.waitForExit(timeout: .seconds(20)) == 0)
        let audit = try await sandbox.run(["edge", "audit", "--state-dir", deployment.state, "--tunnel", id, "-o", "json"])
        #expect(audit.status == 0, "\(audit.stderr)")
        let events = try #require(try JSONSerialization.jsonObject(with: Data(audit.stdout.utf8)) as? [[String: Any]])
        let actions = events.compactMap { $0["action"] as? String }
        #expect(actions.first == "tunnel.created" && actions.contains("tunnel.deleted") && actions.contains("dns.cname_added"))
        #expect(actions.filter { $0 == "tunnel.registered" }.count == 4)
        #expect(actions.filter { $0 == "tunnel.unregistered" }.count == 4)
        let registered = try #require(events.first { $0["action"] as? String == "tunnel.registered" }?["metadata"] as? [String: String])
        #expect(registered["origin_ip"] == "127.0.0.1" && registered["location"] == "SELF" && registered["client_version"]?.hasPrefix("tunnelctl-") == true)
        let recent = try await sandbox.run(["edge", "audit", "--state-dir", deployment.state, "--since", "1h"])
        #expect(recent.stdout.split(separator: "\n").first?.hasPrefix("TIME ") == true && recent.stdout.contains("token.created"))
    }

    @Test("a revoked API token and a user with only a credentials file: one line saying what is needed")
    func permissions() async throws {
        let sandbox = try Run.Sandbox()
        let deployment = try await Deployment.create(sandbox)
        let (edge, api) = try await deployment.startEdge()
        defer { edge.process.stop() }
        await #expect(try deployment.tunnel(api, ["create", "web"]).status == 0)

        // Someone who was handed only the credentials file (no cert.pem anywhere).
        let other = try Run.Sandbox()
        for command in [["list"], ["create", "x"], ["info", "web"], ["delete", "web"], ["token", "web"], ["cleanup", "web"]] {
            let output = try await other.run(["tunnel", "--api-url", api] + command)
            #expect(output.status == 1, "\(command)")
            let lines = output.stderr.split(separator: "\n")
            #expect(lines.count == 1, "\(output.stderr)")
            #expect(output.stderr.contains("needs an origin certificate (cert.pem)") && output.stderr.contains("tunnelctl edge token create"), "\(output.stderr)")
            #expect(output.stderr.contains("tunnelctl tunnel run"))
        }

        // A revoked token: the same cert.pem stops working at once.
        let revoke = try await sandbox.run(["edge", "token", "revoke", deployment.tokenID, "--state-dir", deployment.state])
        #expect(revoke.status == 0, "\(revoke.stderr)")
        let refused = try await deployment.tunnel(api, ["list"])
        #expect(refused.status == 1 && refused.stderr == "error: the API token in \(deployment.certPath) was rolled or revoked; move that file away and run `tunnelctl login` to get a new cert.pem\n", "\(refused.stderr)")
        let create = try await deployment.tunnel(api, ["create", "y"])
        #expect(create.status == 1 && create.stderr.contains("was rolled or revoked"))
        // A token the control plane never issued: cloudflared drops the JSON error of a list page
        // and says only "unauthorized"; we show it.
        let forgedPath = sandbox.pki.directory.appendingPathComponent("forged.pem").path
        try OriginCertificate(zoneID: deployment.zoneID, accountID: deployment.accountID, apiToken: RedactedString("forged")).pemEncoded()
            .write(toFile: forgedPath, atomically: true, encoding: .utf8)
        let forged = try await sandbox.run(["tunnel", "--api-url", api, "--origincert", forgedPath, "list"])
        #expect(forged.status == 1 && forged.stderr == "error: Error Parsing page 1: code: 10000, reason: Authentication error (this control plane does not know the API token in cert.pem: check --api-url, or get a new cert.pem with `tunnelctl login`)\n", "\(forged.stderr)")
        // A service token issued by the admin works, written as a cert.pem.
        let servicePath = sandbox.pki.directory.appendingPathComponent("service.pem").path
        let service = try await sandbox.run(["edge", "token", "create", "--account", "acme", "--service", "ci", "--cert-out", servicePath, "--state-dir", deployment.state])
        #expect(service.status == 0, "\(service.stderr)")
        let listed = try await sandbox.run(["tunnel", "--api-url", api, "--origincert", servicePath, "list"])
        #expect(listed.status == 0 && listed.stdout.contains(" web "), "\(listed.stderr)")
        // An API that is not there: one line naming --api-url.
        let nowhere = try await deployment.tunnel("http://127.0.0.1:1/client/v4", ["list"])
        #expect(nowhere.status == 1 && nowhere.stderr.contains("--api-url"))
    }

    @Test("cloudflared's exact requests (lifecycle, errors, pagination) and schemathesis against the live API")
    func independentClients() async throws {
        let sandbox = try Run.Sandbox()
        let deployment = try await Deployment.create(sandbox)
        let (edge, api) = try await deployment.startEdge()
        defer { edge.process.stop() }
        let python = PeerProcess.python(packageRoot: Run.packageRoot)
        let peers = Run.packageRoot.appendingPathComponent("Tests/TunnelControlTests/Peers")
        for scenario in [["lifecycle"], ["errors"], ["paginate", "45"], ["route", deployment.zoneID]] {
            let client = try PeerProcess(python, [peers.appendingPathComponent("cloudflared_api.py").path, api, deployment.token, deployment.accountID] + scenario)
            let status = await client.waitForExit(timeout: .seconds(120))
            #expect(status == 0, "\(scenario): \(client.outputLines.suffix(10).joined(separator: "\n"))")
        }
        let spec = Run.packageRoot.appendingPathComponent("Docs/openapi.yaml").path
        let validate = try PeerProcess(python, ["-c", "import sys, yaml; from openapi_spec_validator import validate; validate(yaml.safe_load(open(sys.argv[1]))); print('valid')", spec])
        #expect(await validate.waitForExit(timeout: .seconds(60)) == 0, "\(validate.outputLines.suffix(10).joined(separator: "\n"))")
        let schemathesis = try PeerProcess("bash", [peers.appendingPathComponent("run_schemathesis.sh").path, spec, api, deployment.token, deployment.accountID],
                                           environment: [
                                               "SCHEMATHESIS": python.contains("/") ? (python as NSString).deletingLastPathComponent + "/schemathesis" : "schemathesis",
                                               "ST_ZONE_ID": deployment.zoneID,
                                           ])
        let status = await schemathesis.waitForExit(timeout: .seconds(300))
        #expect(status == 0, "\(schemathesis.outputLines.suffix(40).joined(separator: "\n"))")
        // No request made the server fail: nothing was logged at error level.
        #expect(!edge.process.outputLines.contains { $0.contains(" ERR ") && $0.contains("API request failed") })
    }

    @Test("1000 running tunnels: tunnel-load connects 1000 tunnels to edge serve, the 1001st is refused for good")
    func thousandRunningTunnels() async throws {
        let sandbox = try Run.Sandbox()
        let deployment = try await Deployment.create(sandbox)
        let (edge, api) = try await deployment.startEdge()
        defer { edge.process.stop() }
        let load = try PeerProcess(TunnelctlProcess.executableURL.deletingLastPathComponent().appendingPathComponent("tunnel-load").path, [
            "--api-url", api, "--origincert", deployment.certPath, "--edge", "127.0.0.1:\(edge.connectorPort)",
            "--cacert", try #require(edge.caPath), "--tunnels", "1000", "--connections", "1", "--extra", "1", "--list-rounds", "2",
        ])
        defer { load.stop() }
        let status = await load.waitForExit(timeout: .seconds(300))
        #expect(status == 0, "\(load.outputLines.suffix(20).joined(separator: "\n"))")
        let line = try #require(load.outputLines.last { $0.hasPrefix("{") })
        let report = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        print("thousandRunningTunnels: \(line)")
        #expect(report["registered_connections"] as? Int == 1000)
        #expect(report["listed"] as? Int == 1001)
        #expect(report["extra_refused"] as? Int == 1 && report["extra_accepted"] as? Int == 0)
        #expect((report["extra_refusal"] as? String)?.contains("already runs 1000 tunnels, its limit") == true)
    }

    @Test("revocation with the reference connector: delete -f drops its connections and its reconnects are refused")
    func revocationWithReferenceConnector() async throws {
        let sandbox = try Run.Sandbox()
        let deployment = try await Deployment.create(sandbox)
        let (edge, api) = try await deployment.startEdge()
        defer { edge.process.stop() }
        let created = try await deployment.tunnel(api, ["create", "peer"])
        #expect(created.status == 0, "\(created.stderr)")
        let id = try #require(created.stdout.split(separator: " ").last.map { $0.trimmingCharacters(in: .whitespacesAndNewlines) })
        let credentialsPath = (deployment.certPath as NSString).deletingLastPathComponent + "/\(id).json"
        let (origin, originPort) = try await Run.startOrigin()
        defer { origin.stop() }
        let script = PeerProcess.peersDirectory(packageRoot: Run.packageRoot).appendingPathComponent("connector_peer.py").path
        let peer = try PeerProcess(PeerProcess.python(packageRoot: Run.packageRoot), [
            script, "--edge", "127.0.0.1:\(edge.connectorPort)", "--edge", "127.0.0.1:\(edge.connectorPort)",
            "--cacert", try #require(edge.caPath), "--credentials-file", credentialsPath, "--url", "http://127.0.0.1:\(originPort)", "--grace-period", "2s",
        ])
        defer { peer.stop() }
        _ = try await peer.waitForLine(timeout: .seconds(30)) { $0.contains("Registered tunnel connection") && $0.contains("connIndex=1") }
        let before = try await Run.result(of: try PeerProcess("curl", ["-sS", "-o", "/dev/null", "-w", "%{http_code} %{size_download}\n", "-H", "Host: \(id).cfargotunnel.com", "http://127.0.0.1:\(edge.visitorPort)/bytes/100"]))
        #expect(before.status == 200 && before.size == 100)

        await #expect(try deployment.tunnel(api, ["delete", "-f", id]).status == 0)
        // Both connections dropped; the peer's reconnect is refused with the edge's reason.
        let refusal = try await peer.waitForLine(timeout: .seconds(30)) { $0.contains("Register tunnel error from server side") }
        #expect(refusal.contains("has been deleted"), "\(refusal)")
        let after = try await Run.result(of: try PeerProcess("curl", ["-sS", "-o", "/dev/null", "-w", "%{http_code} %{size_download}\n", "-H", "Host: \(id).cfargotunnel.com", "http://127.0.0.1:\(edge.visitorPort)/"]))
        #expect(after.status == 530)
        let info = try await deployment.tunnel(api, ["info", id])
        #expect(info.stdout == "Your tunnel \(id) does not have any active connection.\n")
    }

    /// `dig @127.0.0.1 -p PORT ARGS…`, its output lines.
    static func dig(_ port: Int, _ arguments: [String]) async throws -> [String] {
        let process = try PeerProcess("dig", ["@127.0.0.1", "-p", "\(port)", "+time=5", "+tries=1"] + arguments)
        #expect(await process.waitForExit(timeout: .seconds(30)) == 0, "dig \(arguments): \(process.outputLines.joined(separator: "\n"))")
        return process.outputLines
    }

    @Test("the edge's DNS server answers dig: routes as CNAME + address, the flattened apex, NS/SOA, NXDOMAIN, REFUSED, TCP, truncation")
    func authoritativeDNS() async throws {
        let sandbox = try Run.Sandbox()
        let deployment = try await Deployment.create(sandbox)
        // 30 IPv6 addresses for the tunnel domain: their AAAA answer does not fit 512 bytes.
        let v6 = (1...30).map { "\"2001:db8::\($0)\"" }.joined(separator: ", ")
        let config = sandbox.pki.directory.appendingPathComponent("edge.yml").path
        try "tunnelDomain: tunnels.test\ndns:\n  address: 127.0.0.1:0\n  addresses: [127.0.0.1, \(v6)]\n  nameServers: [ns1.tunnels.test]\n"
            .write(toFile: config, atomically: true, encoding: .utf8)
        let edge = try await Serve.RunningEdge.start(sandbox, ["--state-dir", deployment.state, "--config", config])
        defer { edge.process.stop() }
        let dnsLine = try #require(edge.process.outputLines.first { $0.hasPrefix("DNS on 127.0.0.1:") })
        let port = try #require(Int(dnsLine.dropFirst("DNS on 127.0.0.1:".count).prefix { $0.isNumber }))
        let apiLine = try #require(edge.process.outputLines.first { $0.hasPrefix("control-plane API on ") })
        let api = String(apiLine.dropFirst("control-plane API on ".count).prefix { $0 != " " })
        let created = try await deployment.tunnel(api, ["create", "web"])
        let id = try #require(created.stdout.split(separator: " ").last.map { $0.trimmingCharacters(in: .whitespacesAndNewlines) })
        await #expect(try deployment.tunnel(api, ["route", "dns", "web", "app"]).status == 0)
        await #expect(try deployment.tunnel(api, ["route", "dns", "web", "example.test"]).status == 0)

        let route = try await Self.dig(port, ["app.example.test", "A", "+noall", "+answer"])
        #expect(route.contains { $0.hasPrefix("app.example.test.") && $0.hasSuffix("CNAME\t\(id).tunnels.test.") }, "\(route)")
        #expect(route.contains { $0.hasPrefix("\(id).tunnels.test.") && $0.split(whereSeparator: \.isWhitespace).suffix(2) == ["A", "127.0.0.1"] }, "\(route)")
        #expect(try await Self.dig(port, ["example.test", "A", "+short"]) == ["127.0.0.1"])
        #expect(try await Self.dig(port, ["example.test", "NS", "+short"]) == ["ns1.tunnels.test."])
        #expect(try await Self.dig(port, ["example.test", "SOA", "+short"]).first?.hasPrefix("ns1.tunnels.test. hostmaster.tunnels.test. ") == true)
        let missing = try await Self.dig(port, ["nope.example.test", "A"])
        #expect(missing.contains { $0.contains("status: NXDOMAIN") } && missing.contains { $0.contains("flags: qr aa") })
        #expect(try await Self.dig(port, ["example.org", "A"]).contains { $0.contains("status: REFUSED") })
        #expect(try await Self.dig(port, ["app.example.test", "A", "+tcp", "+short"]) == ["\(id).tunnels.test.", "127.0.0.1"])
        // Too big for 512 bytes: TC over UDP, the whole answer after dig's TCP retry.
        let cut = try await Self.dig(port, ["\(id).tunnels.test", "AAAA", "+noedns", "+ignore"])
        #expect(cut.contains { $0.contains("flags: qr aa tc") }, "\(cut)")
        let whole = try await Self.dig(port, ["\(id).tunnels.test", "AAAA", "+noedns", "+short"])
        #expect(whole.count == 30, "\(whole)")
        // A new route answers at once.
        await #expect(try deployment.tunnel(api, ["route", "dns", "web", "new"]).status == 0)
        #expect(try await Self.dig(port, ["new.example.test", "CNAME", "+short"]) == ["\(id).tunnels.test."])
    }

    @Test("record GC with a short period and an edge restart in between: the route of a tunnel that never ran goes, audited")
    func recordCollectionAcrossRestart() async throws {
        let sandbox = try Run.Sandbox()
        let deployment = try await Deployment.create(sandbox)
        let config = sandbox.pki.directory.appendingPathComponent("edge.yml").path
        try "recordGC: {after: 3s, every: 1s}\ndns: {address: \"127.0.0.1:0\"}\n".write(toFile: config, atomically: true, encoding: .utf8)
        var edge = try await Serve.RunningEdge.start(sandbox, ["--state-dir", deployment.state, "--config", config])
        let apiLine = try #require(edge.process.outputLines.first { $0.hasPrefix("control-plane API on ") })
        let api = String(apiLine.dropFirst("control-plane API on ".count).prefix { $0 != " " })
        await #expect(try deployment.tunnel(api, ["create", "idle"]).status == 0)
        await #expect(try deployment.tunnel(api, ["route", "dns", "idle", "idle"]).status == 0)
        edge.process.signal(SIGTERM)
        #expect(await edge.process.waitForExit(timeout: .seconds(20)) == 0)

        edge = try await Serve.RunningEdge.start(sandbox, ["--state-dir", deployment.state, "--config", config])
        defer { edge.process.stop() }
        let dnsLine = try #require(edge.process.outputLines.first { $0.hasPrefix("DNS on 127.0.0.1:") })
        let port = try #require(Int(dnsLine.dropFirst("DNS on 127.0.0.1:".count).prefix { $0.isNumber }))
        // Wait (bounded) for the sweep that comes once the route is 3 s old.
        let deadline = ContinuousClock.now + .seconds(20)
        var answer: [String] = []
        repeat {
            answer = try await Self.dig(port, ["idle.example.test", "CNAME", "+short"])
            if answer.isEmpty { break }
            try await Task.sleep(for: .milliseconds(250))
        } while ContinuousClock.now < deadline
        #expect(answer.isEmpty, "the route is still there: \(answer)")
        edge.process.signal(SIGTERM)
        #expect(await edge.process.waitForExit(timeout: .seconds(20)) == 0)
        let audit = try await sandbox.run(["edge", "audit", "--state-dir", deployment.state, "-o", "json"])
        let events = try #require(try JSONSerialization.jsonObject(with: Data(audit.stdout.utf8)) as? [[String: Any]])
        let removal = try #require(events.first { $0["action"] as? String == "dns.record_removed" })
        #expect((removal["metadata"] as? [String: String])?["hostname"] == "idle.example.test")
    }

    @Test("a zone hosted elsewhere: route dns writes the CNAME at its BIND9 server with TSIG, prints it without a provider, and a wrong key fails clearly")
    func partialZone() async throws {
        let secret = Base64.encode((0..<32).map { UInt8(truncatingIfNeeded: $0 &* 11 &+ 5) })
        let bind = try await BindServer(zone: "example.test", records: [], updateKey: ("update-key", secret))
        defer { bind.stop() }
        let sandbox = try Run.Sandbox()
        let deployment = try await Deployment.create(sandbox)
        let set = try await sandbox.run(["edge", "zone", "set", "example.test", "--hosted-elsewhere", "--rfc2136", "127.0.0.1:\(bind.port)",
                                   "--tsig-key", "update-key", "--tsig-secret", secret, "--state-dir", deployment.state])
        #expect(set.status == 0, "\(set.stderr)")
        let (edge, api) = try await deployment.startEdge()
        defer { edge.process.stop() }
        let created = try await deployment.tunnel(api, ["create", "web"])
        let id = try #require(created.stdout.split(separator: " ").last.map { $0.trimmingCharacters(in: .whitespacesAndNewlines) })

        let routed = try await deployment.tunnel(api, ["route", "dns", "web", "app"])
        #expect(routed.status == 0, "\(routed.stderr)")
        #expect(routed.stderr.contains("example.test is hosted elsewhere: app.example.test CNAME \(id).cfargotunnel.com is set at 127.0.0.1:\(bind.port)"), "\(routed.stderr)")
        #expect(routed.stderr.contains("Added CNAME app.example.test which will route to this tunnel"))
        #expect(try await Self.dig(bind.port, ["app.example.test", "CNAME", "+short"]) == ["\(id).cfargotunnel.com."])
        await #expect(try deployment.tunnel(api, ["route", "dns", "web", "app"]).stderr.contains("is already configured"))

        // Without a provider the record to create is printed.
        await #expect(try sandbox.run(["edge", "zone", "set", "example.test", "--hosted-elsewhere", "--state-dir", deployment.state]).status == 0)
        let printed = try await deployment.tunnel(api, ["route", "dns", "web", "other"])
        #expect(printed.stderr.contains("create a CNAME record at its DNS provider: other.example.test. 300 IN CNAME \(id).cfargotunnel.com."), "\(printed.stderr)")

        // A wrong secret: refused with the reason, nothing written.
        let wrong = Base64.encode((0..<32).map { UInt8($0) })
        await #expect(try sandbox.run(["edge", "zone", "set", "example.test", "--hosted-elsewhere", "--rfc2136", "127.0.0.1:\(bind.port)",
                                 "--tsig-key", "update-key", "--tsig-secret", wrong, "--state-dir", deployment.state]).status == 0)
        let refused = try await deployment.tunnel(api, ["route", "dns", "web", "bad"])
        #expect(refused.status == 1 && refused.stderr.contains("did not take the record") && refused.stderr.contains("TSIG"), "\(refused.stderr)")
        #expect(try await Self.dig(bind.port, ["bad.example.test", "CNAME", "+short"]).isEmpty)
        let zones = try await sandbox.run(["edge", "zone", "list", "--state-dir", deployment.state])
        #expect(zones.stdout.contains("elsewhere, RFC 2136 at 127.0.0.1:\(bind.port) key update-key"))
    }
}
