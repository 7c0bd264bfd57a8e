#if canImport(FoundationEssentials)
public import FoundationEssentials
#else
public import Foundation
#endif
public import X509
import SwiftASN1

/// The origin certificate bundle (`cert.pem`) that `login` downloads.
///
/// It carries the account-wide API credentials in an `ARGO TUNNEL TOKEN` block and, in older
/// files, an origin certificate and its private key. Parsing follows cloudflared's rules; where
/// cloudflared silently ignores damage (a token block with bad base64 or bad JSON) we report it.
public struct OriginCertificate: Hashable, Sendable, CustomStringConvertible {
    /// The zone (32 hex digits) used for DNS routes.
    public var zoneID: String
    /// The account tag (32 hex digits); empty in certificates from before accounts were recorded.
    public var accountID: String
    /// The API token sent as `Authorization: Bearer` on every management call.
    public var apiToken: RedactedString
    /// `fed` for FedRAMP accounts, otherwise `nil`. Lowercased on read, as cloudflared.
    public var endpoint: String?
    /// The legacy origin certificate, when the file holds one.
    public var certificate: Certificate?
    /// The legacy private key, when the file holds one.
    public var privateKey: Certificate.PrivateKey?

    /// Creates a bundle.
    public init(
        zoneID: String,
        accountID: String,
        apiToken: RedactedString,
        endpoint: String? = nil,
        certificate: Certificate? = nil,
        privateKey: Certificate.PrivateKey? = nil
    ) {
        self.zoneID = zoneID
        self.accountID = accountID
        self.apiToken = apiToken
        self.endpoint = endpoint
        self.certificate = certificate
        self.privateKey = privateKey
    }

    public var description: String {
        var parts = ["zoneID: \(zoneID)", "accountID: \(accountID)", "apiToken: \(apiToken)"]
        if let endpoint { parts.append("endpoint: \(endpoint)") }
        if certificate != nil { parts.append("certificate: present") }
        if privateKey != nil { parts.append("privateKey: <redacted>") }
        return "OriginCertificate(\(parts.joined(separator: ", ")))"
    }
}

extension OriginCertificate {
    /// Parses `cert.pem` text. `path` is only used in error messages.
    ///
    /// Blocks may come in any order. Errors: empty input, no PEM block, an unknown block type,
    /// two token blocks, a token block that is not base64 or not the expected JSON, a token
    /// without `zoneID`/`apiToken`, an unparsable certificate or key, a key that does not match
    /// the certificate.
    public init(pemEncoded text: String, path: String? = nil) throws(CredentialsError) {
        guard !text.isEmpty else { throw .emptyCertificate(path: path) }
        let scan = PEMBlockScanner.blocks(in: text)
        if scan.blocks.isEmpty {
            if scan.skipped.contains(where: { $0.type == "ARGO TUNNEL TOKEN" }) {
                throw .tokenBlockNotBase64(path: path)
            }
            if scan.skipped.isEmpty && !text.contains("-----BEGIN ") && !text.allSatisfy(\.isWhitespace) {
                throw .notPEM(path: path)
            }
            throw .missingToken(path: path)
        }
        if scan.skipped.contains(where: { $0.type == "ARGO TUNNEL TOKEN" }) {
            throw .tokenBlockNotBase64(path: path)
        }

        var token: (zoneID: String, accountID: String, apiToken: String, endpoint: String?)?
        var certificate: Certificate?
        var privateKey: Certificate.PrivateKey?
        for block in scan.blocks {
            switch block.type {
            case "ARGO TUNNEL TOKEN":
                if let token, !token.zoneID.isEmpty || !token.apiToken.isEmpty {
                    throw .multipleTokens(path: path)
                }
                token = try Self.decodeToken(block.bytes, path: path)
            case "CERTIFICATE":
                do {
                    certificate = try Certificate(derEncoded: block.bytes)
                } catch {
                    throw .invalidCertificate("\(error)", path: path)
                }
            case "PRIVATE KEY":
                do {
                    privateKey = try Certificate.PrivateKey(pemDocument: PEMDocument(type: block.type, derBytes: block.bytes))
                } catch {
                    throw .invalidPrivateKey("\(error)", path: path)
                }
            default:
                throw .unknownBlock(block.type, path: path)
            }
        }
        guard let token, !token.zoneID.isEmpty, !token.apiToken.isEmpty else {
            throw .missingToken(path: path)
        }
        if let certificate, let privateKey, privateKey.publicKey != certificate.publicKey {
            throw .certificateKeyMismatch(path: path)
        }
        self.init(
            zoneID: token.zoneID,
            accountID: token.accountID,
            apiToken: RedactedString(token.apiToken),
            endpoint: token.endpoint,
            certificate: certificate,
            privateKey: privateKey
        )
    }

    private static func decodeToken(
        _ bytes: [UInt8],
        path: String?
    ) throws(CredentialsError) -> (zoneID: String, accountID: String, apiToken: String, endpoint: String?) {
        do {
            let object = try GoJSON.CaseInsensitiveObject(bytes: bytes)
            let endpoint = try object.string("endpoint")?.lowercased()
            return (
                try object.string("zoneID") ?? "",
                try object.string("accountID") ?? "",
                try object.string("apiToken") ?? "",
                endpoint?.isEmpty == false ? endpoint : nil
            )
        } catch {
            switch error {
            case .notJSON(let detail):
                throw .tokenBlockNotJSON(detail, path: path)
            case .notObject(let found):
                throw .tokenBlockNotJSON("expected an object, found \(found)", path: path)
            case .wrongType(let key, let expected, let found):
                throw .tokenBlockNotJSON("\(key) should be a \(expected), found \(found)", path: path)
            }
        }
    }

    /// The token JSON exactly as cloudflared writes it: compact, keys `zoneID`, `accountID`,
    /// `apiToken`, then `endpoint` when set.
    public var tokenJSON: String {
        var fields = [("zoneID", zoneID), ("accountID", accountID), ("apiToken", apiToken.value)]
        if let endpoint, !endpoint.isEmpty {
            fields.append(("endpoint", endpoint))
        }
        return GoJSON.object(fields)
    }

    /// The file text. By default exactly what cloudflared's `login` writes: one
    /// `ARGO TUNNEL TOKEN` block. With `includeLegacyBlocks`, the private key and certificate
    /// (when present) come first, as in older bundles.
    public func pemEncoded(includeLegacyBlocks: Bool = false) throws -> String {
        var text = ""
        if includeLegacyBlocks {
            if let privateKey {
                text += try privateKey.serializeAsPEM().pemString + "\n"
            }
            if let certificate {
                text += try certificate.serializeAsPEM().pemString + "\n"
            }
        }
        text += PEMBlock(type: "ARGO TUNNEL TOKEN", bytes: Array(tokenJSON.utf8)).pemEncoded
        return text
    }

    /// Throws the error cloudflared gives API commands when the certificate predates account IDs.
    public func requireAccountID(path: String? = nil) throws(CredentialsError) {
        if accountID.isEmpty { throw .missingAccountID(path: path) }
    }

    /// Things worth telling the user that do not stop the certificate from being used.
    public func warnings(at now: Date = Date()) -> [OriginCertificateWarning] {
        guard let certificate else { return [] }
        if certificate.notValidAfter < now {
            return [.expired(notValidAfter: certificate.notValidAfter)]
        }
        if certificate.notValidBefore > now {
            return [.notYetValid(notValidBefore: certificate.notValidBefore)]
        }
        return []
    }
}

/// A problem with a cert.pem that does not prevent its use (the API token may still work).
public enum OriginCertificateWarning: Hashable, Sendable, CustomStringConvertible {
    /// The legacy certificate block expired on this date.
    case expired(notValidAfter: Date)
    /// The legacy certificate block is not valid yet.
    case notYetValid(notValidBefore: Date)

    public var description: String {
        switch self {
        case .expired(let date):
            return "the origin certificate expired on \(date.formatted(.iso8601)); get a fresh cert.pem with `tunnelctl login` (move this one away first)"
        case .notYetValid(let date):
            return "the origin certificate is not valid before \(date.formatted(.iso8601)); check the system clock"
        }
    }
}
