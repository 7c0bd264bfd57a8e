import Foundation
import Testing
import TunnelCore
import TunnelEdge
import TunnelTesting

/// Hostile visitors and connectors: the edge drops them and keeps serving everyone else.
@Suite("edge abuse limits", .serialized)
struct EdgeAbuseTests {
    static let app = EdgeInterop.tunnel("app", hostnames: ["app.test"])

    static func tool(_ arguments: [String]) async throws -> [String] {
        let process = try PeerProcess(EdgeInterop.python, [EdgeInterop.scripts.appendingPathComponent("visitor_tools.py").path] + arguments)
        _ = await process.waitForExit(timeout: .seconds(40))
        return process.outputLines
    }

    @Test("garbage, wrong credentials, oversized, slow, idle and timed-out requests are handled; the tunnel keeps working")
    func hostilePeers() async throws {
        let origins = try await EdgeInterop.startOrigins()
        defer { origins.process.stop() }
        var limits = VisitorLimits(headerTimeout: .seconds(1), idleTimeout: .seconds(2), responseTimeout: .seconds(1))
        limits.http2.maxResetStreams = 50
        try await EdgeInterop.withEdge(tunnels: [Self.app], limits: limits) { edge in
            let connector = try edge.connectorPeer(for: Self.app, url: "http://127.0.0.1:\(origins.http)")
            defer { connector.stop() }
            try await edge.waitForConnections(Self.app, count: 2)
            let events = edge.server.events.subscribe()

            // Garbage to the connector port: the TLS handshake fails and the connection is closed.
            let connectorGarbage = try await Self.tool(["garbage", "\(edge.connectorPort)"])
            #expect(connectorGarbage.contains { $0.hasPrefix("closed") })

            // TLS, then bytes that cannot be a connector's HTTP/2 server preface: closed at once
            // (not at the registration timeout), with the reason logged.
            for kind in ["random", "http1", "client_preface", "settings_ack"] {
                let lines = try await Self.tool(["connector_garbage", "\(edge.connectorPort)", edge.pki.caPath, kind])
                let seconds = lines.last.flatMap { $0.hasPrefix("closed after ") ? Double($0.dropFirst("closed after ".count)) : nil }
                #expect((seconds ?? 99) < 1, "\(kind): \(lines)")
            }

            // Garbage to the visitor port: 400 and closed.
            let visitorGarbage = try await Self.tool(["garbage", "\(edge.visitorPort)"])
            #expect(visitorGarbage.contains { $0.hasPrefix("closed reply=b'HTTP/1.1 400") }, "\(visitorGarbage)")

            // Garbage after an HTTP/2 preface: the connection is closed.
            let h2Garbage = try PeerProcess("/bin/sh", ["-c", "(printf 'PRI * HTTP/2.0\\r\\n\\r\\nSM\\r\\n\\r\\n'; head -c 8192 /dev/urandom) | curl -sS --max-time 10 telnet://127.0.0.1:\(edge.visitorPort) -o /dev/null; echo exit=$?"])
            _ = await h2Garbage.waitForExit(timeout: .seconds(20))
            #expect(h2Garbage.outputLines.contains { $0.hasPrefix("exit=") })

            // A connector with the wrong secret is refused (and keeps retrying, as cloudflared does).
            let impostor = try edge.connectorPeer(for: Self.app, url: "http://127.0.0.1:\(origins.http)", connections: 1, secret: .random())
            defer { impostor.stop() }
            try await impostor.waitForLine(timeout: .seconds(15)) { $0.contains("Unauthorized") }
            var sawRefusal = false
            for await event in events {
                if case .refused(_, let cause) = event, cause.contains("invalid tunnel credentials") {
                    sawRefusal = true
                    break
                }
            }
            #expect(sawRefusal)
            #expect(edge.server.registry.connections(of: Self.app.id).count == 2)

            // 431 for a header block over the limit (HTTP/1.1).
            let huge = String(repeating: "a", count: 70_000)
            let tooLarge = try await EdgeInterop.curl(["-H", "Host: app.test", "-H", "X-Huge: \(huge)", "\(edge.visitorURL)/bytes/1"])
            #expect(tooLarge.status == 431)
            // The same over HTTP/2: a 431 response on the stream, not a connection error.
            #expect(try await Self.tool(["h2_header", "\(edge.visitorPort)", "app.test", "70000", "settled"]) == ["status=431"])
            // Sent before the visitor saw the edge's SETTINGS, a block over NIOHTTP2's initial
            // 16 KiB is a connection error: GOAWAY (COMPRESSION_ERROR) and a closed connection,
            // never a hang.
            #expect(try await Self.tool(["h2_header", "\(edge.visitorPort)", "app.test", "20000", "eager"]) == ["goaway=9 closed=True"])
            // Beyond twice the limit even after SETTINGS: the same connection error.
            #expect(try await Self.tool(["h2_header", "\(edge.visitorPort)", "app.test", "140000", "settled"]).first?.hasPrefix("goaway=") == true)

            // Slowloris: a head that never completes is cut off after the header timeout (1 s).
            let slow = try await Self.tool(["slowloris", "\(edge.visitorPort)"])
            let seconds = slow.first { $0.hasPrefix("closed after") }.flatMap { Double($0.dropFirst(13)) } ?? 99
            #expect(seconds < 5, "\(slow)")

            // 524 when the origin does not answer within the response timeout (1 s).
            let timeout = try await EdgeInterop.curl(["-H", "Host: app.test", "\(edge.visitorURL)/hang"])
            #expect(timeout.status == 524)

            // An idle keep-alive connection is closed after the idle timeout (2 s).
            let idle = try await Self.tool(["idle", "\(edge.visitorPort)", "app.test"])
            let idleSeconds = idle.first { $0.hasPrefix("200 closed after") }.flatMap { Double($0.dropFirst(17)) } ?? 99
            #expect(idleSeconds > 1 && idleSeconds < 6, "\(idle)")

            // HTTP/2 rapid reset: HEADERS + RST_STREAM floods get the connection closed.
            let reset = try await Self.tool(["rapid_reset", "\(edge.visitorPort)", "app.test", "2000"])
            #expect(reset.contains { $0.contains("closed=True") }, "\(reset)")

            // Everyone else is still served.
            let after = try await EdgeInterop.curl(["-H", "Host: app.test", "\(edge.visitorURL)/bytes/1000"])
            #expect(after.status == 200)
            let afterH2 = try await EdgeInterop.curl(["--http2-prior-knowledge", "-H", "Host: app.test", "\(edge.visitorURL)/bytes/1000"])
            #expect(afterH2.status == 200)
        }
    }
}
