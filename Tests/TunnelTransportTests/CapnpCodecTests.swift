import NIOCore
import Testing
import TunnelTransport

@Suite("Cap'n Proto codec")
struct CapnpCodecTests {
    typealias M = CapnpTestMessages

    @Test func frameDecoderDripFeed() throws {
        let capture = try CaptureFixtures.connectorToEdge() + CaptureFixtures.edgeToConnector()
        var bulk = CapnpFrameDecoder()
        bulk.append(capture)
        var expected: [CapnpMessage] = []
        while let message = try bulk.next() { expected.append(message) }
        #expect(expected.count == 15)
        #expect(bulk.bufferedByteCount == 0)

        var drip = CapnpFrameDecoder()
        var dripped: [CapnpMessage] = []
        for byte in capture {
            drip.append([byte])
            while let message = try drip.next() { dripped.append(message) }
        }
        #expect(dripped == expected)

        var perMessage = CapnpFrameDecoder()
        var separate: [CapnpMessage] = []
        for message in expected {
            perMessage.append(message.framed())
            guard let decoded = try perMessage.next() else { Issue.record("missing message"); return }
            separate.append(decoded)
            #expect(try perMessage.next() == nil)
        }
        #expect(separate == expected)
        #expect(expected.map(\.framedBytes).reduce([], +) == capture)
    }

    @Test func multiSegmentFramingRoundTrips() throws {
        let message = try M.message([[M.farPointer(segment: 1, offset: 0)], [M.structPointer(offset: 0, dataWords: 1, pointers: 0), 42], []])
        let framed = message.framedBytes
        // 3 segments: count-1 = 2, three sizes, no padding (odd count).
        #expect(Array(framed.prefix(16)) == [2, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0])
        #expect(try CapnpMessage(framedBytes: framed) == message)
        let twoSegments = try M.message([[0], [0]])
        #expect(twoSegments.framedBytes.count == 16 + 16)
    }

    @Test func singleFarPointer() throws {
        let text = Array("hi\0".utf8) + [0, 0, 0, 0, 0]
        let message = try M.message([
            [M.farPointer(segment: 1, offset: 1)],
            [0xdead, M.structPointer(offset: 0, dataWords: 1, pointers: 1), 7, M.listPointer(offset: 0, size: 2, count: 3),
             text.withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) }],
        ])
        let root = try message.root()
        #expect(root.read(UInt32.self, at: 0) == 7)
        #expect(try root.readText(0) == "hi")
    }

    @Test func doubleFarPointer() throws {
        // Root: double far to segment 2 word 0; landing pad = [far → segment 1 word 0, tag struct (1,1)].
        let message = try M.message([
            [M.farPointer(segment: 2, offset: 0, double: true)],
            [99, M.farPointer(segment: 2, offset: 2)],
            [M.farPointer(segment: 1, offset: 0), M.structPointer(offset: 0, dataWords: 1, pointers: 1),
             M.listPointer(offset: 0, size: 4, count: 2), 0x0000_0002_0000_0001],
        ])
        let root = try message.root()
        #expect(root.read(UInt64.self, at: 0) == 99)
        // The struct's pointer is itself a single far pointer to a list of two UInt32 in segment 2.
        let list = try #require(try root.readList(0))
        #expect(list.count == 2)
        #expect(try list.read(UInt32.self, at: 0) == 1)
        #expect(try list.read(UInt32.self, at: 1) == 2)
    }

    @Test func scalarsDefaultsAndFloats() throws {
        var builder = CapnpMessageBuilder()
        let root = builder.initRoot(dataWords: 3, pointers: 0)
        builder.write(UInt16(0x1234), at: 0, in: root, default: 0x00ff)
        builder.write(Int8(-5), at: 2, in: root)
        builder.writeBool(false, bit: 24, in: root, default: true)
        builder.writeBool(true, bit: 25, in: root, default: true)
        builder.writeFloat32(1.5, at: 4, in: root, default: 2.0)
        builder.writeFloat64(-3.25, at: 8, in: root)
        builder.write(Int64.min, at: 16, in: root, default: 7)
        let message = builder.message
        let reader = try message.root()
        #expect(reader.read(UInt16.self, at: 0) == 0x1234 ^ 0x00ff)  // stored XOR default
        #expect(reader.read(UInt16.self, at: 0, default: 0x00ff) == 0x1234)
        #expect(reader.read(Int8.self, at: 2) == -5)
        #expect(reader.readBool(bit: 24, default: true) == false)
        #expect(reader.readBool(bit: 24) == true)  // wire bit 1 means "not the default"
        #expect(reader.readBool(bit: 25, default: true) == true)
        #expect(reader.readFloat32(at: 4, default: 2.0) == 1.5)
        #expect(reader.readFloat64(at: 8) == -3.25)
        #expect(reader.read(Int64.self, at: 16, default: 7) == Int64.min)
        // Fields beyond the data section read as their defaults.
        #expect(reader.read(UInt32.self, at: 24, default: 77) == 77)
        #expect(reader.readBool(bit: 500, default: true) == true)
        #expect(try reader.readText(3) == nil)
    }

    @Test func primitiveListsAndVoidLists() throws {
        var builder = CapnpMessageBuilder()
        let root = builder.initRoot(dataWords: 0, pointers: 6)
        try builder.writeList([UInt16(1), 2, 3], in: root, pointer: 0)
        try builder.writeList([Int64(-1), 5], in: root, pointer: 1)
        try builder.writeBoolList([true, false, true, true], in: root, pointer: 2)
        try builder.writeVoidList(count: 9, in: root, pointer: 3)
        try builder.writeData([1, 2, 3], in: root, pointer: 4)
        try builder.writeTextList(["a", "", "ccc"], in: root, pointer: 5)
        let reader = try builder.message.root()
        let u16 = try #require(try reader.readList(0))
        #expect(try (0..<u16.count).map { try u16.read(UInt16.self, at: $0) } == [1, 2, 3])
        let i64 = try #require(try reader.readList(1))
        #expect(try i64.read(Int64.self, at: 0) == -1)
        let bits = try #require(try reader.readList(2))
        #expect(try (0..<bits.count).map { try bits.readBool(at: $0) } == [true, false, true, true])
        let void = try #require(try reader.readList(3))
        #expect(void.count == 9 && void.elementSize == .void)
        #expect(try reader.readData(4) == [1, 2, 3])
        #expect(try reader.readTextList(5) == ["a", "", "ccc"])
        #expect(throws: CapnpError.unexpectedListElementSize()) { try u16.read(UInt32.self, at: 0) }
        #expect(throws: CapnpError.pointerOutOfBounds()) { try u16.read(UInt16.self, at: 3) }
        // Deep copy reproduces the same bytes (pre-order layout is stable).
        var copy = CapnpMessageBuilder()
        let copyRoot = copy.initRoot(dataWords: 0, pointers: 1)
        try copy.copy(try builder.message.rootPointer(), in: copyRoot, pointer: 0)
        #expect(Array(copy.message.segment(0).dropFirst(16)) == Array(builder.message.segment(0).dropFirst(8)))
    }

    @Test(arguments: [
        ConnectionResponse.connectionDetails(ConnectionDetails(uuid: Array(0..<16), locationName: "LAB", tunnelIsRemotelyManaged: true)),
        ConnectionResponse.error(ConnectionError(cause: ConnectionError.duplicateConnectionCause, retryAfterNanoseconds: 5_000_000_000, shouldRetry: true)),
        ConnectionResponse.error(ConnectionError(cause: "Unauthorized: bad secret", shouldRetry: false)),
    ])
    func unionsRoundTrip(response: ConnectionResponse) throws {
        let message = try RegisterConnectionResults(result: response).capnpMessage()
        #expect(try RegisterConnectionResults(capnpMessage: message).result == response)
    }

    @Test func unknownUnionMemberIsTyped() throws {
        var builder = CapnpMessageBuilder()
        let root = builder.initRoot(dataWords: 1, pointers: 1)
        builder.write(UInt16(7), at: 0, in: root)
        #expect(throws: CapnpError.unknownUnionDiscriminant()) { try ConnectionResponse(capnpMessage: builder.message) }
    }

    @Test func schemaTypesRoundTrip() throws {
        let params = CaptureFixtures.registerParams
        #expect(try RegisterConnectionParams(capnpMessage: try params.capnpMessage()) == params)
        var options = LegacyRegistrationOptions()
        options.clientID = "c"
        options.tags = [LegacyTag(name: "n", value: "v")]
        options.isAutoupdated = true
        options.runFromTerminal = true
        options.compressionQuality = 3
        options.numPreviousAttempts = 2
        options.features = ["x"]
        options.existingTunnelPolicy = 2
        let legacy = LegacyRegisterTunnelParams(originCert: [1, 2], hostname: "h", options: options)
        #expect(try LegacyRegisterTunnelParams(capnpMessage: try legacy.capnpMessage()) == legacy)
        let registration = LegacyResult(result: LegacyTunnelRegistration(
            err: "e", url: "u", logLines: ["l1", "l2"], permanentFailure: true, tunnelID: "t", retryAfterSeconds: 9,
            eventDigest: [1], connDigest: [2]))
        #expect(try LegacyResult<LegacyTunnelRegistration>(capnpMessage: try registration.capnpMessage()) == registration)
        let reconnect = LegacyReconnectTunnelParams(jwt: [1], eventDigest: [2], connDigest: [3], hostname: "h", options: options)
        #expect(try LegacyReconnectTunnelParams(capnpMessage: try reconnect.capnpMessage()) == reconnect)
        let auth = LegacyResult(result: LegacyAuthenticateResponse(permanentErr: "p", retryableErr: "r", jwt: [9], hoursUntilRefresh: 4))
        #expect(try LegacyResult<LegacyAuthenticateResponse>(capnpMessage: try auth.capnpMessage()) == auth)
        let info = LegacyResult(result: LegacyServerInfo(locationName: "LAB"))
        #expect(try LegacyResult<LegacyServerInfo>(capnpMessage: try info.capnpMessage()) == info)
        let unregister = LegacyUnregisterTunnelParams(gracePeriodNanoseconds: 30_000_000_000)
        #expect(try LegacyUnregisterTunnelParams(capnpMessage: try unregister.capnpMessage()) == unregister)
        let authentication = LegacyAuthentication(key: "k", email: "e", originCAKey: "o")
        #expect(try LegacyAuthentication(capnpMessage: try authentication.capnpMessage()) == authentication)
    }

    @Test func smallerAndLargerStructsAreCompatible() throws {
        // An old writer's ConnectionDetails without the bool's data word: the bool reads as false.
        var builder = CapnpMessageBuilder()
        let root = builder.initRoot(dataWords: 0, pointers: 1)
        try builder.writeData(Array(0..<16), in: root, pointer: 0)
        let details = try ConnectionDetails(capnpMessage: builder.message)
        #expect(details == ConnectionDetails(uuid: Array(0..<16), locationName: "", tunnelIsRemotelyManaged: false))
        // A newer writer's Exception with an extra trace pointer decodes.
        let exception = RPCException(reason: "boom", type: .overloaded, trace: "at line 1")
        let message = try RPCMessage.abort(exception).encode()
        guard case .abort(let decoded) = try RPCMessage(decoding: message) else { Issue.record("not abort"); return }
        #expect(decoded == exception)
    }

    @Test func unimplementedEchoesTheOriginal() throws {
        let original = try RPCMessage.call(RPCCall(
            questionID: 5, target: .importedCap(3), interfaceID: 1, methodID: 2,
            params: RPCPayload(content: .value(CaptureFixtures.registerParams)))).encode()
        let echo = try RPCMessage.unimplemented(echoing: original)
        guard case .unimplemented(let inner?) = try RPCMessage(decoding: echo), case .call(let call) = inner else {
            Issue.record("not an unimplemented call"); return
        }
        #expect(call.questionID == 5)
        #expect(try call.params.content.decode(RegisterConnectionParams.self) == CaptureFixtures.registerParams)
        let encodedAgain = try RPCMessage.unimplemented(.bootstrap(questionID: 4)).encode()
        guard case .unimplemented(.bootstrap(questionID: 4)?) = try RPCMessage(decoding: encodedAgain) else {
            Issue.record("bad unimplemented bootstrap"); return
        }
    }

    @Test func emptyStructUsesOffsetMinusOne() throws {
        let call = try RPCMessage.call(RPCCall(
            questionID: 1, target: .importedCap(0), interfaceID: 1, methodID: 1, params: RPCPayload(content: .value(CapnpEmptyStruct()))
        )).encode()
        #expect(call.framedBytes.contains(where: { _ in true }))
        let bytes = Array(call.segment(0))
        #expect(Array(bytes[88..<96]) == [0xfc, 0xff, 0xff, 0xff, 0, 0, 0, 0])
    }
}
