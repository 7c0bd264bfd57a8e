import Foundation
import NIOCore
import Synchronization
import Testing
import TunnelTransport

@Suite("RPC session", .timeLimit(.minutes(1)))
struct RPCSessionTests {
    /// Our client against a scripted edge that replies with the captured edge bytes: the client's output must be
    /// the captured connector bytes, all ten messages.
    @Test func clientIsByteIdenticalToCloudflared() async throws {
        let toEdge = BytePipe()
        let toClient = BytePipe()
        let replies = try CaptureFixtures.frames(try CaptureFixtures.edgeToConnector())
        let client = RegistrationClient(writer: toEdge.writer)

        async let edgeRecording: [UInt8] = {
            var decoder = CapnpFrameDecoder()
            var recorded: [UInt8] = []
            for await buffer in toEdge.stream {
                recorded += Array(buffer.readableBytesView)
                decoder.append(buffer)
                while let message = try decoder.next() {
                    guard case .call(let call) = try RPCMessage(decoding: message) else { continue }
                    switch call.methodID {
                    case 0: toClient.continuation.yield(ByteBuffer(bytes: replies[0] + replies[1]))
                    case 2: toClient.continuation.yield(ByteBuffer(bytes: replies[2]))
                    default: toClient.continuation.yield(ByteBuffer(bytes: replies[3]))
                    }
                }
            }
            return recorded
        }()
        async let end = client.session.run(inbound: toClient.stream)

        // No deadline: the exchange is what is tested, and a loaded machine may take a while.
        let details = try await client.registerConnection(
            auth: CaptureFixtures.auth, tunnelID: CaptureFixtures.tunnelID, connIndex: 0, options: CaptureFixtures.options, timeout: nil)
        #expect(details == CaptureFixtures.details)
        try await client.updateLocalConfiguration(Array(CaptureFixtures.configJSON.utf8))
        try await client.unregisterConnection()
        client.shutdown()
        #expect(try await end == .localShutdown)
        toEdge.continuation.finish()
        toClient.continuation.finish()
        #expect(try await edgeRecording == (try CaptureFixtures.connectorToEdge()))
    }

    /// The captured connector messages replayed into our server, each Call waiting for its Return like cloudflared:
    /// the replies decode and the bootstrap Return is byte-identical to the captured edge's.
    @Test func serverAnswersTheCapturedConnector() async throws {
        let toServer = BytePipe()
        let toConnector = BytePipe()
        let server = RecordingRegistrationServer()
        let frames = try CaptureFixtures.frames(try CaptureFixtures.connectorToEdge())
        async let end = server.serve(inbound: toServer.stream, writer: toConnector.writer)
        var replies = toConnector.stream.makeAsyncIterator()
        var decoder = CapnpFrameDecoder()
        var replyBytes: [UInt8] = []
        var messages: [RPCMessage] = []
        func awaitReplies(_ count: Int) async throws {
            while messages.count < count {
                if let message = try decoder.next() {
                    messages.append(try RPCMessage(decoding: message))
                    continue
                }
                guard let buffer = await replies.next() else { throw RPCError.sessionClosed() }
                replyBytes += Array(buffer.readableBytesView)
                decoder.append(buffer)
            }
        }
        // Bootstrap and the pipelined call go out together, then one reply per later call.
        toServer.continuation.yield(ByteBuffer(bytes: frames[0] + frames[1]))
        try await awaitReplies(2)
        for (index, frame) in frames.enumerated().dropFirst(2) {
            toServer.continuation.yield(ByteBuffer(bytes: frame))
            if index == 4 { try await awaitReplies(3) }
            if index == 6 { try await awaitReplies(4) }
        }
        #expect(try await end == .remoteAbort(RPCException(reason: "rpc: shutdown")))
        toServer.continuation.finish()
        toConnector.continuation.finish()

        let captured = try CaptureFixtures.frames(try CaptureFixtures.edgeToConnector())
        #expect(Array(replyBytes.prefix(96)) == captured[0])
        #expect(messages.count == 4)
        guard messages.count == 4, case .return(let register) = messages[1], case .results(let payload) = register.result else {
            Issue.record("no register return"); return
        }
        #expect(register.answerID == 1)
        #expect(try payload.content.decode(RegisterConnectionResults.self).result == .connectionDetails(CaptureFixtures.details))
        for message in messages[2...] {
            guard case .return(let ret) = message, case .results = ret.result else { Issue.record("not results"); return }
            #expect(ret.answerID == 1)
        }
        let calls = server.calls.withLock { $0 }
        #expect(calls.registrations == [CaptureFixtures.registerParams])
        #expect(calls.configs == [Array(CaptureFixtures.configJSON.utf8)])
        #expect(calls.unregistrations == 1)
    }

    /// Client and server, both ours, in memory; the connection error branch and exceptions.
    @Test func clientServerInMemory() async throws {
        let refusal = ConnectionError(cause: "Unauthorized: wrong secret", retryAfterNanoseconds: 1_000, shouldRetry: true)
        let server = RecordingRegistrationServer { params in
            switch params.connIndex {
            case 0: return .connectionDetails(CaptureFixtures.details)
            case 1: return .error(refusal)
            case 2: return .connectionDetails(ConnectionDetails(uuid: [1, 2, 3], locationName: "X", tunnelIsRemotelyManaged: true))
            default: throw RPCException(reason: "boom")
            }
        }
        let toServer = BytePipe()
        let toClient = BytePipe()
        let client = RegistrationClient(writer: toServer.writer)
        async let serverEnd = server.serve(inbound: toServer.stream, writer: toClient.writer)
        async let clientEnd = client.session.run(inbound: toClient.stream)

        let options = CaptureFixtures.options
        #expect(try await client.registerConnection(auth: CaptureFixtures.auth, tunnelID: CaptureFixtures.tunnelID, connIndex: 0, options: options, timeout: nil) == CaptureFixtures.details)
        do {
            _ = try await client.registerConnection(auth: CaptureFixtures.auth, tunnelID: CaptureFixtures.tunnelID, connIndex: 1, options: options, timeout: nil)
            Issue.record("expected a refusal")
        } catch let error as RegistrationError {
            #expect(error == .refused(refusal))
            #expect(error.connectionError == refusal)
            #expect(error.shouldRetry)
            #expect(!error.isDuplicateConnection)
        }
        await #expect(throws: RegistrationError.invalidDetails()) {
            try await client.registerConnection(auth: CaptureFixtures.auth, tunnelID: CaptureFixtures.tunnelID, connIndex: 2, options: options, timeout: nil)
        }
        await #expect(throws: RPCException(reason: "boom")) {
            try await client.registerConnection(auth: CaptureFixtures.auth, tunnelID: CaptureFixtures.tunnelID, connIndex: 3, options: options, timeout: nil)
        }
        try await client.unregisterConnection()
        client.shutdown()
        #expect(try await clientEnd == .localShutdown)
        toServer.continuation.finish()
        #expect(try await serverEnd == .remoteAbort(RPCException(reason: "rpc: shutdown")))
        toClient.continuation.finish()
        #expect(server.calls.withLock { $0.registrations.count } == 4)
    }

    @Test func timeoutSendsFinishWithReleaseResultCaps() async throws {
        let server = RecordingRegistrationServer { _ in
            try await Task.sleep(for: .seconds(30))
            return .connectionDetails(CaptureFixtures.details)
        }
        let toServer = BytePipe()
        let toClient = BytePipe()
        let client = RegistrationClient(writer: toServer.writer)
        let (seenStream, seen) = AsyncStream.makeStream(of: ByteBuffer.self)
        async let serverEnd = server.serve(inbound: seenStream, writer: toClient.writer)
        async let clientEnd = client.session.run(inbound: toClient.stream)
        async let recorded: [RPCMessage] = {
            var decoder = CapnpFrameDecoder()
            var messages: [RPCMessage] = []
            for await buffer in toServer.stream {
                seen.yield(buffer)
                decoder.append(buffer)
                while let message = try decoder.next() { messages.append(try RPCMessage(decoding: message)) }
            }
            seen.finish()
            return messages
        }()
        await #expect(throws: RegistrationError.timedOut()) {
            try await client.registerConnection(
                auth: CaptureFixtures.auth, tunnelID: CaptureFixtures.tunnelID, connIndex: 0, options: CaptureFixtures.options,
                timeout: .milliseconds(200))
        }
        client.shutdown()
        _ = try await clientEnd
        toServer.continuation.finish()
        _ = try await serverEnd
        toClient.continuation.finish()
        let messages = try await recorded
        let finishes = messages.compactMap { message -> (UInt32, Bool)? in
            if case .finish(let question, let release) = message { return (question, release) }
            return nil
        }
        #expect(finishes.contains { $0 == (1, true) })
    }

    /// Raw RPC messages against our server: every branch of the dispatcher.
    @Test func serverDispatcherEdgeCases() async throws {
        let toServer = BytePipe()
        let toClient = BytePipe()
        let server = RecordingRegistrationServer()
        async let serverEnd = server.serve(inbound: toServer.stream, writer: toClient.writer)
        var replies = toClient.stream.makeAsyncIterator()
        var decoder = CapnpFrameDecoder()
        func send(_ message: RPCMessage) throws { toServer.continuation.yield(try message.framed()) }
        func sendRaw(_ message: CapnpMessage) { toServer.continuation.yield(message.framed()) }
        func reply() async throws -> RPCMessage {
            while true {
                if let message = try decoder.next() { return try RPCMessage(decoding: message) }
                guard let buffer = await replies.next() else { throw RPCError.sessionClosed() }
                decoder.append(buffer)
            }
        }
        func exception(_ message: RPCMessage, answer: UInt32) -> RPCException? {
            guard case .return(let ret) = message, ret.answerID == answer, case .exception(let exception) = ret.result else { return nil }
            return exception
        }
        let iface = RegistrationSchema.registrationServerInterfaceID

        // Call before any bootstrap: unknown import.
        try send(.call(RPCCall(questionID: 7, target: .importedCap(0), interfaceID: iface, methodID: 1, params: RPCPayload(content: .value(CapnpEmptyStruct())))))
        #expect(exception(try await reply(), answer: 7)?.reason.contains("target not found") == true)
        try send(.finish(questionID: 7, releaseResultCaps: true))
        // Bootstrap and a call pipelined on it with a noop transform.
        try send(.bootstrap(questionID: 0))
        try send(.call(RPCCall(questionID: 1, target: .promisedAnswer(RPCPromisedAnswer(questionID: 0, transform: [.noop])), interfaceID: iface, methodID: 1, params: RPCPayload(content: .value(CapnpEmptyStruct())))))
        guard case .return(let boot) = try await reply(), case .results(let bootPayload) = boot.result else { Issue.record("bootstrap"); return }
        #expect(bootPayload.capTable == [.senderHosted(0)])
        guard case .return(let unregister) = try await reply(), case .results = unregister.result else { Issue.record("unregister"); return }
        #expect(unregister.answerID == 1)
        // Legacy TunnelServer method, unknown method, getPointerField transform.
        try send(.call(RPCCall(questionID: 2, target: .importedCap(0), interfaceID: RegistrationSchema.tunnelServerInterfaceID, methodID: 1, params: RPCPayload(content: .null))))
        #expect(exception(try await reply(), answer: 2)?.type == .unimplemented)
        try send(.call(RPCCall(questionID: 3, target: .importedCap(0), interfaceID: iface, methodID: 9, params: RPCPayload(content: .null))))
        #expect(exception(try await reply(), answer: 3)?.type == .unimplemented)
        try send(.call(RPCCall(questionID: 4, target: .promisedAnswer(RPCPromisedAnswer(questionID: 0, transform: [.getPointerField(0)])), interfaceID: iface, methodID: 1, params: RPCPayload(content: .null))))
        #expect(exception(try await reply(), answer: 4) != nil)
        // Bad params for registerConnection: content is a capability.
        try send(.call(RPCCall(questionID: 5, target: .importedCap(0), interfaceID: iface, methodID: 0, params: RPCPayload(content: .capability(0)))))
        #expect(exception(try await reply(), answer: 5)?.type == .failed)
        // Unsupported kinds are echoed as Unimplemented; late Finish/Release for unknown ids are ignored.
        var builder = CapnpMessageBuilder()
        let resolve = builder.initRoot(dataWords: 1, pointers: 1)
        builder.write(UInt16(5), at: 0, in: resolve)
        sendRaw(builder.message)
        guard case .unimplemented(.other(kind: 5)?) = try await reply() else { Issue.record("no unimplemented echo"); return }
        try send(.finish(questionID: 99, releaseResultCaps: true))
        try send(.release(id: 42, referenceCount: 3))
        try send(.unimplemented(.return(RPCReturn(answerID: 0, result: .canceled))))
        // Bootstrap again: same export id; Release both references, then the import is gone.
        try send(.bootstrap(questionID: 6))
        guard case .return(let boot2) = try await reply(), case .results(let payload2) = boot2.result else { Issue.record("bootstrap 2"); return }
        #expect(payload2.capTable == [.senderHosted(0)])
        try send(.release(id: 0, referenceCount: 2))
        try send(.call(RPCCall(questionID: 8, target: .importedCap(0), interfaceID: iface, methodID: 1, params: RPCPayload(content: .null))))
        #expect(exception(try await reply(), answer: 8)?.reason.contains("target not found") == true)
        // Duplicate question id (8 is not finished) is a protocol violation: Abort, then the session throws.
        try send(.call(RPCCall(questionID: 8, target: .importedCap(0), interfaceID: iface, methodID: 1, params: RPCPayload(content: .null))))
        guard case .abort(let abort) = try await reply() else { Issue.record("no abort"); return }
        #expect(abort.reason.contains("duplicate question"))
        do {
            _ = try await serverEnd
            Issue.record("expected a protocol violation")
        } catch {
            #expect(error as? RPCError == .protocolViolation())
        }
        toServer.continuation.finish()
        toClient.continuation.finish()
    }

    @Test func garbageIsAProtocolViolation() async throws {
        let toServer = BytePipe()
        let toClient = BytePipe()
        async let serverEnd = RecordingRegistrationServer().serve(inbound: toServer.stream, writer: toClient.writer)
        async let replies = collectMessages(toClient.stream)
        toServer.continuation.yield(ByteBuffer(bytes: [0, 0, 0, 0, 1, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f]))
        do {
            _ = try await serverEnd
            Issue.record("expected a protocol violation")
        } catch {
            #expect(error as? RPCError == .protocolViolation())
        }
        toServer.continuation.finish()
        toClient.continuation.finish()
        guard case .abort? = try await replies.messages.first else { Issue.record("no abort"); return }
    }

    @Test func clientWithoutBootstrapRefusesPeerBootstrapAndEndOfStreamFailsCalls() async throws {
        let toEdge = BytePipe()
        let toClient = BytePipe()
        let client = RegistrationClient(writer: toEdge.writer)
        async let end = client.session.run(inbound: toClient.stream)
        async let recorded = collectMessages(toEdge.stream)
        toClient.continuation.yield(try RPCMessage.bootstrap(questionID: 0).framed())
        let register = Task {
            try await client.registerConnection(
                auth: CaptureFixtures.auth, tunnelID: CaptureFixtures.tunnelID, connIndex: 0, options: CaptureFixtures.options, timeout: nil)
        }
        try await Task.sleep(for: .milliseconds(100))
        toClient.continuation.finish()
        #expect(try await end == .endOfStream)
        await #expect(throws: RPCError.sessionClosed()) { try await register.value }
        toEdge.continuation.finish()
        let messages = try await recorded.messages
        #expect(messages.contains { message in
            if case .return(let ret) = message, case .exception(let exception) = ret.result { return exception.reason == "rpc: no bootstrap interface" }
            return false
        })
        await #expect(throws: RPCError.sessionClosed()) { try await client.unregisterConnection() }
    }
}
