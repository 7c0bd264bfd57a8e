public import Foundation
public import Logging
public import ServiceLifecycle
import Synchronization
import TunnelCore

extension ControlPlane {
    /// Removes the route records of tunnels that have had no registered connection for
    /// `period` (deleted tunnels: since their deletion), each one an audit event. A route
    /// added later than the tunnel went quiet gets its own `period`. Origin certificates are
    /// never touched. Returns the removed records.
    @discardableResult
    public func collectDNSRecords(unregisteredFor period: Duration, now: Date = Date()) async throws -> [DNSRecord] {
        let seconds = period.timeInterval
        var removed: [DNSRecord] = []
        for record in try await store.tunnelRoutes() {
            guard let tunnelID = record.tunnelID else { continue }
            let tunnel = try await store.tunnel(id: tunnelID)
            if let tunnel, tunnel.deletedAt == nil, liveConnectionCount(tunnelID: tunnelID) > 0 { continue }
            // Quiet since: deleted, last connection ended, last registered (a crash), or never ran.
            var quietSince = tunnel?.deletedAt ?? tunnel?.lastInactiveAt ?? tunnel?.lastActiveAt ?? record.updatedAt
            if tunnel?.deletedAt == nil { quietSince = max(quietSince, record.updatedAt) }
            guard now.timeIntervalSince(quietSince) >= seconds else { continue }
            if let zone = try await store.zone(id: record.zoneID), zone.hostedElsewhere, let provider = zone.provider {
                do {
                    try await Self.removeAtProvider(provider, zone: zone.name, name: record.name)
                } catch {
                    // Kept, to be tried again at the next sweep.
                    logger.warning("cannot remove a record at the zone's DNS provider", metadata: ["hostname": "\(record.name)", "error": "\(error)"])
                    continue
                }
            }
            let reason = tunnel?.deletedAt == nil ? "unregistered since \(V4.timestamp(quietSince))" : "tunnel deleted"
            guard try await forgetRecord(record, auditAccountID: tunnel?.accountID, actor: "gc", reason: reason, at: now) else { continue }
            removed.append(record)
            logger.info("removed the record of a quiet tunnel", metadata: ["hostname": "\(record.name)", "tunnel": "\(tunnelID.lowercasedString)"])
        }
        if !removed.isEmpty { try await refreshDNS() }
        return removed
    }

    func liveConnectionCount(tunnelID: UUID) -> Int {
        connections?.liveConnections(tunnelID: tunnelID).count ?? 0
    }
}

/// Removes the route records of quiet tunnels periodically, and once at start (so an edge
/// that was down meanwhile catches up): with the defaults a record goes between 24 and 48 hours
/// after its tunnel's last connection ended, as on the hosted product.
public struct DNSRecordCollector: Service {
    /// How long a tunnel must stay unregistered before its records go. Default 24 h.
    public var unregisteredFor: Duration
    /// How often to look. Default 24 h.
    public var interval: Duration
    let controlPlane: ControlPlane
    let logger: Logger

    /// Creates the collector; see each property for defaults.
    public init(controlPlane: ControlPlane, unregisteredFor: Duration = .seconds(86_400), interval: Duration = .seconds(86_400), logger: Logger = Logger(label: "tunnel.control.gc")) {
        self.controlPlane = controlPlane
        self.unregisteredFor = unregisteredFor
        self.interval = interval
        self.logger = logger
    }

    /// Sweeps until graceful shutdown.
    public func run() async throws {
        await sweepUntilGracefulShutdown(every: interval, logger: logger, failure: "cannot remove the records of quiet tunnels") {
            try await controlPlane.collectDNSRecords(unregisteredFor: unregisteredFor)
        }
    }
}

/// Runs `sweep` now and then every `interval` until graceful shutdown (or cancellation); a
/// failed sweep is logged as `failure` and tried again at the next interval.
func sweepUntilGracefulShutdown(every interval: Duration, logger: Logger, failure: String, _ sweep: @escaping @Sendable () async throws -> Void) async {
    await cancelWhenGracefulShutdown {
        while !Task.isCancelled {
            do {
                try await sweep()
            } catch {
                logger.error("\(failure)", metadata: ["error": "\(error)"])
            }
            try? await Task.sleep(for: interval)
        }
    }
}
