import NIOHPACK
import Testing
import TunnelTransport

@Suite struct StreamClassificationTests {
    static let base: HPACKHeaders = [":method": "GET", ":scheme": "https", ":authority": "a.test", ":path": "/"]

    static func with(_ extra: [(String, String)]) -> HPACKHeaders {
        var headers = base
        headers.add(contentsOf: extra)
        return headers
    }

    @Test(arguments: [
        ([("cf-cloudflared-proxy-connection-upgrade", "update-configuration")], TunnelStreamKind.configurationUpdate),
        ([("cf-cloudflared-proxy-connection-upgrade", "websocket")], .websocket),
        ([("cf-cloudflared-proxy-src", "tcp")], .tcp),
        ([("cf-cloudflared-proxy-connection-upgrade", "control-stream")], .control),
        ([], .http),
        // Ordering: websocket wins over a TCP source; a TCP source wins over control-stream.
        ([("cf-cloudflared-proxy-src", "tcp"), ("cf-cloudflared-proxy-connection-upgrade", "websocket")], .websocket),
        ([("cf-cloudflared-proxy-connection-upgrade", "control-stream"), ("cf-cloudflared-proxy-src", "x")], .tcp),
        // An empty source does not make a TCP stream; values are case-sensitive.
        ([("cf-cloudflared-proxy-src", "")], .http),
        ([("cf-cloudflared-proxy-connection-upgrade", "WebSocket")], .http),
        ([("cf-cloudflared-proxy-connection-upgrade", "control-stream ")], .http),
    ] as [([(String, String)], TunnelStreamKind)])
    func classifies(extra: [(String, String)], expected: TunnelStreamKind) {
        #expect(TunnelStreamKind(requestHeaders: Self.with(extra)) == expected)
    }

    @Test func controlStreamRequestClassifiesAsControl() {
        #expect(TunnelStreamKind(requestHeaders: EdgeRequestHeaders.controlStream()) == .control)
        #expect(TunnelStreamKind.tcp.flushesEveryWrite && !TunnelStreamKind.http.flushesEveryWrite)
    }
}
