public import Foundation
import Crypto
import SwiftASN1
public import X509

/// The edge's own small certificate authority: a CA certificate that connectors trust
/// (`--cacert`) and the edge certificate for `h2.cftunnel.com` it signs, as PEM files in a state
/// directory. Reused when present, generated when not.
public struct EdgePKI: Sendable {
    /// The CA certificate to hand to connectors.
    public let caPath: String
    /// The edge certificate chain (leaf).
    public let certificatePath: String
    /// The edge certificate's key.
    public let keyPath: String

    /// The files inside `directory`.
    public init(directory: String) {
        caPath = directory + "/ca.pem"
        certificatePath = directory + "/edge.pem"
        keyPath = directory + "/edge.key"
    }

    /// Whether all three files exist.
    public var exists: Bool {
        [caPath, certificatePath, keyPath].allSatisfy { FileManager.default.fileExists(atPath: $0) }
    }

    /// Loads the files in `directory`, generating them first if any is missing.
    public static func loadOrCreate(in directory: String, dnsNames: [String] = ["h2.cftunnel.com", "localhost"], ipAddresses: [String] = ["127.0.0.1"]) throws -> EdgePKI {
        let pki = EdgePKI(directory: directory)
        if pki.exists { return pki }
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        try generate(pki, dnsNames: dnsNames, ipAddresses: ipAddresses)
        return pki
    }

    /// Writes a new CA and a leaf for `dnsNames` and IPv4 `ipAddresses`, valid for `validity`
    /// seconds (default 10 years for the edge's own use).
    public static func generate(_ pki: EdgePKI, dnsNames: [String], ipAddresses: [String], validity: TimeInterval = 10 * 365 * 86400) throws {
        let now = Date()
        let caKey = P256.Signing.PrivateKey()
        let caName = try DistinguishedName { CommonName("swift-tunnel edge CA") }
        let ca = try Certificate(
            version: .v3, serialNumber: .init(), publicKey: .init(caKey.publicKey),
            notValidBefore: now.addingTimeInterval(-3600), notValidAfter: now.addingTimeInterval(validity),
            issuer: caName, subject: caName, signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.isCertificateAuthority(maxPathLength: nil))
                KeyUsage(keyCertSign: true)
            },
            issuerPrivateKey: .init(caKey))
        let leafKey = P256.Signing.PrivateKey()
        var names: [GeneralName] = dnsNames.map { .dnsName($0) }
        for address in ipAddresses {
            let octets = address.split(separator: ".").compactMap { UInt8($0) }
            if octets.count == 4 { names.append(.ipAddress(ASN1OctetString(contentBytes: ArraySlice(octets)))) }
        }
        let leaf = try Certificate(
            version: .v3, serialNumber: .init(), publicKey: .init(leafKey.publicKey),
            notValidBefore: now.addingTimeInterval(-3600), notValidAfter: now.addingTimeInterval(validity),
            issuer: caName, subject: try DistinguishedName { CommonName(dnsNames.first ?? "localhost") },
            signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                SubjectAlternativeNames(names)
                try ExtendedKeyUsage([.serverAuth])
            },
            issuerPrivateKey: .init(caKey))
        try ca.serializeAsPEM().pemString.write(toFile: pki.caPath, atomically: true, encoding: .utf8)
        try leaf.serializeAsPEM().pemString.write(toFile: pki.certificatePath, atomically: true, encoding: .utf8)
        try leafKey.pemRepresentation.write(toFile: pki.keyPath, atomically: true, encoding: .utf8)
        chmod(pki.keyPath, 0o600)
    }
}
