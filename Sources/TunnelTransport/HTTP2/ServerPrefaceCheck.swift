public import NIOCore
import Synchronization

/// Checks the first bytes a connector sends: they must be the HTTP/2 server preface, a
/// SETTINGS frame (type 4, no ACK flag, stream 0, a length that is a multiple of 6). Anything
/// else (random bytes, an HTTP/1.1 request, the HTTP/2 *client* preface: a peer in the wrong
/// role) cannot become a tunnel connection, so the connection is closed at once with the reason
/// recorded, instead of waiting for the registration timeout. Once the 9-byte frame header
/// checks out the handler passes everything on and removes itself.
public final class ServerPrefaceCheck: ChannelInboundHandler, RemovableChannelHandler {
    public typealias InboundIn = ByteBuffer
    public typealias InboundOut = ByteBuffer

    /// Why the connection was closed, once it was.
    public let failure: PrefaceFailure
    private var header: [UInt8] = []
    private var pending: [ByteBuffer] = []
    private var done = false

    /// Creates the check; `failure` receives the reason when it closes the connection.
    public init(failure: PrefaceFailure = PrefaceFailure()) {
        self.failure = failure
    }

    /// Why `bytes` (the first bytes, possibly fewer than 9) cannot start a server preface, or
    /// `nil` when they still can.
    public static func problem(_ bytes: some Collection<UInt8>) -> String? {
        let bytes = Array(bytes.prefix(9))
        if !bytes.isEmpty && Array("PRI *".utf8).starts(with: bytes.prefix(5)) {
            return "the peer sent the HTTP/2 client preface: it is an edge or a client, not a connector"
        }
        let methods = ["GET ", "POST", "HEAD", "PUT ", "OPTI", "CONN", "DELE", "PATC"].map { Array($0.utf8) }
        if methods.contains(where: { $0.starts(with: bytes.prefix(4)) }) {
            // Named as what it is once four bytes show it (fewer could still be anything).
            return bytes.count >= 4 ? "the peer sent an HTTP/1.1 request, not the HTTP/2 server preface of a connector" : nil
        }
        if bytes.count >= 3 {
            let length = Int(bytes[0]) << 16 | Int(bytes[1]) << 8 | Int(bytes[2])
            if length % 6 != 0 || length > 6 * 64 { return "the first frame's length \(length) cannot be a SETTINGS frame" }
        }
        if bytes.count >= 4, bytes[3] != 0x04 { return "the first frame has type \(bytes[3]), not SETTINGS (4): not the HTTP/2 server preface" }
        if bytes.count >= 5, bytes[4] & 0x01 != 0 { return "the first SETTINGS frame is an ACK: not the HTTP/2 server preface" }
        if bytes.count >= 9, bytes[5..<9].contains(where: { $0 != 0 }) { return "the first SETTINGS frame is not on stream 0" }
        return nil
    }

    public func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let buffer = unwrapInboundIn(data)
        guard !done else {
            context.fireChannelRead(data)
            return
        }
        header += buffer.readableBytesView.prefix(9 - header.count)
        pending.append(buffer)
        if let problem = Self.problem(header) {
            done = true
            pending = []
            failure.reason.withLock { $0 = problem }
            context.close(promise: nil)
            return
        }
        guard header.count == 9 else { return }
        done = true
        for buffer in pending { context.fireChannelRead(wrapInboundOut(buffer)) }
        pending = []
        context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
    }

    public func channelReadComplete(context: ChannelHandlerContext) {
        // Bytes held back are released together with the header; nothing to flush until then.
        if done { context.fireChannelReadComplete() }
    }
}

/// The reason a ``ServerPrefaceCheck`` closed its connection, readable from any thread.
public final class PrefaceFailure: Sendable {
    /// The reason, once there is one.
    public let reason = Mutex<String?>(nil)

    /// An empty record.
    public init() {}
}
