#if canImport(FoundationEssentials)
import FoundationEssentials
#else
public import Foundation
#endif

extension V4 {
    /// A zone as `GET /zones` lists it (the fields of Cloudflare's zone object that tools read).
    public struct ZoneObject: Codable, Hashable, Sendable {
        public var id: String
        public var name: String
        public var status: String
        public var account: AccountReference

        /// Creates a zone object.
        public init(id: String, name: String, account: AccountReference) {
            self.id = id
            self.name = name
            self.status = "active"
            self.account = account
        }
    }

    /// An account as a zone names it.
    public struct AccountReference: Codable, Hashable, Sendable {
        public var id: String
        public var name: String

        /// Creates a reference.
        public init(id: String, name: String) {
            self.id = id
            self.name = name
        }
    }

    /// An origin certificate in the shape of Cloudflare's Origin CA API (`/certificates`),
    /// with the zone, the holder and the revocation time added.
    public struct OriginCertificateObject: Codable, Hashable, Sendable {
        public var id: String
        public var certificate: String
        public var hostnames: [String]
        public var expiresOn: String
        public var requestType: String
        public var requestedValidity: Int
        public var csr: String
        public var zoneID: String
        public var issuedTo: String
        public var createdAt: String
        public var revokedAt: String?

        enum CodingKeys: String, CodingKey {
            case id, certificate, hostnames, csr
            case expiresOn = "expires_on", requestType = "request_type", requestedValidity = "requested_validity"
            case zoneID = "zone_id", issuedTo = "issued_to", createdAt = "created_at", revokedAt = "revoked_at"
        }

        /// The API view of a stored certificate.
        public init(_ record: OriginCertificateRecord) {
            id = record.id
            certificate = record.certificatePEM
            hostnames = record.hostnames
            expiresOn = V4.timestamp(record.expiresAt)
            requestType = "origin-ecc"
            requestedValidity = Int((record.expiresAt.timeIntervalSince(record.createdAt) / 86400).rounded())
            csr = ""
            zoneID = record.zoneID
            issuedTo = record.issuedTo
            createdAt = V4.timestamp(record.createdAt)
            revokedAt = record.revokedAt.map(V4.timestamp)
        }

        public func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(id, forKey: .id)
            try c.encode(certificate, forKey: .certificate)
            try c.encode(hostnames, forKey: .hostnames)
            try c.encode(expiresOn, forKey: .expiresOn)
            try c.encode(requestType, forKey: .requestType)
            try c.encode(requestedValidity, forKey: .requestedValidity)
            try c.encode(csr, forKey: .csr)
            try c.encode(zoneID, forKey: .zoneID)
            try c.encode(issuedTo, forKey: .issuedTo)
            try c.encode(createdAt, forKey: .createdAt)
            // null rather than absent, as Cloudflare's objects carry every key.
            try c.encode(revokedAt, forKey: .revokedAt)
        }
    }

    /// The answer of `POST /zones/{zone}/cert_pem`: the cert.pem of a non-interactive login.
    public struct CertPEMObject: Codable, Hashable, Sendable {
        /// The origin certificate's ID.
        public var id: String
        /// The file's text.
        public var certPEM: String

        enum CodingKeys: String, CodingKey {
            case id, certPEM = "cert_pem"
        }

        /// Creates the answer.
        public init(id: String, certPEM: String) {
            self.id = id
            self.certPEM = certPEM
        }
    }
}

extension V4 {
    /// The answer of `POST /tunnel` (a quick tunnel), as cloudflared reads it.
    public struct QuickTunnel: Codable, Hashable, Sendable {
        public var id: String
        public var name: String
        public var hostname: String
        public var accountTag: String
        /// Standard base64 of the tunnel secret.
        public var secret: String

        enum CodingKeys: String, CodingKey {
            case id, name, hostname, secret
            case accountTag = "account_tag"
        }

        /// Creates the answer.
        public init(id: String, name: String, hostname: String, accountTag: String, secret: String) {
            self.id = id
            self.name = name
            self.hostname = hostname
            self.accountTag = accountTag
            self.secret = secret
        }
    }
}
