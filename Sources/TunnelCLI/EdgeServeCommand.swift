import ArgumentParser
import Foundation
import Logging
import NIOCore
import Prometheus
import ServiceLifecycle
import TunnelControl
import TunnelCore
import TunnelEdge
import TunnelTransport
import UnixSignals

/// `tunnelctl edge ...`: the self-hosted edge.
struct EdgeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "edge",
        abstract: "Run a self-hosted tunnel edge and administer its control plane.",
        subcommands: [
            EdgeServeCommand.self, EdgeAccountCommand.self, EdgeUserCommand.self, EdgeTokenCommand.self, EdgeOriginCertCommand.self,
            EdgeZoneCommand.self, EdgeAuditCommand.self,
        ]
    )
}

/// `tunnelctl edge serve [--config edge.yml]`: one edge process until SIGINT/SIGTERM.
struct EdgeServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Accept tunnel connectors and serve their hostnames to visitors.",
        discussion: """
            Without --config it runs the embedded default: connectors on 127.0.0.1:7844 (TLS, \
            server name h2.cftunnel.com), visitors on 127.0.0.1:8080, and a CA and edge certificate \
            generated once into the state directory (hand its ca.pem to connectors as --cacert). \
            edge.yml declares listeners, certificates, limits and static tunnels; Docs/edge.md has \
            a commented example. Flags win over the file. Tunnels, accounts, API tokens and the audit \
            log live in control.sqlite in the state directory (created on first start); the \
            control-plane API (cloudflared's v4 subset) listens on 127.0.0.1:8787 unless \
            --api-address says otherwise. The first SIGINT/SIGTERM stops accepting \
            and lets in-flight requests finish within the grace period; a second one exits at once. \
            Exit status: 0 after a graceful stop, 1 when the configuration, a certificate or a \
            listening port is unusable.
            """
    )

    @Option(name: .long, help: ArgumentHelp("edge.yml with listeners, certificates, limits and static tunnels.", valueName: "path"))
    var config: String?

    @Option(name: .customLong("state-dir"), help: ArgumentHelp("Where the generated CA and edge certificate live (default: ~/.tunnelctl/edge).", valueName: "path"))
    var stateDirectory: String?

    @Option(name: .customLong("connector-address"), help: ArgumentHelp("Listen address for connectors (default: 127.0.0.1:7844; port 0 picks one).", valueName: "host:port"))
    var connectorAddress: String?

    @Option(name: .customLong("visitor-address"), help: ArgumentHelp("Clear-text listen address for visitors (default: 127.0.0.1:8080).", valueName: "host:port"))
    var visitorAddress: String?

    @Option(name: .customLong("visitor-tls-address"), help: ArgumentHelp("Also serve visitors over TLS here, with the generated certificate unless edge.yml names one.", valueName: "host:port"))
    var visitorTLSAddress: String?

    @Option(name: .customLong("grace-period"), help: ArgumentHelp("How long in-flight requests may run after SIGTERM (default: 30s).", valueName: "duration"))
    var gracePeriod: String?

    @Option(name: .long, help: ArgumentHelp("Serve /metrics (Prometheus), /ready and /healthcheck on this address, e.g. 127.0.0.1:20241 (port 0 picks one). Off by default.", valueName: "host:port"))
    var metrics: String?

    @Option(name: .customLong("api-address"), help: ArgumentHelp("Listen address of the control-plane API, or off (default: 127.0.0.1:8787; port 0 picks one).", valueName: "host:port"))
    var apiAddress: String?

    @Option(name: .customLong("dns-address"), help: ArgumentHelp("Serve DNS (UDP and TCP) for the account zones and the tunnel domain here, e.g. 0.0.0.0:53 (default: off; port 0 picks one).", valueName: "host:port"))
    var dnsAddress: String?

    @Option(name: .long, help: "debug, info, warn or error (default: info).")
    var loglevel = "info"

    @Option(name: .customLong("log-format"), help: "text (one line per event) or json (one JSON object per line) (default: text) (env: TUNNEL_LOG_FORMAT).")
    var logFormat: String?

    func run() async throws {
        guard let level = ConsoleLogHandler.level(named: loglevel) else {
            throw ValidationError("--loglevel \(loglevel): use debug, info, warn or error")
        }
        let formatName = (logFormat ?? ProcessInfo.processInfo.environment["TUNNEL_LOG_FORMAT"] ?? "text").lowercased()
        guard let format = ConsoleLogHandler.Format(rawValue: formatName) else {
            throw ValidationError("--log-format \(formatName): use text or json")
        }
        LoggingSystem.bootstrap { ConsoleLogHandler(label: $0, level: level, format: format) }
        let logger = Logger(label: "tunnelctl.edge")
        FileDescriptorLimit.raiseToHardLimit()

        let setup: EdgeSetup
        do {
            var file = try config.map { path throws(EdgeConfigError) in try EdgeConfigFile(contentsOfFile: path) } ?? EdgeConfigFile()
            if let connectorAddress { file.connectors = EdgeConfigFile.Listener(address: connectorAddress, certificate: file.connectors?.certificate, key: file.connectors?.key) }
            if let visitorAddress { file.visitors = EdgeConfigFile.Visitors(address: visitorAddress, tls: file.visitors?.tls) }
            if let visitorTLSAddress {
                let tls = file.visitors?.tls
                file.visitors = EdgeConfigFile.Visitors(
                    address: file.visitors?.address,
                    tls: EdgeConfigFile.Listener(address: visitorTLSAddress, certificate: tls?.certificate, key: tls?.key))
            }
            if let gracePeriod { file.gracePeriod = gracePeriod }
            if let apiAddress {
                file.api = EdgeConfigFile.API(
                    address: apiAddress, maxBodyBytes: file.api?.maxBodyBytes,
                    rateLimitRequests: file.api?.rateLimitRequests, rateLimitWindow: file.api?.rateLimitWindow)
            }
            if let dnsAddress { file.dns = EdgeConfigFile.DNS(address: dnsAddress, addresses: file.dns?.addresses, nameServers: file.dns?.nameServers, routeAnswers: file.dns?.routeAnswers) }
            setup = try file.setup(configPath: config ?? "command line", stateDirectoryOverride: stateDirectory)
        } catch {
            Self.fail("\(error)")
        }
        for warning in setup.warnings { logger.warning("\(warning)") }

        var metricsConfiguration: TunnelMetricsServer.Configuration?
        if let metrics {
            guard let parsed = TunnelMetricsServer.Configuration(address: metrics) else {
                Self.fail("invalid --metrics \(String(reflecting: metrics)): expected host:port, e.g. 127.0.0.1:20241 (port 0 picks one)")
            }
            metricsConfiguration = parsed
        }
        let storePath = SQLControlStore.sqlitePath(stateDirectory: setup.stateDirectory)
        let store: SQLControlStore
        do {
            store = try await SQLControlStore.openSQLite(path: storePath, logger: logger)
            let closed = try await store.closeAllOpenConnections(at: Date())
            if closed > 0 { logger.info("closed connection records left open by the previous run", metadata: ["count": "\(closed)"]) }
        } catch {
            Self.fail("\(error)")
        }
        let controlPlane = ControlPlane(store: store, tunnelDomain: setup.tunnelDomain, logger: logger)
        if setup.apiAddress != nil {
            do {
                let ca = try setup.loginOriginCA.map { try OriginCA(certificatePath: $0.certificate, keyPath: $0.key) }
                    ?? OriginCA.loadOrCreate(in: setup.stateDirectory)
                controlPlane.configureLogin(ca: ca, settings: setup.login)
                if let quick = setup.quickTunnels {
                    try await controlPlane.configureQuickTunnels(quick)
                }
            } catch {
                Self.fail("\(error)")
            }
        }
        let registry = PrometheusCollectorRegistry()
        let edge = TunnelEdgeServer(
            configuration: setup.configuration,
            store: controlPlane.edgeTunnelStore(staticTunnels: setup.tunnels),
            metrics: EdgeMetrics(factory: PrometheusMetricsFactory(registry: registry)), logger: logger)
        controlPlane.attach(edge)
        var services: [ServiceGroupConfiguration.ServiceConfiguration] = []
        var dnsServer: DNSServer?
        if let dns = setup.dnsAddress {
            do {
                try await controlPlane.configureDNS(DNSSettings(addresses: setup.dnsRecordAddresses, nameServers: setup.dnsNameServers, routesAsAddresses: setup.dnsRoutesAsAddresses))
            } catch {
                Self.fail("\(error)")
            }
            let server = DNSServer(host: dns.host, port: dns.port, logger: logger) { [controlPlane] in controlPlane.dnsZoneData() }
            dnsServer = server
            services.append(.init(service: server))
        }
        // After the edge: at start it sweeps once, with the previous run's connections closed on record.
        services.append(.init(service: DNSRecordCollector(controlPlane: controlPlane, unregisteredFor: setup.recordGCAfter, interval: setup.recordGCEvery, logger: logger)))
        if setup.apiAddress != nil, setup.quickTunnels != nil {
            services.append(.init(service: QuickTunnelReaper(controlPlane: controlPlane, logger: logger)))
        }
        var apiServer: ControlAPIServer?
        if let api = setup.apiAddress {
            let server = ControlAPIServer(
                controlPlane: controlPlane, host: api.host, port: api.port, maxBodyBytes: setup.apiMaxBodyBytes,
                rateLimit: setup.apiRateLimit.map { ControlAPI.RateLimit(requests: $0.requests, window: $0.window) }, logger: logger)
            apiServer = server
            services.append(.init(service: server))
        }
        var metricsAddress: SocketAddress?
        if let metricsConfiguration {
            do {
                let server = try await TunnelMetricsServer.bind(metricsConfiguration, registry: registry, logger: logger) { [edge] in
                    TunnelReadiness(readyConnections: edge.registry.all.count, connectorID: UUID(uuidString: "00000000-0000-0000-0000-000000000000")!, isReady: true)
                }
                metricsAddress = server.localAddress
                // Its failure is logged but never stops the edge; it stops after the edge drained.
                services.append(.init(service: server, successTerminationBehavior: .ignore, failureTerminationBehavior: .ignore))
            } catch {
                Self.fail("cannot serve metrics on \(metricsConfiguration.host):\(metricsConfiguration.port): \(error)")
            }
        }
        services.append(.init(service: edge))
        let events = edge.events.subscribe()
        let eventLogger = Task { await Self.log(events, logger: logger) }
        defer { eventLogger.cancel() }
        let recorder = Task { await controlPlane.recordEdgeEvents(edge.events.subscribe()) }
        let group = ServiceGroup(configuration: ServiceGroupConfiguration(
            services: services, logger: logger))
        let watcher = Task {
            var caught = 0
            for await signal in await UnixSignalsSequence(trapping: .sigterm, .sigint) {
                caught += 1
                if caught == 1 {
                    // Logged before the shutdown starts, so the line is never lost to a quick exit.
                    logger.info("Initiating graceful shutdown due to signal \(signal == .sigint ? "interrupt" : "terminated") ...")
                    await group.triggerGracefulShutdown()
                } else {
                    logger.warning("Second signal received: exiting at once")
                    Foundation.exit(1)
                }
            }
        }
        defer { watcher.cancel() }

        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            let addresses: TunnelEdgeServer.ListeningAddresses
            do {
                addresses = try await edge.listeningAddresses()
            } catch {
                Self.fail("\(error)")
            }
            if let ca = setup.generatedCAPath {
                Self.say("edge CA: \(URL(fileURLWithPath: ca).standardizedFileURL.path) (give it to connectors as --cacert)")
            }
            Self.say("listening for connectors on \(Self.format(addresses.connector)) (TLS, server name h2.cftunnel.com)")
            Self.say("listening for visitors on http://\(Self.format(addresses.visitor))")
            if let tls = addresses.visitorTLS { print("listening for visitors on https://\(Self.format(tls))") }
            if let metricsAddress { Self.say("metrics on http://\(Self.format(metricsAddress))/metrics") }
            for tunnel in setup.tunnels {
                let name = tunnel.name.isEmpty ? "" : " (\(tunnel.name))"
                Self.say("tunnel \(tunnel.id.lowercasedString)\(name): \(tunnel.hostnames.isEmpty ? "no hostnames" : tunnel.hostnames.joined(separator: ", "))")
            }
            if setup.tunnels.isEmpty && setup.apiAddress == nil {
                Self.say("no tunnels declared: add them under tunnels: in edge.yml (see Docs/edge.md), or turn the API on to create them")
            }
            Self.say("control-plane store: \(URL(fileURLWithPath: storePath).standardizedFileURL.path)")
            if let dnsServer {
                do {
                    let addresses = try await dnsServer.listeningAddresses()
                    Self.say("DNS on \(Self.format(addresses.udp)) (UDP and TCP) for the account zones and \(setup.tunnelDomain)")
                } catch {
                    Self.fail("\(error); pick another --dns-address")
                }
            }
            if let apiServer {
                do {
                    let address = try await apiServer.listeningAddress()
                    if let quick = setup.quickTunnels {
                        Self.say("quick tunnels on *.\(quick.domain) (tunnelctl tunnel --quick-service http://\(Self.format(address)) --url URL; cloudflared: the same --quick-service)")
                    }
                    Self.say("login page on http://\(Self.format(address))\(LoginWeb.pagePath) (tunnelctl login --api-url http://\(Self.format(address))\(ControlAPI.basePath))")
                    Self.say("control-plane API on http://\(Self.format(address))\(ControlAPI.basePath) (cloudflared: --api-url http://\(Self.format(address))\(ControlAPI.basePath))")
                } catch {
                    Self.fail("cannot serve the control-plane API on \(setup.apiAddress.map { "\($0.host):\($0.port)" } ?? ""): \(EdgeServerError.bindFailureReason(error)) (--api-address, or off)")
                }
            }
            do {
                try await tasks.waitForAll()
            } catch {
                Self.fail("\(error)")
            }
        }
        // The edge finished its events: let the recorder write the last ones, then close the store.
        await recorder.value
        try? await store.close()
    }

    /// Writes a line to standard output at once (scripts and tests read the addresses).
    static func say(_ line: String) {
        FileHandle.standardOutput.write(Data((line + "\n").utf8))
    }

    /// Prints a one-line error to standard error and exits 1.
    ///
    /// `_exit`, not `exit`: this may run while HTTP clients and event loops still have threads,
    /// and `exit`'s atexit handlers and static destructors racing them could end the process
    /// with a signal instead of status 1. Buffered output is flushed first.
    static func fail(_ message: String) -> Never {
        FileHandle.standardError.write(Data("error: \(message)\n".utf8))
        fflush(nil)
        _exit(1)
    }

    /// `127.0.0.1:7844` / `[::1]:7844`, for addresses tunnelctl prints.
    static func format(_ address: SocketAddress) -> String {
        guard let ip = address.ipAddress, let port = address.port else { return "\(address)" }
        return ip.contains(":") ? "[\(ip)]:\(port)" : "\(ip):\(port)"
    }

    /// Connector registrations and disconnects, as cloudflared's edge would log them.
    static func log(_ events: AsyncStream<EdgeEvent>, logger: Logger) async {
        for await event in events {
            switch event {
            case .registered(let live):
                logger.info("Registered tunnel connection", metadata: [
                    "tunnelID": "\(live.tunnelID.lowercasedString)", "connIndex": "\(live.connIndex)",
                    "connection": "\(live.id.lowercasedString)", "origin": "\(live.remoteAddress)", "version": "\(live.version)",
                ])
            case .unregistered(let live):
                logger.info("Unregistered tunnel connection", metadata: [
                    "tunnelID": "\(live.tunnelID.lowercasedString)", "connIndex": "\(live.connIndex)", "connection": "\(live.id.lowercasedString)",
                ])
            case .disconnected(let live):
                logger.info("Tunnel connection closed", metadata: [
                    "tunnelID": "\(live.tunnelID.lowercasedString)", "connIndex": "\(live.connIndex)", "connection": "\(live.id.lowercasedString)",
                ])
            case .refused(let remote, let cause):
                logger.warning("Refused tunnel connection", metadata: ["origin": "\(remote)", "reason": "\(cause)"])
            }
        }
    }
}
