import Dispatch
import NIOCore
import TunnelTransport

/// A RegistrationServer that answers immediately, so the fuzzer explores the dispatcher, not the server.
struct InstantRegistrationServer: RegistrationServer {
    func registerConnection(_ params: RegisterConnectionParams) async throws -> ConnectionResponse {
        if params.connIndex % 2 == 0 {
            return .connectionDetails(ConnectionDetails(uuid: Array(repeating: 1, count: 16), locationName: "FUZ", tunnelIsRemotelyManaged: false))
        }
        return .error(ConnectionError(cause: "Unauthorized", shouldRetry: true))
    }

    func unregisterConnection() async throws {}
    func updateLocalConfiguration(_ config: [UInt8]) async throws {}
}

/// libFuzzer entry point: the input is the connector's side of a control stream. It is fed to an edge-side
/// session (RegistrationServer bootstrap) in chunks whose sizes come from the first byte, and the session's
/// replies are re-decoded. Errors and aborts are expected; traps, hangs and sanitizer reports are bugs.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    guard size > 0 else { return 0 }
    let chunk = Int(data[0]) % 64 + 1
    let bytes = Array(UnsafeBufferPointer(start: data + 1, count: size - 1))
    let done = DispatchSemaphore(value: 0)
    Task {
        let limits = CapnpReaderLimits(traversalLimitWords: 1 << 16, nestingLimit: 32, maxSegments: 64, maxMessageWords: 1 << 16)
        let (inbound, feed) = AsyncStream.makeStream(of: ByteBuffer.self)
        var offset = 0
        while offset < bytes.count {
            let end = min(offset + chunk, bytes.count)
            feed.yield(ByteBuffer(bytes: bytes[offset..<end]))
            offset = end
        }
        feed.finish()
        let session = RPCSession(
            bootstrap: RegistrationServerCapability(InstantRegistrationServer(), limits: limits),
            configuration: RPCSession.Configuration(readerLimits: limits, maxOutstandingAnswers: 16)
        ) { reply in
            var decoder = CapnpFrameDecoder()
            decoder.append(reply)
            guard let message = try decoder.next() else { fatalError("session wrote a partial frame") }
            _ = try RPCMessage(decoding: message)
        }
        _ = try? await session.run(inbound: inbound)
        done.signal()
    }
    done.wait()
    return 0
}
