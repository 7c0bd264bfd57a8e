import ArgumentParser
import Foundation
import Logging
import NIOCore
import Prometheus
import ServiceLifecycle
import TunnelCore
import TunnelOrigin
import TunnelTransport
import UnixSignals

/// The connector flags of `tunnelctl tunnel run`. Like cloudflared, they may be given before
/// `run` (`tunnel --edge H:P --cacert F run UUID`) or after it; after `run` wins. Each flag can
/// also come from its `TUNNEL_*` variable or config.yml (see Docs/connector.md).
struct TunnelRunOptions: ParsableArguments {
    @Option(name: [.customLong("credentials-file"), .customLong("cred-file")], help: ArgumentHelp("Tunnel credentials JSON file (env: TUNNEL_CRED_FILE).", valueName: "path"))
    var credentialsFile: String?

    @Option(name: .customLong("credentials-contents"), help: ArgumentHelp("Tunnel credentials JSON text; wins over --credentials-file (env: TUNNEL_CRED_CONTENTS).", valueName: "json"))
    var credentialsContents: String?

    @Option(name: .long, help: "Tunnel token; wins over every other credential (env: TUNNEL_TOKEN).")
    var token: String?

    @Option(name: .customLong("token-file"), help: ArgumentHelp("File holding the tunnel token (env: TUNNEL_TOKEN_FILE).", valueName: "path"))
    var tokenFile: String?

    @Option(name: .long, help: "Single origin, used when config.yml has no ingress rules (env: TUNNEL_URL).")
    var url: String?

    @Flag(name: .customLong("hello-world"), help: "Serve the built-in hello world origin (env: TUNNEL_HELLO_WORLD).")
    var helloWorld = false

    @Option(name: .long, help: ArgumentHelp("Edge address host:port; repeatable. Without it the edge is found by DNS SRV discovery (env: TUNNEL_EDGE, comma-separated).", valueName: "host:port"))
    var edge: [String] = []

    @Option(name: .long, help: ArgumentHelp("PEM CA certificates the edge certificate must chain to, instead of the default: the system's roots plus Cloudflare's public roots, as cloudflared (env: TUNNEL_CACERT). A self-hosted edge's generated ca.pem goes here.", valueName: "path"))
    var cacert: String?

    @Option(name: .customLong("ha-connections"), help: "Number of connections to the edge (default: 4).")
    var haConnections: Int?

    @Option(name: .long, help: "Maximum backoff doublings between retries (default: 5, i.e. up to 32 s) (env: TUNNEL_RETRIES).")
    var retries: Int?

    @Option(name: .customLong("grace-period"), help: ArgumentHelp("How long in-flight requests may run after SIGTERM, at most 3m (default: 30s) (env: TUNNEL_GRACE_PERIOD).", valueName: "duration"))
    var gracePeriod: String?

    @Option(name: .customLong("origin-ca-pool"), help: ArgumentHelp("Extra PEM CAs trusted for origin TLS, single-origin mode (env: TUNNEL_ORIGIN_CA_POOL).", valueName: "path"))
    var originCAPool: String?

    @Flag(name: .customLong("no-tls-verify"), help: "Do not verify the origin's TLS certificate, single-origin mode (env: NO_TLS_VERIFY).")
    var noTLSVerify = false

    @Option(name: .long, help: "debug, info, warn, error or fatal (default: info) (env: TUNNEL_LOGLEVEL).")
    var loglevel: String?

    @Option(name: .customLong("log-format"), help: "text (one cloudflared-style line per event) or json (one JSON object per line, for log shippers) (default: text) (env: TUNNEL_LOG_FORMAT).")
    var logFormat: String?

    @Option(name: .customLong("edge-ip-version"), help: "4, 6 or auto: which --edge IP literals to dial (default: auto) (env: TUNNEL_EDGE_IP_VERSION).")
    var edgeIPVersion: String?

    @Option(name: .long, help: "Edge region for discovery, e.g. us or fed: queries _REGION-v2-origintunneld._tcp (env: TUNNEL_REGION).")
    var region: String?

    @Option(name: .customLong("edge-dns-resolver"), help: ArgumentHelp("DNS servers for edge discovery instead of /etc/resolv.conf's, comma-separated (env: TUNNEL_EDGE_DNS_RESOLVER).", valueName: "host:port"))
    var edgeDNSResolver: String?

    @Option(name: .long, help: "Transport protocol: http2 (or auto, which means http2 here) (env: TUNNEL_TRANSPORT_PROTOCOL).")
    var `protocol`: String?

    @Option(name: .long, help: ArgumentHelp("cert.pem: the API token of the management commands (create, list, info, delete, cleanup, token), and where <TunnelID>.json is looked for (env: TUNNEL_ORIGIN_CERT).", valueName: "path"))
    var origincert: String?

    @Option(name: .long, help: ArgumentHelp("Address of the metrics and readiness server: /metrics (Prometheus), /ready, /healthcheck. Default localhost:0, the first free port of 20241-20245 (env: TUNNEL_METRICS).", valueName: "host:port"))
    var metrics: String?

    @Flag(name: .customLong("no-autoupdate"), help: "Accepted for cloudflared compatibility; tunnelctl never updates itself.")
    var noAutoupdate = false

    /// The flags given, by long name, `self` winning over `outer` (the flags before `run`).
    func commandLine(over outer: TunnelRunOptions?) throws -> [String: SettingValue] {
        var values = outer.map { try? $0.commandLine(over: nil) }.flatMap { $0 } ?? [:]
        func set(_ name: String, _ value: String?) { if let value { values[name] = .string(value) } }
        set("credentials-file", credentialsFile)
        set("log-format", logFormat)
        set("credentials-contents", credentialsContents)
        set("token", token)
        set("token-file", tokenFile)
        set("url", url)
        set("cacert", cacert)
        set("origin-ca-pool", originCAPool)
        set("loglevel", loglevel)
        set("edge-ip-version", edgeIPVersion)
        set("region", region)
        set("edge-dns-resolver", edgeDNSResolver)
        set("protocol", `protocol`)
        set("origincert", origincert)
        set("metrics", metrics)
        if !edge.isEmpty { values["edge"] = .stringList(edge) }
        if let haConnections { values["ha-connections"] = .int(haConnections) }
        if let retries { values["retries"] = .int(retries) }
        if helloWorld { values["hello-world"] = .bool(true) }
        if noTLSVerify { values["no-tls-verify"] = .bool(true) }
        if noAutoupdate { values["no-autoupdate"] = .bool(true) }
        if let gracePeriod {
            do {
                values["grace-period"] = .duration(try GoDuration.parse(gracePeriod))
            } catch {
                throw ValidationError("invalid value \(String(reflecting: gracePeriod)) for flag -grace-period: \(error.description)")
            }
        }
        return values
    }
}

/// `tunnelctl tunnel run [NAME|UUID]`: runs a named tunnel until SIGINT/SIGTERM.
struct TunnelRunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Proxy a local web server through a tunnel.",
        discussion: """
            Connects --ha-connections HTTP/2 connections to the --edge addresses, registers them \
            with the tunnel's credentials and serves visitors' requests from the ingress rules of \
            the configuration file, or from --url. The first SIGINT/SIGTERM starts a graceful \
            shutdown (in-flight requests may finish within --grace-period); a second one exits at \
            once. Exit status: 0 after a graceful stop, 1 for invalid input or when the edge \
            refuses the tunnel for good (deleted or revoked).
            """
    )

    @ParentCommand var tunnel: TunnelCommand
    @OptionGroup var options: TunnelOptions
    @OptionGroup var runOptions: TunnelRunOptions

    @Argument(help: ArgumentHelp("The tunnel UUID, or its name when --credentials-file holds its ID. Default: config `tunnel:`.", valueName: "NAME|UUID"))
    var tunnelReference: String?

    func run() async throws {
        try await Self.serve(
            configPath: options.config ?? tunnel.options.config, commandLine: { try runOptions.commandLine(over: tunnel.runOptions) },
            tunnelReference: tunnelReference)
    }

    /// Runs a tunnel until a signal or a permanent failure: settings from the command line,
    /// the environment and config.yml, the connector, the metrics server. A quick tunnel
    /// passes its credentials in `overrides` and its hostname for `/quicktunnel`.
    static func serve(
        configPath: String?, commandLine: () throws -> [String: SettingValue], tunnelReference: String?,
        overrides: [String: SettingValue] = [:], quickTunnelHostname: String = ""
    ) async throws {
        let environment = ProcessInfo.processInfo.environment
        let earlyLogger = Logger(label: "tunnelctl") { ConsoleLogHandler(label: $0, level: .info) }
        let loaded: LoadedConfiguration
        let settings: ResolvedSettings
        do {
            loaded = try LoadedConfiguration.load(explicitPath: configPath)
            settings = try SettingsResolver().resolve(
                commandLine: try commandLine().merging(overrides) { $1 }, environment: environment, file: loaded.file)
        } catch let error as ConfigurationError {
            earlyLogger.error("\(error.description)")
            throw ExitCode.failure
        }

        let levelName = settings.string("loglevel") ?? "info"
        let level = ConsoleLogHandler.level(named: levelName) ?? .info
        guard let format = ConsoleLogHandler.Format(rawValue: (settings.string("log-format") ?? "text").lowercased()) else {
            earlyLogger.error("--log-format must be text or json, not \(String(reflecting: settings.string("log-format") ?? ""))")
            throw ExitCode.failure
        }
        LoggingSystem.bootstrap { ConsoleLogHandler(label: $0, level: level, format: format) }
        let logger = Logger(label: "tunnelctl")
        if ConsoleLogHandler.level(named: levelName) == nil {
            logger.error("Failed to parse log level \"\(levelName)\", using \"info\" instead")
        }

        var runSettings: TunnelRunSettings
        do {
            runSettings = try TunnelRunSettings(tunnelReference: tunnelReference, settings: settings, version: "tunnelctl-\(TunnelctlVersion.string)")
        } catch {
            logger.error("\(error.description)")
            throw ExitCode.failure
        }
        logger.info("Starting tunnel", metadata: [
            "tunnelID": "\(runSettings.connector.credentials.tunnelID?.lowercasedString ?? "")",
            "version": "\(TunnelctlVersion.string)",
        ])
        if !loaded.sourcePath.isEmpty { logger.info("Settings from config file", metadata: ["path": "\(loaded.sourcePath)"]) }
        logger.info("Using credentials", metadata: ["source": "\(runSettings.credentialsSource)"])
        for warning in runSettings.warnings { logger.warning("\(warning)") }
        logger.info("Generated Connector ID", metadata: ["connectorID": "\(runSettings.connector.connectorID.lowercasedString)"])
        for (index, rule) in runSettings.ingress.rules.enumerated() {
            logger.debug("Ingress rule", metadata: ["index": "\(index)", "hostname": "\(rule.hostname)", "service": "\(rule.service)"])
        }

        if let discovery = runSettings.discovery {
            logger.info("Looking up edge addresses", metadata: ["srv": "\(EdgeDiscovery(configuration: discovery).serviceName)"])
            do {
                let regions = try await runSettings.resolveEdgeAddresses()
                for (index, region) in regions.enumerated() {
                    logger.info("Edge region \(index + 1)", metadata: ["addresses": "\(region.map(\.description).joined(separator: ","))"])
                }
            } catch {
                logger.error("\(error.description)")
                throw ExitCode.failure
            }
        }
        let registry = PrometheusCollectorRegistry()
        let connector = runSettings.makeConnector(metrics: ConnectorMetrics(factory: PrometheusMetricsFactory(registry: registry)), logger: logger)
        let metricsServer: TunnelMetricsServer
        do {
            metricsServer = try await TunnelMetricsServer.bind(
                runSettings.metrics, registry: registry, quickTunnelHostname: quickTunnelHostname, logger: logger) { [connector] in connector.readiness }
        } catch {
            let wanted = "\(runSettings.metrics.host):\(runSettings.metrics.port)"
            logger.error("Cannot start the metrics server on \(wanted): \(error). Pass a free address with --metrics host:port (env TUNNEL_METRICS).")
            throw ExitCode.failure
        }
        logger.info("Starting metrics server on \(metricsServer.localAddress.map(EdgeServeCommand.format) ?? "?")/metrics")
        // Services stop in reverse order: the metrics server outlives the connector's drain. Its
        // failure is logged but never stops the tunnel.
        let group = ServiceGroup(configuration: ServiceGroupConfiguration(
            services: [
                .init(service: metricsServer, successTerminationBehavior: .ignore, failureTerminationBehavior: .ignore),
                .init(service: connector),
            ],
            logger: logger))
        // This watcher turns the first SIGTERM/SIGINT into a graceful shutdown of the group (after
        // logging it) and makes a second one end the process at once, as cloudflared does.
        let watcher = Task {
            var caught = 0
            for await signal in await UnixSignalsSequence(trapping: .sigterm, .sigint) {
                caught += 1
                if caught == 1 {
                    // Logged before the shutdown starts, so the line is never lost to a quick exit.
                    logger.info("Initiating graceful shutdown due to signal \(Self.name(of: signal)) ...")
                    await group.triggerGracefulShutdown()
                } else {
                    logger.warning("Second signal \(Self.name(of: signal)) received: exiting at once")
                    Foundation.exit(1)
                }
            }
        }
        defer { watcher.cancel() }
        // A failure without a retry means the connector is stopping for good (deleted or revoked
        // tunnel); requesting shutdown makes sure its run ends promptly.
        let stopper = Task {
            for await event in connector.events {
                if case .connectionFailed(_, _, nil) = event { connector.shutdown() }
            }
        }
        defer { stopper.cancel() }
        do {
            try await group.run()
        } catch {
            let reason = (error as? TunnelConnectorError)?.reason ?? "\(error)"
            logger.error("Tunnel stopped: \(reason)")
            throw ExitCode.failure
        }
    }

    private static func name(of signal: UnixSignal) -> String {
        switch signal {
        case .sigterm: "terminated"
        case .sigint: "interrupt"
        default: "\(signal)"
        }
    }
}
