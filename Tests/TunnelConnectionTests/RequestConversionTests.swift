import NIOHPACK
import NIOHTTP1
import Testing
import TunnelTransport

@Suite struct RequestConversionTests {
    static func pairs(_ headers: HPACKHeaders) -> [String] { headers.map { "\($0.name): \($0.value)" } }

    @Test func edgeSideBuildsPlainRequest() throws {
        let request = VisitorRequest(
            method: "GET", scheme: "https", authority: "app.test", path: "/index.html?q=1",
            headers: [
                ("Host", "app.test"), ("User-Agent", "curl/8.5.0"), ("Accept", "*/*"),
                ("Connection", "keep-alive, X-Secret"), ("Keep-Alive", "timeout=5"), ("X-Secret", "hop"),
                ("Transfer-Encoding", "chunked"), ("Upgrade", "h2c"), ("TE", "trailers, deflate"),
                ("CF-Cloudflared-Proxy-Src", "tcp"), ("cf-cloudflared-proxy-connection-upgrade", "control-stream"),
                ("Cf-Connecting-Ip", "6.6.6.6"), ("X-Forwarded-Proto", "http"), ("X-Forwarded-For", "198.51.100.1"),
                ("Cookie", "a=1"),
            ],
            visitorAddress: "192.0.2.7")
        let headers = try EdgeRequestHeaders.make(for: request)
        #expect(
            Self.pairs(headers) == [
                ":method: GET", ":scheme: https", ":authority: app.test", ":path: /index.html?q=1",
                "user-agent: curl/8.5.0", "accept: */*", "te: trailers", "cookie: a=1",
                "cf-connecting-ip: 192.0.2.7", "x-forwarded-for: 198.51.100.1, 192.0.2.7", "x-forwarded-proto: https",
            ])
        #expect(TunnelStreamKind(requestHeaders: headers) == .http)
    }

    @Test func edgeSidePurposesAddMarkers() throws {
        let request = VisitorRequest(
            method: "GET", scheme: "http", authority: "ws.test", path: "/echo",
            headers: [("Connection", "Upgrade"), ("Upgrade", "websocket"), ("Sec-WebSocket-Key", "k"), ("Sec-WebSocket-Version", "13")])
        let ws = try EdgeRequestHeaders.make(for: request, purpose: .websocket)
        #expect(TunnelStreamKind(requestHeaders: ws) == .websocket)
        #expect(ws.first(name: "sec-websocket-key") == "k")
        #expect(!ws.contains(name: "upgrade") && !ws.contains(name: "connection"))
        #expect(!ws.contains(name: "cf-connecting-ip") && ws.first(name: "x-forwarded-proto") == "http")
        #expect(TunnelStreamKind(requestHeaders: try EdgeRequestHeaders.make(for: request, purpose: .tcp(source: "tcp"))) == .tcp)
        #expect(
            TunnelStreamKind(requestHeaders: try EdgeRequestHeaders.make(for: request, purpose: .configurationUpdate))
                == .configurationUpdate)
    }

    @Test func edgeSideRejectsBadInput() {
        let good = VisitorRequest(method: "GET", scheme: "https", authority: "a", path: "/")
        var bad = good
        bad.scheme = "ftp"
        #expect(throws: RequestConversionError.invalidScheme("ftp")) { try EdgeRequestHeaders.make(for: bad) }
        bad = good
        bad.headers = [("Bad Name", "x")]
        #expect(throws: RequestConversionError.invalidHeaderName("Bad Name")) { try EdgeRequestHeaders.make(for: bad) }
        bad = good
        bad.headers = [("x-a", "a\r\nb")]
        #expect(throws: RequestConversionError.invalidHeaderValue(name: "x-a")) { try EdgeRequestHeaders.make(for: bad) }
        bad = good
        bad.path = ""
        #expect(throws: RequestConversionError.missingPseudoHeader(":path")) { try EdgeRequestHeaders.make(for: bad) }
    }

    @Test func connectorSideBuildsOriginHead() throws {
        let headers: HPACKHeaders = [
            ":method": "POST", ":scheme": "https", ":authority": "app.test:8443", ":path": "/upload?x=1",
            "user-agent": "lab-edge/1", "cookie": "a=1", "x-request-id": "r1", "cookie": "b=2",
            "cf-cloudflared-proxy-connection-upgrade": "websocket", "cf-trace-id": "1:2:3:4", "cf-ray": "abc-LAB",
            "content-length": "5",
        ]
        let head = try OriginRequestHead.make(from: headers)
        #expect(head.method == .POST)
        #expect(head.uri == "/upload?x=1")
        #expect(head.version == .http1_1)
        #expect(
            head.headers.map { "\($0.name): \($0.value)" } == [
                "Host: app.test:8443", "Cookie: a=1; b=2", "User-Agent: lab-edge/1", "X-Request-Id: r1",
                "Cf-Ray: abc-LAB", "Content-Length: 5",
            ])
    }

    @Test func connectorSideAcceptsConnectAndHostFallback() throws {
        let connect = try OriginRequestHead.make(from: [":method": "CONNECT", ":authority": "10.0.0.1:22"])
        #expect(connect.method == .CONNECT && connect.uri == "" && connect.headers["Host"] == ["10.0.0.1:22"])
        let hostOnly = try OriginRequestHead.make(from: [":method": "GET", ":scheme": "http", ":path": "/", "host": "h.test"])
        #expect(hostOnly.headers["Host"] == ["h.test"])
        #expect(throws: RequestConversionError.missingPseudoHeader(":path")) {
            try OriginRequestHead.make(from: [":method": "GET", ":scheme": "http"])
        }
        #expect(throws: RequestConversionError.invalidScheme("ftp")) {
            try OriginRequestHead.make(from: [":method": "GET", ":scheme": "ftp", ":path": "/"])
        }
    }
}
