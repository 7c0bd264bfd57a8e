#if canImport(FoundationEssentials)
public import FoundationEssentials
#else
public import Foundation
#endif

/// A person who signs in on the login page to get a cert.pem for a zone of their account.
/// The password is kept as a bcrypt hash only.
public struct User: Hashable, Sendable, Codable {
    /// The user's ID (32 hex digits).
    public var id: String
    /// The account the user belongs to.
    public var accountID: String
    /// The sign-in name, unique on the edge (1-64 letters, digits, `-`, `_`, `.`, `@`).
    public var name: String
    /// When the user was added.
    public var createdAt: Date
    /// When the user was removed; removed users cannot sign in and their tokens are rolled.
    public var removedAt: Date?

    /// Creates a user record.
    public init(id: String, accountID: String, name: String, createdAt: Date, removedAt: Date? = nil) {
        self.id = id
        self.accountID = accountID
        self.name = name
        self.createdAt = createdAt
        self.removedAt = removedAt
    }
}

/// An origin certificate the control plane's origin CA issued, with the API token of the
/// cert.pem it went into. Never deleted: an administrator revokes it, which revokes the token.
public struct OriginCertificateRecord: Hashable, Sendable {
    /// The certificate's ID: its serial number in hex.
    public var id: String
    /// The account.
    public var accountID: String
    /// The zone it names (with `*.zone`).
    public var zoneID: String
    /// The API token in the cert.pem.
    public var tokenID: String
    /// Who it was issued to: `user:NAME` or `service:NAME`.
    public var issuedTo: String
    /// The names in the certificate.
    public var hostnames: [String]
    /// The certificate, PEM (never the key).
    public var certificatePEM: String
    /// When it was issued.
    public var createdAt: Date
    /// Its `notValidAfter`.
    public var expiresAt: Date
    /// When it was revoked.
    public var revokedAt: Date?

    /// Creates a record.
    public init(id: String, accountID: String, zoneID: String, tokenID: String, issuedTo: String, hostnames: [String], certificatePEM: String, createdAt: Date, expiresAt: Date, revokedAt: Date? = nil) {
        self.id = id
        self.accountID = accountID
        self.zoneID = zoneID
        self.tokenID = tokenID
        self.issuedTo = issuedTo
        self.hostnames = hostnames
        self.certificatePEM = certificatePEM
        self.createdAt = createdAt
        self.expiresAt = expiresAt
        self.revokedAt = revokedAt
    }
}

/// A login in progress: created when the sign-in page is opened with a login key, approved
/// with the cert.pem, consumed when the poll (or the page's download) takes it. The store
/// keeps the key's SHA-256 digest, never the key; the PEM only until it is taken.
public struct LoginRequest: Hashable, Sendable {
    /// Where a login is.
    public enum State: String, Hashable, Sendable {
        /// Waiting for the user to sign in and approve.
        case pending
        /// Approved: the cert.pem waits for the poll.
        case approved
        /// The cert.pem was handed out; the key cannot be used again.
        case consumed
    }

    /// SHA-256 (hex) of the login key.
    public var keyDigest: String
    /// Where it is.
    public var state: State
    /// When the page was first opened with the key.
    public var createdAt: Date
    /// After this a pending or approved login is refused.
    public var expiresAt: Date
    /// The cert.pem, while approved.
    public var pem: String?

    /// Creates a login request record.
    public init(keyDigest: String, state: State, createdAt: Date, expiresAt: Date, pem: String? = nil) {
        self.keyDigest = keyDigest
        self.state = state
        self.createdAt = createdAt
        self.expiresAt = expiresAt
        self.pem = pem
    }
}

/// An anonymous, short-lived tunnel handed out by `POST /tunnel` (cloudflared's quick tunnels).
public struct QuickTunnelRecord: Hashable, Sendable {
    /// The tunnel.
    public var tunnelID: UUID
    /// The address that asked for it (the per-address limit counts these).
    public var sourceIP: String
    /// `<words>.<quick domain>`, routed to the tunnel.
    public var hostname: String
    /// When it was handed out.
    public var createdAt: Date
    /// When it is removed whatever happens.
    public var expiresAt: Date

    /// Creates a record.
    public init(tunnelID: UUID, sourceIP: String, hostname: String, createdAt: Date, expiresAt: Date) {
        self.tunnelID = tunnelID
        self.sourceIP = sourceIP
        self.hostname = hostname
        self.createdAt = createdAt
        self.expiresAt = expiresAt
    }
}
