import Testing
import TunnelTransport

@Suite struct SerializedHeadersTests {
    /// edge-protocol.md 7.3 test vector.
    static let specVector =
        "Q29udGVudC1UeXBl:dGV4dC9wbGFpbjsgY2hhcnNldD11dGYtOA;Q29udGVudC1MZW5ndGg:MTM;U2V0LUNvb2tpZQ:YT0x;U2V0LUNvb2tpZQ:Yj0y"
    static let specFields = [
        SerializedHeaderField(name: "Content-Type", value: "text/plain; charset=utf-8"),
        SerializedHeaderField(name: "Content-Length", value: "13"),
        SerializedHeaderField(name: "Set-Cookie", value: "a=1"),
        SerializedHeaderField(name: "Set-Cookie", value: "b=2"),
    ]

    @Test func encodesSpecVectorByteForByte() {
        #expect(SerializedHeaders.encode(Self.specFields) == Self.specVector)
        #expect(SerializedHeaders.encode([SerializedHeaderField(name: "X-Empty", value: "")]) == "WC1FbXB0eQ:")
        #expect(SerializedHeaders.encode([SerializedHeaderField]()) == "")
    }

    @Test func decodesSpecVector() throws {
        #expect(try SerializedHeaders.decode(Self.specVector) == Self.specFields)
        #expect(try SerializedHeaders.decode("WC1FbXB0eQ:") == [SerializedHeaderField(name: "X-Empty", value: "")])
        #expect(try SerializedHeaders.decode("") == [])
    }

    /// streams.md S1, S8: values captured from cloudflared 2026.8.2.
    @Test func decodesCapturedValues() throws {
        #expect(
            try SerializedHeaders.decode(
                "Q29udGVudC1UeXBl:dGV4dC9wbGFpbjsgY2hhcnNldD11dGYtOA;Q29udGVudC1MZW5ndGg:MTg;WC1PcmlnaW4:cHk"
            ) == [
                SerializedHeaderField(name: "Content-Type", value: "text/plain; charset=utf-8"),
                SerializedHeaderField(name: "Content-Length", value: "18"),
                SerializedHeaderField(name: "X-Origin", value: "py"),
            ]
        )
        let s8 =
            "Q29udGVudC1MZW5ndGg:OA;Q29udGVudC1UeXBl:dGV4dC9wbGFpbg;U2V0LUNvb2tpZQ:YT0xOyBQYXRoPS8;U2V0LUNvb2tpZQ:Yj0yOyBIdHRwT25seQ;WC1VdGY4:Y2Fmw6kg4oKs"
        let fields = try SerializedHeaders.decode(s8)
        #expect(fields.map(\.nameString) == ["Content-Length", "Content-Type", "Set-Cookie", "Set-Cookie", "X-Utf8"])
        #expect(fields[2].valueString == "a=1; Path=/")
        #expect(fields[3].valueString == "b=2; HttpOnly")
        #expect(fields[4].value == [0x63, 0x61, 0x66, 0xC3, 0xA9, 0x20, 0xE2, 0x82, 0xAC])
        #expect(SerializedHeaders.encode(fields) == s8)

        let latin1 = "WC1MYXRpbjE:6XTp;Q29udGVudC1MZW5ndGg:Nw;Q29udGVudC1UeXBl:dGV4dC9wbGFpbg"
        let raw = try SerializedHeaders.decode(latin1)
        #expect(raw[0] == SerializedHeaderField(name: Array("X-Latin1".utf8), value: [0xE9, 0x74, 0xE9]))
        #expect(SerializedHeaders.encode(raw) == latin1)
    }

    @Test func skipsEmptyPieces() throws {
        #expect(try SerializedHeaders.decode(";;WC1FbXB0eQ:;") == [SerializedHeaderField(name: "X-Empty", value: "")])
    }

    @Test(arguments: [
        ("WC1FbXB0eQ", SerializedHeadersError.missingColon(pair: 0)),
        ("WC1FbXB0eQ:YQ:YQ", .extraColon(pair: 0)),
        ("WC1FbXB0eQ:;WC1FbXB0eQ=:", .invalidBase64(pair: 1, inName: true)),
        ("WC1FbXB0eQ:YQ==", .invalidBase64(pair: 0, inName: false)),
        ("WC1FbXB0eQ:Y", .invalidBase64(pair: 0, inName: false)),
        ("WC1FbXB0eQ:Y-Q", .invalidBase64(pair: 0, inName: false)),
        (":YQ", .emptyName(pair: 0)),
    ])
    func rejectsMalformed(input: String, expected: SerializedHeadersError) {
        #expect(throws: expected) { try SerializedHeaders.decode(input) }
    }

    @Test func enforcesLimits() {
        let many = Array(repeating: "WC1FbXB0eQ:", count: 11).joined(separator: ";")
        #expect(throws: SerializedHeadersError.tooManyFields(limit: 10)) {
            try SerializedHeaders.decode(many, limits: .init(maxFieldCount: 10))
        }
        #expect(throws: SerializedHeadersError.tooLong(length: many.utf8.count, limit: 100)) {
            try SerializedHeaders.decode(many, limits: .init(maxEncodedLength: 100))
        }
        let error = SerializedHeadersError.tooLong(length: 1, limit: 0)
        #expect(error.description.contains("maxEncodedLength"))
    }

    @Test func roundTripsAllByteValues() throws {
        for length in 0..<7 {
            let value = (0..<256).map { UInt8(($0 * 7 + length) & 0xFF) }.prefix(250 + length)
            let field = SerializedHeaderField(name: [0x58], value: Array(value))
            #expect(try SerializedHeaders.decode(SerializedHeaders.encode([field])) == [field])
        }
    }

    @Test func originHeadersAreFilteredAndCanonicalized() throws {
        let encoded = SerializedHeaders.encode(originHeaders: [
            (name: "content-type", value: "text/html"),
            (name: "cf-int-cloudflared-tracing", value: "x"),
            (name: "CF-Cloudflared-Response-Meta", value: "x"),
            (name: "cf-proxy-foo", value: "x"),
            (name: "x-request-id", value: "7"),
            (name: "sec-websocket-accept", value: "abc"),
            (name: "connection", value: "Upgrade"),
        ])
        #expect(
            try SerializedHeaders.decode(encoded).map(\.description) == [
                "Content-Type: text/html", "X-Request-Id: 7", "Sec-Websocket-Accept: abc", "Connection: Upgrade",
            ])
        #expect(SerializedHeaders.canonicalName("www-authenticate") == "Www-Authenticate")
        #expect(SerializedHeaders.canonicalName("X-UTF8") == "X-Utf8")
    }
}

@Suite struct ResponseMetaTests {
    @Test func encodesExactValues() {
        #expect(ResponseMeta.origin.headerValue == #"{"src":"origin"}"#)
        #expect(ResponseMeta.cloudflared.headerValue == #"{"src":"cloudflared"}"#)
        #expect(ResponseMeta.flowRateLimited.headerValue == #"{"src":"cloudflared","flow_rate_limited":true}"#)
    }

    @Test func decodesValues() throws {
        #expect(try ResponseMeta(headerValue: #"{"src":"origin"}"#) == .origin)
        #expect(try ResponseMeta(headerValue: #"{"src":"cloudflared"}"#) == .cloudflared)
        #expect(try ResponseMeta(headerValue: #"{"src":"cloudflared","flow_rate_limited":true}"#) == .flowRateLimited)
        #expect(try ResponseMeta(headerValue: #" { "flow_rate_limited" : false , "src" : "origin", "x": 1 } "#) == .origin)
    }

    @Test(arguments: [#""#, #"{}"#, #"{"src":1}"#, #"{"src":"origin""#, #"{"src":"origin"} x"#, #"{"src":"origin","flow_rate_limited":"yes"}"#])
    func rejectsMalformed(value: String) {
        #expect(throws: ResponseMetaError.self) { try ResponseMeta(headerValue: value) }
    }

    @Test func rejectsUnknownSource() {
        #expect(throws: ResponseMetaError.unknownSource("edge")) { try ResponseMeta(headerValue: #"{"src":"edge"}"#) }
    }
}
