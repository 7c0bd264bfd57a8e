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
    /// The token whose digest this is, revoked or not (a revoked one is refused with its own
    /// message).
    func token(digest: String) async throws -> APITokenRecord?
    /// The tokens of an account, revoked ones too.
    func tokens(accountID: String) async throws -> [APITokenRecord]
    /// Marks a token revoked for `reason`; returns it, or `nil` when there is no such token.
    func revokeToken(id: String, at date: Date, reason: String) async throws -> APITokenRecord?
    /// Revokes every unrevoked token of an account named `name` (a service) or of a user;
    /// returns them.
    func revokeTokens(accountID: String, name: String?, userID: String?, at date: Date, reason: String) async throws -> [APITokenRecord]

    /// Adds a user with the bcrypt hash of their password; throws
    /// ``ControlPlaneError/userExists(_:)`` when a present user has the name.
    func insertUser(_ user: User, passwordHash: String) async throws
    /// The present (not removed) user with this name, with the password hash.
    func user(name: String) async throws -> (user: User, passwordHash: String)?
    /// The users of an account, removed ones too, oldest first.
    func users(accountID: String) async throws -> [User]
    /// Marks a user removed and revokes their tokens; returns the user, or `nil`.
    func removeUser(id: String, at date: Date) async throws -> User?

    /// Adds an origin certificate record.
    func insertOriginCertificate(_ record: OriginCertificateRecord) async throws
    /// The origin certificate with this ID (serial, hex).
    func originCertificate(id: String) async throws -> OriginCertificateRecord?
    /// An account's origin certificates, of one zone when given, oldest first.
    func originCertificates(accountID: String, zoneID: String?) async throws -> [OriginCertificateRecord]
    /// Revokes an origin certificate and its token together; returns it, or `nil`.
    func revokeOriginCertificate(id: String, at date: Date) async throws -> OriginCertificateRecord?

    /// Adds a pending login unless one with the digest exists; returns the one on record.
    func beginLogin(_ request: LoginRequest) async throws -> LoginRequest
    /// The login with this key digest.
    func loginRequest(keyDigest: String) async throws -> LoginRequest?
    /// Moves a pending, unexpired login to approved with its cert.pem; returns whether it did.
    func approveLogin(keyDigest: String, pem: String, now: Date) async throws -> Bool
    /// Takes the cert.pem of an approved, unexpired login and marks it consumed (forgetting the
    /// PEM); `nil` when it is not approved.
    func consumeLogin(keyDigest: String, now: Date) async throws -> String?
    /// Deletes logins that expired before `date`; returns how many.
    func purgeLogins(before date: Date) async throws -> Int

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

    /// Records a quick tunnel (its tunnel and route exist already).
    func insertQuickTunnel(_ quick: QuickTunnelRecord) async throws
    /// Every quick tunnel on record.
    func quickTunnels() async throws -> [QuickTunnelRecord]
    /// The quick tunnel of a tunnel ID.
    func quickTunnel(id: UUID) async throws -> QuickTunnelRecord?
    /// Forgets a quick tunnel; returns whether it was there.
    func deleteQuickTunnel(id: UUID) async throws -> Bool

    /// The schema version the database is at.
    func schemaVersion() async throws -> Int
    /// Closes the database; the store is unusable afterwards.
    func close() async throws
}
