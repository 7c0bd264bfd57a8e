import Crypto
import Foundation
import Testing
@testable import TunnelCore

/// Every bad input gets its own specific, typed error naming the file.
@Suite("malformed credentials")
struct MalformedCredentialsTests {
    static let path = "/etc/cloudflared/cert.pem"
    static let goodToken = CredentialFixtures.tokenBlock(#"{"zoneID":"z","accountID":"a","apiToken":"t"}"#)

    static let certCases: [(String, String, CredentialsError)] = [
        ("empty file", "", .emptyCertificate(path: path)),
        ("plain text", "hello, this is not a certificate", .notPEM(path: path)),
        ("only whitespace", "  \n\n", .missingToken(path: path)),
        ("JSON instead of PEM", #"{"zoneID":"z"}"#, .notPEM(path: path)),
        ("unknown block type", block("RSA PRIVATE KEY", [1, 2, 3]) + goodToken, .unknownBlock("RSA PRIVATE KEY", path: path)),
        ("EC key block", goodToken + block("EC PRIVATE KEY", [1]), .unknownBlock("EC PRIVATE KEY", path: path)),
        ("two tokens", goodToken + goodToken, .multipleTokens(path: path)),
        ("token is not base64", "-----BEGIN ARGO TUNNEL TOKEN-----\n!!!notbase64!!!\n-----END ARGO TUNNEL TOKEN-----\n", .tokenBlockNotBase64(path: path)),
        ("token truncated (no END)", "-----BEGIN ARGO TUNNEL TOKEN-----\neyJ6b25lSUQiOiJ6In0=\n", .tokenBlockNotBase64(path: path)),
        ("token is not JSON", CredentialFixtures.tokenBlock("zoneID=z"), .tokenBlockNotJSON("", path: path)),
        ("token JSON is an array", CredentialFixtures.tokenBlock("[1,2]"), .tokenBlockNotJSON("", path: path)),
        ("token field has wrong type", CredentialFixtures.tokenBlock(#"{"zoneID":123,"apiToken":"t"}"#), .tokenBlockNotJSON("", path: path)),
        ("token without zoneID", CredentialFixtures.tokenBlock(#"{"accountID":"a","apiToken":"t"}"#), .missingToken(path: path)),
        ("token without apiToken", CredentialFixtures.tokenBlock(#"{"zoneID":"z","accountID":"a"}"#), .missingToken(path: path)),
        ("certificate only", block("CERTIFICATE", [0x30, 0x03, 0x02, 0x01, 0x01]), .invalidCertificate("", path: path)),
        ("garbage certificate block", block("CERTIFICATE", [1, 2, 3]) + goodToken, .invalidCertificate("", path: path)),
        ("garbage key block", block("PRIVATE KEY", [1, 2, 3]) + goodToken, .invalidPrivateKey("", path: path)),
    ]

    static func block(_ type: String, _ bytes: [UInt8]) -> String { CredentialFixtures.block(type, bytes) }

    @Test("cert.pem", arguments: certCases.indices)
    func badCert(_ index: Int) {
        let (name, text, expected) = Self.certCases[index]
        do {
            _ = try OriginCertificate(pemEncoded: text, path: Self.path)
            Issue.record("\(name): parsed without error")
        } catch {
            #expect(Self.sameKind(error, expected), "\(name): got \(error)")
            #expect(error.description.contains(Self.path), "\(name): message must name the file")
        }
    }

    @Test("cert.pem: key that belongs to another certificate")
    func keyMismatch() throws {
        let (certificate, _) = try CredentialFixtures.certificateAndKey()
        let (_, otherKey) = try CredentialFixtures.certificateAndKey()
        let bundle = try CredentialFixtures.legacyBundle(certificate: certificate, key: otherKey)
        #expect(throws: CredentialsError.certificateKeyMismatch(path: Self.path)) {
            try OriginCertificate(pemEncoded: bundle, path: Self.path)
        }
    }

    static let credentialsCases: [(String, String, String, CredentialsError)] = [
        ("not JSON", "c.json", "AccountTag=1", .credentialsInvalidJSON("", path: "c.json")),
        ("cert.pem given instead", "cert.pem", CredentialFixtures.loginCertPEM, .credentialsIsPEM(path: "cert.pem")),
        ("JSON array", "c.json", "[]", .credentialsInvalidJSON("", path: "c.json")),
        ("missing AccountTag", "c.json", #"{"TunnelSecret":"AAAA"}"#, .credentialsMissingField("AccountTag", path: "c.json")),
        ("missing TunnelSecret", "c.json", #"{"AccountTag":"a"}"#, .credentialsMissingField("TunnelSecret", path: "c.json")),
        ("secret not base64", "c.json", #"{"AccountTag":"a","TunnelSecret":"not base64!"}"#, .secretNotBase64(field: "TunnelSecret", path: "c.json")),
        ("secret URL-safe alphabet", "c.json", #"{"AccountTag":"a","TunnelSecret":"-_-_"}"#, .secretNotBase64(field: "TunnelSecret", path: "c.json")),
        ("secret without padding", "c.json", #"{"AccountTag":"a","TunnelSecret":"AQI"}"#, .secretNotBase64(field: "TunnelSecret", path: "c.json")),
        ("empty TunnelID", "c.json", #"{"AccountTag":"a","TunnelSecret":"AAAA","TunnelID":""}"#, .invalidTunnelID("", path: "c.json")),
        ("bad TunnelID", "c.json", #"{"AccountTag":"a","TunnelSecret":"AAAA","TunnelID":"my-tunnel"}"#, .invalidTunnelID("my-tunnel", path: "c.json")),
        ("TunnelID wrong type", "c.json", #"{"AccountTag":"a","TunnelSecret":"AAAA","TunnelID":7}"#, .credentialsInvalidJSON("", path: "c.json")),
        ("truncated JSON", "c.json", String(CredentialFixtures.credentialsJSON.dropLast(10)), .credentialsInvalidJSON("", path: "c.json")),
    ]

    @Test("credentials JSON", arguments: credentialsCases.indices)
    func badCredentials(_ index: Int) {
        let (name, path, text, expected) = Self.credentialsCases[index]
        do {
            _ = try TunnelCredentials(json: Array(text.utf8), path: path)
            Issue.record("\(name): parsed without error")
        } catch {
            #expect(Self.sameKind(error, expected), "\(name): got \(error)")
            #expect(error.description.contains(path), "\(name): message must name the file")
        }
    }

    static let validToken = CredentialFixtures.token
    static let tokenCases: [(String, String, CredentialsError)] = [
        ("empty", "", .tokenEmpty(path: "--token")),
        ("truncated", String(validToken.dropLast(7)), .tokenNotBase64(path: "--token")),
        ("missing padding", String(validToken.dropLast()), .tokenNotBase64(path: "--token")),
        ("with a space", validToken + " ", .tokenNotBase64(path: "--token")),
        ("URL-safe alphabet", validToken.replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "+", with: "-") + "_", .tokenNotBase64(path: "--token")),
        ("not JSON inside", Base64.encode(Array("hello".utf8)), .tokenNotJSON("", path: "--token")),
        ("missing account", Base64.encode(Array(#"{"s":"AAAA","t":"c1744f8b-faa1-48a4-9e5c-02ac921467fa"}"#.utf8)), .tokenMissingField("a", path: "--token")),
        ("missing secret", Base64.encode(Array(#"{"a":"x","t":"c1744f8b-faa1-48a4-9e5c-02ac921467fa"}"#.utf8)), .tokenMissingField("s", path: "--token")),
        ("missing tunnel id", Base64.encode(Array(#"{"a":"x","s":"AAAA"}"#.utf8)), .tokenMissingField("t", path: "--token")),
        ("bad tunnel id", Base64.encode(Array(#"{"a":"x","s":"AAAA","t":"nope"}"#.utf8)), .invalidTunnelID("nope", path: "--token")),
        ("inner secret not base64", Base64.encode(Array(#"{"a":"x","s":"A","t":"c1744f8b-faa1-48a4-9e5c-02ac921467fa"}"#.utf8)), .secretNotBase64(field: "the token's secret (s)", path: "--token")),
        ("a credentials file pasted as token", CredentialFixtures.credentialsJSON, .tokenNotBase64(path: "--token")),
    ]

    @Test("tunnel token", arguments: tokenCases.indices)
    func badToken(_ index: Int) {
        let (name, text, expected) = Self.tokenCases[index]
        do {
            _ = try TunnelToken(text, source: "--token")
            Issue.record("\(name): parsed without error")
        } catch {
            #expect(Self.sameKind(error, expected), "\(name): got \(error)")
            #expect(error.description.contains("--token"))
        }
    }

    @Test("random bytes never crash any parser")
    func randomBytes() {
        var generator = SystemRandomNumberGenerator()
        let pieces = ["-----BEGIN ", "ARGO TUNNEL TOKEN", "CERTIFICATE", "-----END ", "-----", "\n", "\r\n", "eyJ6", "{", "}", "\"", ":", "=", "AAAA"]
        for round in 0..<2000 {
            let text: String
            if round % 2 == 0 {
                let bytes = (0..<Int.random(in: 0..<300, using: &generator)).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
                text = String(decoding: bytes, as: UTF8.self)
            } else {
                text = (0..<Int.random(in: 0..<40, using: &generator)).map { _ in pieces.randomElement(using: &generator)! }.joined()
            }
            _ = try? OriginCertificate(pemEncoded: text)
            _ = try? TunnelCredentials(json: Array(text.utf8))
            _ = try? TunnelToken(text)
            _ = try? TunnelToken(Base64.encode(Array(text.utf8)))
        }
    }

    /// Compares the error kind; free-text details (decoder messages) are not compared.
    static func sameKind(_ error: CredentialsError, _ expected: CredentialsError) -> Bool {
        func name(_ error: CredentialsError) -> Substring {
            String(describing: error.code).prefix { $0 != "(" }
        }
        guard name(error) == name(expected), error.path == expected.path else { return false }
        switch expected.code {
        case .tokenBlockNotJSON, .credentialsInvalidJSON, .tokenNotJSON, .invalidCertificate, .invalidPrivateKey:
            return true
        default:
            return error == expected
        }
    }
}

@Suite("base64 as Go does it")
struct Base64Tests {
    @Test("round trips every length")
    func roundTrip() {
        for length in 0..<70 {
            let bytes = (0..<length).map { UInt8(truncatingIfNeeded: $0 &* 37) }
            #expect(Base64.decode(Base64.encode(bytes)) == bytes)
            #expect(Base64.decode(Base64.encode(bytes, padded: false), padded: false) == bytes)
        }
    }

    @Test("rejects what Go's StdEncoding rejects")
    func strict() {
        #expect(Base64.decode("YQ") == nil)
        #expect(Base64.decode("YQ=") == nil)
        #expect(Base64.decode("YQ==") == [0x61])
        #expect(Base64.decode("Y Q==") == nil)
        #expect(Base64.decode("Y\r\nQ==") == [0x61])
        #expect(Base64.decode("YQ==YQ==") == nil)
        #expect(Base64.decode("-_==") == nil)
        #expect(Base64.decode("A===") == nil)
    }
}
