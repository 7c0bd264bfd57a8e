import Crypto
import Foundation
import SwiftASN1
import TunnelCore
import X509

/// Values from the credentials spec's worked examples, and helpers to build files the way
/// cloudflared writes them.
enum CredentialFixtures {
    static let zoneID = "fedcba9876543210fedcba9876543210"
    static let accountID = "0123456789abcdef0123456789abcdef"
    static let apiToken = "EXAMPLE-api-token-value"

    /// cert.pem exactly as the spec's §1.3 example shows it.
    static let loginCertPEM = """
        -----BEGIN ARGO TUNNEL TOKEN-----
        eyJ6b25lSUQiOiJmZWRjYmE5ODc2NTQzMjEwZmVkY2JhOTg3NjU0MzIxMCIsImFj
        Y291bnRJRCI6IjAxMjM0NTY3ODlhYmNkZWYwMTIzNDU2Nzg5YWJjZGVmIiwiYXBp
        VG9rZW4iOiJFWEFNUExFLWFwaS10b2tlbi12YWx1ZSJ9
        -----END ARGO TUNNEL TOKEN-----

        """

    /// The credentials file of the spec's §2.1 example, byte for byte (no trailing newline).
    static let credentialsJSON = #"{"AccountTag":"0123456789abcdef0123456789abcdef","TunnelSecret":"AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA=","TunnelID":"c1744f8b-faa1-48a4-9e5c-02ac921467fa","Endpoint":""}"#

    /// The token of the spec's §3.1 example.
    static let token = "eyJhIjoiMDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWYiLCJzIjoiQVFJREJBVUdCd2dKQ2dzTURRNFBFQkVTRXhRVkZoY1lHUm9iSEIwZUh5QT0iLCJ0IjoiYzE3NDRmOGItZmFhMS00OGE0LTllNWMtMDJhYzkyMTQ2N2ZhIn0="
    static let tokenTunnelID = "c1744f8b-faa1-48a4-9e5c-02ac921467fa"
    static let secretBytes: [UInt8] = Array(1...32)

    /// A PEM block of `type` around `payload`.
    static func block(_ type: String, _ payload: [UInt8]) -> String {
        PEMBlock(type: type, bytes: payload).pemEncoded
    }

    static func tokenBlock(_ json: String) -> String {
        block("ARGO TUNNEL TOKEN", Array(json.utf8))
    }

    /// A self-signed origin certificate and its PKCS#8 key, valid for the given window.
    static func certificateAndKey(
        notBefore: Date = Date().addingTimeInterval(-3600),
        notAfter: Date = Date().addingTimeInterval(86400 * 365),
        hostnames: [String] = ["*.example.com", "example.com"]
    ) throws -> (certificate: Certificate, key: P256.Signing.PrivateKey) {
        let key = P256.Signing.PrivateKey()
        let name = try DistinguishedName { CommonName("CloudFlare Origin Certificate") }
        let certificate = try Certificate(
            version: .v3,
            serialNumber: Certificate.SerialNumber(),
            publicKey: .init(key.publicKey),
            notValidBefore: notBefore,
            notValidAfter: notAfter,
            issuer: name,
            subject: name,
            signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                SubjectAlternativeNames(hostnames.map { .dnsName($0) })
            },
            issuerPrivateKey: .init(key)
        )
        return (certificate, key)
    }

    /// A legacy three-block cert.pem: private key, certificate, token.
    static func legacyBundle(certificate: Certificate, key: P256.Signing.PrivateKey, token: String = loginCertPEM) throws -> String {
        let keyPEM = key.pemRepresentation + "\n"
        let certificatePEM = try certificate.serializeAsPEM().pemString + "\n"
        return keyPEM + certificatePEM + token
    }
}
