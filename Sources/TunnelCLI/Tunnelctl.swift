import ArgumentParser

/// The `tunnelctl` command: a thin front end that composes the swift-tunnel libraries.
@main
struct Tunnelctl: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tunnelctl",
        abstract: "A Cloudflare Tunnel compatible connector, edge and control plane.",
        discussion: """
            tunnelctl speaks cloudflared's wire protocol and reads its files (cert.pem, \
            tunnel credentials JSON, tunnel tokens, config.yml).
            """,
        version: TunnelctlVersion.string,
        subcommands: [
            VersionCommand.self,
            LoginCommand.self,
            CredentialsCommand.self,
            TunnelCommand.self,
            EdgeCommand.self,
            DemoCommand.self,
        ]
    )
}

/// `tunnelctl tunnel ...`: commands that work on one tunnel, in cloudflared's layout.
struct TunnelCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tunnel",
        abstract: "Create, route, inspect and run tunnels.",
        subcommands: [
            LoginCommand.self, TunnelCreateCommand.self, TunnelListCommand.self, TunnelInfoCommand.self, TunnelDeleteCommand.self,
            TunnelCleanupCommand.self, TunnelTokenCommand.self, TunnelRouteCommand.self, TunnelRunCommand.self, TunnelIngressCommand.self,
        ]
    )

    @OptionGroup var options: TunnelOptions
    @OptionGroup var runOptions: TunnelRunOptions
    @OptionGroup var apiOptions: TunnelAPIOptions
}
