import Testing
import TunnelCore

@Suite struct SettingsResolverTests {
    let resolver = SettingsResolver()

    func file(_ yaml: String) throws -> TunnelConfigFile {
        try #require(try TunnelConfigFile.parse(yaml, path: "c.yml"))
    }

    @Test func commandLineBeatsEnvironmentBeatsFileBeatsDefault() throws {
        let config = try file("loglevel: warn\nretries: 9\nmetrics: localhost:1\nprotocol: http2\n")
        let settings = try resolver.resolve(
            commandLine: ["loglevel": .string("debug")],
            environment: ["TUNNEL_LOGLEVEL": "error", "TUNNEL_RETRIES": "3"],
            file: config)
        #expect(settings["loglevel"] == ResolvedSetting(value: .string("debug"), source: .commandLine))
        #expect(settings["retries"] == ResolvedSetting(value: .int(3), source: .environment("TUNNEL_RETRIES")))
        #expect(settings["metrics"] == ResolvedSetting(value: .string("localhost:1"), source: .configFile))
        #expect(settings["grace-period"] == ResolvedSetting(value: .duration(.seconds(30)), source: .defaultValue))
        #expect(settings.string("protocol") == "http2")
        #expect(settings.isSet("protocol"))
        #expect(!settings.isSet("grace-period"))
    }

    @Test func emptyEnvironmentVariableStillBlocksTheFile() throws {
        let config = try file("url: http://localhost:9000\nno-autoupdate: true\nretries: 7\n")
        let settings = try resolver.resolve(
            commandLine: [:], environment: ["TUNNEL_URL": "", "NO_AUTOUPDATE": "", "TUNNEL_RETRIES": ""], file: config)
        // Strings: the empty value counts as set.
        #expect(settings["url"] == ResolvedSetting(value: .string(""), source: .environment("TUNNEL_URL")))
        // Bools and ints: not set, and the file value is ignored.
        #expect(settings["no-autoupdate"] == ResolvedSetting(value: .bool(false), source: .defaultValue))
        #expect(settings["retries"] == ResolvedSetting(value: .int(5), source: .defaultValue))
    }

    @Test func zeroValuesInTheFileHaveNoEffect() throws {
        let config = try file("management-diagnostics: false\nha-connections: 0\nurl: \"\"\ngrace-period: 0s\ntag: []\n")
        let settings = try resolver.resolve(commandLine: [:], environment: [:], file: config)
        #expect(settings.bool("management-diagnostics") == true)
        #expect(settings.int("ha-connections") == 4)
        #expect(!settings.isSet("url"))
        #expect(settings.duration("grace-period") == .seconds(30))
        #expect(settings.stringList("tag") == [])
    }

    @Test func secondEnvironmentVariableAndLists() throws {
        let settings = try resolver.resolve(
            commandLine: [:], environment: ["TUNNEL_TRANSPORT_LOGLEVEL": "debug", "TUNNEL_TAG": "a=1, b=2"], file: nil)
        #expect(settings.string("transport-loglevel") == "debug")
        #expect(settings.stringList("tag") == ["a=1", "b=2"])
    }

    @Test func plainFlagsIgnoreTheFile() throws {
        let settings = try resolver.resolve(commandLine: [:], environment: [:], file: try file("config: /x.yml\n"))
        #expect(settings.string("config") == nil)
    }

    struct TypeCase: Sendable, CustomTestStringConvertible {
        var yaml: String
        var message: String
        var testDescription: String { message }
    }

    static let typeCases: [TypeCase] = [
        TypeCase(yaml: "edge-ip-version: 4\n", message: "expected string found int for edge-ip-version"),
        TypeCase(yaml: "retries: \"5\"\n", message: "expected int found string for retries"),
        TypeCase(yaml: "no-autoupdate: yes\n", message: "expected boolean found string for no-autoupdate"),
        TypeCase(yaml: "grace-period: 30\n", message: "expected duration found int for grace-period"),
        TypeCase(yaml: "grace-period: 30x\n", message: #"time: unknown unit "x" in duration "30x""#),
        TypeCase(yaml: "tag: a=b\n", message: "expected string slice found string for tag"),
        TypeCase(yaml: "tag: [a=b, 5]\n", message: "expected string, found int for 5"),
        TypeCase(yaml: "loglevel: [a]\n", message: "expected string found []interface {} for loglevel"),
        TypeCase(yaml: "metrics:\n", message: "expected string found <nil> for metrics"),
    ]

    @Test(arguments: typeCases)
    func typeMismatch(_ c: TypeCase) throws {
        let config = try file(c.yaml)
        #expect(throws: ConfigurationError.self) { try resolver.resolve(commandLine: [:], environment: [:], file: config) }
        do {
            _ = try resolver.resolve(commandLine: [:], environment: [:], file: config)
        } catch {
            #expect(error.description == c.message)
        }
    }

    @Test func typeIsNotCheckedWhenTheFlagIsGivenElsewhere() throws {
        let config = try file("edge-ip-version: 4\nunknown-key: [1, 2]\n")
        let settings = try resolver.resolve(commandLine: [:], environment: ["TUNNEL_EDGE_IP_VERSION": "6"], file: config)
        #expect(settings.string("edge-ip-version") == "6")
    }

    @Test func badEnvironmentValues() {
        do {
            _ = try resolver.resolve(commandLine: [:], environment: ["NO_AUTOUPDATE": "maybe"], file: nil)
            Issue.record("resolved")
        } catch {
            #expect(error.description == #"could not parse "maybe" as bool value for flag no-autoupdate: strconv.ParseBool: parsing "maybe": invalid syntax"#)
        }
    }

    @Test func valueValidation() throws {
        for (yaml, message) in [
            ("protocol: h3\n", "unknown protocol h3, Available protocols:"),
            ("edge-ip-version: \"5\"\n", "invalid value for edge-ip-version: 5"),
            ("grace-period: 4m\n", "grace-period must be equal or less than 3m0s"),
            ("tag: [novalue]\n", "Cannot parse tag value novalue"),
        ] {
            let settings = try resolver.resolve(commandLine: [:], environment: [:], file: try file(yaml))
            do {
                try settings.validate()
                Issue.record("\(yaml) validated")
            } catch {
                #expect(error.description.hasPrefix(message))
            }
        }
    }

    @Test func singleOriginMode() throws {
        var settings = try resolver.resolve(
            commandLine: ["url": .string("localhost:8000/ignored"), "no-tls-verify": .bool(true)], environment: [:], file: nil)
        var ingress = try settings.effectiveIngress()
        #expect(ingress.rules.count == 1)
        #expect(ingress.rules[0].service.description == "http://localhost:8000")
        #expect(ingress.rules[0].originRequest.noTLSVerify)
        #expect(ingress.rules[0].isCatchAll)

        settings = try resolver.resolve(
            commandLine: ["url": .string("http://x:1"), "hello-world": .bool(true)], environment: [:], file: nil)
        #expect(try settings.effectiveIngress().rules[0].service == .helloWorld)

        settings = try resolver.resolve(commandLine: [:], environment: ["TUNNEL_URL": "ftp://x"], file: nil)
        #expect(throws: ConfigurationError.unsupportedURLScheme("ftp")) { try settings.effectiveIngress() }

        settings = try resolver.resolve(commandLine: ["socks5": .bool(false), "url": .string("tcp://db:5432")], environment: [:], file: nil)
        ingress = try settings.effectiveIngress()
        #expect(ingress.rules[0].originRequest.proxyType == "socks")
        #expect(ingress.rules[0].service.description == "tcp://db:5432")

        settings = try resolver.resolve(commandLine: [:], environment: [:], file: nil)
        #expect(try settings.effectiveIngress().rules[0].service == .httpStatus(503))
    }

    @Test func fileRulesWinOverSingleOriginFlags() throws {
        let config = try file("ingress:\n  - service: http://localhost:1\n")
        let settings = try resolver.resolve(commandLine: ["hello-world": .bool(true)], environment: [:], file: config)
        #expect(try settings.effectiveIngress().rules[0].service.description == "http://localhost:1")
    }
}

@Suite struct ConfigFileLocatorTests {
    @Test func searchOrder() {
        let existing: Set<String> = ["/home/u/.cloudflared/config.yaml", "/etc/cloudflared/config.yml"]
        var locator = ConfigFileLocator(homeDirectory: "/home/u", fileExists: { existing.contains($0) })
        #expect(locator.defaultConfigPath() == "/home/u/.cloudflared/config.yaml")

        let withOurs = existing.union(["/home/u/.tunnelctl/config.yml"])
        locator.fileExists = { withOurs.contains($0) }
        #expect(locator.defaultConfigPath() == "/home/u/.tunnelctl/config.yml")

        let ymlAndYaml: Set<String> = ["/home/u/.cloudflared/config.yml", "/home/u/.cloudflared/config.yaml"]
        locator.fileExists = { ymlAndYaml.contains($0) }
        #expect(locator.defaultConfigPath() == "/home/u/.cloudflared/config.yml")

        locator.fileExists = { $0 == "/usr/local/etc/cloudflared/config.yml" }
        #expect(locator.defaultConfigPath() == "/usr/local/etc/cloudflared/config.yml")

        locator.fileExists = { _ in false }
        #expect(locator.defaultConfigPath() == nil)
    }

    @Test func cloudflaredMessage() {
        let locator = ConfigFileLocator(searchDirectories: ConfigFileLocator.cloudflaredDirectories, homeDirectory: "/h")
        #expect(locator.notFoundMessage == "Cannot determine default configuration path. No file [config.yml config.yaml] in [~/.cloudflared ~/.cloudflare-warp ~/cloudflare-warp /etc/cloudflared /usr/local/etc/cloudflared]")
        #expect(locator.expand("~/x") == "/h/x")
        #expect(locator.expand("/abs") == "/abs")
    }
}
