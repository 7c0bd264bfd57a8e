public import Foundation
import Crypto
import SwiftASN1
public import X509

/// A throw-away certificate authority and leaf certificates for tests and local setups, written
/// as PEM files into a temporary directory that ``remove()`` deletes.
///
/// ```swift
/// let pki = try TestPKI(edgeNames: ["h2.cftunnel.com"])
/// // hand pki.caPath to a connector as --cacert, pki.certPath/pki.keyPath to an edge
/// ```
public struct TestPKI: Sendable {
    /// The directory holding the files.
    public let directory: URL
    /// The CA certificate (PEM).
    public let caPath: String
    /// The leaf certificate (PEM).
    public let certPath: String
    /// The leaf's private key (PKCS#8 PEM).
    public let keyPath: String
    /// The CA certificate.
    public let caCertificate: Certificate

    /// Creates a CA and one leaf valid for `dnsNames` and `ipAddresses` (IPv4 dotted quads),
    /// valid from an hour ago for `validity` seconds (default one day).
    public init(dnsNames: [String] = ["h2.cftunnel.com", "localhost"], ipAddresses: [String] = ["127.0.0.1"], validity: TimeInterval = 86400, in parent: URL? = nil) throws {
        let base = parent ?? FileManager.default.temporaryDirectory
        directory = base.appendingPathComponent("tunnel-pki-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let now = Date()
        let caKey = P256.Signing.PrivateKey()
        let caName = try DistinguishedName { CommonName("swift-tunnel test CA") }
        caCertificate = try Certificate(
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
        caPath = directory.appendingPathComponent("ca.pem").path
        certPath = directory.appendingPathComponent("cert.pem").path
        keyPath = directory.appendingPathComponent("key.pem").path
        try caCertificate.serializeAsPEM().pemString.write(toFile: caPath, atomically: true, encoding: .utf8)
        try leaf.serializeAsPEM().pemString.write(toFile: certPath, atomically: true, encoding: .utf8)
        try leafKey.pemRepresentation.write(toFile: keyPath, atomically: true, encoding: .utf8)
    }

    /// Deletes the files.
    public func remove() {
        try? FileManager.default.removeItem(at: directory)
    }
}
