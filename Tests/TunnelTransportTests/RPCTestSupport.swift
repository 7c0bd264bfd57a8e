import NIOCore
import Synchronization
import TunnelTransport

/// A one-way in-memory byte pipe.
struct BytePipe: Sendable {
    let stream: AsyncStream<ByteBuffer>
    let continuation: AsyncStream<ByteBuffer>.Continuation

    init() {
        (self.stream, self.continuation) = AsyncStream.makeStream(of: ByteBuffer.self)
    }

    var writer: RPCSession.Writer {
        let continuation = self.continuation
        return { bytes in continuation.yield(bytes) }
    }
}

/// A RegistrationServer that records what it was asked and answers from a script.
final class RecordingRegistrationServer: RegistrationServer {
    struct Calls: Sendable {
        var registrations: [RegisterConnectionParams] = []
        var configs: [[UInt8]] = []
        var unregistrations = 0
    }

    let calls = Mutex(Calls())
    let response: @Sendable (RegisterConnectionParams) async throws -> ConnectionResponse

    init(response: @escaping @Sendable (RegisterConnectionParams) async throws -> ConnectionResponse = { _ in
        .connectionDetails(CaptureFixtures.details)
    }) {
        self.response = response
    }

    func registerConnection(_ params: RegisterConnectionParams) async throws -> ConnectionResponse {
        self.calls.withLock { $0.registrations.append(params) }
        return try await self.response(params)
    }

    func unregisterConnection() async throws {
        self.calls.withLock { $0.unregistrations += 1 }
    }

    func updateLocalConfiguration(_ config: [UInt8]) async throws {
        self.calls.withLock { $0.configs.append(config) }
    }
}

/// Collects framed messages from a byte stream.
func collectMessages(_ stream: AsyncStream<ByteBuffer>) async throws -> (bytes: [UInt8], messages: [RPCMessage]) {
    var decoder = CapnpFrameDecoder()
    var bytes: [UInt8] = []
    var messages: [RPCMessage] = []
    for await buffer in stream {
        bytes += Array(buffer.readableBytesView)
        decoder.append(buffer)
        while let message = try decoder.next() {
            messages.append(try RPCMessage(decoding: message))
        }
    }
    return (bytes, messages)
}
