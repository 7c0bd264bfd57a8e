import Foundation
import Logging
import NIOCore
import NIOSSL
import Testing
@testable import TunnelControl
import TunnelCore
import TunnelEdge
import TunnelOrigin
import TunnelTesting
import TunnelTransport

/// The control plane driving a real edge over loopback TCP + TLS, with our connector:
/// revocation, the audit log and the running-tunnel limit.
@Suite("control plane with the edge", .serialized)
struct ControlPlaneEdgeTests {
    /// An edge whose tunnels come from a control plane on a real SQLite file, with the audit
    /// recorder attached.
    final class Running: @unchecked Sendable {
        let temporary: TemporaryStore
        let edge: TunnelEdgeServer
        let controlPlane: ControlPlane
        let store: SQLControlStore
        let accountID: String
        var connectorPort = 0
        var visitorPort = 0
        private var runTask: Task<Void, any Error>?
        private var recorderTask: Task<Void, Never>?

        init(pki: TestPKI, runningTunnelLimit: Int?) async throws {
            temporary = try TemporaryStore()
            store = try await temporary.open()
            var logger = Logger(label: "test.edge")
            logger.logLevel = .warning
            controlPlane = ControlPlane(store: store, logger: logger)
            accountID = try await controlPlane.createAccount(name: "acme", zones: ["example.test"]).account.id
            let configuration = EdgeConfiguration(
                certificateChain: try NIOSSLCertificate.fromPEMFile(pki.certPath),
                privateKey: try NIOSSLPrivateKey(file: pki.keyPath, format: .pem),
                connectorPort: 0, visitorPort: 0, gracePeriod: .seconds(2), maxRunningTunnelsPerAccount: runningTunnelLimit)
            edge = TunnelEdgeServer(configuration: configuration, store: controlPlane.edgeTunnelStore(), logger: logger)
            controlPlane.attach(edge)
        }

        func start() async throws {
            let events = edge.events.subscribe()
            let edge = edge
            let controlPlane = controlPlane
            runTask = Task { try await edge.run() }
            recorderTask = Task { await controlPlane.recordEdgeEvents(events) }
            let addresses = try await edge.listeningAddresses()
            connectorPort = addresses.connector.port ?? 0
            visitorPort = addresses.visitor.port ?? 0
        }

        /// Stops the edge and waits until the recorder wrote its last events.
        func stop() async throws {
            edge.shutdown()
            try await runTask?.value
            await recorderTask?.value
        }

        func close() async {
            edge.shutdown()
            _ = try? await runTask?.value
            await recorderTask?.value
            try? await store.close()
            temporary.remove()
        }
    }

    static func withEdge(pki: TestPKI, runningTunnelLimit: Int? = 1000, _ body: (Running) async throws -> Void) async throws {
        let running = try await Running(pki: pki, runningTunnelLimit: runningTunnelLimit)
        do {
            try await running.start()
            try await body(running)
        } catch {
            await running.close()
            throw error
        }
        await running.close()
    }

    static func createTunnel(_ running: Running, name: String) async throws -> TunnelCredentials {
        let secret = TunnelSecret.random()
        let created = try await running.controlPlane.createTunnel(accountID: running.accountID, name: name, secretBase64: secret.base64, actor: "test")
        return TunnelCredentials(accountTag: running.accountID, tunnelSecret: secret, tunnelID: UUID(uuidString: created.id))
    }

    static func connector(_ running: Running, _ credentials: TunnelCredentials, pki: TestPKI, haConnections: Int, service: String = "hello_world") throws -> TunnelConnector {
        let configuration = TunnelConnectorConfiguration(
            credentials: credentials,
            edgeAddresses: Array(repeating: EdgeAddress(host: "127.0.0.1", port: running.connectorPort), count: haConnections),
            edgeTrustRoots: try NIOSSLCertificate.fromPEMFile(pki.caPath),
            haConnections: haConnections, retries: 1, gracePeriod: .seconds(2))
        return TunnelConnector(configuration: configuration, proxy: OriginProxy(ingress: try Ingress(rules: [IngressRuleConfig(service: service)]), client: OriginHTTPClient()))
    }

    /// Reads one connector's events (a class: the iterator is used from several places).
    final class EventWatcher: @unchecked Sendable {
        private var iterator: AsyncStream<TunnelConnectorEvent>.Iterator

        init(_ connector: TunnelConnector) { iterator = connector.events.makeAsyncIterator() }

        func next() async -> TunnelConnectorEvent? { await iterator.next() }

        /// Waits for `count` registrations; returns how many came before the stream ended.
        func registrations(_ count: Int) async -> Int {
            var registered = 0
            while registered < count, let event = await iterator.next() {
                if case .registered = event { registered += 1 }
            }
            return registered
        }
    }

    static func visit(_ running: Running, tunnelID: UUID) async throws -> Int {
        try await visit(running, host: "\(tunnelID.lowercasedString).cfargotunnel.com")
    }

    static func visit(_ running: Running, host: String) async throws -> Int {
        let process = try PeerProcess("curl", [
            "-sS", "-o", "/dev/null", "-w", "%{http_code}\n", "--max-time", "20",
            "-H", "Host: \(host)", "http://127.0.0.1:\(running.visitorPort)/",
        ])
        _ = await process.waitForExit(timeout: .seconds(30))
        return Int(try await process.waitForLine(timeout: .seconds(5)) { Int($0) != nil }) ?? 0
    }

    @Test("deleting a running tunnel drops its connections within a second, refuses its reconnects, visitors get 530; others untouched")
    func revocation() async throws {
        let pki = try TestPKI()
        defer { pki.remove() }
        try await Self.withEdge(pki: pki) { running in
            let doomed = try await Self.createTunnel(running, name: "doomed")
            let kept = try await Self.createTunnel(running, name: "kept")
            let doomedID = try #require(doomed.tunnelID)
            let keptID = try #require(kept.tunnelID)
            let doomedConnector = try Self.connector(running, doomed, pki: pki, haConnections: 4)
            let keptConnector = try Self.connector(running, kept, pki: pki, haConnections: 2)
            let doomedEvents = EventWatcher(doomedConnector)
            let keptEvents = EventWatcher(keptConnector)
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask {
                    do {
                        try await doomedConnector.run()
                        Issue.record("the revoked connector should stop with an error")
                    } catch let error as TunnelConnectorError {
                        #expect(error.reason.contains("has been deleted"), "\(error.reason)")
                    }
                }
                group.addTask { try await keptConnector.run() }
                #expect(await doomedEvents.registrations(4) == 4)
                #expect(await keptEvents.registrations(2) == 2)
                #expect(try await Self.visit(running, tunnelID: doomedID) == 200)

                // Live connections and no cascade: refused, nothing changes.
                await #expect(throws: ControlPlaneError.tunnelHasConnections(doomedID.lowercasedString)) {
                    try await running.controlPlane.deleteTunnel(accountID: running.accountID, id: doomedID, cascade: false, actor: "test")
                }
                let clients = try await running.controlPlane.activeClients(accountID: running.accountID, id: doomedID)
                #expect(clients.count == 1 && clients[0].conns.count == 4 && clients[0].conns.allSatisfy { $0.coloName == "SELF" })

                let start = ContinuousClock.now
                _ = try await running.controlPlane.deleteTunnel(accountID: running.accountID, id: doomedID, cascade: true, actor: "test")
                var lost = 0
                var refused: String?
                while refused == nil, let event = await doomedEvents.next() {
                    switch event {
                    case .connectionFailed(_, let reason, let retryIn):
                        lost += 1
                        if retryIn == nil { refused = reason }
                    case .stopped(let failure): refused = failure ?? "stopped"
                    default: break
                    }
                }
                let elapsed = ContinuousClock.now - start
                #expect(lost >= 4 || refused != nil)
                #expect(running.edge.registry.connections(of: doomedID).isEmpty)
                // The edge closed them before deleteTunnel returned; this is how long the connector took to notice.
                print("revocation: the connector saw its connections dropped and its reconnect refused \(elapsed) after the delete")
                #expect(refused?.contains("has been deleted") == true, "\(refused ?? "")")
                #expect(try await Self.visit(running, tunnelID: doomedID) == 530)
                #expect(running.edge.registry.connections(of: keptID).count == 2)
                #expect(try await Self.visit(running, tunnelID: keptID) == 200)
                keptConnector.shutdown()
                try await group.waitForAll()
            }
            try await running.stop()
            // The audit log, written from the edge's events.
            let revokedID = doomedID
            let events = try await running.store.audit(accountID: running.accountID, filter: AuditFilter(), page: 1, perPage: 1000).items
            let revokedEvents = events.filter { $0.tunnelID == revokedID }
            let revokedActions = revokedEvents.map(\.action)
            #expect(revokedActions.filter { $0 == .registered }.count == 4)
            #expect(revokedActions.filter { $0 == .unregistered }.count == 4)
            #expect(revokedActions.filter { $0 == .tunnelDeleted }.count == 1)
            let registered = try #require(revokedEvents.first { $0.action == .registered })
            for key in ["connection_id", "conn_index", "client_version", "origin_ip", "location", "client_id"] {
                #expect(registered.metadata[key]?.isEmpty == false, "\(key)")
            }
            #expect(registered.metadata["origin_ip"] == "127.0.0.1" && registered.metadata["location"] == "SELF")
            #expect(registered.actor.hasPrefix("connector:"))
            let keptActions = events.filter { $0.tunnelID == keptID }.map(\.action)
            #expect(keptActions.filter { $0 == .registered }.count == 2)
            #expect(keptActions.filter { $0 == .unregistered }.count == 2)
            // Connection history: every connection closed on record.
            let history = try await running.store.connections(tunnelID: revokedID, limit: 10)
            #expect(history.count == 4 && history.allSatisfy { $0.closedAt != nil })
        }
    }

    @Test("an account runs at most N tunnels: the next one is refused for good; running tunnels may add connections, stopped ones free a place")
    func runningTunnelLimit() async throws {
        // Few tunnels in process; the test with 1000 runs tunnel-load and edge serve as processes.
        let pki = try TestPKI()
        defer { pki.remove() }
        let limit = 3
        try await Self.withEdge(pki: pki, runningTunnelLimit: limit) { running in
            var credentials: [TunnelCredentials] = []
            for index in 0...limit { credentials.append(try await Self.createTunnel(running, name: "t-\(index)")) }
            let connectors = try credentials.prefix(limit).map { try Self.connector(running, $0, pki: pki, haConnections: 1) }
            try await withThrowingTaskGroup(of: Void.self) { group in
                for connector in connectors {
                    let events = EventWatcher(connector)
                    group.addTask { try await connector.run() }
                    #expect(await events.registrations(1) == 1)
                }
                #expect(running.edge.registry.runningTunnels(accountTag: running.accountID) == limit)

                let extra = try Self.connector(running, credentials[limit], pki: pki, haConnections: 1)
                do {
                    try await extra.run()
                    Issue.record("tunnel \(limit + 1) should have been refused")
                } catch let error as TunnelConnectorError {
                    #expect(error.reason.contains("already runs \(limit) tunnels, its limit"), "\(error.reason)")
                    #expect(error.reason.contains("limits.runningTunnelsPerAccount"))
                }
                // A tunnel that already runs may add a connection.
                let second = try Self.connector(running, credentials[0], pki: pki, haConnections: 1)
                let secondEvents = EventWatcher(second)
                group.addTask { try await second.run() }
                #expect(await secondEvents.registrations(1) == 1)
                #expect(running.edge.registry.connections(of: try #require(credentials[0].tunnelID)).count == 2)

                // A tunnel that stops frees its place.
                let stoppedEvents = EventWatcher(connectors[2])
                connectors[2].shutdown()
                while let event = await stoppedEvents.next() {
                    if case .stopped = event { break }
                }
                let replacement = try Self.connector(running, credentials[limit], pki: pki, haConnections: 1)
                let replacementEvents = EventWatcher(replacement)
                group.addTask { try await replacement.run() }
                #expect(await replacementEvents.registrations(1) == 1)

                replacement.shutdown()
                second.shutdown()
                for connector in connectors { connector.shutdown() }
                try await group.waitForAll()
            }
        }
    }

    @Test("the edge routes a hostname by its DNS route at once, and follows an overwritten route")
    func routingByRoute() async throws {
        let pki = try TestPKI()
        defer { pki.remove() }
        try await Self.withEdge(pki: pki) { running in
            let zone = try #require(try await running.store.zones(accountID: running.accountID).first)
            let hello = try await Self.createTunnel(running, name: "hello")
            let teapot = try await Self.createTunnel(running, name: "teapot")
            let helloConnector = try Self.connector(running, hello, pki: pki, haConnections: 1)
            let teapotConnector = try Self.connector(running, teapot, pki: pki, haConnections: 1, service: "http_status:418")
            try await withThrowingTaskGroup(of: Void.self) { group in
                for connector in [helloConnector, teapotConnector] {
                    let events = EventWatcher(connector)
                    // The teapot's tunnel is deleted below: its connector stops with an error.
                    group.addTask { try? await connector.run() }
                    #expect(await events.registrations(1) == 1)
                }
                #expect(try await Self.visit(running, host: "app.example.test") == 530)
                _ = try await running.controlPlane.routeDNS(accountID: running.accountID, zoneID: zone.id, tunnelID: try #require(hello.tunnelID), hostname: "app", overwrite: false, actor: "test")
                #expect(try await Self.visit(running, host: "app.example.test") == 200)
                #expect(try await Self.visit(running, host: "APP.example.test:8080") == 200)
                _ = try await running.controlPlane.routeDNS(accountID: running.accountID, zoneID: zone.id, tunnelID: try #require(teapot.tunnelID), hostname: "app.example.test", overwrite: true, actor: "test")
                #expect(try await Self.visit(running, host: "app.example.test") == 418)
                // A deleted tunnel's routes stop routing.
                _ = try await running.controlPlane.deleteTunnel(accountID: running.accountID, id: try #require(teapot.tunnelID), cascade: true, actor: "test")
                #expect(try await Self.visit(running, host: "app.example.test") == 530)
                helloConnector.shutdown()
                try await group.waitForAll()
            }
        }
    }

    @Test("route records of tunnels quiet for the period go (never-run, disconnected, deleted); a connected tunnel's stay")
    func recordCollection() async throws {
        let pki = try TestPKI()
        defer { pki.remove() }
        try await Self.withEdge(pki: pki) { running in
            let zone = try #require(try await running.store.zones(accountID: running.accountID).first)
            try await running.controlPlane.configureDNS(DNSSettings(addresses: [[127, 0, 0, 1]]))
            var tunnels: [String: TunnelCredentials] = [:]
            for name in ["connected", "never", "deleted", "left"] {
                tunnels[name] = try await Self.createTunnel(running, name: name)
                _ = try await running.controlPlane.routeDNS(
                    accountID: running.accountID, zoneID: zone.id, tunnelID: try #require(tunnels[name]?.tunnelID), hostname: name, overwrite: false, actor: "test")
            }
            let connected = try Self.connector(running, try #require(tunnels["connected"]), pki: pki, haConnections: 1)
            let left = try Self.connector(running, try #require(tunnels["left"]), pki: pki, haConnections: 1)
            try await withThrowingTaskGroup(of: Void.self) { group in
                for connector in [connected, left] {
                    let events = EventWatcher(connector)
                    group.addTask { try await connector.run() }
                    #expect(await events.registrations(1) == 1)
                }
                // "left" goes away; the edge records when its connection ended.
                let leftEvents = EventWatcher(left)
                left.shutdown()
                while let event = await leftEvents.next() {
                    if case .stopped = event { break }
                }
                _ = try await running.controlPlane.deleteTunnel(accountID: running.accountID, id: try #require(tunnels["deleted"]?.tunnelID), cascade: true, actor: "test")

                // Nothing has been quiet for a minute yet.
                #expect(try await running.controlPlane.collectDNSRecords(unregisteredFor: .seconds(60)).isEmpty)
                // Two minutes later everything quiet goes; the connected tunnel's record stays.
                let removed = try await running.controlPlane.collectDNSRecords(unregisteredFor: .seconds(60), now: Date().addingTimeInterval(120))
                #expect(Set(removed.map(\.name)) == ["never.example.test", "deleted.example.test", "left.example.test"])
                #expect(try await running.store.tunnelRoutes().map(\.name) == ["connected.example.test"])
                #expect(try await running.controlPlane.routedTunnel(host: "never.example.test") == nil)
                let snapshot = try #require(running.controlPlane.dnsZoneData())
                #expect(snapshot.records["connected.example.test"] != nil && snapshot.records["left.example.test"] == nil)
                connected.shutdown()
                try await group.waitForAll()
            }
            let events = try await running.store.audit(accountID: running.accountID, filter: AuditFilter(), page: 1, perPage: 1000).items
            let removals = events.filter { $0.action == .recordRemoved }
            #expect(removals.count == 3 && removals.allSatisfy { $0.actor == "gc" && $0.metadata["hostname"] != nil })
            #expect(removals.contains { $0.metadata["reason"] == "tunnel deleted" })
        }
    }
}
