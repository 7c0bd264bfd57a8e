import Foundation
import NIOCore
import Testing
import TunnelCore
import TunnelEdge
import TunnelTesting
import TunnelTransport

/// Edge discovery (DNS SRV, edge-protocol.md 1.1) against a real BIND9 server on loopback:
/// the library's answers, address assignment, and `tunnel run` without `--edge`.
@Suite("edge discovery", .serialized)
struct EdgeDiscoveryTests {
    typealias Run = TunnelRunCommandTests

    static func startDNS(edgePort: Int) async throws -> BindServer {
        try await BindServer(zone: "argotunnel.com", records: [
            "_v2-origintunneld._tcp IN SRV 1 1 \(edgePort) region1.v2",
            "_v2-origintunneld._tcp IN SRV 2 1 \(edgePort) region2.v2",
            "region1.v2 IN A 127.0.0.1",
            "region2.v2 IN A 127.0.0.1",
            "_us-v2-origintunneld._tcp IN SRV 1 1 7844 us-region1.v2",
            "_us-v2-origintunneld._tcp IN SRV 1 1 7844 us-region2.v2",
            "us-region1.v2 IN A 127.0.0.11",
            "us-region1.v2 IN A 127.0.0.12",
            "us-region1.v2 IN AAAA ::1",
            "us-region2.v2 IN A 127.0.0.21",
            "us-region2.v2 IN A 127.0.0.22",
            "_lonely-v2-origintunneld._tcp IN SRV 1 1 7844 us-region1.v2",
        ])
    }

    @Test("SRV records become two regions; --region and --edge-ip-version select; errors say what to do")
    func library() async throws {
        let dns = try await Self.startDNS(edgePort: 7844)
        defer { dns.stop() }
        let resolver = try SocketAddress(ipAddress: "127.0.0.1", port: dns.port)
        func discover(_ region: String?, _ version: EdgeIPVersion = .auto) async throws -> [[String]] {
            try await EdgeDiscovery(configuration: .init(region: region, ipVersion: version, resolvers: [resolver], timeout: .seconds(2))).discover()
                .map { $0.map(\.description).sorted() }
                // Equal SRV priorities and weights come back in any order (BIND rotates them).
                .sorted { $0.first ?? "" < $1.first ?? "" }
        }
        #expect(try await discover("us") == [["127.0.0.11:7844", "127.0.0.12:7844", "[::1]:7844"], ["127.0.0.21:7844", "127.0.0.22:7844"]])
        #expect(try await discover("us", .v4) == [["127.0.0.11:7844", "127.0.0.12:7844"], ["127.0.0.21:7844", "127.0.0.22:7844"]])
        // us-region2 has no AAAA record: no IPv6 address in region 2.
        do {
            _ = try await discover("us", .v6)
            Issue.record("a region without IPv6 addresses was accepted")
        } catch {
            #expect("\(error)".contains("the SRV target us-region2.v2.argotunnel.com has no IPv6 address"), "\(error)")
        }
        do {
            _ = try await discover("lonely")
            Issue.record("one SRV record was accepted")
        } catch {
            #expect("\(error)".contains("expected at least 2 Cloudflare Regions regions from SRV _lonely-v2-origintunneld._tcp.argotunnel.com, got 1"))
        }
        do {
            _ = try await discover("nowhere")
            Issue.record("a missing name was accepted")
        } catch {
            #expect("\(error)".contains("does not exist (NXDOMAIN)") && "\(error)".contains("--edge host:port"), "\(error)")
        }
    }

    @Test("addresses spread over both regions, then repeat")
    func assignment() {
        let a = (1...2).map { EdgeAddress(host: "10.0.1.\($0)") }
        let b = (1...3).map { EdgeAddress(host: "10.0.2.\($0)") }
        #expect(EdgeDiscovery.assign([a, b], connections: 4).map(\.host) == ["10.0.2.1", "10.0.1.1", "10.0.2.2", "10.0.1.2"])
        #expect(EdgeDiscovery.assign([a, b], connections: 7).map(\.host) == ["10.0.2.1", "10.0.1.1", "10.0.2.2", "10.0.1.2", "10.0.2.3", "10.0.2.1", "10.0.1.1"])
        #expect(EdgeDiscovery.assign([[a[0]], [b[0]]], connections: 4).map(\.host) == ["10.0.1.1", "10.0.2.1", "10.0.1.1", "10.0.2.1"])
        #expect(EdgeDiscovery.assign([], connections: 4).isEmpty)
    }

    @Test("tunnel run without --edge: discovers our edge through BIND9 and registers 4 connections")
    func tunnelRun() async throws {
        let sandbox = try Run.Sandbox()
        let credentials = TunnelCredentials(accountTag: Run.accountTag, tunnelSecret: .random(), tunnelID: UUID())
        let file = try sandbox.writeCredentials(credentials)
        let edge = try Run.makeEdge(pki: sandbox.pki, tunnel: EdgeTunnel(id: credentials.tunnelID!, accountTag: credentials.accountTag, secret: credentials.tunnelSecret, hostnames: ["app.test"]))
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await edge.run() }
            defer { edge.shutdown() }
            let edgePort = try await edge.listeningAddresses().connector.port ?? 0
            let dns = try await Self.startDNS(edgePort: edgePort)
            defer { dns.stop() }

            let tunnelctl = try sandbox.start([
                "tunnel", "--cacert", sandbox.pki.caPath, "--edge-dns-resolver", "127.0.0.1:\(dns.port)", "run",
                "--credentials-file", file, "--hello-world", "--grace-period", "1s",
            ])
            defer { tunnelctl.stop() }
            try await Run.waitForRegistrations(tunnelctl, count: 4)
            #expect(tunnelctl.count { $0.contains("Looking up edge addresses") && $0.contains("srv=_v2-origintunneld._tcp.argotunnel.com") } == 1)
            #expect(tunnelctl.count { $0.contains("Edge region 1") && $0.contains("addresses=127.0.0.1:\(edgePort)") } == 1)
            #expect(tunnelctl.count { $0.contains("Edge region 2") } == 1)
            tunnelctl.signal(SIGTERM)
            #expect(await tunnelctl.waitForExit(timeout: .seconds(15)) == 0)

            // A region nobody serves: exit 1 at once, naming the SRV name and --edge.
            let failed = try await sandbox.run([
                "tunnel", "--cacert", sandbox.pki.caPath, "--edge-dns-resolver", "127.0.0.1:\(dns.port)", "--region", "mars", "run",
                "--credentials-file", file, "--hello-world",
            ])
            #expect(failed.status == 1)
            #expect(failed.stderr.contains("ERR edge discovery: 127.0.0.1:\(dns.port) says _mars-v2-origintunneld._tcp.argotunnel.com does not exist (NXDOMAIN); check the name or pass --edge host:port"), "\(failed.stderr)")
            group.cancelAll()
        }
    }
}
