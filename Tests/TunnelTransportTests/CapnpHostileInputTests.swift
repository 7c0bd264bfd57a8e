import NIOCore
import Testing
import TunnelTransport

@Suite("Cap'n Proto hostile input")
struct CapnpHostileInputTests {
    typealias M = CapnpTestMessages

    @Test func pointerOutOfBounds() throws {
        let message = try M.message([[M.structPointer(offset: 5, dataWords: 1, pointers: 0), 0]])
        #expect(throws: CapnpError.pointerOutOfBounds()) { try message.root() }
        let negative = try M.message([[M.structPointer(offset: -3, dataWords: 1, pointers: 0)]])
        #expect(throws: CapnpError.pointerOutOfBounds()) { try negative.root() }
        let longList = try M.message([[M.structPointer(offset: 0, dataWords: 0, pointers: 1), M.listPointer(offset: 0, size: 2, count: 9)]])
        #expect(throws: CapnpError.pointerOutOfBounds()) { try longList.root().readData(0) }
    }

    @Test func farPointerLoopsAndBadLandingPads() throws {
        let loop = try M.message([[M.farPointer(segment: 1, offset: 0)], [M.farPointer(segment: 0, offset: 0)]])
        #expect(throws: CapnpError.farPointerChain()) { try loop.root() }
        let selfLoop = try M.message([[M.farPointer(segment: 0, offset: 0)]])
        #expect(throws: CapnpError.farPointerChain()) { try selfLoop.root() }
        let missing = try M.message([[M.farPointer(segment: 7, offset: 0)]])
        #expect(throws: CapnpError.farPointerSegmentOutOfRange()) { try missing.root() }
        let outside = try M.message([[M.farPointer(segment: 1, offset: 4)], [0]])
        #expect(throws: CapnpError.pointerOutOfBounds()) { try outside.root() }
        let badDouble = try M.message([[M.farPointer(segment: 1, offset: 0, double: true)], [M.farPointer(segment: 0, offset: 0, double: true), 0]])
        #expect(throws: CapnpError.farPointerChain()) { try badDouble.root() }
        let doubleOutside = try M.message([[M.farPointer(segment: 1, offset: 0, double: true)], [M.farPointer(segment: 1, offset: 60), M.structPointer(offset: 0, dataWords: 1, pointers: 0)]])
        #expect(throws: CapnpError.pointerOutOfBounds()) { try doubleOutside.root() }
    }

    @Test func deepNesting() throws {
        // 100 structs, each (0,1) pointing at the next.
        var words: [UInt64] = []
        for _ in 0..<100 { words.append(M.structPointer(offset: 0, dataWords: 0, pointers: 1)) }
        words.append(0)
        let message = try M.message([words])
        #expect(throws: CapnpError.nestingLimitExceeded()) { try M.walk(message) }
        try M.walk(message, limits: CapnpReaderLimits(nestingLimit: 200))
        #expect(throws: CapnpError.nestingLimitExceeded()) {
            var reader = try message.root(limits: CapnpReaderLimits(nestingLimit: 10))
            while let next = try reader.readStruct(0) { reader = next }
        }
    }

    @Test func hugeListSizes() throws {
        let maxCount = (1 << 29) - 1
        let bytes = try M.message([[M.structPointer(offset: 0, dataWords: 0, pointers: 1), M.listPointer(offset: 0, size: 5, count: maxCount)]])
        #expect(throws: CapnpError.pointerOutOfBounds()) { try bytes.root().readList(0) }
        let void = try M.message([[M.structPointer(offset: 0, dataWords: 0, pointers: 1), M.listPointer(offset: 0, size: 0, count: maxCount)]])
        #expect(throws: CapnpError.traversalLimitExceeded()) { try void.root().readList(0) }
        // Composite list whose tag claims more elements than its word count holds.
        let composite = try M.message([[
            M.structPointer(offset: 0, dataWords: 0, pointers: 1), M.listPointer(offset: 0, size: 7, count: 1),
            M.structPointer(offset: 1000, dataWords: 1, pointers: 0), 0,
        ]])
        #expect(throws: CapnpError.invalidCompositeListTag()) { try composite.root().readList(0) }
        // Zero-sized composite elements are charged per element.
        let zeroSized = try M.message([[
            M.structPointer(offset: 0, dataWords: 0, pointers: 1), M.listPointer(offset: 0, size: 7, count: 0),
            M.structPointer(offset: maxCount, dataWords: 0, pointers: 0),
        ]])
        #expect(throws: CapnpError.traversalLimitExceeded()) { try zeroSized.root().readList(0) }
        let badTag = try M.message([[
            M.structPointer(offset: 0, dataWords: 0, pointers: 1), M.listPointer(offset: 0, size: 7, count: 1),
            M.listPointer(offset: 1, size: 2, count: 1), 0,
        ]])
        #expect(throws: CapnpError.invalidCompositeListTag()) { try badTag.root().readList(0) }
    }

    @Test func segmentCountOverflowAndSizeLimits() throws {
        var decoder = CapnpFrameDecoder()
        decoder.append([0xff, 0xff, 0xff, 0xff])
        #expect(throws: CapnpError.segmentCountTooLarge()) { try decoder.next() }
        var many = CapnpFrameDecoder()
        many.append(M.word(600))
        #expect(throws: CapnpError.segmentCountTooLarge()) { try many.next() }
        var huge = CapnpFrameDecoder()
        huge.append([1, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0])
        #expect(throws: CapnpError.messageTooLarge()) { try huge.next() }
        var limited = CapnpFrameDecoder(limits: CapnpReaderLimits(maxMessageWords: 4))
        limited.append([0, 0, 0, 0, 5, 0, 0, 0])
        #expect(throws: CapnpError.messageTooLarge()) { try limited.next() }
    }

    @Test func truncatedFrames() throws {
        let frame = try CaptureFixtures.frames(try CaptureFixtures.connectorToEdge())[1]
        for length in [0, 3, 4, 7, 8, 100, frame.count - 1] {
            #expect(throws: CapnpError.truncatedMessage()) { try CapnpMessage(framedBytes: Array(frame.prefix(length))) }
            var decoder = CapnpFrameDecoder()
            decoder.append(Array(frame.prefix(length)))
            #expect(try decoder.next() == nil)
        }
        #expect(throws: CapnpError.truncatedMessage()) { try CapnpMessage(framedBytes: frame + [0]) }
        let empty = try CapnpMessage(framedBytes: [0, 0, 0, 0, 0, 0, 0, 0])
        #expect(throws: CapnpError.missingRoot()) { try empty.root() }
        #expect(throws: CapnpError.missingRoot()) { try RPCMessage(decoding: empty) }
    }

    @Test func traversalLimitAmplification() throws {
        // One 10 000-word byte list and 1000 pointers to it: 10 M words of reads from an 88 KB message.
        let pointers = 1000
        let listWords = 10_000
        var words: [UInt64] = [M.structPointer(offset: 0, dataWords: 0, pointers: pointers)]
        for index in 0..<pointers {
            words.append(M.listPointer(offset: pointers - 1 - index, size: 2, count: listWords * 8))
        }
        words.append(contentsOf: repeatElement(0, count: listWords))
        let message = try M.message([words])
        let root = try message.root()
        #expect(throws: CapnpError.traversalLimitExceeded()) {
            for index in 0..<pointers { _ = try root.readList(index) }
        }
        #expect(throws: CapnpError.traversalLimitExceeded()) { try M.walk(message, limits: CapnpReaderLimits(traversalLimitWords: 100_000)) }
        // Each read alone is fine.
        #expect(try message.root().readData(999)?.count == listWords * 8)
    }

    @Test func malformedTextAndCapabilities() throws {
        let unterminated = try M.message([[M.structPointer(offset: 0, dataWords: 0, pointers: 1), M.listPointer(offset: 0, size: 2, count: 2), 0x4141]])
        #expect(throws: CapnpError.textNotTerminated()) { try unterminated.root().readText(0) }
        let badCap = try M.message([[M.structPointer(offset: 0, dataWords: 0, pointers: 1), 0x0000_0001_0000_0007]])
        #expect(throws: CapnpError.invalidCapabilityPointer()) { try badCap.root().readPointer(0) }
        let capAsStruct = try M.message([[M.structPointer(offset: 0, dataWords: 0, pointers: 1), 0x0000_0001_0000_0003]])
        #expect(throws: CapnpError.unexpectedPointerKind()) { try capAsStruct.root().readStruct(0) }
        let listAsStruct = try M.message([[M.listPointer(offset: 0, size: 2, count: 0)]])
        #expect(throws: CapnpError.unexpectedPointerKind()) { try listAsStruct.root() }
    }

    @Test func randomBytesNeverCrash() throws {
        var rng = SplitMix64(seed: 0x5eed)
        for _ in 0..<3000 {
            let length = Int(rng.next() % 200)
            var bytes = (0..<length).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            if length >= 8, rng.next() % 2 == 0 {
                // Plausible header so the body gets parsed.
                bytes.replaceSubrange(0..<8, with: [0, 0, 0, 0, UInt8((length - 8) / 8), 0, 0, 0])
            }
            Self.exercise(bytes)
        }
    }

    @Test func mutatedCapturesNeverCrash() throws {
        var rng = SplitMix64(seed: 42)
        let frames = try CaptureFixtures.frames(try CaptureFixtures.connectorToEdge()) + CaptureFixtures.frames(try CaptureFixtures.edgeToConnector())
        for _ in 0..<5000 {
            var bytes = frames[Int(rng.next() % UInt64(frames.count))]
            for _ in 0..<(1 + rng.next() % 4) {
                let index = 8 + Int(rng.next() % UInt64(bytes.count - 8))
                bytes[index] ^= UInt8(truncatingIfNeeded: 1 << (rng.next() % 8))
            }
            Self.exercise(bytes)
        }
    }

    /// Runs every decoding path over `bytes`; errors are expected, traps are not.
    static func exercise(_ bytes: [UInt8]) {
        var decoder = CapnpFrameDecoder()
        decoder.append(bytes)
        while let message = try? decoder.next() {
            try? M.walk(message)
            guard let rpc = try? RPCMessage(decoding: message) else { continue }
            _ = try? RPCMessage.unimplemented(echoing: message)
            switch rpc {
            case .call(let call):
                _ = try? call.params.content.decode(RegisterConnectionParams.self)
                _ = try? call.params.content.decode(UpdateLocalConfigurationParams.self)
                _ = try? call.params.content.decode(LegacyRegisterTunnelParams.self)
                _ = try? RPCMessage.call(call).encode()
            case .return(let ret):
                if case .results(let payload) = ret.result {
                    _ = try? payload.content.decode(RegisterConnectionResults.self)
                }
                _ = try? RPCMessage.return(ret).encode()
            default:
                _ = try? rpc.encode()
            }
        }
    }
}

/// Small deterministic generator for reproducible property tests.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { self.state = seed }
    mutating func next() -> UInt64 {
        self.state &+= 0x9e37_79b9_7f4a_7c15
        var z = self.state
        z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
        z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
        return z ^ (z >> 31)
    }
}
