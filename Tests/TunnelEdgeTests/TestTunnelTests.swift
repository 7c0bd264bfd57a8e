import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import Testing
import TunnelEdge
import TunnelTesting
import TunnelTransport

/// `withTestTunnel`: a whole tunnel in a test in a few lines, torn down without leaks.
@Suite("withTestTunnel", .serialized)
struct TestTunnelTests {
    @Test("an in-process origin through a real edge and connector, in five lines")
    func fiveLines() async throws {
        try await withTestTunnel(origin: .respond { request in TestOriginResponse(body: "hello \(request.uri) from \(request.headers["Host"].first ?? "")") }) { tunnel in
            let response = try await tunnel.client.get("/path?q=1")
            #expect(response.status == .ok && response.text == "hello /path?q=1 from app.test")
        }
    }

    @Test("the parts are there: 4 registered connections, the edge's registry, uploads, the hello-world origin")
    func parts() async throws {
        let digest = try await withTestTunnel(origin: .respond { request in TestOriginResponse(body: "\(request.body.readableBytes)") }) { tunnel in
            #expect(tunnel.connector.registeredConnections.count == 4)
            #expect(tunnel.edge.registry.connections(of: tunnel.tunnel.id).count == 4)
            #expect(tunnel.url.hasPrefix("http://127.0.0.1:"))
            let upload = try await tunnel.client.request(.POST, "/upload", body: ByteBuffer(repeating: 7, count: 300_000))
            return upload.text
        }
        #expect(digest == "300000")
        try await withTestTunnel(connections: 1) { tunnel in
            let page = try await tunnel.client.get("/")
            #expect(page.status == .ok && page.text.contains("Congrats"))
        }
    }

    @Test("a throwing body still tears everything down and its error comes out")
    func throwingBody() async throws {
        struct Planned: Error {}
        await #expect(throws: Planned.self) {
            try await withTestTunnel { _ in throw Planned() }
        }
    }
}
