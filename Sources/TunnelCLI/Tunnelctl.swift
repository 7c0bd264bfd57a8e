import ArgumentParser
import NIOCore
import NIOPosix

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

    /// The entry point: Swift Concurrency's tasks run on NIO's event loops instead of a pool of
    /// their own, then the command runs. The connector's and the edge's tasks hand bytes to
    /// channels on those loops all the time, and each hop between the two pools was a thread
    /// switch (5-7 % of both processes' time under load went to the kernel's task switching).
    /// Nothing in tunnelctl blocks a thread inside a task: SQLite and bcrypt run on NIO's
    /// thread pool.
    static func main() async {
        NIOSingletons.unsafeTryInstallSingletonPosixEventLoopGroupAsConcurrencyGlobalExecutor()
        // The asynchronous `main(_:)` of AsyncParsableCommand (a plain call would pick the
        // synchronous one of ParsableCommand).
        let run: ([String]?) async -> Void = Self.main(_:)
        await run(nil)
    }
}

/// `tunnelctl tunnel ...`: commands that work on one tunnel, in cloudflared's layout.
struct TunnelCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tunnel",
        abstract: "Create, route, inspect and run tunnels; with --url and no subcommand, a quick tunnel.",
        discussion: """
            `tunnelctl tunnel --edge EDGE:7844 --cacert ca.pem --url http://localhost:8080` asks the \
            control plane for a quick tunnel (anonymous, removed when the connector leaves), prints its \
            hostname and serves the URL through it. --quick-service (default: the --api-url host) \
            names the control plane; cloudflared does the same with `--quick-service http://EDGE:8787`.
            """,
        subcommands: [
            LoginCommand.self, TunnelCreateCommand.self, TunnelListCommand.self, TunnelInfoCommand.self, TunnelDeleteCommand.self,
            TunnelCleanupCommand.self, TunnelTokenCommand.self, TunnelRouteCommand.self, TunnelRunCommand.self, TunnelIngressCommand.self,
            TunnelDiagCommand.self,
        ]
    )

    @OptionGroup var options: TunnelOptions
    @OptionGroup var runOptions: TunnelRunOptions
    @OptionGroup var apiOptions: TunnelAPIOptions

    @Option(name: .customLong("quick-service"), help: ArgumentHelp("Where quick tunnels come from (config key quick-service; default: the host of --api-url, http://127.0.0.1:8787).", valueName: "url"))
    var quickService: String?

    func run() async throws {
        guard runOptions.url != nil || runOptions.helloWorld else { throw CleanExit.helpRequest(self) }
        try await QuickTunnelCommand.run(self)
    }
}
