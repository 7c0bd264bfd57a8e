#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
public import Logging
import NIOCore
public import NIOSSL
public import TunnelCore
public import TunnelTransport

/// What `tunnel run` runs, composed from resolved settings (flags > `TUNNEL_*` > config.yml >
/// defaults): the connector configuration, the effective ingress and notices to log at startup.
///
/// ```swift
/// let settings = try SettingsResolver().resolve(commandLine: flags, environment: env, file: file)
/// let run = try TunnelRunSettings(tunnelReference: "my-tunnel-uuid", settings: settings)
/// let connector = run.makeConnector(logger: logger)
/// ```
public struct TunnelRunSettings: Sendable {
    /// The connector configuration.
    public var connector: TunnelConnectorConfiguration
    /// The ingress rules the origin proxy serves.
    public var ingress: Ingress
    /// Set when no `--edge` was given: ``resolveEdgeAddresses()`` finds the edge by DNS SRV
    /// discovery (edge-protocol.md 1.1) and fills in the connector's addresses.
    public var discovery: EdgeDiscovery.Configuration?
    /// Where the local metrics and readiness server listens (`--metrics`, default `localhost:0`:
    /// the first free port of 20241…20245, as cloudflared).
    public var metrics: TunnelMetricsServer.Configuration
    /// Where the credentials came from (a path, `--token`, `TUNNEL_TOKEN`, …).
    public var credentialsSource: String
    /// Warnings to log before starting (ignored flags, no ingress rules, …).
    public var warnings: [String]

    /// Composes the run settings.
    ///
    /// - Parameters:
    ///   - tunnelReference: The positional `NAME|UUID`, if any.
    ///   - settings: The resolved settings.
    ///   - locator: Credential file lookup.
    ///   - version: The version string sent to the edge.
    /// - Throws: ``TunnelRunError`` for missing or invalid input, with advice.
    public init(
        tunnelReference: String?, settings: ResolvedSettings, locator: CredentialLocator = CredentialLocator(),
        version: String = "swift-tunnel-0.1.0"
    ) throws(TunnelRunError) {
        do {
            try settings.validate()
        } catch {
            throw .configuration(error)
        }
        var warnings: [String] = []
        switch settings.string("protocol") ?? "auto" {
        case "auto", "http2": break
        case "h2mux": warnings.append("h2mux is no longer supported; using http2")
        case let other: throw .unsupportedProtocol(other)
        }

        let found = try TunnelRunCredentials.find(tunnelReference: tunnelReference, settings: settings, locator: locator)
        // The credentials' Endpoint is a region too; both at once is an error, as in cloudflared.
        var region = settings.string("region") ?? ""
        if !region.isEmpty && !found.credentials.endpoint.isEmpty { throw .regionWithTokenEndpoint() }
        if region.isEmpty { region = found.credentials.endpoint }

        let edgeTexts = settings.stringList("edge").flatMap { $0.split(separator: ",").map { String($0.filter { $0 != " " && $0 != "\t" }) } }.filter { !$0.isEmpty }
        var addresses: [EdgeAddress] = []
        for text in edgeTexts {
            guard let address = EdgeAddress(text) else { throw .invalidEdge(text) }
            addresses.append(address)
        }
        let ipVersion = settings.string("edge-ip-version") ?? "auto"
        guard let family = EdgeIPVersion(rawValue: ipVersion) else { throw .invalidEdgeIPVersion(ipVersion) }
        if addresses.isEmpty {
            // No --edge: DNS SRV discovery before the connector starts (resolveEdgeAddresses()).
            var resolvers: [SocketAddress]?
            if let text = settings.string("edge-dns-resolver"), !text.isEmpty {
                resolvers = []
                for part in text.split(separator: ",") {
                    guard let address = EdgeAddress(String(part)), let socket = try? SocketAddress(ipAddress: address.host, port: address.port) else {
                        throw .invalidEdge(String(part))
                    }
                    resolvers?.append(socket)
                }
            }
            discovery = EdgeDiscovery.Configuration(region: region, ipVersion: family, resolvers: resolvers)
        } else if !region.isEmpty && settings.string("region") != nil {
            warnings.append("--region \(region) does not apply to --edge addresses; it selects addresses found by edge discovery")
        }
        if ipVersion != "auto" && !addresses.isEmpty {
            let wanted = addresses.filter { !Self.isIPLiteral($0.host, version: ipVersion == "4" ? "6" : "4") }
            if wanted.isEmpty {
                warnings.append("--edge-ip-version \(ipVersion) excludes every --edge address; dialing them anyway")
            } else {
                addresses = wanted
            }
        }

        // Without --cacert, as cloudflared: the system pool plus Cloudflare's public roots.
        // With it, only the CAs it names.
        let roots: [NIOSSLCertificate]
        let trustSystemRoots: Bool
        if let caPath = settings.string("cacert"), !caPath.isEmpty {
            let expandedCA = locator.expand(caPath)
            do {
                roots = try NIOSSLCertificate.fromPEMFile(expandedCA)
            } catch {
                let reason = FileManager.default.fileExists(atPath: expandedCA) ? "not a PEM certificate file (\(error))" : "no such file"
                throw .unreadableCACert(path: expandedCA, reason: reason)
            }
            guard !roots.isEmpty else { throw .unreadableCACert(path: expandedCA, reason: "no CERTIFICATE block found") }
            trustSystemRoots = false
        } else {
            roots = CloudflareEdgeRoots.certificates
            trustSystemRoots = true
        }

        let metricsText = settings.string("metrics") ?? TunnelMetricsServer.Configuration.defaultAddress
        guard let metrics = TunnelMetricsServer.Configuration(address: metricsText) else { throw .invalidMetricsAddress(metricsText) }
        self.metrics = metrics

        let haConnections = settings.int("ha-connections") ?? 4
        guard haConnections >= 1 else { throw .invalidNumber(flag: "ha-connections", value: haConnections) }
        let retries = settings.int("retries") ?? 5
        guard retries >= 0 else { throw .invalidNumber(flag: "retries", value: retries) }

        let ingress: Ingress
        do {
            ingress = try settings.effectiveIngress()
        } catch {
            throw .configuration(error)
        }
        if ingress.rules.count == 1, case .httpStatus(503) = ingress.rules[0].service, !found.fromToken, settings.file?.ingress.isEmpty ?? true {
            warnings.append("No ingress rules were defined in provided config (if any) nor from the cli, tunnelctl will return 503 for all incoming HTTP requests")
        }

        // One edge address per connection, as cloudflared; a self-hosted edge usually has a
        // single address, so addresses are reused round-robin up to --ha-connections.
        let perConnection = addresses.isEmpty ? [] : (0..<haConnections).map { addresses[$0 % addresses.count] }
        let local = LocalConfigurationJSON.encode(
            ingress: ingress, warpRouting: settings.file?.warpRouting ?? WarpRoutingOptions(), flags: LocalConfigurationJSON.flags(of: settings))
        connector = TunnelConnectorConfiguration(
            credentials: found.credentials,
            edgeAddresses: perConnection,
            edgeTrustRoots: roots,
            haConnections: haConnections,
            retries: retries,
            gracePeriod: settings.duration("grace-period") ?? .seconds(30),
            version: version,
            features: TunnelConnectorConfiguration.defaultFeatures + settings.stringList("features").filter { !TunnelConnectorConfiguration.defaultFeatures.contains($0) },
            localConfiguration: local,
            rpcTimeout: settings.duration("rpc-timeout") ?? .seconds(5),
            edgeTrustsSystemRoots: trustSystemRoots)
        self.ingress = ingress
        self.credentialsSource = found.source
        self.warnings = warnings
    }

    /// Runs edge discovery when no `--edge` was given and assigns one address per HA
    /// connection, spread across the two regions. Does nothing with static `--edge` addresses.
    /// Returns the regions found (empty with `--edge`).
    @discardableResult
    public mutating func resolveEdgeAddresses() async throws(EdgeDiscoveryError) -> [[EdgeAddress]] {
        guard let discovery else { return [] }
        let regions = try await EdgeDiscovery(configuration: discovery).discover()
        connector.edgeAddresses = EdgeDiscovery.assign(regions, connections: connector.haConnections)
        return regions
    }

    /// A connector for these settings, proxying to the ingress origins.
    public func makeConnector(metrics: ConnectorMetrics = ConnectorMetrics(), logger: Logger) -> TunnelConnector {
        let proxy = OriginProxy(
            ingress: ingress, client: OriginHTTPClient(logger: logger), connectorID: connector.connectorID, logger: logger)
        return TunnelConnector(configuration: connector, proxy: proxy, metrics: metrics, logger: logger)
    }

    private static func isIPLiteral(_ host: String, version: String) -> Bool {
        if version == "6" { return host.contains(":") }
        let parts = host.split(separator: ".", omittingEmptySubsequences: false)
        return parts.count == 4 && parts.allSatisfy { UInt8($0) != nil }
    }
}
