public import NIOCore
public import NIOHTTP1

/// Where an origin's response goes: in the connector, an HTTP/2 stream back to the edge.
///
/// Each call suspends until the part has been accepted downstream, so a slow reader slows the
/// origin read instead of growing a buffer.
public protocol OriginResponseWriter: Sendable {
    /// The origin's status line and headers (informational 1xx other than 101 are not passed on).
    func writeHead(_ head: HTTPResponseHead) async throws
    /// A piece of the body, as it arrived from the origin.
    func writeBody(_ buffer: ByteBuffer) async throws
    /// The end of the response, with the origin's trailers if it sent any.
    func writeEnd(trailers: HTTPHeaders?) async throws
}

/// How an exchange with an origin ended.
public enum OriginExchangeOutcome: Sendable {
    /// The whole response was written.
    case completed
    /// The origin could not be reached or failed before sending a response head: the connector
    /// should answer with its own error (502 with `{"src":"cloudflared"}`).
    case failedBeforeResponse(any Error)
    /// The origin failed after the head was written: the stream must be reset.
    case failedDuringResponse(any Error)
}
