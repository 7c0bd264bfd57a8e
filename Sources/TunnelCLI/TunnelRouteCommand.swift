import ArgumentParser
import Foundation
import Logging
import TunnelControl
import TunnelCore

/// `tunnelctl tunnel route …`.
struct TunnelRouteCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "route",
        abstract: "Route hostnames to a tunnel.",
        subcommands: [TunnelRouteDNSCommand.self])
}

/// `tunnelctl tunnel route dns [--overwrite-dns|-f] TUNNEL HOSTNAME`.
struct TunnelRouteDNSCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dns",
        abstract: "Route a hostname to a tunnel with a CNAME record to <tunnel-id>.<tunnel domain>.",
        discussion: """
            The hostname must be in a zone of your account (a name without a dot is taken as \
            relative to cert.pem's zone; the apex is allowed). The edge routes visitors of that \
            hostname to the tunnel at once. Another A, AAAA or CNAME record at the name is \
            replaced only with --overwrite-dns.
            """)

    @ParentCommand var tunnel: TunnelCommand
    @OptionGroup var management: ManagementOptions

    @Flag(name: [.customShort("f"), .customLong("overwrite-dns")], help: "Replace another record at the hostname (env: TUNNEL_FORCE_PROVISIONING_DNS).")
    var overwriteDNS = false

    @Argument(help: "The tunnel's name or UUID.")
    var tunnelReference: String

    @Argument(help: "The hostname to route, e.g. app.example.test.")
    var hostname: String

    func run() async throws {
        guard hostname.wholeMatch(of: /[*_a-zA-Z0-9][-_.a-zA-Z0-9]*/) != nil else {
            throw ValidationError("\(hostname) is not a valid hostname (non-ASCII names go in their xn-- form)")
        }
        let overwrite = overwriteDNS || ["1", "true"].contains(ProcessInfo.processInfo.environment["TUNNEL_FORCE_PROVISIONING_DNS"]?.lowercased() ?? "")
        let context = ManagementContext.load(command: "route dns", options: management, tunnel: tunnel)
        let logger = Logger(label: "tunnelctl") { ConsoleLogHandler(label: $0, level: .info) }
        try await ManagementContext.perform {
            let id = try await context.findID(tunnelReference, credentialsFile: tunnel.runOptions.credentialsFile)
            let result = try await context.client.routeDNS(tunnelID: id, hostname: hostname, overwrite: overwrite)
            let name = result.name.isEmpty ? hostname : result.name
            let metadata: Logger.Metadata = ["tunnelID": "\(id.lowercasedString)"]
            for message in result.messages { logger.info("\(message)") }
            switch result.cname {
            case "new": logger.info("Added CNAME \(name) which will route to this tunnel", metadata: metadata)
            case "updated": logger.info("\(name) updated to route to your tunnel", metadata: metadata)
            case "unchanged": logger.info("\(name) is already configured to route to your tunnel", metadata: metadata)
            default: throw ValidationError("the API answered an unknown route result \(String(reflecting: result.cname))")
            }
        }
    }
}
