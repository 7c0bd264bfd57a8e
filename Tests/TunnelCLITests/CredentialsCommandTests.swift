import Foundation
import Testing

@Suite("tunnelctl credentials / version")
struct CredentialsCommandTests {
    static let token = "eyJhIjoiMDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWYiLCJzIjoiQVFJREJBVUdCd2dKQ2dzTURRNFBFQkVTRXhRVkZoY1lHUm9iSEIwZUh5QT0iLCJ0IjoiYzE3NDRmOGItZmFhMS00OGE0LTllNWMtMDJhYzkyMTQ2N2ZhIn0="
    static let secret = "AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA="

    @Test("version prints the version")
    func version() async throws {
        let output = try await TunnelctlProcess.run(["version"])
        #expect(output.status == 0)
        #expect(output.stdout.hasPrefix("tunnelctl version "))
    }

    @Test("inspect shows a token with the secret redacted")
    func inspectToken() async throws {
        let output = try await TunnelctlProcess.run(["credentials", "inspect", "--token", Self.token])
        #expect(output.status == 0)
        #expect(output.stdout.contains("Tunnel ID      c1744f8b-faa1-48a4-9e5c-02ac921467fa"))
        #expect(output.stdout.contains("<redacted 32-byte secret>"))
        #expect(!output.stdout.contains(Self.secret))
    }

    @Test("inspect detects credentials files and cert.pem by content")
    func inspectFiles() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("tunnelctl-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }

        let credentials = directory.appendingPathComponent("creds.json")
        try #"{"AccountTag":"0123456789abcdef0123456789abcdef","TunnelSecret":"\#(Self.secret)","TunnelID":"c1744f8b-faa1-48a4-9e5c-02ac921467fa","Endpoint":""}"#.write(to: credentials, atomically: true, encoding: .utf8)
        let output = try await TunnelctlProcess.run(["credentials", "inspect", credentials.path])
        #expect(output.status == 0)
        #expect(output.stdout.contains("tunnel credentials file"))
        #expect(!output.stdout.contains(Self.secret))

        let cert = directory.appendingPathComponent("cert.pem")
        try """
            -----BEGIN ARGO TUNNEL TOKEN-----
            eyJ6b25lSUQiOiJmZWRjYmE5ODc2NTQzMjEwZmVkY2JhOTg3NjU0MzIxMCIsImFj
            Y291bnRJRCI6IjAxMjM0NTY3ODlhYmNkZWYwMTIzNDU2Nzg5YWJjZGVmIiwiYXBp
            VG9rZW4iOiJFWEFNUExFLWFwaS10b2tlbi12YWx1ZSJ9
            -----END ARGO TUNNEL TOKEN-----

            """.write(to: cert, atomically: true, encoding: .utf8)
        let certOutput = try await TunnelctlProcess.run(["credentials", "inspect", cert.path])
        #expect(certOutput.status == 0)
        #expect(certOutput.stdout.contains("fedcba9876543210fedcba9876543210"))
        #expect(!certOutput.stdout.contains("EXAMPLE-api-token-value"))
    }

    @Test("a damaged file exits non-zero, naming the file and what to do")
    func damaged() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("tunnelctl-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let cert = directory.appendingPathComponent("cert.pem")
        try "-----BEGIN ARGO TUNNEL TOKEN-----\n!!!\n-----END ARGO TUNNEL TOKEN-----\n".write(to: cert, atomically: true, encoding: .utf8)
        let output = try await TunnelctlProcess.run(["credentials", "inspect", cert.path])
        #expect(output.status != 0)
        #expect(output.stderr.contains(cert.path))
        #expect(output.stderr.contains("tunnelctl edge token create"))
    }

    @Test("a usage error exits non-zero (cloudflared exits 0 here)")
    func usageError() async throws {
        let output = try await TunnelctlProcess.run(["credentials", "inspect"])
        #expect(output.status != 0)
        #expect(output.stderr.contains("FILE"))
    }
}
