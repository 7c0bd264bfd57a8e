import ArgumentParser
import Foundation
import TunnelControl
import TunnelCore

/// `tunnelctl tunnel create NAME`: creates a tunnel and writes its credentials file.
struct TunnelCreateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "create",
        abstract: "Create a tunnel and write its credentials file.",
        discussion: """
            Creates the tunnel through the control-plane API (account and API token from cert.pem) \
            and writes <TunnelID>.json (mode 0400, never overwritten) beside cert.pem or at \
            --credentials-file. Whoever holds that file can run the tunnel; deleting the tunnel \
            revokes it. If the file cannot be written the tunnel is deleted again.
            """)

    @ParentCommand var tunnel: TunnelCommand
    @OptionGroup var management: ManagementOptions

    @Option(name: [.customLong("credentials-file"), .customLong("cred-file")], help: ArgumentHelp("Where to write the credentials JSON (env: TUNNEL_CRED_FILE; default: <TunnelID>.json beside cert.pem).", valueName: "path"))
    var credentialsFile: String?

    @Option(name: [.short, .long], help: ArgumentHelp("Tunnel secret, base64 of at least 32 bytes (env: TUNNEL_CREATE_SECRET; default: 32 random bytes).", valueName: "base64"))
    var secret: String?

    @Option(name: [.short, .long], help: "Print the created tunnel as json or yaml instead of the summary.")
    var output: String?

    @Argument(help: "The tunnel's name, unique among your tunnels (not a UUID).")
    var name: String

    func run() async throws {
        let environment = ProcessInfo.processInfo.environment
        guard UUID(tunnelIDString: name) == nil else { ManagementContext.fail("failed to create tunnel: you cannot use UUIDs as tunnel names") }
        var tunnelSecret = TunnelSecret.random()
        if let text = secret ?? environment["TUNNEL_CREATE_SECRET"] {
            guard let decoded = TunnelSecret(base64: text) else { ManagementContext.fail("Couldn't decode tunnel secret from base64; pass standard base64 with --secret") }
            guard decoded.bytes.count >= 32 else { ManagementContext.fail("Decoded tunnel secret must be at least 32 bytes long") }
            tunnelSecret = decoded
        }
        let context = ManagementContext.load(command: "create", options: management, tunnel: tunnel)
        try await ManagementContext.perform {
            let created: V4.Tunnel
            do {
                created = try await context.client.createTunnel(name: name, secret: tunnelSecret)
            } catch let error as ControlAPIClientError where error.status == 409 {
                throw ValidationError("failed to create tunnel: Create Tunnel API call failed: tunnel with name already exists (\(name)); pick another name or delete it with `tunnelctl tunnel delete \(name)`")
            }
            guard let id = UUID(tunnelIDString: created.id) else { throw ValidationError("failed to create tunnel: the API answered a tunnel ID that is not a UUID") }
            let explicitPath = credentialsFile ?? tunnel.runOptions.credentialsFile ?? environment["TUNNEL_CRED_FILE"]
            let path = explicitPath ?? context.defaultCredentialsPath(for: id)
            let credentials = TunnelCredentials(accountTag: context.certificate.accountID, tunnelSecret: tunnelSecret, tunnelID: id, endpoint: context.certificate.endpoint ?? "")
            do {
                try credentials.write(to: path)
            } catch {
                var message = "failed to create tunnel: Your tunnel '\(created.name)' was created with ID \(created.id). However, tunnelctl couldn't write tunnel credentials to \(path). The file-writing error is: \(error) "
                do {
                    try await context.client.deleteTunnel(id: id, cascade: true)
                    message += "The tunnel was deleted, because the tunnel can't be run without the credentials file."
                } catch {
                    message += "tunnelctl tried to delete the tunnel for you, but encountered an error (\(error)). Delete it yourself with `tunnelctl tunnel delete \(created.id)`."
                }
                throw ValidationError(message)
            }
            if let output {
                print(try OutputFormat.render(created, format: output), terminator: "")
                return
            }
            let chose = explicitPath == nil ? " tunnelctl chose this file based on where your origin certificate was found." : ""
            print("Tunnel credentials written to \(path).\(chose) Keep this file secret. To revoke these credentials, delete the tunnel.")
            print("")
            print("Created tunnel \(created.name) with id \(created.id)")
        }
    }
}

/// `tunnelctl tunnel delete [-f] TUNNEL...`: deletes tunnels, revoking their credentials.
struct TunnelDeleteCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "delete",
        abstract: "Delete tunnels; their credentials stop working at once.",
        discussion: """
            Deleting a tunnel revokes its credentials: its live connections are closed within a \
            second, its connectors cannot reconnect, and visitors get 530. A tunnel with live \
            connections is refused unless --force. Its local credentials file is removed.
            """)

    @ParentCommand var tunnel: TunnelCommand
    @OptionGroup var management: ManagementOptions

    @Option(name: [.customLong("credentials-file"), .customLong("cred-file")], help: ArgumentHelp("The credentials file to remove (env: TUNNEL_CRED_FILE; default: <TunnelID>.json beside cert.pem).", valueName: "path"))
    var credentialsFile: String?

    @Flag(name: [.short, .long], help: "Delete even while connectors are connected: they are disconnected (env: TUNNEL_RUN_FORCE_OVERWRITE).")
    var force = false

    @Argument(help: "Tunnel names or UUIDs.")
    var tunnels: [String] = []

    func run() async throws {
        guard !tunnels.isEmpty else {
            throw ValidationError("\"tunnelctl tunnel delete\" requires at least 1 argument, the ID or name of the tunnel to delete.")
        }
        let environment = ProcessInfo.processInfo.environment
        let cascade = force || ["1", "true"].contains(environment["TUNNEL_RUN_FORCE_OVERWRITE"]?.lowercased() ?? "")
        let context = ManagementContext.load(command: "delete", options: management, tunnel: tunnel)
        try await ManagementContext.perform {
            for id in try await context.findIDs(tunnels) {
                let current: V4.Tunnel
                do {
                    current = try await context.client.tunnel(id: id)
                } catch let error as ControlAPIClientError {
                    throw ValidationError("Can't get tunnel information. Please check tunnel id: \(id.lowercasedString): \(error.description)")
                }
                if let deletedAt = current.deletedAt, V4.parseTimestamp(deletedAt).map({ $0.timeIntervalSince1970 > -62_135_596_800 }) ?? false {
                    throw ValidationError("Tunnel \(id.lowercasedString) has already been deleted")
                }
                do {
                    try await context.client.deleteTunnel(id: id, cascade: cascade)
                } catch let error as ControlAPIClientError {
                    throw ValidationError("Error deleting tunnel \(id.lowercasedString): \(error.description)")
                }
                let path = credentialsFile ?? tunnel.runOptions.credentialsFile ?? environment["TUNNEL_CRED_FILE"] ?? context.defaultCredentialsPath(for: id)
                if FileManager.default.fileExists(atPath: path), let stored = try? TunnelCredentials(contentsOfFile: path), stored.tunnelID == id {
                    try? FileManager.default.removeItem(atPath: path)
                }
                printError("Deleted tunnel \(current.name) (\(id.lowercasedString))")
            }
        }
    }
}

/// `tunnelctl tunnel cleanup [-c CONNECTOR] TUNNEL...`: closes a tunnel's connections.
struct TunnelCleanupCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cleanup",
        abstract: "Close the connections of tunnels (all, or one connector's); connectors may reconnect.")

    @ParentCommand var tunnel: TunnelCommand
    @OptionGroup var management: ManagementOptions

    @Option(name: [.customShort("c"), .customLong("connector-id")], help: ArgumentHelp("Only this connector's connections (env: TUNNEL_CLEANUP_CONNECTOR).", valueName: "uuid"))
    var connectorID: String?

    @Argument(help: "Tunnel names or UUIDs.")
    var tunnels: [String] = []

    func run() async throws {
        guard !tunnels.isEmpty else {
            throw ValidationError("\"tunnelctl tunnel cleanup\" requires at least 1 argument, the IDs of the tunnels to cleanup connections.")
        }
        var connector: UUID?
        if let text = connectorID ?? ProcessInfo.processInfo.environment["TUNNEL_CLEANUP_CONNECTOR"] {
            guard let id = UUID(tunnelIDString: text) else { throw ValidationError("\(text) is not a valid client ID (must be a UUID)") }
            connector = id
        }
        let context = ManagementContext.load(command: "cleanup", options: management, tunnel: tunnel)
        try await ManagementContext.perform {
            for id in try await context.findIDs(tunnels) {
                printError("Cleanup connection for tunnel \(id.lowercasedString)\(connector.map { " for connector-id \($0.lowercasedString)" } ?? "")")
                do {
                    try await context.client.cleanupConnections(id: id, connectorID: connector)
                } catch let error as ControlAPIClientError {
                    // cloudflared only logs this and exits 0; a script deserves a failure status.
                    throw ValidationError("Error cleaning up connections for tunnel \(id.lowercasedString): \(error.description)")
                }
            }
        }
    }
}

/// `tunnelctl tunnel token [--cred-file F] TUNNEL`: prints (or writes) what runs a tunnel.
struct TunnelTokenCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "token",
        abstract: "Print the token that runs a tunnel (`tunnel run --token`), or write its credentials file.")

    @ParentCommand var tunnel: TunnelCommand
    @OptionGroup var management: ManagementOptions

    @Option(name: [.customLong("credentials-file"), .customLong("cred-file")], help: ArgumentHelp("Write the credentials JSON here (mode 0400, never overwritten) instead of printing the token (env: TUNNEL_CRED_FILE).", valueName: "path"))
    var credentialsFile: String?

    @Argument(help: "The tunnel's name or UUID.")
    var tunnelReference: String

    func run() async throws {
        let context = ManagementContext.load(command: "token", options: management, tunnel: tunnel)
        try await ManagementContext.perform {
            let id = try await context.findID(tunnelReference)
            let text: String
            do {
                text = try await context.client.tunnelToken(id: id)
            } catch let error as ControlAPIClientError {
                throw ValidationError("Could not get the Token for the given Tunnel \(id.lowercasedString): \(error.description)")
            }
            let token = try TunnelToken(text, source: "the API's token")
            if let path = credentialsFile ?? tunnel.runOptions.credentialsFile ?? ProcessInfo.processInfo.environment["TUNNEL_CRED_FILE"] {
                do {
                    try token.credentials.write(to: path)
                } catch {
                    throw ValidationError("error writing token credentials to JSON file in path \(path): \(error)")
                }
                return
            }
            print(token.encoded)
        }
    }
}
