import Foundation
import Testing
import TunnelCore

@Suite("tunnel credentials file and token")
struct TunnelCredentialsTests {
    @Test("reads and writes the spec's credentials file byte for byte")
    func credentialsGolden() throws {
        let credentials = try TunnelCredentials(json: Array(CredentialFixtures.credentialsJSON.utf8), path: "c.json")
        #expect(credentials.accountTag == CredentialFixtures.accountID)
        #expect(credentials.tunnelSecret.bytes == CredentialFixtures.secretBytes)
        #expect(credentials.tunnelID?.lowercasedString == CredentialFixtures.tokenTunnelID)
        #expect(credentials.endpoint == "")
        #expect(credentials.jsonEncoded == CredentialFixtures.credentialsJSON)
    }

    @Test("accepts other key case, unknown keys and every UUID form cloudflared accepts")
    func lenientRead() throws {
        let forms = [
            "C1744F8B-FAA1-48A4-9E5C-02AC921467FA",
            "{c1744f8b-faa1-48a4-9e5c-02ac921467fa}",
            "urn:uuid:c1744f8b-faa1-48a4-9e5c-02ac921467fa",
            "c1744f8bfaa148a49e5c02ac921467fa",
        ]
        for form in forms {
            let json = #"{"accounttag":"acc","tunnelsecret":"AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA=","tunnelid":"\#(form)","TunnelName":"web"}"#
            let credentials = try TunnelCredentials(json: Array(json.utf8))
            #expect(credentials.tunnelID?.lowercasedString == CredentialFixtures.tokenTunnelID)
        }
        let noID = try TunnelCredentials(json: Array(#"{"AccountTag":"a","TunnelSecret":"AAAA","TunnelID":null}"#.utf8))
        #expect(noID.tunnelID == nil)
    }

    @Test("writes atomically with mode 0400 and never overwrites")
    func writeFile() throws {
        let directory = try TemporaryDirectory()
        let path = directory.path + "/\(CredentialFixtures.tokenTunnelID).json"
        let credentials = try TunnelCredentials(json: Array(CredentialFixtures.credentialsJSON.utf8))
        try credentials.write(to: path)
        #expect(try String(contentsOfFile: path, encoding: .utf8) == CredentialFixtures.credentialsJSON)
        let attributes = try FileManager.default.attributesOfItem(atPath: path)
        #expect((attributes[.posixPermissions] as? NSNumber)?.intValue == 0o400)
        #expect(throws: CredentialsError.fileExists(path: path)) { try credentials.write(to: path) }
        #expect(try String(contentsOfFile: path, encoding: .utf8) == CredentialFixtures.credentialsJSON)
        // No temporary files left behind.
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path) == ["\(CredentialFixtures.tokenTunnelID).json"])
        #expect(try TunnelCredentials(contentsOfFile: path) == credentials)
    }

    @Test("decodes and re-encodes the spec's token")
    func tokenGolden() throws {
        let token = try TunnelToken(CredentialFixtures.token)
        #expect(token.accountTag == CredentialFixtures.accountID)
        #expect(token.tunnelSecret.bytes == CredentialFixtures.secretBytes)
        #expect(token.tunnelID.lowercasedString == CredentialFixtures.tokenTunnelID)
        #expect(token.encoded == CredentialFixtures.token)
        #expect(token.credentials.jsonEncoded == CredentialFixtures.credentialsJSON)
    }

    @Test("normalises a token like `tunnel token`: key order, uppercase UUID, unknown keys, CR/LF")
    func tokenNormalisation() throws {
        let json = #"{"t":"C1744F8B-FAA1-48A4-9E5C-02AC921467FA","x":1,"s":"AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA=","a":"0123456789abcdef0123456789abcdef"}"#
        var raw = Base64.encode(Array(json.utf8))
        raw.insert(contentsOf: "\r\n", at: raw.index(raw.startIndex, offsetBy: 20))
        #expect(try TunnelToken(raw).encoded == CredentialFixtures.token)
    }

    @Test("endpoint goes last in a token and only when set")
    func tokenEndpoint() throws {
        let token = TunnelToken(accountTag: "a", tunnelSecret: TunnelSecret(bytes: [1, 2, 3]), tunnelID: UUID(tunnelIDString: CredentialFixtures.tokenTunnelID)!, endpoint: "fed")
        let json = String(decoding: Base64.decode(token.encoded)!, as: UTF8.self)
        #expect(json == #"{"a":"a","s":"AQID","t":"c1744f8b-faa1-48a4-9e5c-02ac921467fa","e":"fed"}"#)
        #expect(try TunnelToken(token.encoded) == token)
    }

    @Test("secrets never appear in descriptions")
    func redacted() throws {
        let credentials = try TunnelCredentials(json: Array(CredentialFixtures.credentialsJSON.utf8))
        let secret = "AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA="
        #expect(!"\(credentials)".contains(secret))
        #expect(!String(reflecting: credentials).contains(secret))
        #expect(!"\(credentials.token)".contains(secret))
        #expect("\(credentials.tunnelSecret)" == "<redacted 32-byte secret>")
    }

    @Test("generated secrets are 32 random bytes")
    func randomSecret() {
        let first = TunnelSecret.random()
        #expect(first.bytes.count == 32)
        #expect(first != TunnelSecret.random())
    }
}

/// A temporary directory removed when the value is released.
final class TemporaryDirectory {
    let path: String

    init() throws {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("tunnel-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        path = url.path
    }

    deinit {
        try? FileManager.default.removeItem(atPath: path)
    }
}
