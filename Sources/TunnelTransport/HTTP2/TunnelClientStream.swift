public import NIOHTTP2
import NIOCore
import Synchronization

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

    /// ``response()`` with a deadline: if no response head arrived within `timeout`, the stream
    /// is cancelled (RST_STREAM) and this throws ``TunnelStreamError/responseTimeout(_:file:line:)``.
    /// The timer is an event-loop task, so waiting costs no extra Swift task.
    public func response(timeout: Duration) async throws -> (head: TunnelResponseHead, body: TunnelInboundBody) {
        let channel = self.requestBody.channel
        let expired = TimerFlag()
        let nanoseconds = timeout.components.seconds * 1_000_000_000 + timeout.components.attoseconds / 1_000_000_000
        let timer = channel.eventLoop.scheduleTask(in: .nanoseconds(nanoseconds)) {
            expired.fire()
            channel.close(promise: nil)
        }
        defer { timer.cancel() }
        do {
            return try await self.response()
        } catch {
            if expired.hasFired { throw TunnelStreamError.responseTimeout(timeout) }
            throw error
        }
    }
}

/// Set once by a timer, read by the waiter.
private final class TimerFlag: Sendable {
    private let fired = Atomic<Bool>(false)
    func fire() { fired.store(true, ordering: .releasing) }
    var hasFired: Bool { fired.load(ordering: .acquiring) }
}
