import Crypto
import NIOCore
import NIOHPACK
import NIOHTTP2
import NIOPosix
import NIOSSL
import Synchronization
import Testing
import TunnelTransport

/// Connector side (``EdgeConnection``, dialed) against edge side (``ConnectorConnection``,
/// accepted) over real loopback TCP + TLS with a CA generated per test.
@Suite(.timeLimit(.minutes(2)))
struct TunnelConnectionLoopbackTests {
    let pki: TestPKI

    init() throws {
        self.pki = try TestPKI()
    }

    @Test func controlStreamCarriesBytesBothWaysAndSettingsMatchCloudflared() async throws {
        let received = try await TunnelPair.run(
            pki: self.pki,
            controlHandler: { stream in
                // Echo every chunk back, prefixed, like an RPC peer answering.
                for try await chunk in stream.inbound {
                    var reply = ByteBuffer(string: "echo:")
                    reply.writeImmutableBuffer(chunk)
                    try await stream.outbound.write(reply)
                }
            }
        ) { edge, connector, control in
            #expect(control.streamID == 1)
            try await control.outbound.write(ByteBuffer(string: "bootstrap"))
            var iterator = control.inbound.makeAsyncIterator()
            var answer = ByteBuffer()
            while answer.readableBytes < "echo:bootstrap".utf8.count, var chunk = try await iterator.next() {
                answer.writeBuffer(&chunk)
            }
            // Both sides have seen the other's SETTINGS by now.
            let connectorSettings = try #require(edge.remoteSettings)
            let edgeSettings = try #require(connector.remoteSettings)
            _ = try await edge.ping(timeout: .seconds(5))
            _ = try await connector.ping(timeout: .seconds(5))
            return (String(buffer: answer), connectorSettings, edgeSettings)
        }
        #expect(received.0 == "echo:bootstrap")
        let sent = Dictionary(received.1.map { ($0.parameter, $0.value) }, uniquingKeysWith: { $1 })
        for setting in EdgeConnection.cloudflaredSettings {
            #expect(sent[setting.parameter] == setting.value, "connector SETTINGS \(setting.parameter)")
        }
        let edgeSent = Dictionary(received.2.map { ($0.parameter, $0.value) }, uniquingKeysWith: { $1 })
        #expect(edgeSent[.enablePush] == 0)
        #expect(edgeSent[.initialWindowSize] == 1 << 20)
    }

    @Test func threeConcurrentStreamsAndTenMegabytesBothWays() async throws {
        try await TunnelPair.run(pki: self.pki) { edge, _, _ in
            try await withThrowingTaskGroup(of: Void.self) { group in
                for (index, size) in [100_000, 1_000_000, 3_000_000].enumerated() {
                    group.addTask {
                        let sent = pattern(size, seed: UInt8(index))
                        let echoed = try await edge.withStream(testRequest("/echo", method: "POST")) { stream in
                            try await withThrowingTaskGroup(of: ByteBuffer?.self) { inner in
                                inner.addTask {
                                    var body = sent
                                    while body.readableBytes > 0 {
                                        try await stream.requestBody.write(body.readSlice(length: min(50_000, body.readableBytes))!)
                                    }
                                    try await stream.requestBody.finish()
                                    return nil
                                }
                                inner.addTask {
                                    let (head, body) = try await stream.response()
                                    #expect(head.status == 200)
                                    #expect(head.meta == .origin)
                                    #expect(head.userHeaders?.map(\.nameString) == ["Content-Type", "Set-Cookie", "Set-Cookie", "X-Latin1"])
                                    #expect(head.userHeaders?.last?.value == [0xE9, 0x74, 0xE9])
                                    return try await body.collect(upTo: 10 << 20)
                                }
                                var result: ByteBuffer?
                                for try await value in inner where value != nil { result = value }
                                return result!
                            }
                        }
                        #expect(echoed == sent, "stream \(index) echoed \(echoed.readableBytes) of \(size) bytes")
                    }
                }
                // 10 MB down: hashed on arrival.
                group.addTask {
                    let size = 10_000_000
                    let digest = try await edge.withStream(testRequest("/download?\(size)"), endStream: true) { stream in
                        let (head, body) = try await stream.response()
                        #expect(head.fields.first(name: "content-length") == String(size))
                        var hasher = SHA256()
                        var total = 0
                        for try await chunk in body {
                            total += chunk.readableBytes
                            chunk.withUnsafeReadableBytes { hasher.update(bufferPointer: $0) }
                        }
                        #expect(total == size)
                        return hasher.finalize()
                    }
                    var expected = SHA256()
                    pattern(size).withUnsafeReadableBytes { expected.update(bufferPointer: $0) }
                    #expect(digest == expected.finalize())
                }
                // 10 MB up: the connector counts, the edge compares SHA-256 of the echo of a part.
                group.addTask {
                    let size = 10_000_000
                    let answer = try await edge.withStream(testRequest("/count", method: "POST")) { stream in
                        var body = pattern(size, seed: 9)
                        while body.readableBytes > 0 {
                            try await stream.requestBody.write(body.readSlice(length: min(1 << 20, body.readableBytes))!)
                        }
                        try await stream.requestBody.finish()
                        let (_, response) = try await stream.response()
                        return String(buffer: try await response.collect(upTo: 100))
                    }
                    #expect(answer == String(size))
                }
                try await group.waitForAll()
            }
        }
    }

    @Test func tenMegabyteEchoKeepsSHA256() async throws {
        try await TunnelPair.run(pki: self.pki) { edge, _, _ in
            let size = 10_000_000
            let sent = pattern(size, seed: 3)
            let digests = try await edge.withStream(testRequest("/echo", method: "POST")) { stream in
                async let upload: Void = {
                    var body = sent
                    while body.readableBytes > 0 {
                        try await stream.requestBody.write(body.readSlice(length: min(256 << 10, body.readableBytes))!)
                    }
                    try await stream.requestBody.finish()
                }()
                let (_, body) = try await stream.response()
                var hasher = SHA256()
                for try await chunk in body { chunk.withUnsafeReadableBytes { hasher.update(bufferPointer: $0) } }
                try await upload
                return hasher.finalize()
            }
            var expected = SHA256()
            sent.withUnsafeReadableBytes { expected.update(bufferPointer: $0) }
            #expect(digests == expected.finalize())
        }
    }

    @Test func trailersArriveAfterTheBody() async throws {
        try await TunnelPair.run(pki: self.pki) { edge, _, _ in
            try await edge.withStream(testRequest("/echo", method: "POST", extra: ["want-trailers": "1"])) { stream in
                try await stream.requestBody.write(ByteBuffer(string: "grpc frame"))
                try await stream.requestBody.finish()
                let (_, body) = try await stream.response()
                #expect(String(buffer: try await body.collect(upTo: 1000)) == "grpc frame")
                #expect(body.trailers?.first(name: "grpc-status") == "0")
                #expect(body.trailers?.first(name: "x-checksum") == "abc123")
            }
        }
    }

    @Test func resetsPropagateBothWays() async throws {
        try await TunnelPair.run(pki: self.pki) { edge, _, _ in
            // Connector resets after the head.
            try await edge.withStream(testRequest("/reset"), endStream: true) { stream in
                let (head, body) = try await stream.response()
                #expect(head.status == 200)
                await #expect(throws: TunnelStreamError.reset(.internalError)) {
                    _ = try await body.collect(upTo: 1000)
                }
            }
            // Edge cancels mid-body by leaving the closure; the connection stays usable.
            try await edge.withStream(testRequest("/slow?100"), endStream: true) { stream in
                let (_, body) = try await stream.response()
                var iterator = body.makeAsyncIterator()
                _ = try await iterator.next()
            }
            // A handler that writes nothing yields the connector's 502.
            try await edge.withStream(testRequest("/nohead"), endStream: true) { stream in
                let (head, body) = try await stream.response()
                #expect(head.status == 502)
                #expect(head.meta == .cloudflared)
                #expect(head.userHeaders == nil)
                #expect(try await body.collect(upTo: 10).readableBytes == 0)
            }
        }
    }

    @Test func goAwayDrainsInFlightStreamsAndRefusesNewOnes() async throws {
        try await TunnelPair.run(pki: self.pki) { edge, connector, _ in
            try await edge.withStream(testRequest("/slow?10"), endStream: true) { stream in
                let (_, body) = try await stream.response()
                edge.goAway()
                await #expect(throws: TunnelStreamError.connectionDraining()) {
                    try await edge.withStream(testRequest("/echo"), endStream: true) { _ in }
                }
                #expect(try await body.collect(upTo: 10_000).readableBytes == 1000)
            }
            // The connector answered with GOAWAY(NO_ERROR, highest stream seen = 3).
            for _ in 0..<50 where edge.receivedGoAway == nil { try await Task.sleep(for: .milliseconds(20)) }
            #expect(edge.receivedGoAway?.lastStreamID == 3)
            #expect(edge.receivedGoAway?.errorCode == .noError)
            #expect(connector.isDraining)
        }
    }

    /// A dial the edge refuses (nothing listening: an edge restarting) or hangs up on at once
    /// fails with an error every time. The channel never becomes active in the first case, so
    /// the handshake promise must be failed when the pipeline is torn down (a leaked promise
    /// traps in debug builds).
    @Test func refusedAndHungUpDialsFail() async throws {
        let unused = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton).bind(host: "127.0.0.1", port: 0).get()
        let closedPort = unused.localAddress!.port!
        try await unused.close()
        for _ in 0..<20 {
            await #expect(throws: (any Error).self) {
                _ = try await EdgeDialer.connect(host: "127.0.0.1", port: closedPort, configuration: .init(trustRoots: [self.pki.caCertificate]))
            }
        }
        let hangUp = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .childChannelInitializer { channel in channel.close() }
            .bind(host: "127.0.0.1", port: 0).get()
        let hangUpPort = hangUp.localAddress!.port!
        for _ in 0..<50 {
            await #expect(throws: (any Error).self) {
                _ = try await EdgeDialer.connect(host: "127.0.0.1", port: hangUpPort, configuration: .init(trustRoots: [self.pki.caCertificate]))
            }
        }
        try await hangUp.close()
    }

    @Test func wrongCertificateAuthorityIsRefused() async throws {
        let other = try TestPKI(caName: "some other CA")
        let listener = try await ConnectorListener.bind(host: "127.0.0.1", port: 0, configuration: self.pki.listenerConfiguration())
        let port = listener.channel.localAddress!.port!
        try await listener.executeThenClose { _ in
            await #expect(throws: TunnelTLSError.untrustedCertificate(serverName: "h2.cftunnel.com")) {
                _ = try await EdgeDialer.connect(host: "127.0.0.1", port: port, configuration: .init(trustRoots: [other.caCertificate]))
            }
            // No --cacert: the system pool plus Cloudflare's roots, which never sign a test edge...
            #expect(CloudflareEdgeRoots.certificates.count == 3)
            await #expect(throws: TunnelTLSError.untrustedCertificate(serverName: "h2.cftunnel.com")) {
                _ = try await EdgeDialer.connect(host: "127.0.0.1", port: port, configuration: .init(trustRoots: CloudflareEdgeRoots.certificates, trustSystemRoots: true))
            }
            // ... while extra roots beside the system pool are trusted.
            let connection = try await EdgeDialer.connect(host: "127.0.0.1", port: port, configuration: .init(trustRoots: [self.pki.caCertificate], trustSystemRoots: true))
            await connection.close()
            await #expect(throws: TunnelTLSError.serverNameMismatch(serverName: "other.example")) {
                _ = try await EdgeDialer.connect(
                    host: "127.0.0.1", port: port, configuration: .init(trustRoots: [self.pki.caCertificate], serverName: "other.example"))
            }
        }
    }
}
