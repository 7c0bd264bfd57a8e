import ArgumentParser
import Foundation
import Logging
import TunnelControl
import TunnelCore
import TunnelEdge

/// Where the admin commands find the store: the state directory of `--state-dir`, edge.yml's
/// `stateDirectory`, or the default, exactly as `edge serve` finds it.
struct EdgeStoreOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("The edge's edge.yml (for its stateDirectory).", valueName: "path"))
    var config: String?

    @Option(name: .customLong("state-dir"), help: ArgumentHelp("The edge's state directory holding control.sqlite (default: ~/.tunnelctl/edge).", valueName: "path"))
    var stateDirectory: String?

    /// Opens the store; failures end the command with one line.
    func open() async -> (ControlPlane, any ControlStore) {
        var file = EdgeConfigFile()
        if let config, stateDirectory == nil {
            do {
                file = try EdgeConfigFile(contentsOfFile: config)
            } catch {
                ManagementContext.fail("\(error)")
            }
        }
        let directory = file.resolvedStateDirectory(configPath: config ?? "edge.yml", override: stateDirectory)
        let path = SQLControlStore.sqlitePath(stateDirectory: directory)
        do {
            var logger = Logger(label: "tunnelctl.edge.store")
            logger.logLevel = .warning
            let store = try await SQLControlStore.openSQLite(path: path, logger: logger)
            return (ControlPlane(store: store, logger: logger), store)
        } catch {
            ManagementContext.fail("\(error)")
        }
    }
}

/// Runs an admin command against the store, closing it afterwards; control-plane errors end
/// the command with one line.
func withControlPlane(_ options: EdgeStoreOptions, _ body: (ControlPlane) async throws -> Void) async throws {
    let (controlPlane, store) = await options.open()
    do {
        try await body(controlPlane)
        try? await store.close()
    } catch let error as ControlPlaneError {
        try? await store.close()
        ManagementContext.fail(error.description)
    } catch {
        try? await store.close()
        throw error
    }
}

/// Writes a cert.pem holding only the token block (enough for the tunnel commands).
func writeCertificate(zoneID: String, accountID: String, token: RedactedString, to path: String) throws {
    let certificate = OriginCertificate(zoneID: zoneID, accountID: accountID, apiToken: token)
    do {
        try SecureFile.writeNew(Array(try certificate.pemEncoded().utf8), to: path, mode: 0o600)
    } catch let error as CredentialsError {
        ManagementContext.fail(error.description)
    }
}

/// `tunnelctl edge account …`.
struct EdgeAccountCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "account",
        abstract: "Create and list the accounts of this edge's control plane (on the edge host).",
        subcommands: [EdgeAccountCreateCommand.self, EdgeAccountListCommand.self])
}

/// `tunnelctl edge account create NAME --zone Z`.
struct EdgeAccountCreateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "create",
        abstract: "Create an account with its zones and a first API token.",
        discussion: """
            Prints the account ID, the zone IDs and an API token (shown once; only its digest is \
            stored). --cert-out writes a cert.pem holding that token, which `tunnelctl tunnel …` \
            and `cloudflared tunnel --api-url …` use as is.
            """)

    @OptionGroup var store: EdgeStoreOptions

    @Option(name: .long, help: ArgumentHelp("A zone (domain) of the account; repeatable.", valueName: "domain"))
    var zone: [String] = []

    @Option(name: .customLong("cert-out"), help: ArgumentHelp("Also write a cert.pem with the token here (mode 0600, never overwritten).", valueName: "path"))
    var certOut: String?

    @Argument(help: "A unique name for the account.")
    var name: String

    func run() async throws {
        guard !zone.isEmpty else { throw ValidationError("give the account at least one zone: --zone example.test") }
        try await withControlPlane(store) { controlPlane in
            let (account, zones, token) = try await controlPlane.createAccount(name: name, zones: zone)
            print("account:   \(account.name)")
            print("account ID: \(account.id)")
            for zone in zones { print("zone:       \(zone.name) \(zone.id)") }
            print("API token:  \(token.value.value)")
            print("token ID:   \(token.record.id)")
            if let certOut {
                try writeCertificate(zoneID: zones[0].id, accountID: account.id, token: token.value, to: certOut)
                print("cert.pem written to \(certOut): use it with `tunnelctl tunnel --origincert \(certOut) --api-url URL list`")
            }
        }
    }
}

/// `tunnelctl edge account list`.
struct EdgeAccountListCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "List the accounts with their zones.")

    @OptionGroup var store: EdgeStoreOptions

    @Option(name: [.short, .long], help: "Print json or yaml instead of the table.")
    var output: String?

    struct Row: Encodable {
        let id: String
        let name: String
        let createdAt: String
        let zones: [String: String]
    }

    func run() async throws {
        try await withControlPlane(store) { controlPlane in
            var rows: [Row] = []
            for account in try await controlPlane.store.accounts() {
                let zones = try await controlPlane.store.zones(accountID: account.id)
                rows.append(Row(id: account.id, name: account.name, createdAt: V4.timestamp(account.createdAt), zones: Dictionary(uniqueKeysWithValues: zones.map { ($0.name, $0.id) })))
            }
            if let output {
                print(try OutputFormat.render(rows, format: output), terminator: "")
                return
            }
            guard !rows.isEmpty else {
                print("No accounts yet. Create one with `tunnelctl edge account create NAME --zone example.test`.")
                return
            }
            var table = TabWriter()
            table.row(["ID", "NAME", "CREATED", "ZONES"])
            for row in rows { table.row([row.id, row.name, row.createdAt, row.zones.keys.sorted().joined(separator: ", ")]) }
            print(table.render(), terminator: "")
        }
    }
}

/// `tunnelctl edge token …`.
struct EdgeTokenCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "token",
        abstract: "Create, list, roll and revoke API tokens (on the edge host).",
        subcommands: [EdgeTokenCreateCommand.self, EdgeTokenListCommand.self, EdgeTokenRollCommand.self, EdgeTokenRevokeCommand.self])
}

/// `tunnelctl edge token create --account A [--name N] [--cert-out F]`.
struct EdgeTokenCreateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "create",
        abstract: "Issue an API token for an account (a user, or a service with --name).",
        discussion: "The token is printed once. --cert-out writes a cert.pem holding it, for `tunnelctl tunnel …` and cloudflared.")

    @OptionGroup var store: EdgeStoreOptions

    @Option(name: .long, help: "The account's name or ID.")
    var account: String

    @Option(name: [.customLong("name"), .customLong("service")], help: "Who the token is for (default: user).")
    var name = "user"

    @Option(name: .long, help: ArgumentHelp("The zone written into --cert-out (default: the account's first zone).", valueName: "domain"))
    var zone: String?

    @Option(name: .customLong("cert-out"), help: ArgumentHelp("Also write a cert.pem with the token here (mode 0600, never overwritten).", valueName: "path"))
    var certOut: String?

    func run() async throws {
        try await withControlPlane(store) { controlPlane in
            let token = try await controlPlane.createToken(accountIDOrName: account, name: name)
            print("API token: \(token.value.value)")
            print("token ID:  \(token.record.id)")
            if let certOut {
                let zones = try await controlPlane.store.zones(accountID: token.record.accountID)
                guard let chosen = zone.map({ wanted in zones.first { $0.name == wanted.lowercased() } }) ?? zones.first else {
                    ManagementContext.fail("the account has no zone \(zone ?? ""); its zones: \(zones.map(\.name).joined(separator: ", "))")
                }
                try writeCertificate(zoneID: chosen.id, accountID: token.record.accountID, token: token.value, to: certOut)
                print("cert.pem written to \(certOut)")
            }
        }
    }
}

/// `tunnelctl edge token list --account A`.
struct EdgeTokenListCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "List an account's API tokens (IDs only; tokens are never shown again).")

    @OptionGroup var store: EdgeStoreOptions

    @Option(name: .long, help: "The account's name or ID.")
    var account: String

    func run() async throws {
        try await withControlPlane(store) { controlPlane in
            guard let found = try await controlPlane.store.account(idOrName: account) else { throw ControlPlaneError.accountNotFound(account) }
            var table = TabWriter()
            table.row(["TOKEN ID", "NAME", "KIND", "CREATED", "REVOKED", "REASON"])
            for token in try await controlPlane.store.tokens(accountID: found.id) {
                table.row([
                    token.id, token.name, token.userID == nil ? "service" : "user", V4.timestamp(token.createdAt),
                    token.revokedAt.map(V4.timestamp) ?? "-", token.revocationReason ?? "-",
                ])
            }
            print(table.render(), terminator: "")
        }
    }
}

/// `tunnelctl edge token revoke ID`.
struct EdgeTokenRevokeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "revoke",
        abstract: "Revoke an API token: API requests and cert.pem files with it fail from now on.")

    @OptionGroup var store: EdgeStoreOptions

    @Argument(help: "The token ID (from `tunnelctl edge token list`).")
    var tokenID: String

    func run() async throws {
        try await withControlPlane(store) { controlPlane in
            let record = try await controlPlane.revokeToken(id: tokenID)
            print("revoked token \(record.id) (\(record.name)) of account \(record.accountID)")
        }
    }
}

/// `tunnelctl edge audit`: the audit log of an account.
struct EdgeAuditCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "audit",
        abstract: "Show an account's audit log: tunnels registered and unregistered, created and deleted, tokens created and revoked.")

    @OptionGroup var store: EdgeStoreOptions

    @Option(name: .long, help: "The account's name or ID (default: the only account).")
    var account: String?

    @Option(name: .long, help: ArgumentHelp("Only events newer than this: a duration (24h, 90m) or an RFC 3339 time.", valueName: "duration|time"))
    var since: String?

    @Option(name: .long, help: ArgumentHelp("Only events of this tunnel.", valueName: "uuid"))
    var tunnel: String?

    @Option(name: [.short, .long], help: "Print json or yaml instead of the table.")
    var output: String?

    func run() async throws {
        var filter = AuditFilter()
        if let since {
            if let date = V4.parseTimestamp(since) {
                filter.since = date
            } else if let duration = try? GoDuration.parse(since) {
                filter.since = Date().addingTimeInterval(-duration.timeInterval)
            } else {
                throw ValidationError("--since \(since): use a duration (24h, 90m) or an RFC 3339 time")
            }
        }
        if let tunnel {
            guard let id = UUID(tunnelIDString: tunnel) else { throw ValidationError("--tunnel \(tunnel) is not a UUID") }
            filter.tunnelID = id
        }
        try await withControlPlane(store) { controlPlane in
            let accountID: String
            if let account {
                guard let found = try await controlPlane.store.account(idOrName: account) else { throw ControlPlaneError.accountNotFound(account) }
                accountID = found.id
            } else {
                // The internal account of quick tunnels is only the default when it is alone.
                let all = try await controlPlane.store.accounts()
                let named = all.filter { !ControlPlane.isQuickTunnelAccount($0) }
                let accounts = named.isEmpty ? all : named
                guard accounts.count == 1 else {
                    throw ValidationError(accounts.isEmpty ? "there are no accounts yet" : "this edge has \(accounts.count) accounts: name one with --account")
                }
                accountID = accounts[0].id
            }
            var entries: [V4.AuditEntry] = []
            var page = 1
            while true {
                let batch = try await controlPlane.auditLog(accountID: accountID, filter: filter, page: page, perPage: 1000)
                entries += batch.items
                if batch.items.count < 1000 { break }
                page += 1
            }
            if let output {
                print(try OutputFormat.render(entries, format: output), terminator: "")
                return
            }
            var table = TabWriter()
            table.row(["TIME", "ACTION", "TUNNEL", "ACTOR", "DETAILS"])
            for entry in entries {
                let details = entry.metadata.keys.sorted().map { "\($0)=\(entry.metadata[$0]!)" }.joined(separator: " ")
                table.row([entry.when, entry.action, entry.tunnelID ?? "-", entry.actor, details])
            }
            print(table.render(), terminator: "")
        }
    }
}

/// `tunnelctl edge zone …`.
struct EdgeZoneCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "zone",
        abstract: "List zones and say where their DNS is hosted (on the edge host).",
        subcommands: [EdgeZoneListCommand.self, EdgeZoneSetCommand.self])
}

/// `tunnelctl edge zone list`.
struct EdgeZoneListCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "List every zone with its account and DNS hosting.")

    @OptionGroup var store: EdgeStoreOptions

    func run() async throws {
        try await withControlPlane(store) { controlPlane in
            var table = TabWriter()
            table.row(["ZONE", "ZONE ID", "ACCOUNT", "DNS"])
            for zone in try await controlPlane.store.allZones() {
                let hosting = !zone.hostedElsewhere ? "this edge" : zone.provider.map { "elsewhere, RFC 2136 at \($0.host):\($0.port) key \($0.keyName)" } ?? "elsewhere (records printed)"
                table.row([zone.name, zone.id, zone.accountID, hosting])
            }
            print(table.render(), terminator: "")
        }
    }
}

/// `tunnelctl edge zone set ZONE --hosted-elsewhere [--rfc2136 HOST:PORT --tsig-key NAME --tsig-secret B64] | --hosted-here`.
struct EdgeZoneSetCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "set",
        abstract: "Say where a zone's DNS is hosted: on this edge, or elsewhere (a partial setup).",
        discussion: """
            For a zone hosted elsewhere, `tunnel route dns` writes the CNAME at the zone's RFC 2136 \
            server when --rfc2136 is given (dynamic UPDATE signed with the TSIG key, HMAC-SHA256; \
            BIND: allow-update { key NAME; }), and otherwise prints the record to create there. \
            The edge's DNS server stops answering for it.
            """)

    @OptionGroup var store: EdgeStoreOptions

    @Flag(name: .customLong("hosted-elsewhere"), help: "The zone's DNS is at another provider.")
    var hostedElsewhere = false

    @Flag(name: .customLong("hosted-here"), help: "The edge's DNS server answers for the zone (the default).")
    var hostedHere = false

    @Option(name: .customLong("rfc2136"), help: ArgumentHelp("The zone's primary server taking dynamic updates.", valueName: "host:port"))
    var server: String?

    @Option(name: .customLong("tsig-key"), help: "The TSIG key's name, as the server knows it.")
    var keyName: String?

    @Option(name: .customLong("tsig-secret"), help: ArgumentHelp("The TSIG secret, base64 (HMAC-SHA256; env: TUNNEL_TSIG_SECRET).", valueName: "base64"))
    var secret: String?

    @Argument(help: "The zone, e.g. example.com.")
    var zone: String

    func run() async throws {
        guard hostedElsewhere != hostedHere else { throw ValidationError("give --hosted-elsewhere or --hosted-here") }
        var provider: ZoneProvider?
        if let server {
            guard hostedElsewhere else { throw ValidationError("--rfc2136 goes with --hosted-elsewhere") }
            guard let (host, port) = EdgeListenAddress.parse(server) else { throw ValidationError("--rfc2136 \(server) is not host:port (example: 192.0.2.53:53)") }
            guard let keyName, let secret = secret ?? ProcessInfo.processInfo.environment["TUNNEL_TSIG_SECRET"] else {
                throw ValidationError("--rfc2136 needs --tsig-key and --tsig-secret (or TUNNEL_TSIG_SECRET)")
            }
            guard TunnelSecret(base64: secret) != nil else { throw ValidationError("--tsig-secret is not base64 (BIND's `tsig-keygen -a hmac-sha256` prints one)") }
            provider = ZoneProvider(host: host, port: port, keyName: keyName, secret: secret)
        }
        try await withControlPlane(store) { controlPlane in
            guard var found = try await controlPlane.store.allZones().first(where: { $0.name == zone.lowercased() }) else {
                ManagementContext.fail("no zone \(zone); list them with `tunnelctl edge zone list`")
            }
            found.hostedElsewhere = hostedElsewhere
            found.provider = provider
            try await controlPlane.store.updateZone(found)
            print("\(found.name): DNS hosted \(hostedElsewhere ? "elsewhere" : "on this edge")\(provider.map { ", records written by RFC 2136 at \($0.host):\($0.port) with key \($0.keyName)" } ?? "")")
        }
    }
}
