public import Foundation
public import Logging
import NIOPosix
public import SQLKit
import SQLiteKit
import SQLiteNIO
import TunnelCore

/// The control plane's store over SQL: an embedded SQLite file by default.
///
/// Every statement goes through SQLKit (binds, identifiers), so the same queries run on
/// PostgreSQL; the only engine-specific text is the auto-increment column of the audit log
/// (see ``SQLControlStore/migrations``). Statements run one at a time: SQLite has one writer,
/// and a transaction must not interleave with another caller's statements.
public final class SQLControlStore: ControlStore {
    let database: any SQLDatabase
    private let lock = AsyncSerialLock()
    private let onClose: @Sendable () async throws -> Void

    /// Wraps an open database; `onClose` closes its connection.
    init(database: any SQLDatabase, onClose: @escaping @Sendable () async throws -> Void) {
        self.database = database
        self.onClose = onClose
    }

    /// The SQLite file of a state directory.
    public static func sqlitePath(stateDirectory: String) -> String {
        (stateDirectory as NSString).appendingPathComponent("control.sqlite")
    }

    /// Opens (creating it on first use, mode 0600) the SQLite file at `path`, in WAL mode, and
    /// migrates it to the newest schema, or to `version` when given (tests of migrations).
    public static func openSQLite(path: String, migratingTo version: Int? = nil, logger: Logger = Logger(label: "tunnel.control.store")) async throws -> SQLControlStore {
        let directory = (path as NSString).deletingLastPathComponent
        if !directory.isEmpty {
            do {
                try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            } catch {
                throw ControlPlaneError.storage("cannot create the directory \(directory) (\(error)); pass a writable --state-dir")
            }
        }
        if !FileManager.default.fileExists(atPath: path) {
            // Created here first so that its mode is 0600: it holds tunnel secrets.
            guard FileManager.default.createFile(atPath: path, contents: nil, attributes: [.posixPermissions: 0o600]) else {
                throw ControlPlaneError.storage("cannot create \(path); pass a writable --state-dir")
            }
        }
        let connection: SQLiteConnection
        do {
            connection = try await SQLiteConnection.open(storage: .file(path: path), logger: logger)
        } catch {
            throw ControlPlaneError.storage("cannot open \(path) (\(error))")
        }
        let database = connection.sql(queryLogLevel: .trace)
        let store = SQLControlStore(database: database) { try await connection.close() }
        do {
            // WAL: readers (tunnelctl edge commands) never block the edge's writes; busy_timeout
            // waits out a concurrent writer instead of failing at once.
            try await database.raw("PRAGMA journal_mode=WAL").run()
            try await database.raw("PRAGMA busy_timeout=5000").run()
            // In WAL mode NORMAL never corrupts the file; a power cut may lose the last commits.
            try await database.raw("PRAGMA synchronous=NORMAL").run()
            try await database.raw("PRAGMA foreign_keys=ON").run()
            try await store.migrate(to: version, logger: logger)
        } catch {
            try? await connection.close()
            if let error = error as? ControlPlaneError { throw error }
            throw ControlPlaneError.storage("cannot prepare \(path) (\(error)); is it a tunnelctl control database?")
        }
        return store
    }

    public func close() async throws {
        try await onClose()
    }

    // MARK: Serialised access

    func serialized<T: Sendable>(_ body: () async throws -> T) async throws -> T {
        do {
            return try await lock.withLock(body)
        } catch let error as ControlPlaneError {
            throw error
        } catch {
            throw ControlPlaneError.storage("\(error)")
        }
    }

    func transaction<T: Sendable>(_ body: () async throws -> T) async throws -> T {
        try await serialized {
            try await database.raw("BEGIN").run()
            do {
                let value = try await body()
                try await database.raw("COMMIT").run()
                return value
            } catch {
                try? await database.raw("ROLLBACK").run()
                throw error
            }
        }
    }

    static func isUniqueViolation(_ error: any Error) -> Bool {
        let text = String(describing: error)
        // SQLite: "UNIQUE constraint failed"; PostgreSQL: SQLSTATE 23505.
        return text.contains("UNIQUE constraint failed") || text.contains("23505")
    }

    // MARK: Accounts and zones

    public func insertAccount(_ account: Account, zones: [Zone]) async throws {
        do {
            try await transaction {
                try await database.raw("INSERT INTO accounts (id, name, created_at) VALUES (\(bind: account.id), \(bind: account.name), \(bind: Self.micros(account.createdAt)))").run()
                for zone in zones {
                    do {
                        try await database.raw("INSERT INTO zones (id, account_id, name) VALUES (\(bind: zone.id), \(bind: zone.accountID), \(bind: zone.name))").run()
                    } catch where Self.isUniqueViolation(error) {
                        throw ControlPlaneError.zoneTaken(zone.name)
                    }
                }
            }
        } catch let error as ControlPlaneError where error.code == .storage && error.message.contains("UNIQUE") {
            throw ControlPlaneError.accountExists(account.name)
        }
    }

    public func accounts() async throws -> [Account] {
        try await serialized {
            try await database.raw("SELECT id, name, created_at FROM accounts ORDER BY created_at, name").all().map(Self.account)
        }
    }

    public func account(idOrName: String) async throws -> Account? {
        try await serialized {
            try await database.raw("SELECT id, name, created_at FROM accounts WHERE id = \(bind: idOrName) OR name = \(bind: idOrName)").first().map(Self.account)
        }
    }

    public func zones(accountID: String) async throws -> [Zone] {
        try await serialized {
            try await database.raw("SELECT \(Self.zoneColumns) FROM zones WHERE account_id = \(bind: accountID) ORDER BY name").all().map(Self.zone)
        }
    }

    public func zone(id: String) async throws -> Zone? {
        try await serialized {
            try await database.raw("SELECT \(Self.zoneColumns) FROM zones WHERE id = \(bind: id)").first().map(Self.zone)
        }
    }

    public func allZones() async throws -> [Zone] {
        try await serialized {
            try await database.raw("SELECT \(Self.zoneColumns) FROM zones ORDER BY name").all().map(Self.zone)
        }
    }

    static let zoneColumns: SQLQueryString = "id, account_id, name, hosted_elsewhere, provider"

    static func zone(_ row: any SQLRow) throws -> Zone {
        let providerText = try row.decode(column: "provider", as: String?.self)
        return Zone(
            id: try row.decode(column: "id", as: String.self), accountID: try row.decode(column: "account_id", as: String.self),
            name: try row.decode(column: "name", as: String.self), hostedElsewhere: try row.decode(column: "hosted_elsewhere", as: Int.self) != 0,
            provider: providerText.flatMap { try? JSONDecoder().decode(ZoneProvider.self, from: Data($0.utf8)) })
    }

    public func updateZone(_ zone: Zone) async throws {
        let provider = try zone.provider.map { String(decoding: try JSONEncoder.sortedKeys.encode($0), as: UTF8.self) }
        try await serialized {
            try await database.raw("UPDATE zones SET hosted_elsewhere = \(bind: zone.hostedElsewhere ? 1 : 0), provider = \(bind: provider) WHERE id = \(bind: zone.id)").run()
        }
    }

    // MARK: DNS records

    static let recordColumns: SQLQueryString = "id, zone_id, name, type, content, tunnel_id, created_at, updated_at"

    public func dnsRecord(name: String) async throws -> DNSRecord? {
        try await serialized {
            try await database.raw("SELECT \(Self.recordColumns) FROM dns_records WHERE name = \(bind: name)").first().map(Self.record)
        }
    }

    public func putDNSRecord(_ record: DNSRecord) async throws {
        try await transaction {
            try await database.raw("DELETE FROM dns_records WHERE name = \(bind: record.name)").run()
            try await database.raw("""
                INSERT INTO dns_records (\(Self.recordColumns))
                VALUES (\(bind: record.id), \(bind: record.zoneID), \(bind: record.name), \(bind: record.type), \(bind: record.content),
                        \(bind: record.tunnelID?.lowercasedString), \(bind: Self.micros(record.createdAt)), \(bind: Self.micros(record.updatedAt)))
                """).run()
        }
    }

    public func deleteDNSRecord(id: String) async throws -> Bool {
        try await transaction {
            guard try await database.raw("SELECT id FROM dns_records WHERE id = \(bind: id)").first() != nil else { return false }
            try await database.raw("DELETE FROM dns_records WHERE id = \(bind: id)").run()
            return true
        }
    }

    public func dnsRecord(id: String) async throws -> DNSRecord? {
        try await serialized {
            try await database.raw("SELECT \(Self.recordColumns) FROM dns_records WHERE id = \(bind: id)").first().map(Self.record)
        }
    }

    public func dnsRecords(zoneID: String, name: String?, type: String?, page: Int, perPage: Int) async throws -> Page<DNSRecord> {
        var conditions: [SQLQueryString] = ["zone_id = \(bind: zoneID)"]
        if let name { conditions.append("name = \(bind: name)") }
        if let type { conditions.append("type = \(bind: type)") }
        let whereClause = conditions.joined(separator: " AND ")
        return try await serialized {
            let total = try await database.raw("SELECT COUNT(*) AS n FROM dns_records WHERE \(whereClause)").first()?.decode(column: "n", as: Int.self) ?? 0
            let rows = try await database.raw("SELECT \(Self.recordColumns) FROM dns_records WHERE \(whereClause) ORDER BY name, type, id LIMIT \(bind: perPage) OFFSET \(bind: (page - 1) * perPage)").all()
            return Page(items: try rows.map(Self.record), page: page, perPage: perPage, totalCount: total)
        }
    }

    public func tunnelRoutes() async throws -> [DNSRecord] {
        try await serialized {
            try await database.raw("SELECT \(Self.recordColumns) FROM dns_records WHERE tunnel_id IS NOT NULL ORDER BY name").all().map(Self.record)
        }
    }

    static func record(_ row: any SQLRow) throws -> DNSRecord {
        DNSRecord(
            id: try row.decode(column: "id", as: String.self), zoneID: try row.decode(column: "zone_id", as: String.self),
            name: try row.decode(column: "name", as: String.self), type: try row.decode(column: "type", as: String.self),
            content: try row.decode(column: "content", as: String.self),
            tunnelID: try row.decode(column: "tunnel_id", as: String?.self).flatMap(UUID.init(uuidString:)),
            createdAt: try date(row, "created_at"), updatedAt: try date(row, "updated_at"))
    }

    // MARK: API tokens

    public func insertToken(_ token: APITokenRecord, digest: String) async throws {
        try await serialized {
            try await database.raw("""
                INSERT INTO api_tokens (id, account_id, name, digest, created_at, revoked_at, user_id, revocation_reason)
                VALUES (\(bind: token.id), \(bind: token.accountID), \(bind: token.name), \(bind: digest), \(bind: Self.micros(token.createdAt)),
                        \(bind: token.revokedAt.map(Self.micros)), \(bind: token.userID), \(bind: token.revocationReason))
                """).run()
        }
    }

    public func token(digest: String) async throws -> APITokenRecord? {
        try await serialized {
            try await database.raw("SELECT \(Self.tokenColumns) FROM api_tokens WHERE digest = \(bind: digest)").first().map(Self.token)
        }
    }

    public func tokens(accountID: String) async throws -> [APITokenRecord] {
        try await serialized {
            try await database.raw("SELECT \(Self.tokenColumns) FROM api_tokens WHERE account_id = \(bind: accountID) ORDER BY created_at").all().map(Self.token)
        }
    }

    static let tokenColumns: SQLQueryString = "id, account_id, name, created_at, revoked_at, user_id, revocation_reason"

    public func revokeToken(id: String, at date: Date, reason: String) async throws -> APITokenRecord? {
        try await transaction {
            try await revokeTokenInTransaction(id: id, at: date, reason: reason)
        }
    }

    /// Revokes a token inside a running transaction.
    func revokeTokenInTransaction(id: String, at date: Date, reason: String) async throws -> APITokenRecord? {
        guard let row = try await database.raw("SELECT \(Self.tokenColumns) FROM api_tokens WHERE id = \(bind: id)").first() else { return nil }
        var token = try Self.token(row)
        if token.revokedAt == nil {
            try await database.raw("UPDATE api_tokens SET revoked_at = \(bind: Self.micros(date)), revocation_reason = \(bind: reason) WHERE id = \(bind: id)").run()
            token.revokedAt = date
            token.revocationReason = reason
        }
        return token
    }

    // MARK: Tunnels

    static let tunnelColumns: SQLQueryString = "id, account_id, name, secret, created_at, deleted_at, last_active_at, last_inactive_at"

    public func insertTunnel(_ tunnel: StoredTunnel) async throws {
        do {
            try await serialized {
                try await database.raw("""
                    INSERT INTO tunnels (\(Self.tunnelColumns))
                    VALUES (\(bind: tunnel.id.lowercasedString), \(bind: tunnel.accountID), \(bind: tunnel.name), \(bind: tunnel.secret.base64),
                            \(bind: Self.micros(tunnel.createdAt)), \(bind: tunnel.deletedAt.map(Self.micros)), NULL, NULL)
                    """).run()
            }
        } catch let error as ControlPlaneError where Self.isUniqueViolation(error) {
            throw ControlPlaneError.nameTaken(tunnel.name)
        }
    }

    public func tunnel(id: UUID) async throws -> StoredTunnel? {
        try await serialized {
            try await database.raw("SELECT \(Self.tunnelColumns) FROM tunnels WHERE id = \(bind: id.lowercasedString)").first().map(Self.tunnel)
        }
    }

    public func tunnels(accountID: String, filter: TunnelFilter, page: Int, perPage: Int) async throws -> Page<StoredTunnel> {
        var conditions: [SQLQueryString] = ["account_id = \(bind: accountID)"]
        switch filter.isDeleted {
        case true?: conditions.append("deleted_at IS NOT NULL")
        case false?: conditions.append("deleted_at IS NULL")
        case nil: break
        }
        if let name = filter.name { conditions.append("name = \(bind: name)") }
        // Prefixes compare with substr, not LIKE: names may hold % and _, and LIKE ignores case
        // in SQLite but not in PostgreSQL. length() keeps the bind a text on both engines.
        if let prefix = filter.namePrefix { conditions.append("substr(name, 1, length(\(bind: prefix))) = \(bind: prefix)") }
        if let prefix = filter.excludePrefix { conditions.append("substr(name, 1, length(\(bind: prefix))) <> \(bind: prefix)") }
        if let existedAt = filter.existedAt {
            let at = Self.micros(existedAt)
            conditions.append("created_at <= \(bind: at) AND (deleted_at IS NULL OR deleted_at > \(bind: at))")
        }
        if let id = filter.id { conditions.append("id = \(bind: id.lowercasedString)") }
        let whereClause = conditions.joined(separator: " AND ")
        let offset = (page - 1) * perPage
        return try await serialized {
            let total = try await database.raw("SELECT COUNT(*) AS n FROM tunnels WHERE \(whereClause)").first()?.decode(column: "n", as: Int.self) ?? 0
            let rows = try await database.raw("SELECT \(Self.tunnelColumns) FROM tunnels WHERE \(whereClause) ORDER BY created_at, id LIMIT \(bind: perPage) OFFSET \(bind: offset)").all()
            return Page(items: try rows.map(Self.tunnel), page: page, perPage: perPage, totalCount: total)
        }
    }

    public func markTunnelDeleted(id: UUID, at date: Date) async throws -> Bool {
        try await transaction {
            guard let row = try await database.raw("SELECT deleted_at FROM tunnels WHERE id = \(bind: id.lowercasedString)").first() else { return false }
            guard try row.decodeNil(column: "deleted_at") else { return false }
            try await database.raw("UPDATE tunnels SET deleted_at = \(bind: Self.micros(date)) WHERE id = \(bind: id.lowercasedString)").run()
            return true
        }
    }

    // MARK: Connections

    public func connectionOpened(_ record: ConnectionRecord) async throws {
        try await transaction {
            try await database.raw("""
                INSERT INTO connections (id, tunnel_id, connector_id, conn_index, client_version, arch, origin_ip, location, opened_at, closed_at)
                VALUES (\(bind: record.id.lowercasedString), \(bind: record.tunnelID.lowercasedString), \(bind: record.connectorID.lowercasedString),
                        \(bind: record.connIndex), \(bind: record.clientVersion), \(bind: record.arch), \(bind: record.originIP),
                        \(bind: record.location), \(bind: Self.micros(record.openedAt)), NULL)
                """).run()
            try await database.raw("UPDATE tunnels SET last_active_at = \(bind: Self.micros(record.openedAt)) WHERE id = \(bind: record.tunnelID.lowercasedString)").run()
        }
    }

    public func connectionClosed(id: UUID, at date: Date) async throws {
        try await transaction {
            let at = Self.micros(date)
            try await database.raw("UPDATE connections SET closed_at = \(bind: at) WHERE id = \(bind: id.lowercasedString) AND closed_at IS NULL").run()
            try await database.raw("UPDATE tunnels SET last_inactive_at = \(bind: at) WHERE id = (SELECT tunnel_id FROM connections WHERE id = \(bind: id.lowercasedString))").run()
        }
    }

    public func closeAllOpenConnections(at date: Date) async throws -> Int {
        try await transaction {
            let open = try await database.raw("SELECT COUNT(*) AS n FROM connections WHERE closed_at IS NULL").first()?.decode(column: "n", as: Int.self) ?? 0
            let at = Self.micros(date)
            try await database.raw("UPDATE tunnels SET last_inactive_at = \(bind: at) WHERE id IN (SELECT tunnel_id FROM connections WHERE closed_at IS NULL)").run()
            try await database.raw("UPDATE connections SET closed_at = \(bind: at) WHERE closed_at IS NULL").run()
            return open
        }
    }

    public func connections(tunnelID: UUID, limit: Int) async throws -> [ConnectionRecord] {
        try await serialized {
            try await database.raw("""
                SELECT id, tunnel_id, connector_id, conn_index, client_version, arch, origin_ip, location, opened_at, closed_at
                FROM connections WHERE tunnel_id = \(bind: tunnelID.lowercasedString) ORDER BY opened_at DESC LIMIT \(bind: limit)
                """).all().map { row in
                ConnectionRecord(
                    id: try Self.uuid(row, "id"), tunnelID: try Self.uuid(row, "tunnel_id"), connectorID: try Self.uuid(row, "connector_id"),
                    connIndex: try row.decode(column: "conn_index", as: Int.self), clientVersion: try row.decode(column: "client_version", as: String.self),
                    arch: try row.decode(column: "arch", as: String.self), originIP: try row.decode(column: "origin_ip", as: String.self),
                    location: try row.decode(column: "location", as: String.self), openedAt: try Self.date(row, "opened_at"),
                    closedAt: try Self.optionalDate(row, "closed_at"))
            }
        }
    }

    // MARK: Audit log

    public func appendAudit(_ event: AuditEvent) async throws {
        let metadata = String(decoding: try JSONEncoder.sortedKeys.encode(event.metadata), as: UTF8.self)
        try await serialized {
            try await database.raw("""
                INSERT INTO audit_events (account_id, at, action, actor, tunnel_id, metadata)
                VALUES (\(bind: event.accountID), \(bind: Self.micros(event.at)), \(bind: event.action.rawValue), \(bind: event.actor),
                        \(bind: event.tunnelID?.lowercasedString), \(bind: metadata))
                """).run()
        }
    }

    public func audit(accountID: String, filter: AuditFilter, page: Int, perPage: Int) async throws -> Page<AuditEvent> {
        var conditions: [SQLQueryString] = ["account_id = \(bind: accountID)"]
        if let since = filter.since { conditions.append("at >= \(bind: Self.micros(since))") }
        if let tunnelID = filter.tunnelID { conditions.append("tunnel_id = \(bind: tunnelID.lowercasedString)") }
        let whereClause = conditions.joined(separator: " AND ")
        return try await serialized {
            let total = try await database.raw("SELECT COUNT(*) AS n FROM audit_events WHERE \(whereClause)").first()?.decode(column: "n", as: Int.self) ?? 0
            let rows = try await database.raw("""
                SELECT id, account_id, at, action, actor, tunnel_id, metadata FROM audit_events
                WHERE \(whereClause) ORDER BY id LIMIT \(bind: perPage) OFFSET \(bind: (page - 1) * perPage)
                """).all()
            let events = try rows.map { row in
                let metadataText = try row.decode(column: "metadata", as: String.self)
                let metadata = (try? JSONDecoder().decode([String: String].self, from: Data(metadataText.utf8))) ?? [:]
                let tunnelText = try row.decode(column: "tunnel_id", as: String?.self)
                return AuditEvent(
                    id: try row.decode(column: "id", as: Int64.self), accountID: try row.decode(column: "account_id", as: String.self),
                    at: try Self.date(row, "at"), action: AuditAction(rawValue: try row.decode(column: "action", as: String.self)) ?? .registered,
                    actor: try row.decode(column: "actor", as: String.self), tunnelID: tunnelText.flatMap(UUID.init(uuidString:)), metadata: metadata)
            }
            return Page(items: events, page: page, perPage: perPage, totalCount: total)
        }
    }

    // MARK: Row mapping

    static func micros(_ date: Date) -> Int64 {
        Int64((date.timeIntervalSince1970 * 1_000_000).rounded())
    }

    static func date(_ row: any SQLRow, _ column: String) throws -> Date {
        Date(timeIntervalSince1970: Double(try row.decode(column: column, as: Int64.self)) / 1_000_000)
    }

    static func optionalDate(_ row: any SQLRow, _ column: String) throws -> Date? {
        try row.decode(column: column, as: Int64?.self).map { Date(timeIntervalSince1970: Double($0) / 1_000_000) }
    }

    static func uuid(_ row: any SQLRow, _ column: String) throws -> UUID {
        let text = try row.decode(column: column, as: String.self)
        guard let id = UUID(uuidString: text) else { throw ControlPlaneError.storage("column \(column) holds \(text), not a UUID") }
        return id
    }

    static func account(_ row: any SQLRow) throws -> Account {
        Account(id: try row.decode(column: "id", as: String.self), name: try row.decode(column: "name", as: String.self), createdAt: try date(row, "created_at"))
    }

    static func token(_ row: any SQLRow) throws -> APITokenRecord {
        APITokenRecord(
            id: try row.decode(column: "id", as: String.self), accountID: try row.decode(column: "account_id", as: String.self),
            name: try row.decode(column: "name", as: String.self), createdAt: try date(row, "created_at"), revokedAt: try optionalDate(row, "revoked_at"),
            userID: try row.decode(column: "user_id", as: String?.self), revocationReason: try row.decode(column: "revocation_reason", as: String?.self))
    }

    static func tunnel(_ row: any SQLRow) throws -> StoredTunnel {
        let secretText = try row.decode(column: "secret", as: String.self)
        guard let secret = TunnelSecret(base64: secretText) else { throw ControlPlaneError.storage("a tunnel secret is not base64") }
        return StoredTunnel(
            id: try uuid(row, "id"), accountID: try row.decode(column: "account_id", as: String.self), name: try row.decode(column: "name", as: String.self),
            secret: secret, createdAt: try date(row, "created_at"), deletedAt: try optionalDate(row, "deleted_at"),
            lastActiveAt: try optionalDate(row, "last_active_at"), lastInactiveAt: try optionalDate(row, "last_inactive_at"))
    }
}

extension JSONEncoder {
    static var sortedKeys: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return encoder
    }
}
