import Foundation
import Testing

/// `tunnelctl demo --once`, run as a user would, as a subprocess.
@Suite("tunnelctl demo")
struct DemoCommandTests {
    @Test("one request goes through edge, 4 connections, connector and hello_world")
    func once() async throws {
        let output = try await TunnelctlProcess.run(["demo", "--once"], timeout: 90)
        #expect(output.status == 0, "stderr: \(output.stderr)")
        #expect(output.stdout.components(separatedBy: "registered connection #").count == 5)
        #expect(output.stdout.contains("→ 200 in"))
        #expect(output.stdout.contains("Congrats! You created a tunnel!"))
        #expect(output.stdout.contains("curl -H 'Host: demo.tunnel.test' http://127.0.0.1:"))
    }

    @Test("two demos at once do not collide on ports")
    func concurrent() async throws {
        async let first = Task.detached { try await TunnelctlProcess.run(["demo", "--once"], timeout: 90) }.value
        async let second = Task.detached { try await TunnelctlProcess.run(["demo", "--once"], timeout: 90) }.value
        let results = try await [first, second]
        for result in results {
            #expect(result.status == 0, "stderr: \(result.stderr)")
            #expect(result.stdout.contains("→ 200 in"))
        }
    }

    @Test("an origin on a closed port fails with a clear message and a non-zero status")
    func closedOrigin() async throws {
        let output = try await TunnelctlProcess.run(["demo", "--once", "--url", "http://127.0.0.1:1"], timeout: 90)
        #expect(output.status != 0)
        #expect(output.stdout.contains("502 Bad Gateway: the connector could not reach the origin"))
    }
}
