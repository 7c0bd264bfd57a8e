import Benchmark
import TunnelTransport

// Encode/decode cost of the registration RPC messages (the control stream's hot messages), using only the public
// API of TunnelTransport. Inputs match the golden capture (spec captures/README.md).

private let registerParams = RegisterConnectionParams(
    auth: TunnelAuth(accountTag: "0123456789abcdef0123456789abcdef", tunnelSecret: Array(repeating: 0x5a, count: 32)),
    tunnelID: Array(0..<16),
    connIndex: 0,
    options: ConnectionOptions(
        client: ClientInfo(
            clientID: Array(16..<32),
            features: ["allow_remote_config", "serialized_headers", "support_datagram_v2", "support_quic_eof", "management_logs"],
            version: "2026.8.2",
            arch: "linux_amd64"),
        originLocalIP: [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 127, 0, 0, 1]))

private let registerCall = RPCMessage.call(RPCCall(
    questionID: 1, target: .promisedAnswer(RPCPromisedAnswer(questionID: 0)),
    interfaceID: RegistrationSchema.registrationServerInterfaceID,
    methodID: RegistrationSchema.RegistrationMethod.registerConnection.rawValue,
    params: RPCPayload(content: .value(registerParams))))

private let registerReturn = RPCMessage.return(RPCReturn(answerID: 1, result: .results(RPCPayload(
    content: .value(RegisterConnectionResults(result: .connectionDetails(ConnectionDetails(
        uuid: Array(0..<16), locationName: "LAB", tunnelIsRemotelyManaged: false)))),
    capTable: nil))))

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .mallocCountTotal],
        maxDuration: .seconds(2),
        maxIterations: 100_000
    )

    let callBytes = try! registerCall.encode().framedBytes
    let returnBytes = try! registerReturn.encode().framedBytes

    Benchmark("Capnp encode registerConnection call") { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(try registerCall.framed())
        }
    }

    Benchmark("Capnp decode registerConnection call") { benchmark in
        for _ in benchmark.scaledIterations {
            var decoder = CapnpFrameDecoder()
            decoder.append(callBytes)
            guard let message = try decoder.next(), case .call(let call) = try RPCMessage(decoding: message) else {
                fatalError("not a call")
            }
            blackHole(try call.params.content.decode(RegisterConnectionParams.self))
        }
    }

    Benchmark("Capnp encode registerConnection return") { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(try registerReturn.framed())
        }
    }

    Benchmark("Capnp decode registerConnection return") { benchmark in
        for _ in benchmark.scaledIterations {
            var decoder = CapnpFrameDecoder()
            decoder.append(returnBytes)
            guard let message = try decoder.next(), case .return(let ret) = try RPCMessage(decoding: message),
                case .results(let payload) = ret.result
            else {
                fatalError("not results")
            }
            blackHole(try payload.content.decode(RegisterConnectionResults.self))
        }
    }
}
