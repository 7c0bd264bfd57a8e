import NIOCore
import Synchronization

/// The open visitor connections, so that a shutdown can close idle HTTP/1.1 connections and
/// send GOAWAY to HTTP/2 ones while in-flight requests finish.
final class VisitorConnectionSet: Sendable {
    private struct Entry {
        let channel: any Channel
        let isHTTP2: Bool
        var idle: Bool
    }

    private let entries = Mutex<(open: [ObjectIdentifier: Entry], quiescing: Bool)>(([:], false))

    /// Number of open connections.
    var count: Int { entries.withLock { $0.open.count } }

    func insert(_ channel: any Channel, isHTTP2: Bool) {
        entries.withLock { $0.open[ObjectIdentifier(channel)] = Entry(channel: channel, isHTTP2: isHTTP2, idle: false) }
    }

    func remove(_ channel: any Channel) {
        _ = entries.withLock { $0.open.removeValue(forKey: ObjectIdentifier(channel)) }
    }

    /// Marks an HTTP/1.1 connection as waiting for its next request (or not); an idle
    /// connection is closed at once during a shutdown.
    func setIdle(_ channel: any Channel, _ idle: Bool) {
        let close = entries.withLock { state -> Bool in
            state.open[ObjectIdentifier(channel)]?.idle = idle
            return idle && state.quiescing
        }
        if close { channel.close(promise: nil) }
    }

    /// Quiesces one connection (see ``quiesceAll()``).
    func quiesce(_ channel: any Channel) {
        guard let entry = entries.withLock({ $0.open[ObjectIdentifier(channel)] }) else { return }
        Self.quiesce(entry)
    }

    /// Starts a graceful close of every connection: GOAWAY for HTTP/2 (open streams finish),
    /// close for idle HTTP/1.1 connections (busy ones close after their current response).
    func quiesceAll() {
        let all = entries.withLock { state -> [Entry] in
            state.quiescing = true
            return Array(state.open.values)
        }
        for entry in all { Self.quiesce(entry) }
    }

    private static func quiesce(_ entry: Entry) {
        if entry.isHTTP2 {
            entry.channel.pipeline.fireUserInboundEventTriggered(ChannelShouldQuiesceEvent())
        } else if entry.idle {
            entry.channel.close(promise: nil)
        }
    }
}
