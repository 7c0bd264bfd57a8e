#if canImport(FoundationEssentials)
public import FoundationEssentials
#else
public import Foundation
#endif
public import TunnelCore

/// An account: it owns zones, API tokens and tunnels.
public struct Account: Hashable, Sendable, Codable {
    /// The account tag (32 lowercase hex digits), as in cert.pem's `accountID`.
    public var id: String
    /// A unique human name.
    public var name: String
    /// When it was created.
    public var createdAt: Date

    /// Creates an account record.
    public init(id: String, name: String, createdAt: Date) {
        self.id = id
        self.name = name
        self.createdAt = createdAt
    }
}

/// A DNS zone (a hostname of an account, e.g. `example.test`).
public struct Zone: Hashable, Sendable, Codable {
    /// The zone tag (32 lowercase hex digits), as in cert.pem's `zoneID`.
    public var id: String
    /// The owning account's tag.
    public var accountID: String
    /// The zone name, lowercase, without a trailing dot.
    public var name: String
    /// Whether the zone's DNS is hosted elsewhere (a partial setup): routes are written to
    /// ``provider``, or printed for the user to create there; the edge's DNS server does not
    /// answer for it.
    public var hostedElsewhere: Bool
    /// The RFC 2136 server taking updates for a zone hosted elsewhere.
    public var provider: ZoneProvider?

    /// Creates a zone record.
    public init(id: String, accountID: String, name: String, hostedElsewhere: Bool = false, provider: ZoneProvider? = nil) {
        self.id = id
        self.accountID = accountID
        self.name = name
        self.hostedElsewhere = hostedElsewhere
        self.provider = provider
    }

    /// Whether `name` (lowercase, no trailing dot) is the apex or below it.
    public func holds(_ name: String) -> Bool {
        name == self.name || name.hasSuffix("." + self.name)
    }
}

/// An RFC 2136 server with its TSIG key (HMAC-SHA256), for a zone hosted elsewhere.
public struct ZoneProvider: Hashable, Sendable, Codable {
    /// The server's host (IP literal or name).
    public var host: String
    /// Its port. Default 53.
    public var port: Int
    /// The TSIG key's name.
    public var keyName: String
    /// The TSIG secret, standard base64.
    public var secret: String

    /// Creates a provider record.
    public init(host: String, port: Int = 53, keyName: String, secret: String) {
        self.host = host
        self.port = port
        self.keyName = keyName
        self.secret = secret
    }
}

/// An API token's record. The token itself is shown once, when created; the store keeps its
/// SHA-256 digest only.
public struct APITokenRecord: Hashable, Sendable, Codable {
    /// The token's public ID (used to revoke it).
    public var id: String
    /// The account it acts for.
    public var accountID: String
    /// Who it is for (`admin`, a service name).
    public var name: String
    /// When it was created.
    public var createdAt: Date
    /// When it was revoked; revoked tokens are refused.
    public var revokedAt: Date?
    /// The user it acts for, for tokens issued by a login; `nil` for service tokens.
    public var userID: String?
    /// Why it was revoked: `revoked`, `rolled`, `user removed`, `origin certificate revoked`.
    public var revocationReason: String?

    /// Creates a token record.
    public init(id: String, accountID: String, name: String, createdAt: Date, revokedAt: Date? = nil, userID: String? = nil, revocationReason: String? = nil) {
        self.id = id
        self.accountID = accountID
        self.name = name
        self.createdAt = createdAt
        self.revokedAt = revokedAt
        self.userID = userID
        self.revocationReason = revocationReason
    }
}

/// A named tunnel as the control plane stores it.
public struct StoredTunnel: Hashable, Sendable {
    /// The tunnel ID.
    public var id: UUID
    /// The owning account's tag.
    public var accountID: String
    /// Its name, unique among the account's live tunnels.
    public var name: String
    /// The secret connectors present.
    public var secret: TunnelSecret
    /// When it was created.
    public var createdAt: Date
    /// When it was deleted (soft delete: it still lists with `is_deleted=true`).
    public var deletedAt: Date?
    /// When a connection last registered.
    public var lastActiveAt: Date?
    /// When its last connection ended.
    public var lastInactiveAt: Date?

    /// Creates a tunnel record.
    public init(id: UUID, accountID: String, name: String, secret: TunnelSecret, createdAt: Date, deletedAt: Date? = nil, lastActiveAt: Date? = nil, lastInactiveAt: Date? = nil) {
        self.id = id
        self.accountID = accountID
        self.name = name
        self.secret = secret
        self.createdAt = createdAt
        self.deletedAt = deletedAt
        self.lastActiveAt = lastActiveAt
        self.lastInactiveAt = lastInactiveAt
    }

    /// The tunnel token (`tunnel run --token`).
    public var token: TunnelToken {
        TunnelToken(accountTag: accountID, tunnelSecret: secret, tunnelID: id)
    }
}

/// Which tunnels a list returns; every filter is optional (cloudflared's `cfd_tunnel` query).
public struct TunnelFilter: Hashable, Sendable {
    /// `true`: deleted tunnels only; `false`: live only; `nil`: both.
    public var isDeleted: Bool?
    /// Exact name.
    public var name: String?
    /// Names starting with this.
    public var namePrefix: String?
    /// Names not starting with this.
    public var excludePrefix: String?
    /// Tunnels that existed at this time: created at or before it, deleted after it (or not).
    public var existedAt: Date?
    /// One tunnel ID.
    public var id: UUID?

    /// Creates a filter; everything passes by default.
    public init(isDeleted: Bool? = nil, name: String? = nil, namePrefix: String? = nil, excludePrefix: String? = nil, existedAt: Date? = nil, id: UUID? = nil) {
        self.isDeleted = isDeleted
        self.name = name
        self.namePrefix = namePrefix
        self.excludePrefix = excludePrefix
        self.existedAt = existedAt
        self.id = id
    }
}

/// One page of a list, with the total over all pages.
public struct Page<Item: Sendable>: Sendable {
    /// The items of this page.
    public var items: [Item]
    /// The 1-based page number.
    public var page: Int
    /// The page size asked for.
    public var perPage: Int
    /// Items on all pages together.
    public var totalCount: Int

    /// Creates a page.
    public init(items: [Item], page: Int, perPage: Int, totalCount: Int) {
        self.items = items
        self.page = page
        self.perPage = perPage
        self.totalCount = totalCount
    }
}

extension Page {
    /// One page of a list held in memory.
    init(slicing all: [Item], page: Int, perPage: Int) {
        self.init(items: Array(all.dropFirst((page - 1) * perPage).prefix(perPage)), page: page, perPage: perPage, totalCount: all.count)
    }
}

/// What an audit event records.
public enum AuditAction: String, Hashable, Sendable, Codable, CaseIterable {
    /// A connector connection registered.
    case registered = "tunnel.registered"
    /// A connector connection unregistered or was lost.
    case unregistered = "tunnel.unregistered"
    /// A tunnel was created.
    case tunnelCreated = "tunnel.created"
    /// A tunnel was deleted (its credentials revoked).
    case tunnelDeleted = "tunnel.deleted"
    /// An API token was created.
    case tokenCreated = "token.created"
    /// An API token was revoked.
    case tokenRevoked = "token.revoked"
    /// An API token was rolled: the tokens of a user or service were revoked, and a new one
    /// issued for a service.
    case tokenRolled = "token.rolled"
    /// A user signed in on the login page and approved a login (a cert.pem was issued).
    case login = "user.login"
    /// A user was added to the account.
    case userAdded = "user.added"
    /// A user was removed (their tokens rolled).
    case userRemoved = "user.removed"
    /// An origin certificate was issued (with the cert.pem of a login).
    case originCertificateIssued = "origin_certificate.issued"
    /// An origin certificate was revoked (with its token).
    case originCertificateRevoked = "origin_certificate.revoked"
    /// An account was created.
    case accountCreated = "account.created"
    /// A CNAME route to a tunnel was added (or replaced another record).
    case cnameAdded = "dns.cname_added"
    /// A tunnel's record was removed: the tunnel stayed unregistered too long, or was deleted.
    case recordRemoved = "dns.record_removed"
    /// A record was created or changed through the `dns_records` API.
    case recordSet = "dns.record_set"
}

/// One entry of an account's audit log.
public struct AuditEvent: Hashable, Sendable {
    /// Position in the log (increasing).
    public var id: Int64
    /// The account.
    public var accountID: String
    /// When it happened.
    public var at: Date
    /// What happened.
    public var action: AuditAction
    /// Who did it: `token:<id>`, `admin` (edge host commands) or `edge` (connector events).
    public var actor: String
    /// The tunnel concerned, if any.
    public var tunnelID: UUID?
    /// Details: connection ID, connIndex, client version, origin IP, location, token ID, name.
    public var metadata: [String: String]

    /// Creates an event.
    public init(id: Int64 = 0, accountID: String, at: Date, action: AuditAction, actor: String, tunnelID: UUID? = nil, metadata: [String: String] = [:]) {
        self.id = id
        self.accountID = accountID
        self.at = at
        self.action = action
        self.actor = actor
        self.tunnelID = tunnelID
        self.metadata = metadata
    }
}

/// Which audit events a query returns.
public struct AuditFilter: Hashable, Sendable {
    /// Events at or after this time.
    public var since: Date?
    /// Events of this tunnel only.
    public var tunnelID: UUID?

    /// Creates a filter; everything passes by default.
    public init(since: Date? = nil, tunnelID: UUID? = nil) {
        self.since = since
        self.tunnelID = tunnelID
    }
}

/// A connector connection the control plane has on record (open or closed).
public struct ConnectionRecord: Hashable, Sendable {
    /// The connection ID the edge gave it.
    public var id: UUID
    /// The tunnel it serves.
    public var tunnelID: UUID
    /// The connector (`clientId`).
    public var connectorID: UUID
    /// Slot on the connector, 0…3.
    public var connIndex: Int
    /// The connector's version.
    public var clientVersion: String
    /// The connector's architecture.
    public var arch: String
    /// The connector's address as the edge saw it.
    public var originIP: String
    /// The edge's location name.
    public var location: String
    /// When it registered.
    public var openedAt: Date
    /// When it ended; `nil` while open.
    public var closedAt: Date?

    /// Creates a record.
    public init(id: UUID, tunnelID: UUID, connectorID: UUID, connIndex: Int, clientVersion: String, arch: String, originIP: String, location: String, openedAt: Date, closedAt: Date? = nil) {
        self.id = id
        self.tunnelID = tunnelID
        self.connectorID = connectorID
        self.connIndex = connIndex
        self.clientVersion = clientVersion
        self.arch = arch
        self.originIP = originIP
        self.location = location
        self.openedAt = openedAt
        self.closedAt = closedAt
    }
}

/// A DNS record of an account zone. Tunnel routes are CNAME records to
/// `<tunnel-id>.<tunnel domain>` with ``tunnelID`` set.
public struct DNSRecord: Hashable, Sendable {
    /// The record's ID.
    public var id: String
    /// The zone holding it.
    public var zoneID: String
    /// The owner name, lowercase, without a trailing dot.
    public var name: String
    /// `CNAME`, `A`, `AAAA` or `TXT`.
    public var type: String
    /// The target (CNAME), address (A/AAAA) or text.
    public var content: String
    /// The tunnel the record routes to, for tunnel routes.
    public var tunnelID: UUID?
    /// When it was created.
    public var createdAt: Date
    /// When it last changed.
    public var updatedAt: Date

    /// Creates a record.
    public init(id: String, zoneID: String, name: String, type: String, content: String, tunnelID: UUID?, createdAt: Date, updatedAt: Date) {
        self.id = id
        self.zoneID = zoneID
        self.name = name
        self.type = type
        self.content = content
        self.tunnelID = tunnelID
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }
}
