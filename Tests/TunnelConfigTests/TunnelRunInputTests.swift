import Foundation
import Testing
import TunnelCore

/// The pure parts of `tunnel run`: credential lookup order and the local configuration JSON.
@Suite struct TunnelRunInputTests {
    let credentials = TunnelCredentials(
        accountTag: "0123456789abcdef0123456789abcdef", tunnelSecret: TunnelSecret(base64: "AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA=")!,
        tunnelID: UUID(uuidString: "c1744f8b-faa1-48a4-9e5c-02ac921467fa")!)

    func settings(_ commandLine: [String: SettingValue], environment: [String: String] = [:], yaml: String? = nil) throws -> ResolvedSettings {
        let file = try yaml.flatMap { try TunnelConfigFile.parse($0, path: "c.yml") }
        return try SettingsResolver().resolve(commandLine: commandLine, environment: environment, file: file)
    }

    /// A locator over a fake file system holding `files`.
    func locator(_ files: Set<String>) -> CredentialLocator {
        CredentialLocator(home: "/home/u", isRegularFile: { files.contains($0) })
    }

    @Test func localConfigurationMatchesTheSpecExample() throws {
        let resolved = try settings(["url": .string("http://127.0.0.1:8080"), "protocol": .string("http2"), "no-autoupdate": .bool(true)])
        let json = LocalConfigurationJSON.encode(ingress: try resolved.effectiveIngress(), flags: LocalConfigurationJSON.flags(of: resolved))
        #expect(String(decoding: json, as: UTF8.self)
            == #"{"__configuration_flags":{"no-autoupdate":"true","protocol":"http2"},"ingress":[{"service":"http://127.0.0.1:8080","originRequest":{}}],"warp-routing":{}}"#)
    }

    @Test func localConfigurationRulesCarryNonDefaultOriginSettings() throws {
        let resolved = try settings([:], yaml: """
            originRequest:
              connectTimeout: 10s
            ingress:
              - hostname: app.example.com
                path: ^/api
                service: https://localhost:8443
                originRequest:
                  noTLSVerify: true
              - service: http_status:404
            """)
        let json = String(decoding: LocalConfigurationJSON.encode(ingress: try resolved.effectiveIngress()), as: UTF8.self)
        #expect(json == #"{"ingress":[{"hostname":"app.example.com","path":"^/api","service":"https://localhost:8443","originRequest":{"connectTimeout":10,"noTLSVerify":true}},{"service":"http_status:404","originRequest":{"connectTimeout":10}}],"warp-routing":{}}"#)
    }

    @Test func tokenWinsOverEverything() throws {
        let resolved = try settings(["credentials-file": .string("/nowhere.json")], environment: ["TUNNEL_TOKEN": credentials.token.encoded])
        let found = try TunnelRunCredentials.find(tunnelReference: "other", settings: resolved, locator: locator([]))
        #expect(found.credentials == credentials)
        #expect(found.source == "TUNNEL_TOKEN")
        #expect(found.fromToken)
    }

    @Test func invalidTokenSaysSoAndWhy() throws {
        let resolved = try settings(["token": .string("not a token")])
        #expect {
            _ = try TunnelRunCredentials.find(tunnelReference: nil, settings: resolved, locator: locator([]))
        } throws: { error in
            let description = "\(error)"
            return description.hasPrefix("Provided Tunnel token is not valid.") && description.contains("--token")
        }
    }

    @Test func searchesBesideTheOriginCertThenDefaultDirectories() throws {
        let id = "c1744f8b-faa1-48a4-9e5c-02ac921467fa"
        let files: Set<String> = ["/certs/cert.pem", "/certs/\(id).json", "/home/u/.cloudflared/\(id).json"]
        let path = try locator(files).credentialsFilePath(tunnelID: id, originCertPath: "/certs/cert.pem")
        #expect(path == "/certs/\(id).json")
        let fallback = try locator(files).credentialsFilePath(tunnelID: id, originCertPath: nil)
        #expect(fallback == "/home/u/.cloudflared/\(id).json")
    }

    @Test func missingCredentialsAndUnresolvableNames() throws {
        #expect(throws: TunnelRunError.credentials(.credentialsNotFound())) {
            _ = try TunnelRunCredentials.find(tunnelReference: "c1744f8b-faa1-48a4-9e5c-02ac921467fa", settings: try settings([:]), locator: locator([]))
        }
        #expect(throws: TunnelRunError.tunnelNameNeedsAPI("web")) {
            _ = try TunnelRunCredentials.find(tunnelReference: "web", settings: try settings([:]), locator: locator([]))
        }
        #expect(throws: TunnelRunError.missingTunnelReference()) {
            _ = try TunnelRunCredentials.find(tunnelReference: nil, settings: try settings([:]), locator: locator([]))
        }
    }

    @Test func credentialsContentsResolveANameToTheirTunnelID() throws {
        let resolved = try settings([:], environment: ["TUNNEL_CRED_CONTENTS": credentials.jsonEncoded])
        let found = try TunnelRunCredentials.find(tunnelReference: "web", settings: resolved, locator: locator([]))
        #expect(found.credentials.tunnelID == credentials.tunnelID)
        #expect(found.source == "TUNNEL_CRED_CONTENTS")
    }
}
