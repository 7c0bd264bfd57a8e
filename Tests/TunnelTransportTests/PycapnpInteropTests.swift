import Foundation
import NIOCore
import NIOPosix
import Synchronization
import Testing
import TunnelTransport

@Suite("pycapnp interop", .enabled(if: PythonPeer.available), .timeLimit(.minutes(2)))
struct PycapnpInteropTests {
    static func json(_ text: String) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
    }

    /// Python (C++) builds messages, Swift decodes them.
    @Test func pythonBuildsSwiftDecodes() throws {
        let peer = try PythonPeer(script: "capnp_messages.py", arguments: ["build"])
        #expect(try peer.waitForExit() == 0, "\(peer.standardError)")
        let built = try Self.json(peer.standardOutput).mapValues { CaptureFixtures.hex($0 as! String) }

        var expectedParams = CaptureFixtures.registerParams
        expectedParams.options.numPreviousAttempts = 3
        expectedParams.options.compressionQuality = 1
        expectedParams.options.replaceExisting = true
        let params = try RegisterConnectionParams(capnpMessage: CapnpMessage(framedBytes: try #require(built["registerParams"])))
        #expect(params == expectedParams)

        let details = try RegisterConnectionResults(capnpMessage: CapnpMessage(framedBytes: try #require(built["results_details"])))
        #expect(details.result == .connectionDetails(ConnectionDetails(
            uuid: CaptureFixtures.bytes(of: CaptureFixtures.connectionUUID), locationName: "LAB1", tunnelIsRemotelyManaged: true)))
        let error = try RegisterConnectionResults(capnpMessage: CapnpMessage(framedBytes: try #require(built["results_error"])))
        #expect(error.result == .error(ConnectionError(cause: "EDUPCONN", retryAfterNanoseconds: 7_000_000_000, shouldRetry: true)))

        func rpc(_ name: String) throws -> RPCMessage {
            try RPCMessage(decoding: CapnpMessage(framedBytes: try #require(built[name])))
        }
        guard case .call(let call) = try rpc("call") else { Issue.record("call"); return }
        #expect(call.questionID == 1 && call.methodID == 0 && call.interfaceID == RegistrationSchema.registrationServerInterfaceID)
        #expect(call.target == .promisedAnswer(RPCPromisedAnswer(questionID: 0, transform: [.noop, .getPointerField(3)])))
        #expect(call.params.capTable == [])
        #expect(try call.params.content.decode(RegisterConnectionParams.self) == expectedParams)
        guard case .bootstrap(questionID: 4) = try rpc("bootstrap") else { Issue.record("bootstrap"); return }
        guard case .finish(questionID: 9, releaseResultCaps: false) = try rpc("finish") else { Issue.record("finish"); return }
        guard case .finish(questionID: 2, releaseResultCaps: true) = try rpc("finishRelease") else { Issue.record("finish 2"); return }
        guard case .release(id: 3, referenceCount: 5) = try rpc("release") else { Issue.record("release"); return }
        guard case .abort(let abort) = try rpc("abort") else { Issue.record("abort"); return }
        #expect(abort.reason == "rpc: shutdown" && abort.type == .disconnected)
        guard case .return(let ret) = try rpc("returnException"), case .exception(let exception) = ret.result else {
            Issue.record("return exception"); return
        }
        #expect(ret.answerID == 6 && exception.reason == "boom")
        guard case .return(let capRet) = try rpc("returnCapTable"), case .results(let payload) = capRet.result else {
            Issue.record("return caps"); return
        }
        #expect(payload.capTable == [.senderHosted(11), .senderPromise(12)])
    }

    /// Swift builds messages (the whole captured connector sequence plus edge replies), Python (C++) decodes them.
    @Test func swiftBuildsPythonDecodes() throws {
        var items: [String: String] = [:]
        let hex: ([UInt8]) -> String = { $0.map { String(format: "%02x", $0) }.joined() }
        let iface = RegistrationSchema.registrationServerInterfaceID
        var params = CaptureFixtures.registerParams
        params.options.numPreviousAttempts = 3
        items["bootstrap"] = hex(try RPCMessage.bootstrap(questionID: 0).encode().framedBytes)
        items["call"] = hex(try RPCMessage.call(RPCCall(
            questionID: 1, target: .promisedAnswer(RPCPromisedAnswer(questionID: 0)), interfaceID: iface, methodID: 0,
            params: RPCPayload(content: .value(params)))).encode().framedBytes)
        items["update"] = hex(try RPCMessage.call(RPCCall(
            questionID: 1, target: .importedCap(0), interfaceID: iface, methodID: 2,
            params: RPCPayload(content: .value(UpdateLocalConfigurationParams(config: Array(CaptureFixtures.configJSON.utf8)))))).encode().framedBytes)
        items["finish"] = hex(try RPCMessage.finish(questionID: 1, releaseResultCaps: false).encode().framedBytes)
        items["release"] = hex(try RPCMessage.release(id: 0, referenceCount: 1).encode().framedBytes)
        items["abort"] = hex(try RPCMessage.abort(RPCException(reason: "rpc: shutdown")).encode().framedBytes)
        items["returnBootstrap"] = hex(try RPCMessage.return(RPCReturn(
            answerID: 0, result: .results(RPCPayload(content: .capability(0), capTable: [.senderHosted(0)])))).encode().framedBytes)
        items["returnDetails"] = hex(try RPCMessage.return(RPCReturn(answerID: 1, result: .results(RPCPayload(
            content: .value(RegisterConnectionResults(result: .connectionDetails(CaptureFixtures.details))), capTable: nil)))).encode().framedBytes)
        items["returnError"] = hex(try RPCMessage.return(RPCReturn(answerID: 1, result: .results(RPCPayload(
            content: .value(RegisterConnectionResults(result: .error(ConnectionError(cause: "EDUPCONN", retryAfterNanoseconds: 9, shouldRetry: true)))),
            capTable: nil)))).encode().framedBytes)
        items["returnException"] = hex(try RPCMessage.return(RPCReturn(answerID: 3, result: .exception(RPCException(reason: "nope")))).encode().framedBytes)
        let input = try JSONSerialization.data(withJSONObject: items)
        let peer = try PythonPeer(script: "capnp_messages.py", arguments: ["decode"], stdin: Array(input))
        #expect(try peer.waitForExit() == 0, "\(peer.standardError)")
        let decoded = try Self.json(peer.standardOutput)
        func item(_ name: String) -> [String: Any] { decoded[name] as? [String: Any] ?? [:] }

        #expect(item("bootstrap")["which"] as? String == "bootstrap")
        let call = item("call")
        #expect(call["target"] as? String == "promisedAnswer")
        #expect(call["transform"] as? Int == 0)
        #expect(call["capTable"] as? Int == 0)
        #expect(call["interfaceId"] as? String == "f71695ec7fe85497")
        let described = call["params"] as? [String: Any] ?? [:]
        #expect(described["accountTag"] as? String == CaptureFixtures.accountTag)
        #expect(described["features"] as? [String] == CaptureFixtures.features)
        #expect(described["numPreviousAttempts"] as? Int == 3)
        #expect(described["version"] as? String == "2026.8.2-local")
        #expect(described["originLocalIp"] as? String == "00000000000000000000ffff7f000001")
        #expect(described["tunnelId"] as? String == "d4e2fa18d2514c069b511ef2fd26967d")
        #expect(item("update")["config"] as? String == CaptureFixtures.configJSON)
        #expect(item("update")["importedCap"] as? Int == 0)
        #expect(item("finish")["releaseResultCaps"] as? Bool == false)
        #expect(item("release")["referenceCount"] as? Int == 1)
        #expect(item("abort")["reason"] as? String == "rpc: shutdown")
        #expect(item("abort")["type"] as? String == "failed")
        #expect(item("returnBootstrap")["capTable"] as? [AnyHashable] == ["senderHosted", 0])
        #expect(item("returnBootstrap")["releaseParamCaps"] as? Bool == true)
        let details = (item("returnDetails")["response"] as? [String: Any])?["connectionDetails"] as? [String: Any] ?? [:]
        #expect(details["uuid"] as? String == "8825d73acb844927bd198144d26bd34b")
        #expect(details["locationName"] as? String == "LAB1")
        let error = (item("returnError")["response"] as? [String: Any])?["error"] as? [String: Any] ?? [:]
        #expect(error["cause"] as? String == "EDUPCONN")
        #expect(error["shouldRetry"] as? Bool == true)
        #expect(item("returnException")["reason"] as? String == "nope")
    }

    /// Our RPC client against pycapnp's RPC server (C++ RPC) over loopback TCP.
    @Test func swiftClientAgainstPycapnpServer() async throws {
        let peer = try PythonPeer(script: "rpc_server.py")
        defer { peer.kill() }
        let portLine = try await peer.waitForLine(prefix: "port ")
        let port = try #require(Int(portLine.dropFirst(5)))
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connect(host: "127.0.0.1", port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
                }
            }
        try await channel.executeThenClose { inbound, outbound in
            let client = RegistrationClient { bytes in try await outbound.write(bytes) }
            try await withThrowingTaskGroup(of: RPCSessionEnd.self) { group in
                group.addTask { try await client.session.run(inbound: inbound) }
                let details = try await client.registerConnection(
                    auth: CaptureFixtures.auth, tunnelID: CaptureFixtures.tunnelID, connIndex: 0, options: CaptureFixtures.options)
                #expect(details == ConnectionDetails(
                    uuid: CaptureFixtures.bytes(of: CaptureFixtures.connectionUUID), locationName: "PYC", tunnelIsRemotelyManaged: false))
                do {
                    _ = try await client.registerConnection(
                        auth: CaptureFixtures.auth, tunnelID: CaptureFixtures.tunnelID, connIndex: 1, options: CaptureFixtures.options)
                    Issue.record("expected EDUPCONN")
                } catch let error as RegistrationError {
                    #expect(error.isDuplicateConnection)
                    #expect(error.connectionError == ConnectionError(cause: "EDUPCONN", retryAfterNanoseconds: 1_500_000_000, shouldRetry: true))
                }
                do {
                    _ = try await client.registerConnection(
                        auth: CaptureFixtures.auth, tunnelID: CaptureFixtures.tunnelID, connIndex: 2, options: CaptureFixtures.options)
                    Issue.record("expected an exception")
                } catch let exception as RPCException {
                    #expect(exception.reason.contains("Unauthorized: pycapnp says no"))
                }
                try await client.updateLocalConfiguration(Array(CaptureFixtures.configJSON.utf8))
                try await client.unregisterConnection()
                client.shutdown()
                #expect(try await group.next() == .localShutdown)
            }
        }
        _ = try await peer.waitForLine(prefix: #"{"event": "disconnected"}"#)
        let calls = try peer.lines.filter { $0.hasPrefix("{") }.map { try Self.json($0) }
        #expect(calls.compactMap { $0["call"] as? String } == [
            "registerConnection", "registerConnection", "registerConnection", "updateLocalConfiguration", "unregisterConnection",
        ])
        let first = calls[0]["params"] as? [String: Any] ?? [:]
        #expect(first["accountTag"] as? String == CaptureFixtures.accountTag)
        #expect(first["clientId"] as? String == "b11a003c6f27465cb1bc6dfc2e48ca6b")
        #expect(calls[3]["config"] as? String == CaptureFixtures.configJSON)
        peer.closeStandardInput()
    }

    /// pycapnp's RPC client (C++ RPC) against our RPC server over loopback TCP.
    @Test func pycapnpClientAgainstSwiftServer() async throws {
        let registration = RecordingRegistrationServer { params in
            switch params.connIndex {
            case 0: return .connectionDetails(CaptureFixtures.details)
            case 1: return .error(ConnectionError(cause: "Unauthorized: unknown tunnel", retryAfterNanoseconds: 0, shouldRetry: false))
            default: throw RPCException(reason: "edge exception")
            }
        }
        let server = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .bind(host: "127.0.0.1", port: 0) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
                }
            }
        let port = try #require(server.channel.localAddress?.port)
        let peer = try PythonPeer(script: "rpc_client.py", arguments: ["\(port)"])
        defer { peer.kill() }
        try await server.executeThenClose { connections in
            for try await connection in connections {
                try await connection.executeThenClose { inbound, outbound in
                    let end = try await registration.serve(inbound: inbound) { bytes in try await outbound.write(bytes) }
                    // pycapnp closes the connection after its calls, with or without an Abort
                    // first (its reason text varies by version); never our own shutdown.
                    switch end {
                    case .endOfStream, .remoteAbort: break
                    case .localShutdown: Issue.record("the session ended by our own shutdown, not by the pycapnp client")
                    }
                }
                break
            }
        }
        #expect(try await peer.exit() == 0, "\(peer.standardError)")
        let result = try Self.json(try #require(peer.lines.last))
        let first = (result["register0"] as? [String: Any])?["connectionDetails"] as? [String: Any] ?? [:]
        #expect(first["uuid"] as? String == "8825d73acb844927bd198144d26bd34b")
        #expect(first["locationName"] as? String == "LAB1")
        let second = (result["register1"] as? [String: Any])?["error"] as? [String: Any] ?? [:]
        #expect(second["cause"] as? String == "Unauthorized: unknown tunnel")
        #expect(second["shouldRetry"] as? Bool == false)
        let third = (result["register2"] as? [String: Any])?["exception"] as? String ?? ""
        #expect(third.contains("edge exception"))
        #expect(result["unregister"] as? String == "ok")
        let calls = registration.calls.withLock { $0 }
        #expect(calls.registrations.count == 3)
        #expect(calls.registrations.first?.auth == CaptureFixtures.auth)
        #expect(calls.configs == [Array(#"{"ingress":[]}"#.utf8)])
        #expect(calls.unregistrations == 1)
    }
}
