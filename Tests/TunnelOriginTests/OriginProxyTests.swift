import Foundation
import NIOCore
import NIOHTTP1
import Testing
import TunnelCore
import TunnelOrigin

/// The origin proxy against real origins started by the test: HTTP/1.1 (plain, TLS, unix socket),
/// WebSocket and TCP echo servers from Python's standard library and the `websockets` package.
@Suite("origin proxy", .serialized)
struct OriginProxyTests {
    func proxy(_ rules: [IngressRuleConfig], client: OriginHTTPClient = OriginHTTPClient()) throws -> OriginProxy {
        OriginProxy(ingress: try Ingress(rules: rules), client: client)
    }

    /// Runs `body` with a client whose keep-alive pool is running.
    func withPooledClient(_ body: (OriginHTTPClient) async throws -> Void) async throws {
        let client = OriginHTTPClient()
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await client.run() }
            try await Task.sleep(for: .milliseconds(10))
            try await body(client)
            group.cancelAll()
        }
    }

    @Test("GET streams a 3 MB body intact")
    func largeGet() async throws {
        let servers = try OriginServers()
        let proxy = try proxy([IngressRuleConfig(service: "http://127.0.0.1:\(servers.http)")])
        let writer = CollectingWriter()
        let outcome = await proxy.serveHTTP(request("/bytes/3000000"), body: Chunks?.none, writer: writer)
        guard case .completed = outcome else { Issue.record("outcome \(outcome)"); return }
        #expect(writer.status == 200)
        #expect(writer.body.readableBytes == 3_000_000)
        #expect(sha256Hex(writer.body.readableBytesView) == sha256Hex(pattern(3_000_000)))
        #expect(writer.ended)
    }

    @Test("chunked responses are de-chunked byte-exact")
    func chunkedResponse() async throws {
        let servers = try OriginServers()
        let proxy = try proxy([IngressRuleConfig(service: "http://127.0.0.1:\(servers.http)")])
        let writer = CollectingWriter()
        _ = await proxy.serveHTTP(request("/chunked/123457"), body: Chunks?.none, writer: writer)
        #expect(Array(writer.body.readableBytesView) == pattern(123_457))
    }

    @Test("a body without Content-Length goes chunked; with it, as is", arguments: [true, false])
    func postEcho(withLength: Bool) async throws {
        let servers = try OriginServers()
        let proxy = try proxy([IngressRuleConfig(service: "http://127.0.0.1:\(servers.http)")])
        let payload = pattern(1_000_003)
        let head = request("/echo", method: .POST, headers: withLength ? [("Content-Length", "\(payload.count)")] : [])
        let writer = CollectingWriter()
        _ = await proxy.serveHTTP(head, body: Chunks(payload, chunkSize: 16384), writer: writer)
        #expect(writer.status == 200)
        #expect(writer.head?.headers.first(name: "X-Request-Framing") == (withLength ? "content-length" : "chunked"))
        #expect(writer.head?.headers.first(name: "X-Body-SHA256") == sha256Hex(payload))
        #expect(sha256Hex(writer.body.readableBytesView) == sha256Hex(payload))
    }

    @Test("server-sent events arrive one by one, not buffered")
    func serverSentEvents() async throws {
        let servers = try OriginServers()
        let proxy = try proxy([IngressRuleConfig(service: "http://127.0.0.1:\(servers.http)")])
        let writer = CollectingWriter()
        _ = await proxy.serveHTTP(request("/sse?n=4&ms=250"), body: Chunks?.none, writer: writer)
        let arrivals = writer.arrivals
        #expect(arrivals.count >= 4)
        #expect(writer.bodyString.components(separatedBy: "data: event").count == 5)
        // The first event reached us well before the last one was sent (3 × 250 ms later).
        if let first = arrivals.first?.0, let last = arrivals.last?.0 {
            #expect(first.duration(to: last) >= .milliseconds(500))
        }
    }

    @Test("keep-alive: sequential requests reuse one origin connection")
    func keepAlive() async throws {
        let servers = try OriginServers()
        try await withPooledClient { client in
            let proxy = try proxy([IngressRuleConfig(service: "http://127.0.0.1:\(servers.http)")], client: client)
            var ports: Set<String> = []
            for _ in 0..<5 {
                let writer = CollectingWriter()
                _ = await proxy.serveHTTP(request("/conn"), body: Chunks?.none, writer: writer)
                ports.insert(writer.bodyString)
            }
            #expect(ports.count == 1)
            #expect(client.idleConnectionCount(for: OriginEndpoint(address: .tcp(host: "127.0.0.1", port: servers.http))) == 1)
        }
    }

    @Test("concurrent requests each get a connection and all complete")
    func concurrent() async throws {
        let servers = try OriginServers()
        try await withPooledClient { client in
            let proxy = try proxy([IngressRuleConfig(service: "http://127.0.0.1:\(servers.http)")], client: client)
            try await withThrowingTaskGroup(of: Int.self) { group in
                for index in 0..<32 {
                    group.addTask {
                        let writer = CollectingWriter()
                        _ = await proxy.serveHTTP(request("/bytes/\(1000 + index)"), body: Chunks?.none, writer: writer)
                        return writer.body.readableBytes - index
                    }
                }
                for try await size in group { #expect(size == 1000) }
            }
        }
    }

    @Test("origin statuses pass through; http_status and hello_world answer without an origin")
    func statuses() async throws {
        let servers = try OriginServers()
        let proxy = try proxy([
            IngressRuleConfig(hostname: "gone.test", service: "http_status:410"),
            IngressRuleConfig(hostname: "hello.test", service: "hello_world"),
            IngressRuleConfig(service: "http://127.0.0.1:\(servers.http)"),
        ])
        let teapot = CollectingWriter()
        _ = await proxy.serveHTTP(request("/status/418"), body: Chunks?.none, writer: teapot)
        #expect(teapot.status == 418)
        let gone = CollectingWriter()
        _ = await proxy.serveHTTP(request("/", host: "gone.test"), body: Chunks?.none, writer: gone)
        #expect(gone.status == 410)
        let hello = CollectingWriter()
        _ = await proxy.serveHTTP(request("/", host: "hello.test:443"), body: Chunks?.none, writer: hello)
        #expect(hello.status == 200)
        #expect(hello.bodyString.contains("You created a tunnel"))
    }

    @Test("unreachable origin fails before the response, so the connector can answer 502")
    func unreachable() async throws {
        let port = try closedPort()
        let proxy = try proxy([IngressRuleConfig(service: "http://127.0.0.1:\(port)")])
        let writer = CollectingWriter()
        let outcome = await proxy.serveHTTP(request("/"), body: Chunks?.none, writer: writer)
        guard case .failedBeforeResponse = outcome else { Issue.record("outcome \(outcome)"); return }
        #expect(writer.head == nil)
    }

    @Test("httpHostHeader replaces Host; Cf-Warp-Tag-Id carries the connector id")
    func hostHeader() async throws {
        let servers = try OriginServers()
        var options = OriginRequestOptions()
        options.httpHostHeader = "internal.example"
        let connector = UUID()
        let proxy = OriginProxy(
            ingress: try Ingress(rules: [IngressRuleConfig(service: "http://127.0.0.1:\(servers.http)", originRequest: options)]),
            client: OriginHTTPClient(), connectorID: connector)
        let writer = CollectingWriter()
        _ = await proxy.serveHTTP(request("/headers"), body: Chunks?.none, writer: writer)
        let pairs = try JSONSerialization.jsonObject(with: Data(writer.bodyString.utf8)) as? [[String]] ?? []
        #expect(pairs.contains(["Host", "internal.example"]))
        #expect(pairs.contains(["Cf-Warp-Tag-Id", connector.uuidString.lowercased()]))
    }

    @Test("unix socket origins")
    func unixSocket() async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("origin-\(UUID().uuidString.prefix(8)).sock").path
        let servers = try OriginServers(arguments: ["--unix", path])
        defer { try? FileManager.default.removeItem(atPath: path) }
        let proxy = try proxy([IngressRuleConfig(service: "unix:\(servers.unix!)")])
        let writer = CollectingWriter()
        _ = await proxy.serveHTTP(request("/bytes/70000"), body: Chunks?.none, writer: writer)
        #expect(Array(writer.body.readableBytesView) == pattern(70_000))
    }

    @Test("TLS origins: trusted through caPool, refused without it, allowed with noTLSVerify")
    func tlsOrigin() async throws {
        let pki = try TestPKI()
        defer { pki.remove() }
        let servers = try OriginServers(arguments: ["--cert", pki.certPath, "--key", pki.keyPath])
        let url = "https://127.0.0.1:\(servers.https!)"

        var trusted = OriginRequestOptions()
        trusted.caPool = pki.caPath
        let good = CollectingWriter()
        let goodOutcome = try await proxy([IngressRuleConfig(service: url, originRequest: trusted)]).serveHTTP(request("/bytes/5000"), body: Chunks?.none, writer: good)
        guard case .completed = goodOutcome else { Issue.record("trusted TLS origin failed: \(goodOutcome)"); return }
        #expect(good.body.readableBytes == 5000)

        let refused = CollectingWriter()
        let refusedOutcome = try await proxy([IngressRuleConfig(service: url)]).serveHTTP(request("/bytes/5000"), body: Chunks?.none, writer: refused)
        guard case .failedBeforeResponse = refusedOutcome else { Issue.record("untrusted TLS origin accepted: \(refusedOutcome)"); return }

        var insecure = OriginRequestOptions()
        insecure.noTLSVerify = true
        let skipped = CollectingWriter()
        _ = try await proxy([IngressRuleConfig(service: url, originRequest: insecure)]).serveHTTP(request("/bytes/5000"), body: Chunks?.none, writer: skipped)
        #expect(skipped.body.readableBytes == 5000)
    }

    @Test("WebSocket upgrade, then frames relayed both ways")
    func webSocket() async throws {
        let servers = try OriginServers()
        let proxy = try proxy([IngressRuleConfig(service: "http://127.0.0.1:\(servers.ws)")])
        let head = request("/", headers: [
            ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="), ("Sec-WebSocket-Version", "13"),
        ])
        let message = pattern(100_000)
        let writer = CollectingWriter()
        let (stream, continuation) = AsyncStream<ByteBuffer>.makeStream()
        continuation.yield(WebSocketFrame.masked(binary: message))
        let task = Task { await proxy.serveWebSocket(head, body: stream, writer: writer) }
        // Wait for the echo (header of 10 bytes + payload), then close our side.
        let deadline = ContinuousClock.now + .seconds(10)
        while writer.body.readableBytes < message.count + 10, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(20))
        }
        continuation.finish()
        _ = await task.value
        #expect(writer.status == 101)
        #expect(WebSocketFrame.payload(of: writer.body) == message)
    }

    @Test("raw TCP streams are relayed both ways")
    func tcpEcho() async throws {
        let servers = try OriginServers()
        let proxy = try proxy([IngressRuleConfig(service: "http_status:404")])
        let payload = pattern(200_000)
        let writer = CollectingWriter()
        let outcome = await proxy.serveTCP(
            to: OriginEndpoint(address: .tcp(host: "127.0.0.1", port: servers.tcp)),
            body: Chunks(payload, chunkSize: 30_000), writer: writer)
        guard case .completed = outcome else { Issue.record("outcome \(outcome)"); return }
        #expect(Array(writer.body.readableBytesView) == payload)
    }
}

/// A port nothing listens on: bound, then closed.
func closedPort() throws -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    _ = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) } }
    _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
    close(fd)
    return Int(UInt16(bigEndian: address.sin_port))
}

/// Just enough RFC 6455 framing for the tests: one masked client frame, one server frame.
enum WebSocketFrame {
    static func masked(binary payload: [UInt8]) -> ByteBuffer {
        var buffer = ByteBuffer()
        buffer.writeInteger(UInt8(0x82))
        if payload.count < 126 {
            buffer.writeInteger(UInt8(0x80 | payload.count))
        } else if payload.count <= 0xFFFF {
            buffer.writeInteger(UInt8(0x80 | 126))
            buffer.writeInteger(UInt16(payload.count))
        } else {
            buffer.writeInteger(UInt8(0x80 | 127))
            buffer.writeInteger(UInt64(payload.count))
        }
        let mask: [UInt8] = [1, 2, 3, 4]
        buffer.writeBytes(mask)
        buffer.writeBytes(payload.enumerated().map { $0.element ^ mask[$0.offset % 4] })
        return buffer
    }

    static func payload(of frame: ByteBuffer) -> [UInt8]? {
        var frame = frame
        guard let _ = frame.readInteger(as: UInt8.self), let lengthByte = frame.readInteger(as: UInt8.self) else { return nil }
        var length = Int(lengthByte & 0x7F)
        if length == 126 { length = Int(frame.readInteger(as: UInt16.self) ?? 0) }
        if length == 127 { length = Int(frame.readInteger(as: UInt64.self) ?? 0) }
        return frame.readBytes(length: length)
    }
}
