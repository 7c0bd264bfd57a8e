import ArgumentParser
import Foundation
import TunnelControl
import TunnelCore

/// `tunnelctl edge user …`: the people who log in (`tunnelctl login`) to an account.
struct EdgeUserCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "user",
        abstract: "Add, list and remove the users who log in with `tunnelctl login` (on the edge host).",
        subcommands: [EdgeUserAddCommand.self, EdgeUserListCommand.self, EdgeUserRemoveCommand.self, EdgeUserRollTokenCommand.self])
}

/// `tunnelctl edge user add NAME --account A`.
struct EdgeUserAddCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "add",
        abstract: "Add a user to an account and print their password (shown once).",
        discussion: "The password is stored as a bcrypt hash only. Give it to the user with the login command to run.")

    @OptionGroup var store: EdgeStoreOptions

    @Option(name: .long, help: "The account's name or ID.")
    var account: String

    @Argument(help: "The sign-in name (letters, digits, '-', '_', '.', '@').")
    var name: String

    func run() async throws {
        try await withControlPlane(store) { controlPlane in
            let (user, password) = try await controlPlane.addUser(accountIDOrName: account, name: name)
            print("user:     \(user.name) (account \(user.accountID))")
            print("password: \(password.value)")
            print("They sign in with `tunnelctl login --api-url http://EDGE:8787/client/v4` and pick a zone.")
        }
    }
}

/// `tunnelctl edge user list --account A`.
struct EdgeUserListCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "List an account's users, removed ones too.")

    @OptionGroup var store: EdgeStoreOptions

    @Option(name: .long, help: "The account's name or ID.")
    var account: String

    func run() async throws {
        try await withControlPlane(store) { controlPlane in
            var table = TabWriter()
            table.row(["USER", "ID", "ADDED", "REMOVED"])
            for user in try await controlPlane.users(accountIDOrName: account) {
                table.row([user.name, user.id, V4.timestamp(user.createdAt), user.removedAt.map(V4.timestamp) ?? "-"])
            }
            print(table.render(), terminator: "")
        }
    }
}

/// `tunnelctl edge user remove NAME`.
struct EdgeUserRemoveCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "remove",
        abstract: "Remove a user: they cannot sign in, and the API tokens of their cert.pem files are rolled.",
        discussion: "Running tunnels are not affected: they use their own credentials.")

    @OptionGroup var store: EdgeStoreOptions

    @Argument(help: "The user's sign-in name.")
    var name: String

    func run() async throws {
        try await withControlPlane(store) { controlPlane in
            let user = try await controlPlane.removeUser(name: name)
            print("removed user \(user.name); their cert.pem files no longer work")
        }
    }
}

/// `tunnelctl edge user roll-token NAME`.
struct EdgeUserRollTokenCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "roll-token",
        abstract: "Roll a user's API tokens: their cert.pem files stop working until they run `tunnelctl login` again.",
        discussion: "Use it when the user's permissions change. Running tunnels are not affected.")

    @OptionGroup var store: EdgeStoreOptions

    @Argument(help: "The user's sign-in name.")
    var name: String

    func run() async throws {
        try await withControlPlane(store) { controlPlane in
            let rolled = try await controlPlane.rollUserToken(name: name)
            print("rolled \(rolled.count) token\(rolled.count == 1 ? "" : "s") of \(name); they get a new one with `tunnelctl login`")
        }
    }
}

/// `tunnelctl edge token roll NAME --account A`.
struct EdgeTokenRollCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "roll",
        abstract: "Roll a service token: revoke it (and the tokens of cert.pem files it logged in for) and print a new one.")

    @OptionGroup var store: EdgeStoreOptions

    @Option(name: .long, help: "The account's name or ID.")
    var account: String

    @Argument(help: "The service token's name (`tunnelctl edge token list`).")
    var name: String

    func run() async throws {
        try await withControlPlane(store) { controlPlane in
            let (token, rolled) = try await controlPlane.rollServiceToken(accountIDOrName: account, name: name)
            print("rolled \(rolled.count) token\(rolled.count == 1 ? "" : "s") named \(name)")
            print("API token: \(token.value.value)")
            print("token ID:  \(token.record.id)")
        }
    }
}

/// `tunnelctl edge origin-cert …`.
struct EdgeOriginCertCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "origin-cert",
        abstract: "List and revoke the origin certificates logins issued (on the edge host).",
        subcommands: [EdgeOriginCertListCommand.self, EdgeOriginCertRevokeCommand.self])
}

/// `tunnelctl edge origin-cert list --account A`.
struct EdgeOriginCertListCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "List an account's origin certificates.")

    @OptionGroup var store: EdgeStoreOptions

    @Option(name: .long, help: "The account's name or ID.")
    var account: String

    @Option(name: [.short, .long], help: "Print json or yaml instead of the table.")
    var output: String?

    struct Row: Encodable {
        var id: String
        var zone: String
        var issuedTo: String
        var tokenID: String
        var createdAt: String
        var expiresOn: String
        var revokedAt: String?
    }

    func run() async throws {
        try await withControlPlane(store) { controlPlane in
            guard let found = try await controlPlane.store.account(idOrName: account) else { throw ControlPlaneError.accountNotFound(account) }
            let zones = Dictionary(uniqueKeysWithValues: try await controlPlane.store.zones(accountID: found.id).map { ($0.id, $0.name) })
            let rows = try await controlPlane.originCertificates(accountID: found.id).map {
                Row(id: $0.id, zone: zones[$0.zoneID] ?? $0.zoneID, issuedTo: $0.issuedTo, tokenID: $0.tokenID,
                    createdAt: V4.timestamp($0.createdAt), expiresOn: V4.timestamp($0.expiresAt), revokedAt: $0.revokedAt.map(V4.timestamp))
            }
            if let output {
                print(try OutputFormat.render(rows, format: output), terminator: "")
                return
            }
            var table = TabWriter()
            table.row(["ID", "ZONE", "ISSUED TO", "CREATED", "EXPIRES", "REVOKED"])
            for row in rows { table.row([row.id, row.zone, row.issuedTo, row.createdAt, row.expiresOn, row.revokedAt ?? "-"]) }
            print(table.render(), terminator: "")
        }
    }
}

/// `tunnelctl edge origin-cert revoke ID`.
struct EdgeOriginCertRevokeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "revoke",
        abstract: "Revoke an origin certificate and the API token of its cert.pem.",
        discussion: "Origin certificates are never removed automatically; revoked ones stay listed.")

    @OptionGroup var store: EdgeStoreOptions

    @Argument(help: "The certificate's ID (`tunnelctl edge origin-cert list`).")
    var id: String

    func run() async throws {
        try await withControlPlane(store) { controlPlane in
            let record = try await controlPlane.revokeOriginCertificate(id: id)
            print("revoked origin certificate \(record.id) (\(record.issuedTo)) and its token \(record.tokenID)")
        }
    }
}
