#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Logging
import SQLKit

extension SQLControlStore {
    /// A numbered schema change. Migrations run in order at start-up, each inside a transaction
    /// that also records its number, so a crash never leaves half a migration behind.
    struct Migration: Sendable {
        let version: Int
        let summary: String
        let statements: @Sendable (_ dialect: String) -> [String]
    }

    /// The schema, as numbered changes. Append new ones; never edit a released one.
    static let migrations: [Migration] = [
        Migration(version: 1, summary: "accounts, zones, API tokens, tunnels, connections, audit log") { dialect in
            // The audit log's id is the only engine-specific column: it orders the log.
            let serial = dialect == "postgresql" ? "BIGSERIAL PRIMARY KEY" : "INTEGER PRIMARY KEY AUTOINCREMENT"
            return [
                """
                CREATE TABLE accounts (
                    id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE, created_at BIGINT NOT NULL)
                """,
                """
                CREATE TABLE zones (
                    id TEXT PRIMARY KEY, account_id TEXT NOT NULL REFERENCES accounts(id),
                    name TEXT NOT NULL UNIQUE)
                """,
                """
                CREATE TABLE api_tokens (
                    id TEXT PRIMARY KEY, account_id TEXT NOT NULL REFERENCES accounts(id), name TEXT NOT NULL,
                    digest TEXT NOT NULL UNIQUE, created_at BIGINT NOT NULL, revoked_at BIGINT)
                """,
                """
                CREATE TABLE tunnels (
                    id TEXT PRIMARY KEY, account_id TEXT NOT NULL, name TEXT NOT NULL, secret TEXT NOT NULL,
                    created_at BIGINT NOT NULL, deleted_at BIGINT, last_active_at BIGINT, last_inactive_at BIGINT)
                """,
                // Names are unique among an account's live tunnels; a deleted name may be reused.
                "CREATE UNIQUE INDEX tunnels_live_name ON tunnels (account_id, name) WHERE deleted_at IS NULL",
                """
                CREATE TABLE connections (
                    id TEXT PRIMARY KEY, tunnel_id TEXT NOT NULL, connector_id TEXT NOT NULL, conn_index INTEGER NOT NULL,
                    client_version TEXT NOT NULL, arch TEXT NOT NULL, origin_ip TEXT NOT NULL, location TEXT NOT NULL,
                    opened_at BIGINT NOT NULL, closed_at BIGINT)
                """,
                """
                CREATE TABLE audit_events (
                    id \(serial), account_id TEXT NOT NULL, at BIGINT NOT NULL, action TEXT NOT NULL,
                    actor TEXT NOT NULL, tunnel_id TEXT, metadata TEXT NOT NULL)
                """,
            ]
        },
        Migration(version: 2, summary: "indexes for listing tunnels, connection history and the audit log") { _ in
            [
                "CREATE INDEX tunnels_account_created ON tunnels (account_id, created_at)",
                "CREATE INDEX connections_tunnel_opened ON connections (tunnel_id, opened_at)",
                "CREATE INDEX connections_open ON connections (closed_at)",
                "CREATE INDEX audit_account_at ON audit_events (account_id, at)",
            ]
        },
        Migration(version: 3, summary: "DNS records of the account zones (tunnel routes)") { _ in
            [
                """
                CREATE TABLE dns_records (
                    id TEXT PRIMARY KEY, zone_id TEXT NOT NULL REFERENCES zones(id), name TEXT NOT NULL,
                    type TEXT NOT NULL, content TEXT NOT NULL, tunnel_id TEXT, created_at BIGINT NOT NULL, updated_at BIGINT NOT NULL)
                """,
                // One A/AAAA/CNAME owner per name: a CNAME excludes other records of its name.
                "CREATE UNIQUE INDEX dns_records_name ON dns_records (name)",
                "CREATE INDEX dns_records_tunnel ON dns_records (tunnel_id)",
            ]
        },
        Migration(version: 4, summary: "zones hosted elsewhere, with their RFC 2136 provider") { _ in
            [
                "ALTER TABLE zones ADD COLUMN hosted_elsewhere INTEGER NOT NULL DEFAULT 0",
                "ALTER TABLE zones ADD COLUMN provider TEXT",
            ]
        },
        Migration(version: 5, summary: "users, login requests, origin certificates; token owners and revocation reasons") { _ in
            [
                """
                CREATE TABLE users (
                    id TEXT PRIMARY KEY, account_id TEXT NOT NULL REFERENCES accounts(id), name TEXT NOT NULL,
                    password_hash TEXT NOT NULL, created_at BIGINT NOT NULL, removed_at BIGINT)
                """,
                // Sign-in names are unique among present users; a removed user's name may return.
                "CREATE UNIQUE INDEX users_live_name ON users (name) WHERE removed_at IS NULL",
                "ALTER TABLE api_tokens ADD COLUMN user_id TEXT",
                "ALTER TABLE api_tokens ADD COLUMN revocation_reason TEXT",
                "CREATE INDEX api_tokens_owner ON api_tokens (account_id, name)",
                """
                CREATE TABLE origin_certificates (
                    id TEXT PRIMARY KEY, account_id TEXT NOT NULL REFERENCES accounts(id), zone_id TEXT NOT NULL REFERENCES zones(id),
                    token_id TEXT NOT NULL, issued_to TEXT NOT NULL, hostnames TEXT NOT NULL, certificate TEXT NOT NULL,
                    created_at BIGINT NOT NULL, expires_at BIGINT NOT NULL, revoked_at BIGINT)
                """,
                "CREATE INDEX origin_certificates_account ON origin_certificates (account_id, created_at)",
                """
                CREATE TABLE login_requests (
                    key_digest TEXT PRIMARY KEY, state TEXT NOT NULL, created_at BIGINT NOT NULL,
                    expires_at BIGINT NOT NULL, pem TEXT)
                """,
            ]
        },
        Migration(version: 6, summary: "quick tunnels: source address, hostname, expiry") { _ in
            [
                """
                CREATE TABLE quick_tunnels (
                    tunnel_id TEXT PRIMARY KEY, source_ip TEXT NOT NULL, hostname TEXT NOT NULL UNIQUE,
                    created_at BIGINT NOT NULL, expires_at BIGINT NOT NULL)
                """,
                "CREATE INDEX quick_tunnels_source ON quick_tunnels (source_ip)",
            ]
        },
    ]

    /// The newest schema version this build knows.
    public static var latestSchemaVersion: Int { migrations.last?.version ?? 0 }

    /// Brings the schema to `target` (default: the newest). A database newer than this build is
    /// refused rather than misread.
    func migrate(to target: Int? = nil, logger: Logger) async throws {
        let target = target ?? Self.latestSchemaVersion
        try await serialized {
            try await database.raw("CREATE TABLE IF NOT EXISTS control_schema_migrations (version INTEGER PRIMARY KEY, summary TEXT NOT NULL, applied_at BIGINT NOT NULL)").run()
        }
        let current = try await schemaVersion()
        if current > Self.latestSchemaVersion {
            throw ControlPlaneError.storage("the database is at schema version \(current), newer than this tunnelctl knows (\(Self.latestSchemaVersion)); upgrade tunnelctl")
        }
        let dialect = database.dialect.name
        for migration in Self.migrations where migration.version > current && migration.version <= target {
            try await transaction {
                for statement in migration.statements(dialect) {
                    try await database.raw(SQLQueryString(statement)).run()
                }
                try await database.raw("""
                    INSERT INTO control_schema_migrations (version, summary, applied_at)
                    VALUES (\(bind: migration.version), \(bind: migration.summary), \(bind: Self.micros(Date())))
                    """).run()
            }
            logger.info("migrated the control-plane store", metadata: ["version": "\(migration.version)", "change": "\(migration.summary)"])
        }
    }

    public func schemaVersion() async throws -> Int {
        try await serialized {
            try await database.raw("SELECT MAX(version) AS v FROM control_schema_migrations").first()?.decode(column: "v", as: Int?.self) ?? 0
        }
    }
}
