public import Foundation
import Synchronization
import TunnelEdge
public import TunnelCore
public import TunnelOrigin

extension V4 {
    /// A DNS record as Cloudflare's `dns_records` API shows it.
    public struct DNSRecordObject: Codable, Hashable, Sendable {
        public var id: String
        public var zoneID: String
        public var zoneName: String
        public var name: String
        public var type: String
        public var content: String
        public var proxied: Bool
        public var ttl: Int
        public var createdOn: String
        public var modifiedOn: String

        enum CodingKeys: String, CodingKey {
            case id, name, type, content, proxied, ttl
            case zoneID = "zone_id", zoneName = "zone_name", createdOn = "created_on", modifiedOn = "modified_on"
        }
    }

    /// The body of a `dns_records` create or update.
    public struct DNSRecordRequest: Codable, Hashable, Sendable {
        public var type: String
        public var name: String
        public var content: String
        public var ttl: Int?
        public var proxied: Bool?

        /// Creates a request body.
        public init(type: String, name: String, content: String, ttl: Int? = nil, proxied: Bool? = nil) {
            self.type = type
            self.name = name
            self.content = content
            self.ttl = ttl
            self.proxied = proxied
        }
    }
}

extension ControlPlane {
    /// The zone in a path, checked against the token's account.
    func ownedZone(_ zoneID: String, accountID: String) async throws -> Zone {
        guard let zone = try await store.zone(id: zoneID), zone.accountID == accountID else { throw ControlPlaneError.wrongAccount() }
        return zone
    }

    /// A page of a zone's records (`GET /zones/{zone}/dns_records`).
    public func listRecords(accountID: String, zoneID: String, name: String?, type: String?, page: Int, perPage: Int) async throws -> Page<V4.DNSRecordObject> {
        let zone = try await ownedZone(zoneID, accountID: accountID)
        let records = try await store.dnsRecords(zoneID: zone.id, name: name.map(Self.normalizedName), type: type?.uppercased(), page: page, perPage: perPage)
        return Page(items: records.items.map { Self.render($0, zone: zone) }, page: page, perPage: perPage, totalCount: records.totalCount)
    }

    /// Creates (`id == nil`) or updates a record (`POST`/`PUT /zones/{zone}/dns_records[/{id}]`).
    /// One A/AAAA/CNAME owner per name: a create where another record owns the name is refused.
    public func putRecord(accountID: String, zoneID: String, id: String?, request: V4.DNSRecordRequest, actor: String) async throws -> V4.DNSRecordObject {
        let zone = try await ownedZone(zoneID, accountID: accountID)
        let type = request.type.uppercased()
        guard ["A", "AAAA", "CNAME", "TXT"].contains(type) else { throw ControlPlaneError.invalidRequest("record type \(request.type) is not supported (A, AAAA, CNAME, TXT)") }
        let name = Self.normalizedName(request.name)
        guard zone.holds(name) else { throw ControlPlaneError.hostnameOutsideZones(name, zones: [zone.name]) }
        switch type {
        case "A", "AAAA":
            guard let bytes = IPLiteral.bytes(request.content), bytes.count == (type == "A" ? 4 : 16) else {
                throw ControlPlaneError.invalidRequest("content \(request.content) is not an \(type == "A" ? "IPv4" : "IPv6") address")
            }
        case "CNAME":
            guard request.content.wholeMatch(of: /[_a-zA-Z0-9][-_.a-zA-Z0-9]*\.?/) != nil else { throw ControlPlaneError.invalidRequest("content \(request.content) is not a hostname") }
        default:
            guard request.content.utf8.count <= 255 else { throw ControlPlaneError.invalidRequest("TXT content is longer than 255 bytes") }
        }
        let now = Date()
        let existing = try await store.dnsRecord(name: name)
        var created = now
        if let id {
            guard let current = try await store.dnsRecord(id: id), current.zoneID == zone.id else { throw ControlPlaneError.recordNotFound(id) }
            if let existing, existing.id != id { throw ControlPlaneError.recordExists(name, type: existing.type, content: existing.content) }
            created = current.createdAt
            _ = try await store.deleteDNSRecord(id: id)
        } else if let existing {
            throw ControlPlaneError.recordExists(name, type: existing.type, content: existing.content)
        }
        var content = request.content.lowercased()
        if type == "CNAME", content.hasSuffix(".") { content.removeLast() }
        if type == "TXT" { content = request.content }
        let tunnel = type == "CNAME" && content.hasSuffix("." + tunnelDomain) ? UUID(tunnelIDString: String(content.dropLast(tunnelDomain.count + 1))) : nil
        let record = DNSRecord(id: id ?? Self.randomTag(), zoneID: zone.id, name: name, type: type, content: content, tunnelID: tunnel, createdAt: created, updatedAt: now)
        try await store.putDNSRecord(record)
        if tunnel != nil || existing?.tunnelID != nil { routes.withLock { table in table?.set(name, tunnel) } }
        try await store.appendAudit(AuditEvent(accountID: accountID, at: now, action: .recordSet, actor: actor, tunnelID: tunnel, metadata: ["hostname": name, "type": type, "content": content]))
        try await refreshDNS()
        return Self.render(record, zone: zone)
    }

    /// Deletes a record (`DELETE /zones/{zone}/dns_records/{id}`).
    public func deleteRecord(accountID: String, zoneID: String, id: String, actor: String) async throws {
        let zone = try await ownedZone(zoneID, accountID: accountID)
        guard let record = try await store.dnsRecord(id: id), record.zoneID == zone.id else { throw ControlPlaneError.recordNotFound(id) }
        try await forgetRecord(record, auditAccountID: accountID, actor: actor, reason: "deleted")
        try await refreshDNS()
    }

    /// Removes a record from the store and the routing table, with a `dns.record_removed`
    /// audit event in `auditAccountID`'s log (none when `nil`); returns whether it was there.
    /// The caller rebuilds the DNS snapshot once it is done (``refreshDNS()``).
    @discardableResult
    func forgetRecord(_ record: DNSRecord, auditAccountID: String?, actor: String, reason: String, at date: Date = Date()) async throws -> Bool {
        guard try await store.deleteDNSRecord(id: record.id) else { return false }
        routes.withLock { table in table?.set(record.name, nil) }
        if let auditAccountID {
            try await store.appendAudit(AuditEvent(
                accountID: auditAccountID, at: date, action: .recordRemoved, actor: actor, tunnelID: record.tunnelID,
                metadata: ["hostname": record.name, "type": record.type, "content": record.content, "reason": reason]))
        }
        return true
    }

    static func normalizedName(_ name: String) -> String {
        var name = name.lowercased()
        if name.hasSuffix(".") { name.removeLast() }
        return name
    }

    static func render(_ record: DNSRecord, zone: Zone) -> V4.DNSRecordObject {
        V4.DNSRecordObject(
            id: record.id, zoneID: zone.id, zoneName: zone.name, name: record.name, type: record.type, content: record.content,
            proxied: false, ttl: 300, createdOn: V4.timestamp(record.createdAt), modifiedOn: V4.timestamp(record.updatedAt))
    }
}

/// The control plane's own zones as a ``DNSRecordProvider``: records the edge's DNS server
/// answers, for embedders that manage records through the library rather than the API.
public struct ControlPlaneRecordProvider: DNSRecordProvider {
    let controlPlane: ControlPlane
    let accountID: String
    let zoneID: String

    /// A provider for one zone of an account.
    public init(controlPlane: ControlPlane, accountID: String, zoneID: String) {
        self.controlPlane = controlPlane
        self.accountID = accountID
        self.zoneID = zoneID
    }

    public func setCNAME(name: String, target: String, ttl: UInt32, overwrite: Bool) async throws -> DNSRecordChange {
        let name = ControlPlane.normalizedName(name)
        let target = ControlPlane.normalizedName(target)
        let existing = try await controlPlane.store.dnsRecord(name: name)
        if let existing, existing.type == "CNAME", existing.content == target { return .unchanged }
        if let existing, !overwrite {
            throw DNSRecordProviderError.recordExists(name, type: existing.type, content: existing.content)
        }
        _ = try await controlPlane.putRecord(
            accountID: accountID, zoneID: zoneID, id: existing?.id, request: V4.DNSRecordRequest(type: "CNAME", name: name, content: target), actor: "library")
        return existing.map { .replaced(type: $0.type, content: $0.content) } ?? .created
    }

    public func removeCNAME(name: String) async throws {
        guard let existing = try await controlPlane.store.dnsRecord(name: ControlPlane.normalizedName(name)), existing.type == "CNAME" else { return }
        try await controlPlane.deleteRecord(accountID: accountID, zoneID: zoneID, id: existing.id, actor: "library")
    }
}
