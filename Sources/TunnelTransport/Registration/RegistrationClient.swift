public import NIOCore
import Synchronization

#if canImport(FoundationEssentials)
public import FoundationEssentials
#else
public import Foundation
#endif

/// The connector's side of the control stream: calls the edge's `RegistrationServer`.
///
/// Produces the same message sequence as cloudflared (Bootstrap, `registerConnection` pipelined on the bootstrap
/// promise, Finish for every Return, LIFO question ids, `Release` + `Abort("rpc: shutdown")` at the end).
///
/// ```swift
/// let client = RegistrationClient { bytes in try await controlStream.write(bytes) }
/// async let end = client.session.run(inbound: controlStreamBody)
/// let details = try await client.registerConnection(auth: auth, tunnelID: id, connIndex: 0, options: options)
/// ...
/// try await client.unregisterConnection()
/// client.shutdown()
/// _ = try await end
/// ```
public final class RegistrationClient: Sendable {
    /// The underlying RPC session; run it with ``RPCSession/run(inbound:)`` while using the client.
    public let session: RPCSession
    private let server: Mutex<RPCRemoteCapability?>

    /// Creates a client whose session writes framed messages through `writer`.
    public init(configuration: RPCSession.Configuration = .init(), writer: @escaping RPCSession.Writer) {
        self.session = RPCSession(bootstrap: nil, configuration: configuration, writer: writer)
        self.server = Mutex(nil)
    }

    /// The edge's bootstrap capability, requested on first use.
    private func registrationServer() throws -> RPCRemoteCapability {
        try self.server.withLock { server in
            if let server { return server }
            let capability = try self.session.bootstrap()
            server = capability
            return capability
        }
    }

    private func call(
        _ method: RegistrationSchema.RegistrationMethod, params: any CapnpStructEncodable & Sendable, timeout: Duration?
    ) async throws -> RPCPayload {
        let target = try self.registrationServer()
        guard let timeout else {
            return try await self.session.call(
                target, interfaceID: RegistrationSchema.registrationServerInterfaceID, methodID: method.rawValue, params: params)
        }
        return try await withThrowingTaskGroup(of: RPCPayload?.self) { group in
            group.addTask {
                try await self.session.call(
                    target, interfaceID: RegistrationSchema.registrationServerInterfaceID, methodID: method.rawValue, params: params)
            }
            group.addTask {
                try await Task.sleep(for: timeout)
                return nil
            }
            defer { group.cancelAll() }
            guard let payload = try await group.next()! else {
                throw RegistrationError.timedOut("\(method) after \(timeout)")
            }
            return payload
        }
    }

    /// Calls `registerConnection` and returns the edge's raw answer.
    ///
    /// - Parameter timeout: cloudflared's `--rpc-timeout`, default 5 s; `nil` waits forever.
    public func registerConnectionResponse(
        _ params: RegisterConnectionParams, timeout: Duration? = .seconds(5)
    ) async throws -> ConnectionResponse {
        let payload = try await self.call(.registerConnection, params: params, timeout: timeout)
        return try payload.content.decode(RegisterConnectionResults.self, limits: self.session.configuration.readerLimits).result
    }

    /// Registers this connection with the edge.
    ///
    /// - Returns: The accepted connection's details (uuid is guaranteed to be 16 bytes).
    /// - Throws: ``RegistrationError`` for a refusal, invalid details or a timeout; ``RPCException`` if the edge
    ///   answered with an exception; ``RPCError`` if the session ended.
    public func registerConnection(
        auth: TunnelAuth, tunnelID: UUID, connIndex: UInt8, options: ConnectionOptions, timeout: Duration? = .seconds(5)
    ) async throws -> ConnectionDetails {
        let tunnelIDBytes = withUnsafeBytes(of: tunnelID.uuid) { Array($0) }
        let params = RegisterConnectionParams(auth: auth, tunnelID: tunnelIDBytes, connIndex: connIndex, options: options)
        switch try await self.registerConnectionResponse(params, timeout: timeout) {
        case .error(let error):
            throw RegistrationError.refused(error)
        case .connectionDetails(let details):
            guard details.uuid.count == 16 else {
                throw RegistrationError.invalidDetails("connection uuid has \(details.uuid.count) bytes, expected 16")
            }
            return details
        }
    }

    /// Sends the local configuration (UTF-8 JSON) to the edge.
    public func updateLocalConfiguration(_ config: [UInt8], timeout: Duration? = .seconds(5)) async throws {
        _ = try await self.call(.updateLocalConfiguration, params: UpdateLocalConfigurationParams(config: config), timeout: timeout)
    }

    /// Unregisters this connection (graceful shutdown).
    ///
    /// - Parameter timeout: cloudflared uses its grace period (default 30 s).
    public func unregisterConnection(timeout: Duration? = .seconds(30)) async throws {
        _ = try await self.call(.unregisterConnection, params: CapnpEmptyStruct(), timeout: timeout)
    }

    /// Releases the edge's capability and aborts the session with `rpc: shutdown`, like cloudflared.
    public func shutdown() {
        self.session.shutdown(reason: "rpc: shutdown")
    }
}
