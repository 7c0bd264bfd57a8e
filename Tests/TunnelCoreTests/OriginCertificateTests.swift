import Crypto
import Foundation
import SwiftASN1
import Testing
import TunnelCore
import X509

@Suite("cert.pem")
struct OriginCertificateTests {
    @Test("reads the spec's login example")
    func readsLoginExample() throws {
        let cert = try OriginCertificate(pemEncoded: CredentialFixtures.loginCertPEM, path: "cert.pem")
        #expect(cert.zoneID == CredentialFixtures.zoneID)
        #expect(cert.accountID == CredentialFixtures.accountID)
        #expect(cert.apiToken.value == CredentialFixtures.apiToken)
        #expect(cert.endpoint == nil)
        #expect(cert.certificate == nil)
    }

    @Test("writes byte-identical to cloudflared's login")
    func writesLikeLogin() throws {
        let cert = OriginCertificate(zoneID: CredentialFixtures.zoneID, accountID: CredentialFixtures.accountID, apiToken: RedactedString(CredentialFixtures.apiToken))
        #expect(try cert.pemEncoded() == CredentialFixtures.loginCertPEM)
    }

    @Test("escapes like Go's JSON encoder and keeps endpoint last")
    func goEscaping() throws {
        let cert = OriginCertificate(zoneID: "z", accountID: "a", apiToken: "t<&>", endpoint: "fed")
        #expect(cert.tokenJSON == #"{"zoneID":"z","accountID":"a","apiToken":"t\u003c\u0026\u003e","endpoint":"fed"}"#)
        let again = try OriginCertificate(pemEncoded: try cert.pemEncoded())
        #expect(again == cert)
    }

    @Test("accepts cloudflared's test fixture layout: spaces, other key order, CRLF, text around blocks")
    func lenientLayout() throws {
        let json = #"{ "accountID": "acc", "apiToken": "tok", "zoneID": "zone", "endpoint": "FED", "extra": 1 }"#
        let text = "issued by the dashboard\r\n" + CredentialFixtures.tokenBlock(json).replacingOccurrences(of: "\n", with: "\r\n") + "trailer\n"
        let cert = try OriginCertificate(pemEncoded: text)
        #expect(cert.zoneID == "zone")
        #expect(cert.accountID == "acc")
        #expect(cert.endpoint == "fed")
    }

    @Test("matches keys case-insensitively like Go")
    func caseInsensitiveKeys() throws {
        let cert = try OriginCertificate(pemEncoded: CredentialFixtures.tokenBlock(#"{"ZONEID":"z","AccountId":"a","apitoken":"t"}"#))
        #expect(cert.zoneID == "z" && cert.accountID == "a" && cert.apiToken.value == "t")
    }

    @Test("accepts body lines of any length, as Go does")
    func anyLineLength() throws {
        let body = Base64.encode(Array(#"{"zoneID":"z","accountID":"a","apiToken":"t"}"#.utf8))
        let text = "-----BEGIN ARGO TUNNEL TOKEN-----\n\(body.prefix(10))\n\(body.dropFirst(10))\n-----END ARGO TUNNEL TOKEN-----\n"
        #expect(try OriginCertificate(pemEncoded: text).zoneID == "z")
    }

    @Test("reads a legacy bundle in any block order and checks the key matches")
    func legacyBundle() throws {
        let (certificate, key) = try CredentialFixtures.certificateAndKey()
        let bundle = try CredentialFixtures.legacyBundle(certificate: certificate, key: key)
        let cert = try OriginCertificate(pemEncoded: bundle)
        #expect(cert.certificate == certificate)
        #expect(cert.privateKey?.publicKey == certificate.publicKey)
        #expect(cert.warnings().isEmpty)

        // Token first, key last.
        let reordered = CredentialFixtures.loginCertPEM + (try certificate.serializeAsPEM().pemString) + "\n" + key.pemRepresentation + "\n"
        #expect(try OriginCertificate(pemEncoded: reordered) == cert)

        // Round trip with the legacy blocks.
        #expect(try OriginCertificate(pemEncoded: try cert.pemEncoded(includeLegacyBlocks: true)) == cert)
        // And the canonical form drops them, as login does.
        #expect(try cert.pemEncoded() == CredentialFixtures.loginCertPEM)
    }

    @Test("warns about an expired certificate, with its expiry date")
    func expiredWarning() throws {
        let expiry = Date(timeIntervalSince1970: 1_600_000_000)
        let (certificate, key) = try CredentialFixtures.certificateAndKey(notBefore: expiry.addingTimeInterval(-86400), notAfter: expiry)
        let cert = try OriginCertificate(pemEncoded: try CredentialFixtures.legacyBundle(certificate: certificate, key: key))
        let warnings = cert.warnings()
        #expect(warnings.count == 1)
        #expect(warnings.first?.description.contains("2020-09-13") == true)
        #expect(warnings.first?.description.contains("tunnelctl login") == true)
    }

    @Test("never prints the API token")
    func redacted() throws {
        let cert = try OriginCertificate(pemEncoded: CredentialFixtures.loginCertPEM)
        #expect(!cert.description.contains(CredentialFixtures.apiToken))
        #expect(!"\(cert)".contains(CredentialFixtures.apiToken))
        #expect(!String(reflecting: cert).contains(CredentialFixtures.apiToken))
    }

    @Test("an old certificate without accountID fails API commands with cloudflared's advice")
    func missingAccountID() throws {
        let cert = try OriginCertificate(pemEncoded: CredentialFixtures.tokenBlock(#"{"zoneID":"z","apiToken":"t"}"#), path: "/x/cert.pem")
        #expect(throws: CredentialsError.missingAccountID(path: "/x/cert.pem")) { try cert.requireAccountID(path: "/x/cert.pem") }
    }
}

@Suite("credential locations")
struct CredentialLocatorTests {
    @Test("flag beats TUNNEL_ORIGIN_CERT beats config beats defaults")
    func precedence() throws {
        let files: Set<String> = ["/flag.pem", "/env.pem", "/config.pem", "/home/u/.cloudflare-warp/cert.pem", "/etc/cloudflared/cert.pem"]
        let locator = CredentialLocator(home: "/home/u", isRegularFile: { files.contains($0) })
        #expect(try locator.originCertPath(flag: "/flag.pem", environment: ["TUNNEL_ORIGIN_CERT": "/env.pem"], config: "/config.pem") == "/flag.pem")
        #expect(try locator.originCertPath(flag: nil, environment: ["TUNNEL_ORIGIN_CERT": "/env.pem"], config: "/config.pem") == "/env.pem")
        #expect(try locator.originCertPath(flag: nil, environment: [:], config: "/config.pem") == "/config.pem")
        #expect(try locator.originCertPath(flag: nil, environment: [:], config: nil) == "/home/u/.cloudflare-warp/cert.pem")
    }

    @Test("a configured path that does not exist is an error naming it; no default lists the directories")
    func notFound() {
        let locator = CredentialLocator(home: "/home/u", isRegularFile: { _ in false })
        #expect(throws: CredentialsError.originCertNotFound(path: "/home/u/x.pem")) {
            try locator.originCertPath(flag: "~/x.pem", environment: [:], config: nil)
        }
        do {
            _ = try locator.originCertPath(flag: nil, environment: [:], config: nil)
            Issue.record("expected an error")
        } catch {
            #expect(error.description.contains("~/.cloudflared ~/.cloudflare-warp ~/cloudflare-warp /etc/cloudflared /usr/local/etc/cloudflared"))
        }
    }

    @Test("credentials file search: next to cert.pem first, then the default directories")
    func credentialsSearch() throws {
        let id = "c1744f8b-faa1-48a4-9e5c-02ac921467fa"
        let files: Set<String> = ["/certs/cert.pem", "/certs/\(id).json", "/etc/cloudflared/\(id).json"]
        let locator = CredentialLocator(home: "/home/u", isRegularFile: { files.contains($0) })
        #expect(try locator.credentialsFilePath(tunnelID: id, originCertPath: "/certs/cert.pem") == "/certs/\(id).json")
        #expect(try locator.credentialsFilePath(tunnelID: id, originCertPath: nil) == "/etc/cloudflared/\(id).json")
        #expect(throws: CredentialsError.credentialsNotFound()) {
            try locator.credentialsFilePath(tunnelID: "00000000-0000-0000-0000-000000000000", originCertPath: nil)
        }
    }
}
