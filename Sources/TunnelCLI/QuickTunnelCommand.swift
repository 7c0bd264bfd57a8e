import ArgumentParser
import Foundation
import Logging
import TunnelControl
import TunnelCore

/// `tunnelctl tunnel --url URL` without a subcommand: a quick tunnel, as cloudflared's
/// trycloudflare flow (management-api.md B, edge-protocol.md §10), from our control plane.
enum QuickTunnelCommand {
    static func run(_ command: TunnelCommand) async throws {
        let logger = Logger(label: "tunnelctl") { ConsoleLogHandler(label: $0, level: .info) }
        let environment = ProcessInfo.processInfo.environment
        let loaded = try? LoadedConfiguration.load(explicitPath: command.options.config)
        let configured = loaded?.file?.flagValues["quick-service"].flatMap { if case .string(let text) = $0 { text } else { nil } }
        let service = command.quickService ?? configured ?? origin(of: command.apiOptions.apiURL ?? environment["TUNNEL_API_URL"] ?? ManagementContext.defaultAPIURL)
        guard service.hasPrefix("http://") || service.hasPrefix("https://") else {
            logger.error("--quick-service \(String(reflecting: service)) is not an http:// or https:// URL (example: http://127.0.0.1:8787)")
            throw ExitCode.failure
        }
        logger.info("Requesting new quick Tunnel on \(service)...")
        let quick: V4.QuickTunnel
        do {
            quick = try await QuickTunnelClient(serviceURL: service, userAgent: "tunnelctl/\(TunnelctlVersion.string)", httpClient: apiHTTPClient).create()
        } catch let error as QuickTunnelError {
            logger.error("\(error.description)")
            throw ExitCode.failure
        }
        guard let credentials = QuickTunnelClient.credentials(of: quick) else {
            logger.error("the quick-tunnel service answered credentials that cannot be used")
            throw ExitCode.failure
        }
        for line in box(["Your quick Tunnel has been created! Visit it at (it may take some time to be reachable):", "https://" + quick.hostname]) {
            logger.info("\(line)")
        }
        try await TunnelRunCommand.serve(
            configPath: command.options.config, commandLine: { try command.runOptions.commandLine(over: nil) }, tunnelReference: quick.id,
            overrides: ["credentials-contents": .string(credentials.jsonEncoded)], quickTunnelHostname: quick.hostname)
    }

    /// cloudflared's banner: a `+---+` frame two spaces wider than the longest line each side.
    static func box(_ lines: [String]) -> [String] {
        let width = (lines.map(\.count).max() ?? 0) + 4
        let rule = "+" + String(repeating: "-", count: width) + "+"
        return [rule] + lines.map { "|  " + $0.padding(toLength: width - 2, withPad: " ", startingAt: 0) + "|" } + [rule]
    }

    /// `http://host:port` of an API URL (`http://host:port/client/v4`).
    static func origin(of apiURL: String) -> String {
        guard let schemeEnd = apiURL.range(of: "://") else { return apiURL }
        let rest = apiURL[schemeEnd.upperBound...]
        return String(apiURL[..<schemeEnd.upperBound]) + String(rest.prefix { $0 != "/" })
    }
}
