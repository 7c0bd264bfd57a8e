import Foundation
import Testing
import TunnelCore
import TunnelEdge
import TunnelTesting

/// Large bodies, many streams and a connector dying mid-response, through our edge and the
/// reference connector. Bodies go through temporary files (curl, sha256sum), never through
/// the test process's memory.
@Suite("edge visitor load", .serialized)
struct EdgeVisitorLoadTests {
    static let app = EdgeInterop.tunnel("app", hostnames: ["app.test"])

    @Test("a 100 MB body round trip (HTTP/1.1 and HTTP/2) keeps its SHA-256", arguments: ["--http1.1", "--http2-prior-knowledge"])
    func largeBody(_ protocolFlag: String) async throws {
        let origins = try await EdgeInterop.startOrigins()
        defer { origins.process.stop() }
        try await EdgeInterop.withEdge(tunnels: [Self.app]) { edge in
            let connector = try edge.connectorPeer(for: Self.app, url: "http://127.0.0.1:\(origins.http)")
            defer { connector.stop() }
            try await edge.waitForConnections(Self.app, count: 2)
            let upload = edge.directory.appendingPathComponent("upload.bin")
            let download = edge.directory.appendingPathComponent("download.bin")
            try await EdgeInterop.shell("head -c 104857600 /dev/urandom > '\(upload.path)'")
            let result = try await EdgeInterop.curl(
                [protocolFlag, "-H", "Host: app.test", "--data-binary", "@\(upload.path)", "-H", "Content-Type: application/octet-stream", "\(edge.visitorURL)/echo", "-D", "-"],
                bodyFile: download, timeout: .seconds(240))
            #expect(result.status == 200, "\(result.output.suffix(5))")
            let sent = try await EdgeInterop.sha256(of: upload)
            let received = (try? FileManager.default.attributesOfItem(atPath: download.path)[.size] as? Int) ?? -1
            let downloaded = try await EdgeInterop.sha256(of: download)
            #expect(downloaded == sent, "received \(received) of 104857600 bytes; curl: \(result.output.suffix(5))")
            #expect(result.output.contains { $0.lowercased().trimmingCharacters(in: .whitespacesAndNewlines) == "x-body-sha256: \(sent)" })
        }
    }

    /// The last bytes of a response can still be waiting for a slow visitor (in the socket's
    /// pending writes, or for HTTP/2 flow-control window) when the edge is done with the
    /// request: closing then would drop them (HTTP/1.1) or reset the stream (HTTP/2 CANCEL).
    @Test("a slow visitor still gets every byte when the edge closes after the response", arguments: [
        ["--http1.1", "-H", "Connection: close"], ["--http2-prior-knowledge"],
    ])
    func slowVisitorGetsTheTail(_ flags: [String]) async throws {
        let origins = try await EdgeInterop.startOrigins()
        defer { origins.process.stop() }
        try await EdgeInterop.withEdge(tunnels: [Self.app]) { edge in
            let connector = try edge.connectorPeer(for: Self.app, url: "http://127.0.0.1:\(origins.http)")
            defer { connector.stop() }
            try await edge.waitForConnections(Self.app, count: 2)
            let download = edge.directory.appendingPathComponent("slow.bin")
            let result = try await EdgeInterop.curl(
                flags + ["--limit-rate", "8M", "-H", "Host: app.test", "\(edge.visitorURL)/bytes/40000000"], bodyFile: download, timeout: .seconds(60))
            let received = (try? FileManager.default.attributesOfItem(atPath: download.path)[.size] as? Int) ?? -1
            #expect(result.exitCode == 0 && result.status == 200, "\(result.output.suffix(3))")
            #expect(received == 40_000_000)
        }
    }

    @Test("1,000 concurrent HTTP/2 streams on one visitor connection all succeed")
    func thousandStreams() async throws {
        guard EdgeInterop.hasTool("h2load") else {
            Issue.record("h2load is not installed (scripts/install-test-deps.sh installs nghttp2-client)")
            return
        }
        let origins = try await EdgeInterop.startOrigins()
        defer { origins.process.stop() }
        var limits = VisitorLimits()
        limits.http2.maxConcurrentStreams = 1000
        try await EdgeInterop.withEdge(tunnels: [Self.app], limits: limits) { edge in
            let connector = try edge.connectorPeer(for: Self.app, url: "http://127.0.0.1:\(origins.http)", connections: 4)
            defer { connector.stop() }
            try await edge.waitForConnections(Self.app, count: 4)
            let load = try PeerProcess("h2load", ["-n", "1000", "-c", "1", "-m", "1000", "-H", ":authority: app.test", "\(edge.visitorURL)/bytes/1024"])
            _ = await load.waitForExit(timeout: .seconds(120))
            let summary = load.outputLines.first { $0.hasPrefix("requests:") } ?? ""
            let statuses = load.outputLines.first { $0.hasPrefix("status codes:") } ?? ""
            #expect(summary.contains("1000 succeeded"), "\(load.outputLines.suffix(12).joined(separator: "\n"))")
            #expect(statuses.contains("1000 2xx"), "\(statuses)")
        }
    }

    @Test("a connector killed mid-response aborts the visitor's response instead of hanging", arguments: ["--http1.1", "--http2-prior-knowledge"])
    func connectorKilled(_ protocolFlag: String) async throws {
        let origins = try await EdgeInterop.startOrigins()
        defer { origins.process.stop() }
        try await EdgeInterop.withEdge(tunnels: [Self.app]) { edge in
            let connector = try edge.connectorPeer(for: Self.app, url: "http://127.0.0.1:\(origins.http)", connections: 1)
            defer { connector.stop() }
            try await edge.waitForConnections(Self.app, count: 1)
            // 50 events 200 ms apart (10 s); the connector dies after the first one.
            let visitor = try PeerProcess("curl", ["-sS", "-N", protocolFlag, "--max-time", "30", "-H", "Host: app.test", "\(edge.visitorURL)/sse?n=50&ms=200"])
            defer { visitor.stop() }
            try await visitor.waitForLine(timeout: .seconds(10)) { $0.hasPrefix("data: event 0") }
            let killed = ContinuousClock.now
            connector.signal(SIGKILL)
            let status = await visitor.waitForExit(timeout: .seconds(25))
            #expect(status != nil && status != 0, "curl must fail, not finish cleanly: \(visitor.outputLines.suffix(3))")
            #expect(ContinuousClock.now - killed < .seconds(20))
            #expect(!visitor.outputLines.contains { $0.hasPrefix("data: event 49") })
        }
    }
}
