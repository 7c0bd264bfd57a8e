import Foundation
import Testing
import TunnelCore
import TunnelEdge
import TunnelTesting

/// Our edge between the independent reference connector (`connector_peer.py`) with the Python
/// test origins, and curl as the visitor: HTTP/1.1, HTTP/2 with prior knowledge, and TLS with ALPN.
@Suite("edge visitor interop", .serialized)
struct EdgeVisitorInteropTests {
    static let app = EdgeInterop.tunnel("app", hostnames: ["app.test", "*.wild.test"])
    static let broken = EdgeInterop.tunnel("broken", hostnames: ["broken.test"])
    static let idle = EdgeInterop.tunnel("idle", hostnames: ["idle.test"])

    @Test("HTTP/1.1: GET, POST, chunked, HEAD, statuses, visitor headers, 530 and 502, no internal headers")
    func http1Core() async throws {
        let origins = try await EdgeInterop.startOrigins()
        defer { origins.process.stop() }
        try await EdgeInterop.withEdge(tunnels: [Self.app, Self.broken, Self.idle]) { edge in
            let connector = try edge.connectorPeer(for: Self.app, url: "http://127.0.0.1:\(origins.http)", wsURL: "http://127.0.0.1:\(origins.ws)")
            defer { connector.stop() }
            // The broken tunnel's connector points at a closed port: the origin is unreachable.
            let deadConnector = try edge.connectorPeer(for: Self.broken, url: "http://127.0.0.1:1", connections: 1)
            defer { deadConnector.stop() }
            try await edge.waitForConnections(Self.app, count: 2)
            try await edge.waitForConnections(Self.broken, count: 1)
            let base = edge.visitorURL

            let get = try await EdgeInterop.curl(["-H", "Host: app.test", "\(base)/bytes/100000", "-D", "-"])
            #expect(get.status == 200)
            #expect(get.output.contains { $0.lowercased().hasPrefix("content-length: 100000") })

            let wildcard = try await EdgeInterop.curl(["-H", "Host: x.wild.test", "\(base)/status/418"])
            #expect(wildcard.status == 418)

            let post = try await EdgeInterop.curl(["-H", "Host: app.test", "--data-binary", "hello edge", "\(base)/echo", "-D", "-"])
            #expect(post.status == 200)
            #expect(post.body == "hello edge")

            let chunkedUpload = try await EdgeInterop.curl(["-H", "Host: app.test", "-H", "Transfer-Encoding: chunked", "--data-binary", "abc", "\(base)/echo", "-D", "-"])
            #expect(chunkedUpload.body == "abc")

            let chunked = try await EdgeInterop.curl(["-H", "Host: app.test", "\(base)/chunked/25000", "-D", "-"])
            #expect(chunked.status == 200)
            #expect(chunked.output.contains { $0.lowercased().hasPrefix("transfer-encoding: chunked") })

            let head = try await EdgeInterop.curl(["-I", "-H", "Host: app.test", "\(base)/anything"])
            #expect(head.status == 200)

            // Visitor IP headers reach the origin; internal headers from the visitor do not.
            let headers = try await EdgeInterop.curl([
                "-H", "Host: app.test", "-H", "X-Forwarded-For: 203.0.113.9", "-H", "Cf-Cloudflared-Proxy-Src: tcp",
                "-H", "Cf-Connecting-IP: 6.6.6.6", "\(base)/headers",
            ])
            #expect(headers.status == 200)
            let fields = try JSONSerialization.jsonObject(with: Data(headers.body.utf8)) as? [[String]] ?? []
            func value(_ name: String) -> String? { fields.first { $0.first?.lowercased() == name }?.last }
            #expect(value("cf-connecting-ip") == "127.0.0.1")
            #expect(value("x-forwarded-for") == "203.0.113.9, 127.0.0.1")
            #expect(value("x-forwarded-proto") == "http")
            #expect(!fields.contains { $0.first?.lowercased().hasPrefix("cf-cloudflared") == true })

            // Responses to visitors never carry internal headers.
            let dump = try await EdgeInterop.curl(["-H", "Host: app.test", "\(base)/bytes/10", "-D", "-"])
            #expect(!dump.output.contains { $0.lowercased().hasPrefix("cf-cloudflared") || $0.lowercased().hasPrefix("cf-int-") })

            let unknown = try await EdgeInterop.curl(["-H", "Host: nobody.test", "\(base)/"])
            #expect(unknown.status == 530)
            #expect(unknown.body.contains("nobody.test"))

            let notConnected = try await EdgeInterop.curl(["-H", "Host: idle.test", "\(base)/"])
            #expect(notConnected.status == 530)
            #expect(notConnected.body.contains("idle.test"))

            let unreachable = try await EdgeInterop.curl(["-H", "Host: broken.test", "\(base)/"])
            #expect(unreachable.status == 502)

            // Keep-alive: two requests on one connection.
            let twice = try await EdgeInterop.curl(["-H", "Host: app.test", "\(base)/bytes/10", "\(base)/bytes/20", "-o", "/dev/null"])
            #expect(twice.output.filter { $0 == "status=200" }.count == 2)
        }
    }

    @Test("SSE events arrive one by one, not buffered; WebSocket echo over HTTP/1.1 and HTTP/2 (RFC 8441)")
    func streaming() async throws {
        let origins = try await EdgeInterop.startOrigins()
        defer { origins.process.stop() }
        try await EdgeInterop.withEdge(tunnels: [Self.app]) { edge in
            let connector = try edge.connectorPeer(for: Self.app, url: "http://127.0.0.1:\(origins.http)", wsURL: "http://127.0.0.1:\(origins.ws)")
            defer { connector.stop() }
            try await edge.waitForConnections(Self.app, count: 2)

            // 5 events 400 ms apart: each must be visible long before the stream ends.
            let sse = try PeerProcess("curl", ["-sS", "-N", "-H", "Host: app.test", "\(edge.visitorURL)/sse?n=5&ms=400"])
            defer { sse.stop() }
            let start = ContinuousClock.now
            try await sse.waitForLine(timeout: .seconds(10)) { $0.hasPrefix("data: event 0") }
            let first = ContinuousClock.now - start
            try await sse.waitForLine(timeout: .seconds(10)) { $0.hasPrefix("data: event 4") }
            let last = ContinuousClock.now - start
            #expect(first < .milliseconds(1200))
            #expect(last - first > .milliseconds(1200))

            let ws = try PeerProcess(EdgeInterop.python, [EdgeInterop.scripts.appendingPathComponent("visitor_tools.py").path, "ws_echo", "127.0.0.1", "\(edge.visitorPort)", "app.test"])
            let status = await ws.waitForExit(timeout: .seconds(30))
            #expect(status == 0, "\(ws.outputLines.joined(separator: "\n"))")
            #expect(ws.outputLines.contains { $0.hasPrefix("ok") })

            // WebSocket over HTTP/2 (RFC 8441 extended CONNECT) on the clear-text port.
            let wsH2 = try PeerProcess(EdgeInterop.python, [EdgeInterop.scripts.appendingPathComponent("visitor_tools.py").path, "ws_h2", "\(edge.visitorPort)", "app.test"])
            _ = await wsH2.waitForExit(timeout: .seconds(30))
            #expect(wsH2.outputLines.contains { $0.hasPrefix("ok") }, "\(wsH2.outputLines.joined(separator: "\n"))")
        }
    }

    @Test("HTTP/2 visitors: prior knowledge and TLS with ALPN h2 or http/1.1")
    func http2Visitors() async throws {
        let origins = try await EdgeInterop.startOrigins()
        defer { origins.process.stop() }
        try await EdgeInterop.withEdge(tunnels: [Self.app, Self.idle], tls: true) { edge in
            let connector = try edge.connectorPeer(for: Self.app, url: "http://127.0.0.1:\(origins.http)")
            defer { connector.stop() }
            try await edge.waitForConnections(Self.app, count: 2)
            let h2c = ["--http2-prior-knowledge", "-H", "Host: app.test"]
            let get = try await EdgeInterop.curl(h2c + ["\(edge.visitorURL)/bytes/300000", "-D", "-"])
            #expect(get.status == 200)
            #expect(get.output.contains { $0.hasPrefix("HTTP/2 200") })

            let post = try await EdgeInterop.curl(h2c + ["--data-binary", "over h2c", "\(edge.visitorURL)/echo"])
            #expect(post.body == "over h2c")

            let chunked = try await EdgeInterop.curl(h2c + ["\(edge.visitorURL)/chunked/5000"])
            #expect(chunked.status == 200)

            let unknown = try await EdgeInterop.curl(["--http2-prior-knowledge", "-H", "Host: nobody.test", "\(edge.visitorURL)/"])
            #expect(unknown.status == 530)
            let notConnected = try await EdgeInterop.curl(["--http2-prior-knowledge", "-H", "Host: idle.test", "\(edge.visitorURL)/"])
            #expect(notConnected.status == 530)

            let tls = ["--cacert", edge.pki.caPath, "-H", "Host: app.test"]
            let h2 = try await EdgeInterop.curl(tls + ["--http2", "\(edge.tlsURL)/headers", "-D", "-"])
            #expect(h2.status == 200)
            #expect(h2.output.contains { $0.hasPrefix("HTTP/2 200") })
            #expect(h2.body.lowercased().contains("\"x-forwarded-proto\", \"https\""))

            let http1 = try await EdgeInterop.curl(tls + ["--http1.1", "--data-binary", "over tls", "\(edge.tlsURL)/echo", "-D", "-"])
            #expect(http1.status == 200)
            #expect(http1.body == "over tls")
            #expect(http1.output.contains { $0.hasPrefix("HTTP/1.1 200") })
        }
    }
}
