public import NIOCore

/// The edge's implementation of the `RegistrationServer` interface, served on each control stream.
///
/// Throw ``RPCException`` to answer a call with an exception (cloudflared treats it as a permanent error).
public protocol RegistrationServer: Sendable {
    /// Handles `registerConnection`: authenticate and answer details or a ``ConnectionError``.
    func registerConnection(_ params: RegisterConnectionParams) async throws -> ConnectionResponse
    /// Handles `unregisterConnection` (graceful shutdown of this connection).
    func unregisterConnection() async throws
    /// Handles `updateLocalConfiguration` with the connector's configuration JSON.
    func updateLocalConfiguration(_ config: [UInt8]) async throws
}

/// Adapts a ``RegistrationServer`` to an ``RPCCapability``, dispatching on interface id and method ordinal.
///
/// Calls with the `RegistrationServer` id run the three methods; calls with the deprecated `TunnelServer`
/// id (its own methods 0…5) and anything else are answered with an `unimplemented` exception.
public struct RegistrationServerCapability<Server: RegistrationServer>: RPCCapability {
    /// The wrapped implementation.
    public let server: Server
    /// Limits for decoding call parameters.
    public let limits: CapnpReaderLimits

    /// Wraps `server`.
    public init(_ server: Server, limits: CapnpReaderLimits = .init()) {
        self.server = server
        self.limits = limits
    }

    public func handleCall(interfaceID: UInt64, methodID: UInt16, params: RPCPayload) async throws -> RPCContent {
        guard interfaceID == RegistrationSchema.registrationServerInterfaceID,
            let method = RegistrationSchema.RegistrationMethod(rawValue: methodID)
        else {
            throw RPCException(
                reason: "method not implemented: interface 0x\(String(interfaceID, radix: 16)) method \(methodID)",
                type: .unimplemented)
        }
        switch method {
        case .registerConnection:
            let decoded = try params.content.decode(RegisterConnectionParams.self, limits: self.limits)
            return .value(RegisterConnectionResults(result: try await self.server.registerConnection(decoded)))
        case .unregisterConnection:
            try await self.server.unregisterConnection()
            return .value(CapnpEmptyStruct())
        case .updateLocalConfiguration:
            let decoded = try params.content.decode(UpdateLocalConfigurationParams.self, limits: self.limits)
            try await self.server.updateLocalConfiguration(decoded.config)
            return .value(CapnpEmptyStruct())
        }
    }
}

extension RegistrationServer {
    /// Serves this registration server on one control stream until the connector aborts or the stream ends.
    ///
    /// - Parameters:
    ///   - inbound: The control stream's inbound bytes (for the edge: the response body from the connector).
    ///   - configuration: Session limits.
    ///   - writer: Writes one framed message to the connector.
    /// - Returns: How the session ended (normally ``RPCSessionEnd/remoteAbort(_:)`` with `rpc: shutdown`).
    public func serve<Inbound: AsyncSequence & Sendable>(
        inbound: Inbound, configuration: RPCSession.Configuration = .init(), writer: @escaping RPCSession.Writer
    ) async throws -> RPCSessionEnd where Inbound.Element == ByteBuffer {
        let session = RPCSession(
            bootstrap: RegistrationServerCapability(self, limits: configuration.readerLimits), configuration: configuration,
            writer: writer)
        return try await session.run(inbound: inbound)
    }
}
