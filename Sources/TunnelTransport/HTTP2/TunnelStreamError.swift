public import NIOHTTP2

/// A tunnel stream or connection ended abnormally.
public struct TunnelStreamError: Error, Hashable, CustomStringConvertible {
    private enum Code: Hashable {
        case reset(HTTP2ErrorCode)
        case connectionClosed
        case unexpectedFrame(String)
        case connectionDraining
        case alreadyFinished
        case pingTimeout
        case responseTimeout(Duration)
        case invalidResponse(String)
    }

    private let code: Code
    /// Where the error was raised (`#fileID:#line`), for debugging only; not part of equality.
    public let location: String

    private init(_ code: Code, file: String, line: Int) {
        self.code = code
        self.location = "\(file):\(line)"
    }

    /// The peer reset the stream with RST_STREAM and this error code.
    public static func reset(_ code: HTTP2ErrorCode, file: String = #fileID, line: Int = #line) -> Self {
        Self(.reset(code), file: file, line: line)
    }

    /// The stream or its connection closed before the stream ended.
    public static func connectionClosed(file: String = #fileID, line: Int = #line) -> Self {
        Self(.connectionClosed, file: file, line: line)
    }

    /// The peer sent a frame that makes no sense at this point of the stream.
    public static func unexpectedFrame(_ what: String, file: String = #fileID, line: Int = #line) -> Self {
        Self(.unexpectedFrame(what), file: file, line: line)
    }

    /// No new streams: a GOAWAY was sent or received on this connection.
    public static func connectionDraining(file: String = #fileID, line: Int = #line) -> Self {
        Self(.connectionDraining, file: file, line: line)
    }

    /// A write after the local side of the stream already ended (or the response head was
    /// written twice).
    public static func alreadyFinished(file: String = #fileID, line: Int = #line) -> Self {
        Self(.alreadyFinished, file: file, line: line)
    }

    /// No response head arrived in time; the stream was cancelled.
    public static func responseTimeout(_ timeout: Duration, file: String = #fileID, line: Int = #line) -> Self {
        Self(.responseTimeout(timeout), file: file, line: line)
    }

    /// A PING was not acknowledged in time; the connection is considered dead.
    public static func pingTimeout(file: String = #fileID, line: Int = #line) -> Self {
        Self(.pingTimeout, file: file, line: line)
    }

    /// The response head is not usable (e.g. no `:status`, or the control stream was refused).
    public static func invalidResponse(_ what: String, file: String = #fileID, line: Int = #line) -> Self {
        Self(.invalidResponse(what), file: file, line: line)
    }

    /// The RST_STREAM code, if this error is a reset.
    public var resetCode: HTTP2ErrorCode? {
        if case .reset(let code) = self.code { return code }
        return nil
    }

    /// Equality by error code only.
    public static func == (lhs: Self, rhs: Self) -> Bool { lhs.code == rhs.code }

    /// Hashes the error code only.
    public func hash(into hasher: inout Hasher) { hasher.combine(self.code) }

    /// What went wrong and what to do next.
    public var description: String {
        let what: String
        switch self.code {
        case .reset(let code):
            what = "the peer reset the stream (\(code)); for a proxied request, abort the visitor's response rather than ending it cleanly"
        case .connectionClosed:
            what = "the tunnel connection closed before the stream ended; retry on another connection if the request is idempotent"
        case .unexpectedFrame(let frame):
            what = "the peer sent an unexpected \(frame) frame; the peer does not follow the tunnel protocol"
        case .connectionDraining:
            what = "the connection is draining after GOAWAY and takes no new streams; open the stream on another connection"
        case .alreadyFinished:
            what = "the local side of the stream already ended; do not write after finish(), reset() or a head with endStream"
        case .responseTimeout(let timeout):
            what = "no response head within \(timeout); the stream was cancelled (the origin is too slow: raise the timeout or fix the origin)"
        case .pingTimeout:
            what = "the peer did not acknowledge a PING in time; the connection was closed, reconnect"
        case .invalidResponse(let reason):
            what = "the response head is not usable: \(reason)"
        }
        return "\(what) (at \(self.location))"
    }
}
