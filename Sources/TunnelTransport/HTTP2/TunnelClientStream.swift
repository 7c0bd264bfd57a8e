public import NIOHTTP2

/// The edge's side of a stream it opened on a connector connection (see
/// ``ConnectorConnection/withStream(_:endStream:_:)``).
///
/// Send the request body with ``requestBody`` (from a child task if the response may come
/// before the body is complete) and read the answer with ``response()``.
public struct TunnelClientStream: Sendable {
    /// The HTTP/2 stream id.
    public let streamID: HTTP2StreamID
    /// Writes the request body; call `finish()` to send END_STREAM. For WebSocket/TCP
    /// streams, do not finish while data is still expected (7.6: no half-close).
    public let requestBody: TunnelBodyWriter
    let reader: StreamFrameReader
    let limits: SerializedHeaders.Limits

    /// Waits for the response HEADERS (1xx heads are skipped) and returns them with the
    /// body. Call once. Throws ``TunnelStreamError`` on reset or close, and
    /// ``TunnelResponseHeadError`` when the head cannot be parsed.
    public func response() async throws -> (head: TunnelResponseHead, body: TunnelInboundBody) {
        let fields = try await self.reader.readHead(skipInformational: true)
        let head = try TunnelResponseHead(headers: fields, limits: self.limits)
        return (head, TunnelInboundBody(reader: self.reader))
    }
}
