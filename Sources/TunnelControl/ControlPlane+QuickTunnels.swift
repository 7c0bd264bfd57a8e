public import Foundation
import Logging
public import ServiceLifecycle
import Synchronization
public import TunnelCore
public import TunnelEdge

/// Where quick tunnels live: their settings and the internal account holding them.
struct QuickTunnelState: Sendable {
    var settings: QuickTunnelSettings
    var accountID: String
    var zoneID: String
}

extension ControlPlane {
    /// Turns quick tunnels on: an internal account `quick-tunnels-<domain>` owning the zone
    /// `<domain>` holds them (created on first use). `nil` turns them off.
    public func configureQuickTunnels(_ settings: QuickTunnelSettings?) async throws {
        guard let settings else {
            quickState.withLock { $0 = nil }
            return
        }
        guard Self.isValidZoneName(settings.domain) else {
            throw ControlPlaneError.invalidRequest("quick tunnel domain \(String(reflecting: settings.domain)) is not a domain name (example: quick.example.com)")
        }
        let name = Self.quickTunnelAccountPrefix + settings.domain
        var account = try await store.account(idOrName: name)
        if account == nil {
            let created = Account(id: Self.randomTag(), name: name, createdAt: Date())
            try await store.insertAccount(created, zones: [Zone(id: Self.randomTag(), accountID: created.id, name: settings.domain)])
            try await store.appendAudit(AuditEvent(accountID: created.id, at: created.createdAt, action: .accountCreated, actor: "edge", metadata: ["name": name, "zones": settings.domain]))
            account = created
        }
        guard let account, let zone = try await store.zones(accountID: account.id).first(where: { $0.name == settings.domain }) else {
            throw ControlPlaneError.zoneTaken(settings.domain)
        }
        quickState.withLock { $0 = QuickTunnelState(settings: settings, accountID: account.id, zoneID: zone.id) }
        try? await refreshDNS()
    }

    /// Whether an account is the internal one holding quick tunnels (`quick-tunnels-<domain>`).
    public static func isQuickTunnelAccount(_ account: Account) -> Bool {
        account.name.hasPrefix(quickTunnelAccountPrefix)
    }

    static let quickTunnelAccountPrefix = "quick-tunnels-"

    /// The quick-tunnel settings in force, `nil` when they are off.
    public var quickTunnelSettings: QuickTunnelSettings? { quickState.withLock { $0?.settings } }

    /// Hands out a quick tunnel to `sourceIP`: a tunnel with a random secret in the internal
    /// account and a route from a random `<four words>.<domain>` to it.
    public func createQuickTunnel(sourceIP: String) async throws -> V4.QuickTunnel {
        guard let state = quickState.withLock({ $0 }) else { throw ControlPlaneError.quickTunnelsOff() }
        let held = try await store.quickTunnels().filter { $0.sourceIP == sourceIP }.count
        guard held < state.settings.perAddress else { throw ControlPlaneError.quickTunnelLimit(state.settings.perAddress) }
        var generator = SystemRandomNumberGenerator()
        var hostname = ""
        for _ in 0..<8 {
            let words = (0..<4).map { _ in QuickTunnelWords.list[Int.random(in: 0..<QuickTunnelWords.list.count, using: &generator)] }
            hostname = words.joined(separator: "-") + "." + state.settings.domain
            if try await store.dnsRecord(name: hostname) == nil { break }
        }
        let secret = TunnelSecret(bytes: (0..<32).map { _ in UInt8.random(in: 0...255, using: &generator) })
        let label = String(hostname.prefix { $0 != "." })
        let actor = "quick:\(sourceIP)"
        let tunnel = try await createTunnel(accountID: state.accountID, name: "quick-" + label, secretBase64: secret.base64, actor: actor)
        guard let id = UUID(tunnelIDString: tunnel.id) else { throw ControlPlaneError.storage("created a tunnel without an ID") }
        let now = Date()
        try await store.insertQuickTunnel(QuickTunnelRecord(
            tunnelID: id, sourceIP: sourceIP, hostname: hostname, createdAt: now, expiresAt: now.addingTimeInterval(state.settings.lifetime.timeInterval)))
        _ = try await routeDNS(accountID: state.accountID, zoneID: state.zoneID, tunnelID: id, hostname: hostname, overwrite: false, actor: actor)
        logger.info("quick tunnel created", metadata: ["tunnel": "\(tunnel.id)", "hostname": "\(hostname)", "source": "\(sourceIP)"])
        return V4.QuickTunnel(id: tunnel.id, name: tunnel.name, hostname: hostname, accountTag: state.accountID, secret: secret.base64)
    }

    /// Removes the quick tunnels that expired, never got a connector, or lost it for longer
    /// than allowed; returns their IDs.
    @discardableResult
    public func reapQuickTunnels(now: Date = Date()) async throws -> [UUID] {
        guard let settings = quickTunnelSettings else { return [] }
        var removed: [UUID] = []
        for quick in try await store.quickTunnels() {
            let tunnel = try await store.tunnel(id: quick.tunnelID)
            var reason: String?
            if now >= quick.expiresAt {
                reason = "expired"
            } else if liveConnectionCount(tunnelID: quick.tunnelID) == 0 {
                if tunnel == nil || tunnel?.deletedAt != nil {
                    reason = "deleted"
                } else if let inactive = tunnel?.lastInactiveAt, now.timeIntervalSince(inactive) >= settings.reconnectWithin.timeInterval {
                    reason = "connector gone"
                } else if tunnel?.lastActiveAt == nil, now.timeIntervalSince(quick.createdAt) >= settings.connectWithin.timeInterval {
                    reason = "no connector came"
                }
            }
            if let reason {
                try await removeQuickTunnel(quick, reason: reason)
                removed.append(quick.tunnelID)
            }
        }
        return removed
    }

    /// Deletes a quick tunnel (closing its connections), its route and its record.
    func removeQuickTunnel(_ quick: QuickTunnelRecord, reason: String) async throws {
        guard let state = quickState.withLock({ $0 }) else { return }
        if let tunnel = try await store.tunnel(id: quick.tunnelID), tunnel.deletedAt == nil {
            _ = try await deleteTunnel(accountID: state.accountID, id: quick.tunnelID, cascade: true, actor: "quick")
        }
        for record in try await store.tunnelRoutes() where record.tunnelID == quick.tunnelID {
            try await forgetRecord(record, auditAccountID: state.accountID, actor: "quick", reason: "quick tunnel \(reason)")
        }
        _ = try await store.deleteQuickTunnel(id: quick.tunnelID)
        try? await refreshDNS()
        logger.info("quick tunnel removed", metadata: ["tunnel": "\(quick.tunnelID.lowercasedString)", "hostname": "\(quick.hostname)", "reason": "\(reason)"])
    }

    /// After a connection of `tunnelID` closed having unregistered: a quick tunnel whose
    /// connector left goes at once.
    func quickTunnelConnectorLeft(_ tunnelID: UUID) async throws {
        guard quickTunnelSettings != nil, liveConnectionCount(tunnelID: tunnelID) == 0,
              let quick = try await store.quickTunnel(id: tunnelID) else { return }
        try await removeQuickTunnel(quick, reason: "connector left")
    }
}

/// Removes quick tunnels that expired or lost their connector, every `interval`.
public struct QuickTunnelReaper: Service {
    let controlPlane: ControlPlane
    let interval: Duration
    let logger: Logger

    /// Creates the reaper; it looks every `interval` (default 5 s).
    public init(controlPlane: ControlPlane, interval: Duration = .seconds(5), logger: Logger = Logger(label: "tunnel.control.quick")) {
        self.controlPlane = controlPlane
        self.interval = interval
        self.logger = logger
    }

    /// Sweeps until graceful shutdown.
    public func run() async throws {
        await sweepUntilGracefulShutdown(every: interval, logger: logger, failure: "cannot remove quick tunnels") {
            try await controlPlane.reapQuickTunnels()
        }
    }
}

/// The words of quick hostnames: short, common and harmless; four of them make about 32 bits.
enum QuickTunnelWords {
    static let list: [String] = """
        acorn amber anchor apple apron arch arrow aspen atlas attic autumn badge bagel bakery ballad bamboo banjo \
        barley basket beacon beach bean bell berry bicycle birch biscuit blanket blossom boat bonnet book border \
        bottle branch bread breeze brick bridge brook broom bubble bucket buffalo butter button cabin cactus cake \
        camera canal candle canoe canyon carpet carrot castle cedar cello chalk cherry chess chimney cider circle \
        cliff clock cloud clover coast cobalt coconut comet compass copper coral cotton cradle crane crayon creek \
        cricket crystal cup curtain cypress daisy dawn delta desert dew dolphin dove dragon drum dune eagle echo \
        elm ember engine fable falcon feather fern ferry fiddle field fig flame flute forest fossil fountain fox \
        garden garnet gazebo ginger glacier globe glove granite grape grove guitar gull harbor harvest hazel heron \
        hill honey horizon island ivory ivy jacket jade jasmine jelly jigsaw journey kayak kettle kite koala ladder \
        lagoon lake lantern lark laurel lemon letter lilac lily linen lotus lunar magnet mango maple marble meadow \
        melody meteor mint mirror mist mosaic moss mountain muffin nectar needle nest noodle nutmeg oak oasis ocean \
        olive onion opal orbit orchard otter owl paddle palm panda paper parade parrot pasta pearl pebble pepper \
        piano pillow pine planet plum pocket pond poppy prairie prism pumpkin quartz quill quilt rabbit radish \
        rain rainbow raven reef ribbon river robin rocket rose saddle saffron sail salmon sand sapphire satin \
        scarf shell shore silver sky sleigh slate snow sparrow spice spruce squirrel star stone stream sugar \
        summit sun swan tea thistle thunder tiger timber topaz tower trail tulip tunnel turtle valley velvet \
        violet voyage walnut whale willow window winter wren yarn zebra zephyr
        """.split(whereSeparator: { $0 == " " || $0 == "\n" }).map(String.init)
}
