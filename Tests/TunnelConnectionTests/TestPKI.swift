import Crypto
import Foundation
import NIOSSL
import SwiftASN1
import TunnelTransport
import X509

/// A throw-away CA and an edge certificate for `h2.cftunnel.com`, generated per test run.
struct TestPKI {
    let caCertificate: NIOSSLCertificate
    let leafCertificate: NIOSSLCertificate
    let leafKey: NIOSSLPrivateKey
    /// PEM text of the CA certificate, the leaf certificate and the leaf key, for external peers.
    let caPEM: String
    let leafPEM: String
    let leafKeyPEM: String

    init(serverNames: [String] = ["h2.cftunnel.com"], caName: String = "swift-tunnel test CA") throws {
        let now = Date()
        let caKey = P256.Signing.PrivateKey()
        let caSubject = try DistinguishedName { CommonName(caName) }
        let ca = try Certificate(
            version: .v3,
            serialNumber: Certificate.SerialNumber(),
            publicKey: .init(caKey.publicKey),
            notValidBefore: now - 3600,
            notValidAfter: now + 3600,
            issuer: caSubject,
            subject: caSubject,
            signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.isCertificateAuthority(maxPathLength: nil))
                Critical(KeyUsage(keyCertSign: true))
            },
            issuerPrivateKey: .init(caKey)
        )
        let leafKey = P256.Signing.PrivateKey()
        let leaf = try Certificate(
            version: .v3,
            serialNumber: Certificate.SerialNumber(),
            publicKey: .init(leafKey.publicKey),
            notValidBefore: now - 3600,
            notValidAfter: now + 3600,
            issuer: caSubject,
            subject: try DistinguishedName { CommonName("test edge") },
            signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.notCertificateAuthority)
                Critical(KeyUsage(digitalSignature: true))
                try ExtendedKeyUsage([.serverAuth])
                SubjectAlternativeNames(serverNames.map { .dnsName($0) })
            },
            issuerPrivateKey: .init(caKey)
        )
        self.caCertificate = try NIOSSLCertificate(bytes: Self.der(ca), format: .der)
        self.leafCertificate = try NIOSSLCertificate(bytes: Self.der(leaf), format: .der)
        self.leafKey = try NIOSSLPrivateKey(bytes: Array(leafKey.derRepresentation), format: .der)
        self.caPEM = try ca.serializeAsPEM().pemString
        self.leafPEM = try leaf.serializeAsPEM().pemString
        self.leafKeyPEM = leafKey.pemRepresentation
    }

    private static func der(_ certificate: Certificate) throws -> [UInt8] {
        var serializer = DER.Serializer()
        try serializer.serialize(certificate)
        return serializer.serializedBytes
    }

    func listenerConfiguration(connection: ConnectorConnection.Configuration = .init()) -> ConnectorListener.Configuration {
        ConnectorListener.Configuration(certificateChain: [self.leafCertificate], privateKey: self.leafKey, connection: connection)
    }
}
