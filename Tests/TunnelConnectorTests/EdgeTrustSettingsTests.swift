import Foundation
import Testing
import TunnelCore
import TunnelTesting
import TunnelOrigin
import TunnelTransport

/// Which roots the connector trusts for the edge: without `--cacert` the system pool plus
/// Cloudflare's three public roots (as cloudflared), with it only the file's CAs.
@Suite("edge trust roots")
struct EdgeTrustSettingsTests {
    static func settings(_ flags: [String: SettingValue]) throws -> TunnelRunSettings {
        let token = TunnelToken(accountTag: "0123456789abcdef0123456789abcdef", tunnelSecret: .random(), tunnelID: UUID()).encoded
        let resolved = try SettingsResolver().resolve(
            commandLine: ["token": .string(token), "edge": .stringList(["127.0.0.1:7844"]), "url": .string("http://127.0.0.1:8000")].merging(flags) { $1 },
            environment: [:], file: nil)
        return try TunnelRunSettings(tunnelReference: nil, settings: resolved)
    }

    @Test("no --cacert: the system roots plus Cloudflare's roots; --cacert: only its CAs")
    func roots() throws {
        let defaults = try Self.settings([:])
        #expect(defaults.connector.edgeTrustsSystemRoots)
        #expect(defaults.connector.edgeTrustRoots.count == 3)
        let subjects = CloudflareEdgeRoots.pem.split(separator: "\n").filter { $0.hasPrefix("-----BEGIN CERTIFICATE") }
        #expect(subjects.count == 3)

        let pki = try TestPKI()
        defer { pki.remove() }
        let explicit = try Self.settings(["cacert": .string(pki.caPath)])
        #expect(!explicit.connector.edgeTrustsSystemRoots)
        #expect(explicit.connector.edgeTrustRoots.count == 1)
    }
}
