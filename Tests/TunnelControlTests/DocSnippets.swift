// The code snippets of README.md, Docs/ and the DocC catalogs, compiled. Each function holds
// one snippet verbatim (its free names are the parameters); DocSnippetTests checks that every
// ```swift block of the docs appears here, so a snippet that stops compiling fails the build.
// None of these functions is called.

import Foundation
import Logging
import NIOCore
import NIOHTTP1
import NIOSSL
import Prometheus
import ServiceLifecycle
import TunnelControl
import TunnelCore
import TunnelEdge
import TunnelOrigin
import TunnelTesting
import TunnelTransport

enum DocSnippets {
    // MARK: Docs/embedding.md

    static func embeddingTestTunnel() async throws {
        try await withTestTunnel(origin: .respond { request in TestOriginResponse(body: "hello \(request.uri)") }) { tunnel in
            let response = try await tunnel.client.get("/x")
            assert(response.status == .ok && response.text == "hello /x")
        }
    }

    static func embeddingByHand(stateDirectory: String, account: String) async throws {
        // An edge with its own CA, one tunnel, ephemeral loopback ports.
        let pki = try EdgePKI.loadOrCreate(in: stateDirectory)
        let tunnel = EdgeTunnel(id: UUID(), accountTag: account, secret: .random(), hostnames: ["app.test"])
        let edge = TunnelEdgeServer(
            configuration: EdgeConfiguration(
                certificateChain: try NIOSSLCertificate.fromPEMFile(pki.certificatePath),
                privateKey: try NIOSSLPrivateKey(file: pki.keyPath, format: .pem),
                connectorPort: 0, visitorPort: 0),
            store: InMemoryTunnelStore([tunnel]))

        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await edge.run() }
            let addresses = try await edge.listeningAddresses()   // ports once bound

            // A connector with 4 HA connections serving the built-in hello_world origin.
            let connector = TunnelConnector(
                configuration: TunnelConnectorConfiguration(
                    credentials: tunnel.credentials,
                    edgeAddresses: Array(repeating: EdgeAddress(host: "127.0.0.1", port: addresses.connector.port ?? 0), count: 4),
                    edgeTrustRoots: try NIOSSLCertificate.fromPEMFile(pki.caPath)),
                proxy: OriginProxy(ingress: try Ingress(rules: [IngressRuleConfig(service: "hello_world")]), client: OriginHTTPClient()))
            group.addTask { try await connector.run() }
            var registered = 0
            for await event in connector.events {
                if case .registered = event { registered += 1 }
                if registered == 4 { break }
            }
            // … visitors send HTTP to addresses.visitor with Host: app.test …
            connector.shutdown()   // unregisters every connection, drains, returns
            edge.shutdown()
            try await group.waitForAll()
        }
    }

    static func embeddingFromFiles(flags: [String: SettingValue], environment: [String: String], configFile: TunnelConfigFile?, logger: Logger) async throws {
        // What `tunnelctl edge serve --config edge.yml` does, minus signals and printing.
        let setup = try EdgeConfigFile(contentsOfFile: "edge.yml").setup(configPath: "edge.yml")
        let edge = TunnelEdgeServer(configuration: setup.configuration, store: InMemoryTunnelStore(setup.tunnels))

        // What `tunnelctl tunnel run` does: flags > TUNNEL_* > config.yml, then edge discovery by DNS
        // SRV when no --edge was given (a no-op otherwise).
        let settings = try SettingsResolver().resolve(commandLine: flags, environment: environment, file: configFile)
        var run = try TunnelRunSettings(tunnelReference: nil, settings: settings)
        try await run.resolveEdgeAddresses()
        let connector = run.makeConnector(logger: logger)
        _ = (edge, connector)
    }

    static func embeddingMetrics(run: TunnelRunSettings, logger: Logger) async throws {
        let registry = PrometheusCollectorRegistry()
        let connector = run.makeConnector(metrics: ConnectorMetrics(factory: PrometheusMetricsFactory(registry: registry)), logger: logger)
        let metrics = try await TunnelMetricsServer.bind(.init(host: "127.0.0.1", port: 0), registry: registry) { connector.readiness }
        // Services stop in reverse order: the metrics server answers /ready until the connector has drained.
        let group = ServiceGroup(services: [metrics, connector], logger: logger)
        try await group.run()
    }

    // MARK: Docs/capnproto.md

    static func capnpClient(
        inbound: some AsyncSequence<ByteBuffer, any Error> & Sendable, outbound: NIOAsyncChannelOutboundWriter<ByteBuffer>,
        auth: TunnelAuth, tunnelID: UUID, options: ConnectionOptions, configJSON: [UInt8]
    ) async throws {
        let client = RegistrationClient { bytes in try await outbound.write(bytes) }
        try await withThrowingTaskGroup(of: RPCSessionEnd.self) { group in
            group.addTask { try await client.session.run(inbound: inbound) }
            let details = try await client.registerConnection(auth: auth, tunnelID: tunnelID, connIndex: 0, options: options)
            try await client.updateLocalConfiguration(configJSON)      // connIndex 0, not remotely managed
            // ... on shutdown:
            try await client.unregisterConnection()
            client.shutdown()
            _ = try await group.next()
        }
    }

    static func capnpServer(inbound: NIOAsyncChannelInboundStream<ByteBuffer>, outbound: NIOAsyncChannelOutboundWriter<ByteBuffer>) async throws {
        struct Registrations: RegistrationServer {
            func registerConnection(_ params: RegisterConnectionParams) async throws -> ConnectionResponse {
                // Check params.auth and params.tunnelID against the tunnel's secret here.
                .connectionDetails(ConnectionDetails(uuid: withUnsafeBytes(of: UUID().uuid) { Array($0) }, locationName: "LAB", tunnelIsRemotelyManaged: false))
            }
            func unregisterConnection() async throws {}
            func updateLocalConfiguration(_ config: [UInt8]) async throws {}
        }
        let end = try await Registrations().serve(inbound: inbound) { bytes in try await outbound.write(bytes) }
        _ = end
    }

    // MARK: TunnelControl.docc

    static func controlPlane(configuration: EdgeConfiguration, logger: Logger) async throws {
        let store = try await SQLControlStore.openSQLite(path: SQLControlStore.sqlitePath(stateDirectory: "state"))
        let controlPlane = ControlPlane(store: store)
        let edge = TunnelEdgeServer(configuration: configuration, store: controlPlane.edgeTunnelStore())
        controlPlane.attach(edge)                          // revocation closes live connections
        let api = ControlAPIServer(controlPlane: controlPlane, host: "127.0.0.1", port: 0)
        let group = ServiceGroup(services: [api, edge], logger: logger)
        async let recording: Void = controlPlane.recordEdgeEvents(edge.events.subscribe())
        try await group.run()
        await recording
    }

    // MARK: TunnelCore.docc

    static func coreSettings(configFile: TunnelConfigFile?) throws {
        let settings = try SettingsResolver().resolve(
            commandLine: ["url": .string("http://127.0.0.1:8000")],
            environment: ProcessInfo.processInfo.environment,
            file: configFile)
        let gracePeriod = settings.duration("grace-period")   // 30 s unless set
        _ = gracePeriod
    }

    static func coreFiles() throws {
        let credentials = try TunnelCredentials(contentsOfFile: "/etc/tunnel/6ff42ae2-….json")
        let file = try TunnelConfigFile.parse(try String(contentsOfFile: "config.yml", encoding: .utf8), path: "config.yml")
        let ingress = try Ingress(rules: file?.ingress ?? [])
        let rule = ingress.matchingRule(host: "app.example.com", path: "/api/users")
        _ = (credentials, rule)
    }

    // MARK: TunnelEdge.docc

    static func edgeFromFile() async throws {
        let setup = try EdgeConfigFile(contentsOfFile: "edge.yml").setup(configPath: "edge.yml")
        let edge = TunnelEdgeServer(configuration: setup.configuration, store: InMemoryTunnelStore(setup.tunnels))
        try await edge.run()   // or in a ServiceGroup; SIGTERM drains in-flight streams
    }

    // MARK: TunnelOrigin.docc

    static func originProxy(ingress: Ingress, head: HTTPRequestHead, requestBody: (some AsyncSequence<ByteBuffer, any Error> & Sendable)?, writer: some OriginResponseWriter) async {
        let proxy = OriginProxy(ingress: ingress, client: OriginHTTPClient())
        let outcome = await proxy.serveHTTP(head, body: requestBody, writer: writer)
        _ = outcome
    }

    static func originDNS(secret: [UInt8], tunnelID: String) async throws {
        let provider = RFC2136Provider(configuration: .init(
            host: "192.0.2.53", zone: "example.com", key: DNSTSIGKey(name: "update-key", secret: secret)))
        let change = try await provider.setCNAME(name: "app.example.com", target: "\(tunnelID).cfargotunnel.com", ttl: 300, overwrite: false)
        _ = change
    }

    // MARK: TunnelTesting.docc

    static func testingTunnel() async throws {
        try await withTestTunnel(origin: .respond { _ in TestOriginResponse(body: "hi") }) { tunnel in
            let response = try await tunnel.client.get("/")
            assert(response.status == .ok && response.text == "hi")
        }
    }

    static func testingHelpers(port: Int) async throws {
        let pki = try TestPKI()
        defer { pki.remove() }
        let curl = try PeerProcess("curl", ["-sS", "http://127.0.0.1:\(port)/"])
        let status = await curl.waitForExit(timeout: .seconds(10))
        _ = status
    }

    // MARK: TunnelTransport.docc

    static func transportConnector(credentialsPath: String) async throws {
        let connector = TunnelConnector(
            configuration: TunnelConnectorConfiguration(
                credentials: try TunnelCredentials(contentsOfFile: credentialsPath),
                edgeAddresses: [EdgeAddress(host: "edge.example", port: 7844)],
                edgeTrustRoots: try EdgeDialer.trustRoots(pemFile: "edge-ca.pem")),
            proxy: OriginProxy(
                ingress: try Ingress(rules: [IngressRuleConfig(service: "http://127.0.0.1:8000")]),
                client: OriginHTTPClient()))

        try await connector.run()   // or put it in a ServiceGroup; connector.shutdown() drains
    }

    static func transportRunSettings(settings: ResolvedSettings, logger: Logger) async throws {
        var run = try TunnelRunSettings(tunnelReference: nil, settings: settings)
        try await run.resolveEdgeAddresses()
        let connector = run.makeConnector(logger: logger)
        _ = connector
    }
}
