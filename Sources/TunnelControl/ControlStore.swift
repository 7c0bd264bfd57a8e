#if canImport(FoundationEssentials)
public import FoundationEssentials
#else
public import Foundation
#endif

/// Where the control plane keeps accounts, zones, API tokens, tunnels, connection history and
/// the audit log. ``SQLControlStore`` implements it over SQL (SQLite embedded by default); its
/// schema and queries are written for PostgreSQL too.
///
/// Methods throw ``ControlPlaneError`` (``ControlPlaneError/nameTaken(_:)`` and friends for
/// constraint violations, ``ControlPlaneError/storage(_:)`` when the database fails).
public protocol ControlStore: Sendable {
    /// Adds an account with its zones.
    func insertAccount(_ account: Account, zones: [Zone]) async throws
    /// Every account, oldest first.
    func accounts() async throws -> [Account]
    /// The account with this tag or name.
    func account(idOrName: String) async throws -> Account?
    /// The zones of an account, by name.
    func zones(accountID: String) async throws -> [Zone]
    /// The zone with this tag.
    func zone(id: String) async throws -> Zone?
    /// Every zone of every account (what the edge's DNS server answers for).
    func allZones() async throws -> [Zone]
    /// Saves a zone's hosting (here or elsewhere) and provider.
    func updateZone(_ zone: Zone) async throws

    /// The record owning `name` (lowercase), if any.
    func dnsRecord(name: String) async throws -> DNSRecord?
    /// Adds a record, or replaces the one owning its name.
    func putDNSRecord(_ record: DNSRecord) async throws
    /// Every tunnel route (CNAME records with a tunnel), for the edge's routing table.
    func tunnelRoutes() async throws -> [DNSRecord]
    /// Removes a record; returns whether it was there.
    func deleteDNSRecord(id: String) async throws -> Bool
    /// The record with this ID.
    func dnsRecord(id: String) async throws -> DNSRecord?
    /// A page of a zone's records, filtered by exact name and type, by name.
    func dnsRecords(zoneID: String, name: String?, type: String?, page: Int, perPage: Int) async throws -> Page<DNSRecord>

    /// Adds an API token record with the SHA-256 digest (hex) of the token.
    func insertToken(_ token: APITokenRecord, digest: String) async throws
    /// The unrevoked token whose digest this is.
    func token(digest: String) async throws -> APITokenRecord?
    /// The tokens of an account, revoked ones too.
    func tokens(accountID: String) async throws -> [APITokenRecord]
    /// Marks a token revoked; returns it, or `nil` when there is no such token.
    func revokeToken(id: String, at date: Date) async throws -> APITokenRecord?

    /// Adds a tunnel; throws ``ControlPlaneError/nameTaken(_:)`` when a live tunnel of the
    /// account has its name.
    func insertTunnel(_ tunnel: StoredTunnel) async throws
    /// The tunnel with this ID, deleted or not.
    func tunnel(id: UUID) async throws -> StoredTunnel?
    /// A page of an account's tunnels matching `filter`, oldest first.
    func tunnels(accountID: String, filter: TunnelFilter, page: Int, perPage: Int) async throws -> Page<StoredTunnel>
    /// Soft-deletes a tunnel; returns whether it was live before.
    func markTunnelDeleted(id: UUID, at date: Date) async throws -> Bool

    /// Records a registered connection (and the tunnel's last activity).
    func connectionOpened(_ record: ConnectionRecord) async throws
    /// Records the end of a connection (and the tunnel's last inactivity).
    func connectionClosed(id: UUID, at date: Date) async throws
    /// Closes every connection still open on record (at start-up: the previous run ended).
    func closeAllOpenConnections(at date: Date) async throws -> Int
    /// The connection history of a tunnel, newest first.
    func connections(tunnelID: UUID, limit: Int) async throws -> [ConnectionRecord]

    /// Appends an event to an account's audit log.
    func appendAudit(_ event: AuditEvent) async throws
    /// A page of an account's audit log matching `filter`, oldest first.
    func audit(accountID: String, filter: AuditFilter, page: Int, perPage: Int) async throws -> Page<AuditEvent>

    /// The schema version the database is at.
    func schemaVersion() async throws -> Int
    /// Closes the database; the store is unusable afterwards.
    func close() async throws
}
