public import Hummingbird
public import NIOCore

/// The request context of the control plane's listener: Hummingbird's basics plus the peer's
/// address (the per-address limit of quick tunnels counts by it).
public struct ControlRequestContext: RequestContext, RemoteAddressRequestContext {
    public var coreContext: CoreRequestContextStorage
    /// The connected peer, as the socket reports it (proxies in front are not looked through).
    public let remoteAddress: SocketAddress?

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        remoteAddress = source.channel.remoteAddress
    }
}
