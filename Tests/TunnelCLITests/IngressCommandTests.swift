import Foundation
import Testing

/// `tunnelctl tunnel ingress validate|rule`, run as a subprocess; output compared byte for byte
/// with what cloudflared prints for the same configuration.
@Suite struct IngressCommandTests {
    static let rules = """
        ingress:
          - hostname: app.example.com
            service: http://localhost:8000
          - hostname: "*.example.com"
            path: ^/api/
            service: ssh://localhost
          - service: http_status:404

        """

    /// A temporary directory used as HOME and holding the config file; removed afterwards.
    final class Sandbox {
        let directory: URL
        init() throws {
            directory = FileManager.default.temporaryDirectory.appendingPathComponent("ingress-cli-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        }
        deinit { try? FileManager.default.removeItem(at: directory) }

        func write(_ text: String, to name: String = "config.yml") throws -> String {
            let url = directory.appendingPathComponent(name)
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try text.write(to: url, atomically: true, encoding: .utf8)
            return url.path
        }

        func run(_ arguments: [String], environment: [String: String] = [:]) async throws -> TunnelctlProcess.Output {
            var env = ["HOME": directory.path]
            for (key, value) in environment { env[key] = value }
            return try await TunnelctlProcess.run(arguments, environment: env)
        }
    }

    @Test func ruleWithConfigBeforeTheSubcommand() async throws {
        let sandbox = try Sandbox()
        let path = try sandbox.write(Self.rules)
        let output = try await sandbox.run(["tunnel", "--config", path, "ingress", "rule", "https://x.example.com/api/v1?q=1"])
        #expect(output.stdout == "Using rules from \(path)\nMatched rule #1\n\thostname: *.example.com\n\tpath: ^/api/\n\tservice: ssh://localhost:22\n")
        #expect(output.status == 0)
    }

    @Test func ruleWithConfigAfterTheSubcommand() async throws {
        let sandbox = try Sandbox()
        let path = try sandbox.write(Self.rules)
        var output = try await sandbox.run(["tunnel", "ingress", "rule", "--config", path, "https://app.example.com:8443/"])
        #expect(output.stdout == "Using rules from \(path)\nMatched rule #0\n\thostname: app.example.com\n\tservice: http://localhost:8000\n")
        #expect(output.status == 0)
        output = try await sandbox.run(["tunnel", "ingress", "rule", "--config", path, "http://other.org/api/"])
        #expect(output.stdout == "Using rules from \(path)\nMatched rule #2\n\tservice: http_status:404\n")
    }

    @Test func ruleFindsTheDefaultConfigFile() async throws {
        let sandbox = try Sandbox()
        let path = try sandbox.write(Self.rules, to: ".cloudflared/config.yml")
        let output = try await sandbox.run(["tunnel", "ingress", "rule", "https://app.example.com"])
        #expect(output.stdout == "Using rules from \(path)\nMatched rule #0\n\thostname: app.example.com\n\tservice: http://localhost:8000\n")
    }

    @Test func ruleArgumentErrors() async throws {
        let sandbox = try Sandbox()
        let path = try sandbox.write(Self.rules)
        var output = try await sandbox.run(["tunnel", "--config", path, "ingress", "rule"])
        #expect(output.stderr == "tunnelctl tunnel rule expects a single argument, the URL to test\n")
        #expect(output.status == 1)
        output = try await sandbox.run(["tunnel", "--config", path, "ingress", "rule", "app.example.com"])
        #expect(output.stdout == "Using rules from \(path)\n")
        #expect(output.stderr == "app.example.com doesn't have a hostname, consider adding a scheme\n")
        #expect(output.status == 1)
    }

    @Test func validateOK() async throws {
        let sandbox = try Sandbox()
        let path = try sandbox.write(Self.rules)
        let output = try await sandbox.run(["tunnel", "--config", path, "ingress", "validate"])
        #expect(output.stdout == "Validating rules from \(path)\nOK\n")
        #expect(output.stderr == "")
        #expect(output.status == 0)
    }

    @Test func validateListsUnusedKeys() async throws {
        let sandbox = try Sandbox()
        let path = try sandbox.write("warp-routing:\n  enabled: true\n" + Self.rules)
        let output = try await sandbox.run(["tunnel", "ingress", "validate", "--config", path])
        #expect(output.stdout == """
            Validating rules from \(path)
            Warning: unused keys detected in your config file. Here is a list of unused keys:
            yaml: unmarshal errors:
              line 2: field enabled not found in type config.WarpRoutingConfig

            """)
        #expect(output.status == 0)
    }

    @Test func validateFailure() async throws {
        let sandbox = try Sandbox()
        let path = try sandbox.write("ingress:\n  - hostname: a.example.com\n    service: http://localhost:1\n")
        let output = try await sandbox.run(["tunnel", "--config", path, "ingress", "validate"])
        #expect(output.stdout == "Validating rules from \(path)\n")
        #expect(output.stderr == "Validation failed: The last ingress rule must match all URLs (i.e. it should not have a hostname or path filter)\n")
        #expect(output.status == 1)
    }

    @Test func validateRejectsURLWithRules() async throws {
        let sandbox = try Sandbox()
        let path = try sandbox.write(Self.rules)
        let output = try await sandbox.run(["tunnel", "--config", path, "ingress", "validate"], environment: ["TUNNEL_URL": "http://localhost:1"])
        #expect(output.stderr == "You can't set the --url flag (or $TUNNEL_URL) when using multiple-origin ingress rules\n")
        #expect(output.status == 1)
    }

    @Test func validateJSON() async throws {
        let sandbox = try Sandbox()
        var output = try await sandbox.run(["tunnel", "ingress", "validate", "--json", #"{"ingress":[{"service":"http://localhost:1","originRequest":{"connectTimeout":5}}]}"#])
        #expect(output.stdout == "Validating rules from cmdline flag --json\nOK\n")
        #expect(output.status == 0)
        output = try await sandbox.run(["tunnel", "ingress", "validate", "-j", #"{"ingress":[{"service":"http://localhost:1","originRequest":{"connectTimeout":"30s"}}]}"#])
        #expect(output.stderr == #"strconv.ParseInt: parsing "\"30s\"": invalid syntax"# + "\n")
        #expect(output.status == 1)
    }

    @Test func missingAndEmptyConfiguration() async throws {
        let sandbox = try Sandbox()
        let systemDefaults = ["/etc/cloudflared", "/usr/local/etc/cloudflared"].flatMap { ["\($0)/config.yml", "\($0)/config.yaml"] }
        try #require(!systemDefaults.contains { FileManager.default.fileExists(atPath: $0) }, "a system config file exists")
        var output = try await sandbox.run(["tunnel", "ingress", "validate"])
        #expect(output.stdout == "No configuration file was found. Please create one, or use the --config flag to specify its filepath. You can use the help command to learn more about configuration files\n")
        #expect(output.status == 1)
        output = try await sandbox.run(["tunnel", "ingress", "rule", "http://a.example.com"])
        #expect(output.stdout == "Using rules from \n")
        #expect(output.stderr == "Validation failed: The config file doesn't contain any ingress rules\n")
        #expect(output.status == 1)
        let empty = try sandbox.write("# nothing\n", to: "empty.yml")
        output = try await sandbox.run(["tunnel", "--config", empty, "ingress", "rule", "http://a.example.com"])
        #expect(output.stdout == "Using rules from \n")
        #expect(output.stderr == "ERR Configuration file \(empty) was empty\nValidation failed: The config file doesn't contain any ingress rules\n")
        output = try await sandbox.run(["tunnel", "--config", sandbox.directory.path + "/absent.yml", "ingress", "validate"])
        #expect(output.stderr == "open \(sandbox.directory.path)/absent.yml: no such file or directory\n")
        #expect(output.status == 1)
    }
}
