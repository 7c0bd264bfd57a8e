#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import NIOCore
import NIOHPACK
import NIOHTTP2

/// RFC 8441 on HTTP/2 visitor streams: moves the `:protocol` pseudo-header of an extended
/// CONNECT into a regular header that the HTTP/1 translation keeps (it drops pseudo-headers),
/// so the proxy can tell a WebSocket request. A visitor-sent header of that name is removed
/// first, so only a real `:protocol` can set it.
final class VisitorExtendedConnect: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTP2Frame.FramePayload
    typealias InboundOut = HTTP2Frame.FramePayload

    /// The header that carries `:protocol` to the proxy; never forwarded to a connector.
    static let markerHeader = "x-edge-extended-connect-protocol"

    private var sawHead = false

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !sawHead, case .headers(var headers) = unwrapInboundIn(data) else {
            context.fireChannelRead(data)
            return
        }
        sawHead = true
        var fields = HPACKHeaders()
        var requestedProtocol: String?
        for (name, value, indexing) in headers.headers {
            if name == ":protocol" {
                requestedProtocol = value
            } else if name != Self.markerHeader {
                fields.add(name: name, value: value, indexing: indexing)
            }
        }
        if let requestedProtocol { fields.add(name: Self.markerHeader, value: requestedProtocol) }
        headers.headers = fields
        context.fireChannelRead(wrapInboundOut(.headers(headers)))
    }

    /// A fresh `Sec-WebSocket-Key`: 16 random bytes, base64.
    static func randomKey() -> String {
        Data((0..<16).map { _ in UInt8.random(in: .min ... .max) }).base64EncodedString()
    }
}
