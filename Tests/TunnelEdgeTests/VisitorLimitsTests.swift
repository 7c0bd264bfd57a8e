import NIOCore
import NIOHTTP2
import Testing
@testable import TunnelEdge
import TunnelTransport

/// The visitor limits reach NIOHTTP2 as configured.
@Suite("visitor limits")
struct VisitorLimitsTests {
    @Test("HTTP/2 limits become SETTINGS and DOS heuristics")
    func http2Configuration() {
        var limits = VisitorLimits(maxHeaderBytes: 32_000)
        limits.http2.maxConcurrentStreams = 7
        limits.http2.maxResetStreams = 9
        limits.http2.resetWindow = .seconds(5)
        let configuration = limits.http2.nioConfiguration(maxHeaderBytes: limits.maxHeaderBytes)
        let settings = Dictionary(uniqueKeysWithValues: configuration.connection.initialSettings.map { ($0.parameter, $0.value) })
        #expect(settings[.maxConcurrentStreams] == 7)
        #expect(settings[.maxHeaderListSize] == 64_000, "twice the limit: blocks in between get 431")
        #expect(settings[.enableConnectProtocol] == 1)
        #expect(configuration.stream.streamResetFrameRateLimit.maximumCount == 9)
        #expect(configuration.stream.streamResetFrameRateLimit.windowLength == .seconds(5))
        #expect(configuration.connection.maximumConnectionGlitches == 200)
    }

    @Test("durations convert to TimeAmount without losing milliseconds", arguments: [(Duration.milliseconds(1500), TimeAmount.milliseconds(1500)), (.seconds(120), .seconds(120))])
    func timeAmount(_ duration: Duration, _ expected: TimeAmount) {
        #expect(duration.timeAmount == expected)
    }

    @Test("RFC 8441 WebSocket keys are 16 random bytes in base64")
    func websocketKey() {
        let key = VisitorExtendedConnect.randomKey()
        #expect(key.count == 24)
        #expect(key.hasSuffix("=="))
        #expect(key != VisitorExtendedConnect.randomKey())
    }
}
