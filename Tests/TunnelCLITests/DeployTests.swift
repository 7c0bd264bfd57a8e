import Foundation
import Testing
import TunnelCore
import TunnelTesting
import Yams

/// The container and Kubernetes examples: the manifests validate against Kubernetes' schemas
/// (offline), and the sidecar's command line, as the Containerfile and the manifest give it,
/// runs a tunnel with JSON logs and answers the probes.
@Suite("deploy/ (Containerfile, Kubernetes)", .serialized)
struct DeployTests {
    typealias Run = TunnelRunCommandTests
    typealias Serve = EdgeServeCommandTests

    @Test("every manifest under deploy/kubernetes validates (strict) against the Kubernetes 1.37 schemas")
    func manifestsValidate() async throws {
        let directory = Run.packageRoot.appendingPathComponent("deploy/kubernetes")
        let manifests = try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { $0.hasSuffix(".yaml") }.sorted()
        #expect(manifests == ["edge-statefulset.yaml", "hello-sidecar.yaml"])
        let python = PeerProcess.python(packageRoot: Run.packageRoot)
        let validator = python.contains("/") ? (python as NSString).deletingLastPathComponent + "/kubernetes-validate" : "kubernetes-validate"
        let check = try PeerProcess(validator, ["--strict", "--kubernetes-version", "1.37.0"] + manifests.map { directory.appendingPathComponent($0).path })
        #expect(await check.waitForExit(timeout: .seconds(120)) == 0, "\(check.outputLines.joined(separator: "\n"))")
        #expect(check.count { $0.contains(" passed for resource ") } == 5)
    }

    /// The Containerfile's `ENTRYPOINT`, `CMD` and `ENV`.
    static func containerfile() throws -> (entrypoint: [String], command: [String], environment: [String: String]) {
        let text = try String(contentsOf: Run.packageRoot.appendingPathComponent("Containerfile"), encoding: .utf8)
        // The run stage is the last one.
        let stage = text.components(separatedBy: "\nFROM ").last ?? text
        func array(_ instruction: String) throws -> [String] {
            let line = try #require(stage.split(separator: "\n").first { $0.hasPrefix(instruction + " ") })
            return try #require(try JSONSerialization.jsonObject(with: Data(line.dropFirst(instruction.count + 1).utf8)) as? [String])
        }
        var environment: [String: String] = [:]
        for line in stage.split(separator: "\n") where line.hasPrefix("ENV ") {
            let pair = line.dropFirst(4).split(separator: "=", maxSplits: 1)
            environment[String(pair[0])] = String(pair[1])
        }
        return (try array("ENTRYPOINT"), try array("CMD"), environment)
    }

    @Test("the sidecar's command line from the Containerfile and the manifest: registers, answers /ready, logs JSON lines, stops on SIGTERM")
    func sidecarEntrypoint() async throws {
        let image = try Self.containerfile()
        #expect(image.entrypoint == ["/usr/local/bin/tunnelctl"])
        let manifest = try String(contentsOf: Run.packageRoot.appendingPathComponent("deploy/kubernetes/hello-sidecar.yaml"), encoding: .utf8)
        let deployment = try #require(try Yams.load_all(yaml: manifest).compactMap { $0 as? [String: Any] }.first { $0["kind"] as? String == "Deployment" })
        let spec = try #require(((deployment["spec"] as? [String: Any])?["template"] as? [String: Any])?["spec"] as? [String: Any])
        let sidecar = try #require((spec["containers"] as? [[String: Any]])?.first { $0["name"] as? String == "tunnel" })
        let arguments = try #require(sidecar["args"] as? [String])
        #expect(arguments == image.command, "the manifest runs what the image runs by default")
        let probe = try #require(((sidecar["readinessProbe"] as? [String: Any])?["httpGet"] as? [String: Any])?["path"] as? String)
        #expect(probe == "/ready")

        // An edge with the tunnel the Secret's token names, and an origin.
        let sandbox = try Run.Sandbox()
        let credentials = TunnelCredentials(accountTag: Run.accountTag, tunnelSecret: .random(), tunnelID: UUID())
        let credentialsFile = try sandbox.writeCredentials(credentials)
        let config = sandbox.pki.directory.appendingPathComponent("edge.yml").path
        try """
            stateDirectory: \(sandbox.pki.directory.appendingPathComponent("state").path)
            tunnels:
              - credentialsFile: \(credentialsFile)
                hostnames: [hello.test]
            """.write(toFile: config, atomically: true, encoding: .utf8)
        let edge = try await Serve.RunningEdge.start(sandbox, ["--config", config])
        defer { edge.process.stop() }
        let (origin, originPort) = try await Run.startOrigin()
        defer { origin.stop() }

        // The manifest's environment, with cluster addresses swapped for this machine's.
        var environment = image.environment
        var names: [String] = []
        for entry in sidecar["env"] as? [[String: Any]] ?? [] {
            let name = try #require(entry["name"] as? String)
            names.append(name)
            environment[name] = entry["value"] as? String
        }
        #expect(names == ["TUNNEL_TOKEN", "TUNNEL_URL", "TUNNEL_EDGE", "TUNNEL_CACERT", "TUNNEL_METRICS", "TUNNEL_LOG_FORMAT"])
        #expect(environment["TUNNEL_TOKEN"] == nil, "the token comes from the Secret")
        environment["TUNNEL_TOKEN"] = credentials.token.encoded
        environment["TUNNEL_URL"] = environment["TUNNEL_URL"]?.replacingOccurrences(of: ":8080", with: ":\(originPort)")
        environment["TUNNEL_EDGE"] = "127.0.0.1:\(edge.connectorPort)"
        environment["TUNNEL_CACERT"] = try #require(edge.caPath)
        environment["TUNNEL_METRICS"] = environment["TUNNEL_METRICS"]?.replacingOccurrences(of: ":20241", with: ":0")
        #expect(environment["TUNNEL_METRICS"] == "0.0.0.0:0" && environment["TUNNEL_LOG_FORMAT"] == "json")

        let tunnel = try PeerProcess(TunnelctlProcess.executableURL.path, arguments, environment: environment.merging(["HOME": sandbox.home.path]) { $1 })
        defer { tunnel.stop() }
        let metricsLine = try await tunnel.waitForLine { $0.contains("Starting metrics server on ") }
        let port = try #require(metricsLine.firstMatch(of: /on [0-9.]+:([0-9]+)\/metrics/)).1
        try await Run.waitForRegistrations(edge.process, count: 4)
        let ready = try await TunnelMetricsTests.get("http://127.0.0.1:\(port)/ready")
        #expect(ready.status == 200 && ready.body.contains(#""readyConnections":4"#))
        let served = try await Run.result(of: try PeerProcess("curl", ["-sS", "-o", "/dev/null", "-w", "%{http_code} %{size_download}\n", "-H", "Host: hello.test", "http://127.0.0.1:\(edge.visitorPort)/bytes/1000"]))
        #expect(served.status == 200 && served.size == 1000)

        tunnel.signal(SIGTERM)
        #expect(await tunnel.waitForExit(timeout: .seconds(40)) == 0)
        // kubectl logs: one JSON object per line, with level, time and message.
        let lines = tunnel.outputLines.filter { !$0.isEmpty }
        #expect(lines.count > 5)
        for line in lines {
            let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
            #expect(object?["level"] is String && object?["time"] is String && object?["message"] is String, "not a JSON log line: \(line)")
        }
        #expect(lines.contains { $0.contains(#""message":"Registered tunnel connection""#) && $0.contains(#""connIndex":"0""#) })
    }
}
