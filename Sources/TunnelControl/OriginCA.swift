public import Foundation
import Crypto
import SwiftASN1
public import X509

/// The control plane's origin certificate authority: it signs the origin certificates that go
/// into the cert.pem of a login, each naming a zone and `*.zone`.
///
/// Its certificate and key live as PEM files (`origin-ca.pem`, `origin-ca.key`, mode 0600) in
/// the edge's state directory, generated on first start, or are given in edge.yml
/// (`login.originCA`).
public struct OriginCA: Sendable {
    /// The CA certificate (what an origin's peers would trust).
    public let certificate: Certificate
    let key: Certificate.PrivateKey

    /// Wraps a CA certificate and its key; throws when they do not belong together.
    public init(certificate: Certificate, key: Certificate.PrivateKey) throws {
        guard certificate.publicKey == key.publicKey else {
            throw OriginCAError("the origin CA key does not belong to its certificate")
        }
        self.certificate = certificate
        self.key = key
    }

    /// Loads the CA from PEM files.
    public init(certificatePath: String, keyPath: String) throws {
        let certificateText: String
        let keyText: String
        do {
            certificateText = try String(contentsOfFile: certificatePath, encoding: .utf8)
            keyText = try String(contentsOfFile: keyPath, encoding: .utf8)
        } catch {
            throw OriginCAError("cannot read the origin CA (\(certificatePath), \(keyPath)): \(error.localizedDescription)")
        }
        do {
            try self.init(certificate: try Certificate(pemEncoded: certificateText), key: try Certificate.PrivateKey(pemEncoded: keyText))
        } catch let error as OriginCAError {
            throw error
        } catch {
            throw OriginCAError("\(certificatePath) and \(keyPath) are not a PEM certificate and its private key (\(error))")
        }
    }

    /// The CA in `directory`, generated there first when its files are missing.
    public static func loadOrCreate(in directory: String) throws -> OriginCA {
        let certificatePath = (directory as NSString).appendingPathComponent("origin-ca.pem")
        let keyPath = (directory as NSString).appendingPathComponent("origin-ca.key")
        if FileManager.default.fileExists(atPath: certificatePath) || FileManager.default.fileExists(atPath: keyPath) {
            return try OriginCA(certificatePath: certificatePath, keyPath: keyPath)
        }
        let ca = try generate()
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            guard FileManager.default.createFile(atPath: keyPath, contents: Data(try ca.key.serializeAsPEM().pemString.utf8), attributes: [.posixPermissions: 0o600]),
                  FileManager.default.createFile(atPath: certificatePath, contents: Data(try ca.certificate.serializeAsPEM().pemString.utf8), attributes: [.posixPermissions: 0o644])
            else {
                throw OriginCAError("cannot write the origin CA to \(directory); pass a writable --state-dir")
            }
        } catch let error as OriginCAError {
            throw error
        } catch {
            throw OriginCAError("cannot write the origin CA to \(directory) (\(error))")
        }
        return ca
    }

    /// A new CA (P-256), valid for 25 years: longer than any certificate it signs.
    public static func generate(now: Date = Date()) throws -> OriginCA {
        let key = P256.Signing.PrivateKey()
        let name = try DistinguishedName {
            OrganizationName("swift-tunnel")
            OrganizationalUnitName("swift-tunnel Origin CA")
            CommonName("swift-tunnel Origin CA")
        }
        let certificate = try Certificate(
            version: .v3, serialNumber: .init(), publicKey: .init(key.publicKey),
            notValidBefore: now.addingTimeInterval(-3600), notValidAfter: now.addingTimeInterval(25 * 365 * 86400),
            issuer: name, subject: name, signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.isCertificateAuthority(maxPathLength: 0))
                Critical(KeyUsage(digitalSignature: true, keyCertSign: true, cRLSign: true))
            },
            issuerPrivateKey: .init(key))
        return try OriginCA(certificate: certificate, key: .init(key))
    }

    /// An origin certificate for `zone` and `*.zone` with a new P-256 key, valid for
    /// `validityDays` days from an hour ago.
    public func issue(zone: String, validityDays: Int, now: Date = Date()) throws -> (certificate: Certificate, privateKey: Certificate.PrivateKey) {
        let key = P256.Signing.PrivateKey()
        let certificate = try Certificate(
            version: .v3, serialNumber: .init(), publicKey: .init(key.publicKey),
            notValidBefore: now.addingTimeInterval(-3600), notValidAfter: now.addingTimeInterval(TimeInterval(validityDays) * 86400),
            issuer: self.certificate.subject,
            subject: try DistinguishedName {
                OrganizationName("swift-tunnel")
                OrganizationalUnitName("swift-tunnel Origin CA")
                CommonName(zone)
            },
            signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.notCertificateAuthority)
                Critical(KeyUsage(digitalSignature: true, keyEncipherment: true))
                try ExtendedKeyUsage([.serverAuth, .clientAuth])
                SubjectAlternativeNames([.dnsName(zone), .dnsName("*." + zone)])
            },
            issuerPrivateKey: self.key)
        return (certificate, .init(key))
    }

    /// The ID of an issued certificate: its serial number in lowercase hex.
    public static func id(of certificate: Certificate) -> String {
        certificate.serialNumber.bytes.map { String(format: "%02x", $0) }.joined()
    }
}

/// The origin CA could not be loaded, written or used.
public struct OriginCAError: Error, Hashable, Sendable, CustomStringConvertible {
    /// What went wrong and what to do.
    public let message: String

    init(_ message: String) { self.message = message }

    public var description: String { message }
}
