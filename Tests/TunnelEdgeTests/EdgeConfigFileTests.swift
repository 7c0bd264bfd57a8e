import Foundation
import Testing
import TunnelCore
import TunnelEdge

/// edge.yml parsing and turning it into a runnable setup: the documented example, defaults,
/// overrides, and errors that name the file, the key and the fix.
@Suite("edge.yml")
struct EdgeConfigFileTests {
    static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// A temporary directory, removed at the end of each test.
    final class Scratch {
        let path: String
        init() throws {
            path = FileManager.default.temporaryDirectory.appendingPathComponent("edge-config-\(UUID().uuidString.prefix(8))").path
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        }
        deinit { try? FileManager.default.removeItem(atPath: path) }

        func write(_ name: String, _ text: String) throws -> String {
            let file = path + "/" + name
            try text.write(toFile: file, atomically: true, encoding: .utf8)
            return file
        }
    }

    @Test("the commented example in Docs parses and sets every listener, limit and tunnel")
    func documentedExample() throws {
        let scratch = try Scratch()
        let text = try String(contentsOf: Self.packageRoot.appendingPathComponent("Docs/edge.example.yml"), encoding: .utf8)
        let path = try scratch.write("edge.yml", text)
        let setup = try EdgeConfigFile(contentsOfFile: path).setup(configPath: path)
        #expect(setup.stateDirectory == scratch.path + "/./edge-state")
        #expect(setup.generatedCAPath == setup.stateDirectory + "/ca.pem")
        #expect(FileManager.default.fileExists(atPath: setup.generatedCAPath ?? ""))
        let configuration = setup.configuration
        #expect(configuration.locationName == "LAB")
        #expect(configuration.connectorHost == "127.0.0.1" && configuration.connectorPort == 7844)
        #expect(configuration.visitorHost == "127.0.0.1" && configuration.visitorPort == 8080)
        #expect(configuration.visitorTLS?.port == 8443)
        #expect(configuration.gracePeriod == .seconds(30))
        #expect(configuration.visitorLimits == VisitorLimits())
        #expect(setup.tunnels.count == 1)
        let tunnel = try #require(setup.tunnels.first)
        #expect(tunnel.id.lowercasedString == "0d7c1c51-5d7c-4a29-9f1e-3b4e0c1f2a77")
        #expect(tunnel.hostnames == ["docs.example.test", "*.preview.example.test"])
        #expect(tunnel.secret.bytes.count == 34)
    }

    @Test("login and quickTunnels: the documented values, defaults, paths relative to edge.yml, bad values named")
    func loginAndQuickTunnels() throws {
        let scratch = try Scratch()
        let example = try scratch.write("edge.yml", try String(contentsOf: Self.packageRoot.appendingPathComponent("Docs/edge.example.yml"), encoding: .utf8))
        let documented = try EdgeConfigFile(contentsOfFile: example).setup(configPath: example)
        #expect(documented.loginOriginCA == nil && documented.login.certificateValidityDays == 3653)
        #expect(documented.login.pollHold == .seconds(50) && documented.login.lifetime == .seconds(600))
        #expect(documented.quickTunnels == QuickTunnelSettings(domain: "quick.localhost", perAddress: 10, lifetime: .seconds(86_400), connectWithin: .seconds(300), reconnectWithin: .seconds(30)))

        let custom = try scratch.write("custom.yml", """
            stateDirectory: state
            login:
              originCA: {certificate: ca/origin.pem, key: ca/origin.key}
              certificateValidityDays: 30
              pollHold: 2s
            quickTunnels: {domain: Quick.Example.com, perAddress: 1, lifetime: 1h}
            """)
        let setup = try EdgeConfigFile(contentsOfFile: custom).setup(configPath: custom)
        #expect(setup.loginOriginCA?.certificate == scratch.path + "/ca/origin.pem" && setup.loginOriginCA?.key == scratch.path + "/ca/origin.key")
        #expect(setup.login.certificateValidityDays == 30 && setup.login.pollHold == .seconds(2))
        #expect(setup.quickTunnels?.domain == "quick.example.com" && setup.quickTunnels?.perAddress == 1 && setup.quickTunnels?.lifetime == .seconds(3600))
        let off = try scratch.write("off.yml", "stateDirectory: state\nquickTunnels: {enabled: false}\n")
        #expect(try EdgeConfigFile(contentsOfFile: off).setup(configPath: off).quickTunnels == nil)

        for (yaml, key) in [
            ("login: {originCA: {certificate: a.pem}}", "login.originCA"),
            ("login: {certificateValidityDays: 0}", "login.certificateValidityDays"),
            ("login: {pollHold: 90s}", "login.pollHold"),
            ("login: {lifetime: 5s}", "login.lifetime"),
            ("quickTunnels: {domain: nodot}", "quickTunnels.domain"),
            ("quickTunnels: {perAddress: 0}", "quickTunnels.perAddress"),
            ("quickTunnels: {lifetime: soon}", "quickTunnels.lifetime"),
        ] {
            let path = try scratch.write("bad.yml", "stateDirectory: state\n" + yaml + "\n")
            #expect(throws: EdgeConfigError.self, "\(yaml)") { try EdgeConfigFile(contentsOfFile: path).setup(configPath: path) }
            do {
                _ = try EdgeConfigFile(contentsOfFile: path).setup(configPath: path)
            } catch {
                #expect(error.description.contains(key), "\(yaml): \(error)")
            }
        }
    }

    @Test("no file: loopback listeners on 7844 and 8080, a generated CA reused on the next start")
    func embeddedDefault() throws {
        let scratch = try Scratch()
        let first = try EdgeConfigFile().setup(stateDirectoryOverride: scratch.path + "/state")
        #expect(first.configuration.connectorPort == 7844 && first.configuration.visitorPort == 8080)
        #expect(first.configuration.connectorHost == "127.0.0.1")
        #expect(first.configuration.visitorTLS == nil)
        #expect(first.tunnels.isEmpty)
        let ca = try String(contentsOfFile: try #require(first.generatedCAPath), encoding: .utf8)
        let second = try EdgeConfigFile(yaml: "\n").setup(stateDirectoryOverride: scratch.path + "/state")
        #expect(try String(contentsOfFile: try #require(second.generatedCAPath), encoding: .utf8) == ca)
    }

    @Test("a tunnel from a cloudflared credentials file, relative to edge.yml")
    func credentialsFileTunnel() throws {
        let scratch = try Scratch()
        let id = UUID()
        let credentials = TunnelCredentials(accountTag: "0123456789abcdef0123456789abcdef", tunnelSecret: .random(), tunnelID: id)
        try credentials.write(to: scratch.path + "/\(id.lowercasedString).json")
        let path = try scratch.write("edge.yml", """
            stateDirectory: state
            tunnels:
              - credentialsFile: \(id.lowercasedString).json
                hostnames: [App.Example.Test]
              - id: \(UUID().lowercasedString)
                accountTag: abc
                secret: \(TunnelSecret.random().base64)
            """)
        let setup = try EdgeConfigFile(contentsOfFile: path).setup(configPath: path)
        #expect(setup.tunnels.count == 2)
        #expect(setup.tunnels[0].id == id && setup.tunnels[0].secret == credentials.tunnelSecret)
        #expect(setup.tunnels[0].hostnames == ["app.example.test"])
        #expect(setup.warnings.count == 1 && setup.warnings[0].contains("no hostnames"))
    }

    @Test("addresses: host:port, [v6]:port, :port, and rejects the rest")
    func addresses() {
        #expect(EdgeListenAddress.parse("127.0.0.1:7844")! == ("127.0.0.1", 7844))
        #expect(EdgeListenAddress.parse("[::1]:0")! == ("::1", 0))
        #expect(EdgeListenAddress.parse(":8080")! == ("0.0.0.0", 8080))
        #expect(EdgeListenAddress.parse("localhost:443")! == ("localhost", 443))
        for bad in ["127.0.0.1", "127.0.0.1:", "127.0.0.1:70000", "::1:80", "[::1]80", "a b:1", ""] {
            #expect(EdgeListenAddress.parse(bad) == nil, "\(bad)")
        }
    }

    @Test(
        "bad input names the file, the key and what to do",
        arguments: [
            ("connectors: [1, 2]", "connectors: expected a mapping"),
            ("connectors:\n  address: 127.0.0.1", "connectors.address: \"127.0.0.1\" is not host:port"),
            ("gracePeriod: soon", "gracePeriod: \"soon\" is not a duration"),
            ("limits:\n  maxConcurrentStreams: 0", "limits.maxConcurrentStreams: must be at least 1"),
            ("tunnels:\n  - id: nope\n    accountTag: a\n    secret: b", "tunnels[0].id: \"nope\" is not a UUID"),
            ("tunnels:\n  - id: 0d7c1c51-5d7c-4a29-9f1e-3b4e0c1f2a77\n    accountTag: a\n    secret: c2hvcnQ=", "tunnels[0].secret: not base64 of at least 32 bytes"),
            ("tunnels:\n  - hostnames: [a.test]", "tunnels[0]: needs credentialsFile, or id, accountTag and secret"),
            ("tunnels:\n  - credentialsFile: missing.json", "tunnels[0].credentialsFile:"),
            ("connectors:\n  certificate: missing.pem\n  key: missing.key", "missing.pem: cannot read (no such file)"),
            ("connectors:\n  certificate: edge.yml", "connectors: give both certificate and key"),
            ("tunnels: [", "edge.yml"),
        ])
    func badInput(yaml: String, expected: String) throws {
        let scratch = try Scratch()
        let path = try scratch.write("edge.yml", yaml)
        do {
            _ = try EdgeConfigFile(contentsOfFile: path).setup(configPath: path, stateDirectoryOverride: scratch.path + "/state")
            Issue.record("accepted: \(yaml)")
        } catch {
            #expect(error.description.contains(expected), "\(error.description)")
            #expect(error.description.contains(scratch.path), "the error names the file: \(error.description)")
            #expect(!error.description.contains("\n"))
        }
    }

    @Test("a certificate that is not PEM, and a key file that is not a key")
    func badCertificates() throws {
        let scratch = try Scratch()
        _ = try scratch.write("garbage.pem", "hello")
        let state = scratch.path + "/state"
        let pki = try EdgePKI.loadOrCreate(in: state)
        for (certificate, key, expected) in [
            ("garbage.pem", pki.keyPath, "garbage.pem: not a PEM certificate chain"),
            (pki.certificatePath, "garbage.pem", "garbage.pem: not a PEM private key"),
        ] {
            let path = try scratch.write("edge.yml", "connectors:\n  certificate: \(certificate)\n  key: \(key)\n")
            #expect(throws: EdgeConfigError.self) { try EdgeConfigFile(contentsOfFile: path).setup(configPath: path) }
            do {
                _ = try EdgeConfigFile(contentsOfFile: path).setup(configPath: path)
            } catch {
                #expect(error.description.contains(expected), "\(error.description)")
            }
        }
    }
}
