import NIOCore
import TunnelTransport

/// The idle origin connections of one event loop, for requests served on that loop
/// (``OriginExchange``). Touched on its loop only. An idle connection is closed after the
/// keep-alive timeout; its timer is cancelled when the connection is taken again.
final class OriginEventLoopPool {
    private struct Idle {
        let channel: any Channel
        let expiry: Scheduled<Void>
    }

    let eventLoop: any EventLoop
    private var idle: [OriginEndpoint: [Idle]] = [:]
    private var closed = false

    init(eventLoop: any EventLoop) {
        self.eventLoop = eventLoop
    }

    /// An idle, open connection to `endpoint`, if there is one.
    func take(_ endpoint: OriginEndpoint) -> (any Channel)? {
        while var list = self.idle[endpoint], let candidate = list.popLast() {
            self.idle[endpoint] = list.isEmpty ? nil : list
            candidate.expiry.cancel()
            if candidate.channel.isActive { return candidate.channel }
        }
        return nil
    }

    /// Keeps `channel` for the next request to `endpoint`; `false` (close it) when the pool is
    /// full or shut down.
    func checkIn(_ channel: any Channel, endpoint: OriginEndpoint, configuration: OriginHTTPClient.Configuration) -> Bool {
        guard !self.closed, channel.isActive, (self.idle[endpoint]?.count ?? 0) < configuration.keepAliveConnections else { return false }
        let expiry = self.eventLoop.assumeIsolated().scheduleTask(in: configuration.keepAliveTimeout.timeAmount) {
            self.remove(channel, endpoint: endpoint)
            channel.close(promise: nil)
        }
        self.idle[endpoint, default: []].append(Idle(channel: channel, expiry: expiry))
        return true
    }

    /// Forgets `channel` (the origin closed it while idle).
    func remove(_ channel: any Channel, endpoint: OriginEndpoint) {
        guard var list = self.idle[endpoint], let index = list.firstIndex(where: { $0.channel === channel }) else { return }
        list.remove(at: index).expiry.cancel()
        self.idle[endpoint] = list.isEmpty ? nil : list
    }

    /// Closes every idle connection and keeps no more.
    func shutDown() {
        self.closed = true
        let all = self.idle.values.flatMap { $0 }
        self.idle = [:]
        for connection in all {
            connection.expiry.cancel()
            connection.channel.close(promise: nil)
        }
    }
}
