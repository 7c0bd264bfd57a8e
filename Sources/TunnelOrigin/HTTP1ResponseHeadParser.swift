public import NIOCore
public import NIOHTTP1

/// Parses an HTTP/1.1 response head from raw bytes, for connections that switch protocols
/// (WebSocket) where the rest of the stream is not HTTP.
///
/// A plain value type with the `append`/`next` shape: feed bytes as they arrive; `next()`
/// returns the head once the blank line has arrived, and ``leftover`` holds what followed it.
public struct HTTP1ResponseHeadParser: Sendable {
    /// Errors for heads that are malformed or too large.
    public enum ParseError: Error, Hashable, Sendable {
        /// The head grew past ``maximumHeadSize`` without ending.
        case headTooLarge(limit: Int)
        /// The status line is not `HTTP/1.x NNN reason`.
        case invalidStatusLine(String)
        /// A header line has no colon.
        case invalidHeaderLine(String)
    }

    /// Largest accepted head, in bytes (default 64 KiB, Go's default is 1 MiB for servers).
    public var maximumHeadSize: Int
    private var buffer = ByteBuffer()
    private var finished = false

    /// Creates a parser.
    public init(maximumHeadSize: Int = 64 * 1024) {
        self.maximumHeadSize = maximumHeadSize
    }

    /// Adds received bytes.
    public mutating func append(_ bytes: ByteBuffer) {
        var bytes = bytes
        buffer.writeBuffer(&bytes)
    }

    /// Bytes received after the head, once it has been returned by ``next()``.
    public var leftover: ByteBuffer {
        finished ? buffer : ByteBuffer()
    }

    /// The head, once complete; `nil` while more bytes are needed.
    public mutating func next() throws(ParseError) -> HTTPResponseHead? {
        guard !finished else { return nil }
        let view = buffer.readableBytesView
        guard let end = Self.endOfHead(view) else {
            if view.count > maximumHeadSize { throw .headTooLarge(limit: maximumHeadSize) }
            return nil
        }
        let headBytes = buffer.readSlice(length: end - view.startIndex + 4)!
        finished = true
        let text = String(decoding: headBytes.readableBytesView.dropLast(4), as: UTF8.self)
        var lines = text.split(separator: "\r\n", omittingEmptySubsequences: false)
        let statusLine = lines.removeFirst()
        let parts = statusLine.split(separator: " ", maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count >= 2, parts[0].hasPrefix("HTTP/1."), let code = Int(parts[1]), (100...999).contains(code) else {
            throw .invalidStatusLine(String(statusLine))
        }
        let version: HTTPVersion = parts[0] == "HTTP/1.0" ? .http1_0 : .http1_1
        var headers = HTTPHeaders()
        for line in lines where !line.isEmpty {
            guard let colon = line.firstIndex(of: ":") else { throw .invalidHeaderLine(String(line)) }
            let name = line[..<colon]
            let value = line[line.index(after: colon)...].drop(while: { $0 == " " || $0 == "\t" })
            headers.add(name: String(name), value: String(value.reversed().drop(while: { $0 == " " || $0 == "\t" }).reversed()))
        }
        let reason = parts.count > 2 ? String(parts[2]) : ""
        return HTTPResponseHead(version: version, status: .init(statusCode: code, reasonPhrase: reason), headers: headers)
    }

    private static func endOfHead(_ view: ByteBufferView) -> Int? {
        var index = view.startIndex
        while index + 3 < view.endIndex {
            if view[index] == 13, view[index + 1] == 10, view[index + 2] == 13, view[index + 3] == 10 {
                return index
            }
            index += 1
        }
        return nil
    }
}

extension HTTPRequestHead {
    /// The head in HTTP/1.1 wire form, for connections we write raw.
    func serialized() -> ByteBuffer {
        var buffer = ByteBuffer()
        buffer.writeString("\(method.rawValue) \(uri) HTTP/\(version.major).\(version.minor)\r\n")
        for (name, value) in headers {
            buffer.writeString("\(name): \(value)\r\n")
        }
        buffer.writeString("\r\n")
        return buffer
    }
}
