#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import SQLKit
import TunnelCore

/// Users, token rolling, origin certificates and login requests.
extension SQLControlStore {
    // MARK: Tokens by owner

    public func revokeTokens(accountID: String, name: String?, userID: String?, at date: Date, reason: String) async throws -> [APITokenRecord] {
        try await transaction {
            let rows: [any SQLRow]
            if let userID {
                rows = try await database.raw("SELECT \(Self.tokenColumns) FROM api_tokens WHERE account_id = \(bind: accountID) AND user_id = \(bind: userID) AND revoked_at IS NULL").all()
            } else {
                rows = try await database.raw("SELECT \(Self.tokenColumns) FROM api_tokens WHERE account_id = \(bind: accountID) AND name = \(bind: name ?? "") AND user_id IS NULL AND revoked_at IS NULL").all()
            }
            var revoked: [APITokenRecord] = []
            for row in rows {
                if let token = try await revokeTokenInTransaction(id: try row.decode(column: "id", as: String.self), at: date, reason: reason) {
                    revoked.append(token)
                }
            }
            return revoked
        }
    }

    // MARK: Users

    static let userColumns: SQLQueryString = "id, account_id, name, created_at, removed_at"

    public func insertUser(_ user: User, passwordHash: String) async throws {
        do {
            try await serialized {
                try await database.raw("""
                    INSERT INTO users (id, account_id, name, password_hash, created_at, removed_at)
                    VALUES (\(bind: user.id), \(bind: user.accountID), \(bind: user.name), \(bind: passwordHash), \(bind: Self.micros(user.createdAt)), NULL)
                    """).run()
            }
        } catch let error as ControlPlaneError where error.code == .storage && Self.isUniqueViolation(error) {
            throw ControlPlaneError.userExists(user.name)
        }
    }

    public func user(name: String) async throws -> (user: User, passwordHash: String)? {
        try await serialized {
            guard let row = try await database.raw("SELECT \(Self.userColumns), password_hash FROM users WHERE name = \(bind: name) AND removed_at IS NULL").first() else { return nil }
            return (try Self.user(row), try row.decode(column: "password_hash", as: String.self))
        }
    }

    public func users(accountID: String) async throws -> [User] {
        try await serialized {
            try await database.raw("SELECT \(Self.userColumns) FROM users WHERE account_id = \(bind: accountID) ORDER BY created_at, name").all().map(Self.user)
        }
    }

    public func removeUser(id: String, at date: Date) async throws -> User? {
        try await transaction {
            guard let row = try await database.raw("SELECT \(Self.userColumns) FROM users WHERE id = \(bind: id)").first() else { return nil }
            var user = try Self.user(row)
            if user.removedAt == nil {
                try await database.raw("UPDATE users SET removed_at = \(bind: Self.micros(date)) WHERE id = \(bind: id)").run()
                user.removedAt = date
            }
            let tokens = try await database.raw("SELECT id FROM api_tokens WHERE user_id = \(bind: id) AND revoked_at IS NULL").all()
            for token in tokens {
                _ = try await revokeTokenInTransaction(id: try token.decode(column: "id", as: String.self), at: date, reason: "user removed")
            }
            return user
        }
    }

    static func user(_ row: any SQLRow) throws -> User {
        User(
            id: try row.decode(column: "id", as: String.self), accountID: try row.decode(column: "account_id", as: String.self),
            name: try row.decode(column: "name", as: String.self), createdAt: try date(row, "created_at"), removedAt: try optionalDate(row, "removed_at"))
    }

    // MARK: Origin certificates

    static let originCertificateColumns: SQLQueryString = "id, account_id, zone_id, token_id, issued_to, hostnames, certificate, created_at, expires_at, revoked_at"

    public func insertOriginCertificate(_ record: OriginCertificateRecord) async throws {
        try await serialized {
            try await database.raw("""
                INSERT INTO origin_certificates (\(Self.originCertificateColumns))
                VALUES (\(bind: record.id), \(bind: record.accountID), \(bind: record.zoneID), \(bind: record.tokenID), \(bind: record.issuedTo),
                        \(bind: record.hostnames.joined(separator: ",")), \(bind: record.certificatePEM), \(bind: Self.micros(record.createdAt)),
                        \(bind: Self.micros(record.expiresAt)), \(bind: record.revokedAt.map(Self.micros)))
                """).run()
        }
    }

    public func originCertificate(id: String) async throws -> OriginCertificateRecord? {
        try await serialized {
            try await database.raw("SELECT \(Self.originCertificateColumns) FROM origin_certificates WHERE id = \(bind: id)").first().map(Self.originCertificate)
        }
    }

    public func originCertificates(accountID: String, zoneID: String?) async throws -> [OriginCertificateRecord] {
        try await serialized {
            if let zoneID {
                return try await database.raw("SELECT \(Self.originCertificateColumns) FROM origin_certificates WHERE account_id = \(bind: accountID) AND zone_id = \(bind: zoneID) ORDER BY created_at, id").all().map(Self.originCertificate)
            }
            return try await database.raw("SELECT \(Self.originCertificateColumns) FROM origin_certificates WHERE account_id = \(bind: accountID) ORDER BY created_at, id").all().map(Self.originCertificate)
        }
    }

    public func revokeOriginCertificate(id: String, at date: Date) async throws -> OriginCertificateRecord? {
        try await transaction {
            guard let row = try await database.raw("SELECT \(Self.originCertificateColumns) FROM origin_certificates WHERE id = \(bind: id)").first() else { return nil }
            var record = try Self.originCertificate(row)
            if record.revokedAt == nil {
                try await database.raw("UPDATE origin_certificates SET revoked_at = \(bind: Self.micros(date)) WHERE id = \(bind: id)").run()
                record.revokedAt = date
                _ = try await revokeTokenInTransaction(id: record.tokenID, at: date, reason: "origin certificate revoked")
            }
            return record
        }
    }

    static func originCertificate(_ row: any SQLRow) throws -> OriginCertificateRecord {
        OriginCertificateRecord(
            id: try row.decode(column: "id", as: String.self), accountID: try row.decode(column: "account_id", as: String.self),
            zoneID: try row.decode(column: "zone_id", as: String.self), tokenID: try row.decode(column: "token_id", as: String.self),
            issuedTo: try row.decode(column: "issued_to", as: String.self),
            hostnames: try row.decode(column: "hostnames", as: String.self).split(separator: ",").map(String.init),
            certificatePEM: try row.decode(column: "certificate", as: String.self), createdAt: try date(row, "created_at"),
            expiresAt: try date(row, "expires_at"), revokedAt: try optionalDate(row, "revoked_at"))
    }

    // MARK: Login requests

    static let loginColumns: SQLQueryString = "key_digest, state, created_at, expires_at, pem"

    public func beginLogin(_ request: LoginRequest) async throws -> LoginRequest {
        try await transaction {
            if let row = try await database.raw("SELECT \(Self.loginColumns) FROM login_requests WHERE key_digest = \(bind: request.keyDigest)").first() {
                return try Self.login(row)
            }
            try await database.raw("""
                INSERT INTO login_requests (\(Self.loginColumns))
                VALUES (\(bind: request.keyDigest), \(bind: request.state.rawValue), \(bind: Self.micros(request.createdAt)), \(bind: Self.micros(request.expiresAt)), NULL)
                """).run()
            return request
        }
    }

    public func loginRequest(keyDigest: String) async throws -> LoginRequest? {
        try await serialized {
            try await database.raw("SELECT \(Self.loginColumns) FROM login_requests WHERE key_digest = \(bind: keyDigest)").first().map(Self.login)
        }
    }

    public func approveLogin(keyDigest: String, pem: String, now: Date) async throws -> Bool {
        try await transaction {
            guard let row = try await database.raw("SELECT \(Self.loginColumns) FROM login_requests WHERE key_digest = \(bind: keyDigest)").first() else { return false }
            let request = try Self.login(row)
            guard request.state == .pending, request.expiresAt > now else { return false }
            try await database.raw("UPDATE login_requests SET state = \(bind: LoginRequest.State.approved.rawValue), pem = \(bind: pem) WHERE key_digest = \(bind: keyDigest)").run()
            return true
        }
    }

    public func consumeLogin(keyDigest: String, now: Date) async throws -> String? {
        try await transaction {
            guard let row = try await database.raw("SELECT \(Self.loginColumns) FROM login_requests WHERE key_digest = \(bind: keyDigest)").first() else { return nil }
            let request = try Self.login(row)
            guard request.state == .approved, request.expiresAt > now, let pem = request.pem else { return nil }
            try await database.raw("UPDATE login_requests SET state = \(bind: LoginRequest.State.consumed.rawValue), pem = NULL WHERE key_digest = \(bind: keyDigest)").run()
            return pem
        }
    }

    public func purgeLogins(before date: Date) async throws -> Int {
        try await serialized {
            let rows = try await database.raw("DELETE FROM login_requests WHERE expires_at < \(bind: Self.micros(date)) RETURNING key_digest").all()
            return rows.count
        }
    }

    static func login(_ row: any SQLRow) throws -> LoginRequest {
        let stateText = try row.decode(column: "state", as: String.self)
        return LoginRequest(
            keyDigest: try row.decode(column: "key_digest", as: String.self), state: LoginRequest.State(rawValue: stateText) ?? .consumed,
            createdAt: try date(row, "created_at"), expiresAt: try date(row, "expires_at"), pem: try row.decode(column: "pem", as: String?.self))
    }
}

/// Quick tunnels.
extension SQLControlStore {
    static let quickColumns: SQLQueryString = "tunnel_id, source_ip, hostname, created_at, expires_at"

    public func insertQuickTunnel(_ quick: QuickTunnelRecord) async throws {
        try await serialized {
            try await database.raw("""
                INSERT INTO quick_tunnels (\(Self.quickColumns))
                VALUES (\(bind: quick.tunnelID.lowercasedString), \(bind: quick.sourceIP), \(bind: quick.hostname),
                        \(bind: Self.micros(quick.createdAt)), \(bind: Self.micros(quick.expiresAt)))
                """).run()
        }
    }

    public func quickTunnels() async throws -> [QuickTunnelRecord] {
        try await serialized {
            try await database.raw("SELECT \(Self.quickColumns) FROM quick_tunnels ORDER BY created_at").all().map(Self.quick)
        }
    }

    public func quickTunnel(id: UUID) async throws -> QuickTunnelRecord? {
        try await serialized {
            try await database.raw("SELECT \(Self.quickColumns) FROM quick_tunnels WHERE tunnel_id = \(bind: id.lowercasedString)").first().map(Self.quick)
        }
    }

    public func deleteQuickTunnel(id: UUID) async throws -> Bool {
        try await serialized {
            let rows = try await database.raw("DELETE FROM quick_tunnels WHERE tunnel_id = \(bind: id.lowercasedString) RETURNING tunnel_id").all()
            return !rows.isEmpty
        }
    }

    static func quick(_ row: any SQLRow) throws -> QuickTunnelRecord {
        QuickTunnelRecord(
            tunnelID: try uuid(row, "tunnel_id"), sourceIP: try row.decode(column: "source_ip", as: String.self),
            hostname: try row.decode(column: "hostname", as: String.self), createdAt: try date(row, "created_at"), expiresAt: try date(row, "expires_at"))
    }
}
