/// A local object that a peer can call through an ``RPCSession`` (for example the edge's bootstrap
/// `RegistrationServer`).
public protocol RPCCapability: Sendable {
    /// Handles one call and returns the results content (usually `.value(SomeResults())`, or `.null`).
    ///
    /// Throw an ``RPCException`` to answer with that exception; any other error is answered as a
    /// `failed` exception carrying its description. Unknown methods should throw an `unimplemented` exception.
    func handleCall(interfaceID: UInt64, methodID: UInt16, params: RPCPayload) async throws -> RPCContent
}

/// A capability on the other side of an ``RPCSession``: either the promise of a bootstrap question or an import.
public struct RPCRemoteCapability: Sendable, Hashable {
    enum Reference: Sendable, Hashable {
        case bootstrap(question: UInt32, generation: UInt64)
        case imported(UInt32)
    }

    let reference: Reference
}

/// How an ``RPCSession`` ended.
public enum RPCSessionEnd: Sendable, Equatable {
    /// The inbound byte stream ended.
    case endOfStream
    /// The peer sent `Abort`.
    case remoteAbort(RPCException)
    /// ``RPCSession/shutdown(reason:)`` was called.
    case localShutdown
}
