public import Foundation
public import TunnelCore
import Logging
import Synchronization
import TunnelEdge
public import TunnelOrigin

/// Hostname → tunnel, as the tunnel routes (CNAME records) say: exact names first, then the
/// longest matching wildcard (`*.example.test`).
struct RouteTable: Sendable {
    var exact: [String: UUID] = [:]
    var wildcards: [(pattern: String, tunnel: UUID)] = []

    init(_ records: [DNSRecord]) {
        for record in records { set(record.name, record.tunnelID) }
    }

    mutating func set(_ name: String, _ tunnel: UUID?) {
        exact[name] = nil
        wildcards.removeAll { $0.pattern == name }
        guard let tunnel else { return }
        if name.hasPrefix("*.") { wildcards.append((name, tunnel)) } else { exact[name] = tunnel }
    }

    func lookup(_ host: String) -> UUID? {
        if let tunnel = exact[host] { return tunnel }
        return HostnameRouter.best(for: host, among: wildcards.map { ([$0.pattern], $0.tunnel) })
    }
}

extension ControlPlane {
    /// What `route dns` did: `new`, `updated` (another record was replaced) or `unchanged`,
    /// and the resulting name.
    public struct HostnameRouteResult: Codable, Hashable, Sendable {
        /// `new`, `updated` or `unchanged` (cloudflared's words).
        public var cname: String
        /// The resulting fully qualified name.
        public var name: String
        /// What the user should know or do (zones hosted elsewhere); sent as the envelope's
        /// `messages`, which cloudflared reads as strings and ignores.
        public var messages: [String] = []

        enum CodingKeys: String, CodingKey { case cname, name }

        /// Creates a result.
        public init(cname: String, name: String, messages: [String] = []) {
            self.cname = cname
            self.name = name
            self.messages = messages
        }
    }

    /// The tunnel a visitor's host routes to by the DNS routes.
    func routedTunnel(host: String) async throws -> UUID? {
        if let table = routes.withLock({ $0 }) { return table.lookup(host) }
        let table = RouteTable(try await store.tunnelRoutes())
        routes.withLock { current in
            if current == nil { current = table }
        }
        return routes.withLock { $0?.lookup(host) }
    }

    /// Routes `hostname` to a tunnel with a CNAME to `<tunnel-id>.<tunnel domain>` in one of the
    /// account's zones (`PUT /zones/{zone}/tunnels/{id}/routes`, `tunnel route dns`). A name
    /// without a dot is relative to `zoneID`; a name outside the account's zones is refused.
    /// Another record at the name is replaced only with `overwrite`.
    public func routeDNS(accountID: String, zoneID: String, tunnelID: UUID, hostname userHostname: String, overwrite: Bool, actor: String) async throws -> HostnameRouteResult {
        let pathZone = try await ownedZone(zoneID, accountID: accountID)
        let tunnel = try await storedTunnel(accountID: accountID, id: tunnelID)
        guard tunnel.deletedAt == nil else { throw ControlPlaneError.tunnelDeleted(tunnelID.lowercasedString) }
        var host = Self.normalizedName(userHostname)
        guard host.utf8.count <= 253, host.wholeMatch(of: /[*_a-z0-9][-_.a-z0-9]*/) != nil, !host.contains(".."),
              !host.dropFirst().contains("*")
        else {
            throw ControlPlaneError.invalidRequest("\(userHostname) is not a valid hostname (non-ASCII names go in their xn-- form)")
        }
        let zones = try await store.zones(accountID: accountID)
        let zone: Zone
        if let owning = zones.filter({ $0.holds(host) }).max(by: { $0.name.count < $1.name.count }) {
            zone = owning
        } else if !host.contains(".") {
            zone = pathZone
            host += "." + pathZone.name
        } else {
            throw ControlPlaneError.hostnameOutsideZones(host, zones: zones.map(\.name))
        }
        let target = "\(tunnel.id.lowercasedString).\(tunnelDomain)"
        let now = Date()
        var existing = try await store.dnsRecord(name: host)
        var messages: [String] = []
        var providerChange: DNSRecordChange?
        if zone.hostedElsewhere, let provider = zone.provider {
            // The provider decides what is in the way; our copy only routes visitors.
            providerChange = try await Self.setAtProvider(provider, zone: zone.name, name: host, target: target, overwrite: overwrite)
            messages.append("\(zone.name) is hosted elsewhere: \(host) CNAME \(target) is set at \(provider.host):\(provider.port)")
            if case .replaced(let type, let content)? = providerChange, existing == nil {
                existing = DNSRecord(id: "", zoneID: zone.id, name: host, type: type, content: content, tunnelID: nil, createdAt: now, updatedAt: now)
            }
        } else {
            if let existing, existing.type == "CNAME", existing.content == target {
                return HostnameRouteResult(cname: "unchanged", name: host)
            }
            if let existing, !overwrite {
                throw ControlPlaneError.recordExists(host, type: existing.type, content: existing.content)
            }
            if zone.hostedElsewhere {
                let kind = host == zone.name ? "an ALIAS/ANAME record (or a flattened CNAME) at the apex" : "a CNAME record"
                messages.append("\(zone.name) is hosted elsewhere: create \(kind) at its DNS provider: \(host). 300 IN CNAME \(target).")
            }
        }
        if providerChange == .unchanged, existing?.content == target {
            return HostnameRouteResult(cname: "unchanged", name: host, messages: messages)
        }
        let record = DNSRecord(
            id: Self.randomTag(), zoneID: zone.id, name: host, type: "CNAME", content: target, tunnelID: tunnel.id,
            createdAt: existing?.createdAt ?? now, updatedAt: now)
        try await store.putDNSRecord(record)
        var metadata = ["hostname": host, "target": target, "zone": zone.name]
        if let existing { metadata["replaced"] = "\(existing.type) \(existing.content)" }
        try await store.appendAudit(AuditEvent(accountID: accountID, at: now, action: .cnameAdded, actor: actor, tunnelID: tunnel.id, metadata: metadata))
        routes.withLock { table in table?.set(host, tunnel.id) }
        try? await refreshDNS()
        logger.info("tunnel route added", metadata: ["hostname": "\(host)", "tunnel": "\(tunnel.id.lowercasedString)", "replaced": "\(existing != nil)"])
        let result: String
        switch providerChange {
        case .unchanged?: result = "unchanged"
        case .replaced?: result = "updated"
        case .created?, nil: result = existing == nil ? "new" : "updated"
        }
        return HostnameRouteResult(cname: result, name: host, messages: messages)
    }

    /// Writes the CNAME at a zone's RFC 2136 server; its refusals become control-plane errors.
    static func setAtProvider(_ provider: ZoneProvider, zone: String, name: String, target: String, overwrite: Bool) async throws -> DNSRecordChange {
        do {
            return try await provider.rfc2136(zone: zone).setCNAME(name: name, target: target, ttl: 300, overwrite: overwrite)
        } catch let error as DNSRecordProviderError where error.kind == .recordExists {
            throw ControlPlaneError.recordExistsAtProvider(error.message)
        } catch let error as DNSRecordProviderError {
            throw ControlPlaneError.providerFailed(zone, error.message)
        } catch let error as ControlPlaneError {
            throw error
        } catch {
            throw ControlPlaneError.providerFailed(zone, "\(error)")
        }
    }

    /// Removes a record at a zone's RFC 2136 server (record collection).
    static func removeAtProvider(_ provider: ZoneProvider, zone: String, name: String) async throws {
        guard let client = try? provider.rfc2136(zone: zone) else { return }
        try await client.removeCNAME(name: name)
    }
}

extension ZoneProvider {
    /// The RFC 2136 client for `zone` at this server, with this key.
    func rfc2136(zone: String) throws -> RFC2136Provider {
        guard let secret = TunnelSecret(base64: self.secret)?.bytes else {
            throw ControlPlaneError.providerFailed(zone, "its TSIG secret is not base64; set it again with `tunnelctl edge zone set`")
        }
        return RFC2136Provider(configuration: .init(host: host, port: port, zone: zone, key: DNSTSIGKey(name: keyName, secret: secret)))
    }
}

/// What the edge's DNS server says about itself: the addresses `<tunnel-id>.<tunnel domain>`
/// resolve to (the edge's visitor addresses) and the zones' name servers.
public struct DNSSettings: Sendable, Hashable {
    /// A and AAAA data (4 or 16 bytes each) of the tunnel domain's names.
    public var addresses: [[UInt8]]
    /// Name servers in NS records and the SOA. Default: `ns.<tunnel domain>`.
    public var nameServers: [String]
    /// Routes answer with the edge's A/AAAA under their own name (as the hosted product's
    /// AAAA records for tunnels without a load balancer) instead of a CNAME. Default `false`.
    public var routesAsAddresses: Bool

    /// Creates settings.
    public init(addresses: [[UInt8]], nameServers: [String] = [], routesAsAddresses: Bool = false) {
        self.addresses = addresses
        self.nameServers = nameServers
        self.routesAsAddresses = routesAsAddresses
    }
}

extension ControlPlane {
    /// Turns on the DNS snapshot (the edge serves DNS) and builds it.
    public func configureDNS(_ settings: DNSSettings) async throws {
        dns.withLock { $0.settings = settings }
        try await refreshDNS()
    }

    /// The current snapshot for the DNS server; `nil` before ``configureDNS(_:)``.
    public func dnsZoneData() -> DNSZoneData? {
        dns.withLock { $0.snapshot }
    }

    /// Rebuilds the snapshot from the store: every zone with its records, and the tunnel
    /// domain, whose `<tunnel-id>` names resolve to the edge.
    public func refreshDNS() async throws {
        guard let settings = dns.withLock({ $0.settings }) else { return }
        let zones = try await store.allZones()
        var data = DNSZoneData(
            // Zones hosted elsewhere are answered by their own servers.
            zones: Set(zones.filter { !$0.hostedElsewhere }.map(\.name)),
            nameServers: settings.nameServers.isEmpty ? ["ns.\(tunnelDomain)"] : settings.nameServers,
            mailbox: "hostmaster.\(tunnelDomain)", serial: UInt32(truncatingIfNeeded: Int(Date().timeIntervalSince1970)))
        for zone in zones where !zone.hostedElsewhere {
            for record in try await store.dnsRecords(zoneID: zone.id, name: nil, type: nil, page: 1, perPage: Int(Int32.max)).items {
                let value: DNSRecordData?
                switch record.type {
                case "CNAME": value = .cname(record.content)
                case "A", "AAAA": value = IPLiteral.bytes(record.content).map { $0.count == 4 ? .a($0) : .aaaa($0) }
                case "TXT": value = .txt([record.content])
                default: value = nil
                }
                if let value { data.records[record.name, default: []].append(value) }
            }
        }
        data.zones.insert(tunnelDomain)
        if settings.routesAsAddresses { data.flattenTargetsUnder = [tunnelDomain] }
        data.records["*." + tunnelDomain] = settings.addresses.map { $0.count == 4 ? .a($0) : .aaaa($0) }
        let built = data
        dns.withLock { state in
            // The serial only grows, even when rebuilt twice within a second.
            var next = built
            if let previous = state.snapshot?.serial, previous >= next.serial { next.serial = previous &+ 1 }
            state.snapshot = next
        }
    }
}
