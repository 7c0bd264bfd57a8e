import ArgumentParser
import Foundation
import TunnelControl
import TunnelCore

/// `tunnelctl tunnel list`: the account's tunnels, as cloudflared prints them.
struct TunnelListCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list",
        abstract: "List your tunnels.",
        discussion: "Columns: ID, NAME, CREATED (RFC 3339) and CONNECTIONS (live connections per edge location, e.g. 4xSELF).")

    @ParentCommand var tunnel: TunnelCommand
    @OptionGroup var management: ManagementOptions

    @Option(name: [.short, .long], help: "Print json or yaml instead of the table.")
    var output: String?

    @Flag(name: [.customShort("d"), .customLong("show-deleted")], help: "Include deleted tunnels.")
    var showDeleted = false

    @Option(name: [.short, .long], help: "Only the tunnel with this name.")
    var name: String?

    @Option(name: [.customLong("name-prefix"), .customLong("np", withSingleDash: true)], help: "Only names starting with this.")
    var namePrefix: String?

    @Option(name: [.customLong("exclude-name-prefix"), .customLong("enp", withSingleDash: true)], help: "Leave out names starting with this.")
    var excludeNamePrefix: String?

    @Option(name: [.short, .long], help: ArgumentHelp("Only tunnels that existed at this time (RFC 3339). cloudflared parses but never sends it; tunnelctl does.", valueName: "time"))
    var when: String?

    @Option(name: [.short, .long], help: "Only the tunnel with this UUID.")
    var id: String?

    @Flag(name: [.customLong("show-recently-disconnected"), .customLong("rd", withSingleDash: true)], help: "Count connections that are reconnecting too.")
    var showRecentlyDisconnected = false

    @Option(name: .customLong("sort-by"), help: "name, id, createdAt, deletedAt or numConnections (env: TUNNEL_LIST_SORT_BY; default: name).")
    var sortBy: String?

    @Flag(name: .customLong("invert-sort"), help: "Reverse the order (env: TUNNEL_LIST_INVERT_SORT).")
    var invertSort = false

    @Option(name: .customLong("max-fetch-size"), help: "Page size asked of the API (env: TUNNEL_MAX_FETCH_SIZE; default: the server's).")
    var maxFetchSize: Int?

    func run() async throws {
        let environment = ProcessInfo.processInfo.environment
        var filter = TunnelFilter(isDeleted: showDeleted ? nil : false, name: name, namePrefix: namePrefix, excludePrefix: excludeNamePrefix)
        if let when {
            guard let date = V4.parseTimestamp(when) else { throw ValidationError("\(when) is not an RFC 3339 time (example: 2024-05-31T13:26:00Z)") }
            filter.existedAt = date
        }
        if let id {
            guard let uuid = UUID(tunnelIDString: id) else { throw ValidationError("\(id) is not a valid tunnel ID: expected a UUID") }
            filter.id = uuid
        }
        var field = sortBy ?? environment["TUNNEL_LIST_SORT_BY"] ?? "name"
        if !["name", "id", "createdAt", "deletedAt", "numConnections"].contains(field) {
            printError("\(field) is not a valid sort field. Valid sort fields are name, id, createdAt, deletedAt, numConnections. Defaulting to 'name'.")
            field = "name"
        }
        let invert = invertSort || ["1", "true"].contains(environment["TUNNEL_LIST_INVERT_SORT"]?.lowercased() ?? "")
        let perPage = maxFetchSize ?? environment["TUNNEL_MAX_FETCH_SIZE"].flatMap(Int.init)
        let context = ManagementContext.load(command: "list", options: management, tunnel: tunnel)
        try await ManagementContext.perform {
            var tunnels = try await context.client.listTunnels(filter, perPage: (perPage ?? 0) > 0 ? perPage : nil)
            let visible = { (tunnel: V4.Tunnel) in tunnel.connections.filter { showRecentlyDisconnected || !$0.isPendingReconnect } }
            tunnels.sort { lhs, rhs in
                let ordered: Bool
                switch field {
                case "id": ordered = lhs.id < rhs.id
                case "createdAt": ordered = lhs.createdAt < rhs.createdAt
                case "deletedAt": ordered = (lhs.deletedAt ?? "") < (rhs.deletedAt ?? "")
                case "numConnections": ordered = visible(lhs).count < visible(rhs).count
                default: ordered = lhs.name < rhs.name
                }
                return invert ? !ordered : ordered
            }
            if let output {
                let rows = tunnels.map { ListedTunnel(tunnel: $0, connections: visible($0)) }
                print(try OutputFormat.render(rows, format: output), terminator: "")
                return
            }
            guard !tunnels.isEmpty else {
                print("No tunnels were found for the given filter flags. You can use 'tunnelctl tunnel create' to create a tunnel.")
                return
            }
            var table = TabWriter()
            table.line("You can obtain more detailed information for each tunnel with `tunnelctl tunnel info <name/uuid>`")
            table.row(["ID", "NAME", "CREATED", "CONNECTIONS"])
            for tunnel in tunnels {
                table.row([tunnel.id, tunnel.name, Self.rfc3339Seconds(tunnel.createdAt), Self.connectionSummary(visible(tunnel))])
            }
            print(table.render(), terminator: "")
        }
    }

    /// `2xDFW, 2xLAX`: connections per location, locations sorted.
    static func connectionSummary(_ connections: [V4.Connection]) -> String {
        var counts: [String: Int] = [:]
        for connection in connections { counts[connection.coloName, default: 0] += 1 }
        return counts.keys.sorted().map { "\(counts[$0]!)x\($0)" }.joined(separator: ", ")
    }

    /// RFC 3339 with whole seconds, as Go's `time.RFC3339`.
    static func rfc3339Seconds(_ text: String) -> String {
        guard let date = V4.parseTimestamp(text) else { return text }
        return date.formatted(Date.ISO8601FormatStyle())
    }
}

/// A tunnel as `list -o json` prints it (cloudflared's keys).
struct ListedTunnel: Encodable {
    let tunnel: V4.Tunnel
    let connections: [V4.Connection]

    enum CodingKeys: String, CodingKey {
        case id, name, connections
        case createdAt = "created_at", deletedAt = "deleted_at"
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(tunnel.id, forKey: .id)
        try container.encode(tunnel.name, forKey: .name)
        try container.encode(tunnel.createdAt, forKey: .createdAt)
        try container.encode(tunnel.deletedAt ?? "0001-01-01T00:00:00Z", forKey: .deletedAt)
        try container.encode(connections.map(ListedConnection.init), forKey: .connections)
    }
}

/// A connection as `list -o json` prints it.
struct ListedConnection: Encodable {
    let connection: V4.Connection

    enum CodingKeys: String, CodingKey {
        case id
        case coloName = "colo_name", isPendingReconnect = "is_pending_reconnect", originIP = "origin_ip", openedAt = "opened_at"
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(connection.coloName, forKey: .coloName)
        try container.encode(connection.id, forKey: .id)
        try container.encode(connection.isPendingReconnect, forKey: .isPendingReconnect)
        try container.encode(connection.originIP, forKey: .originIP)
        try container.encode(connection.openedAt, forKey: .openedAt)
    }
}

/// `tunnelctl tunnel info TUNNEL`: a tunnel and its connectors.
struct TunnelInfoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "info",
        abstract: "Show a tunnel's connectors: ID, start time, architecture, version, origin IP and edge connections.")

    @ParentCommand var tunnel: TunnelCommand
    @OptionGroup var management: ManagementOptions

    @Option(name: [.short, .long], help: "Print json or yaml instead of the table.")
    var output: String?

    @Flag(name: [.customLong("show-recently-disconnected"), .customLong("rd", withSingleDash: true)], help: "Show connections that are reconnecting too.")
    var showRecentlyDisconnected = false

    @Option(name: .customLong("sort-by"), help: "id, createdAt, numConnections or version (env: TUNNEL_INFO_SORT_BY; default: createdAt).")
    var sortBy: String?

    @Flag(name: .customLong("invert-sort"), help: "Reverse the order (env: TUNNEL_INFO_INVERT_SORT).")
    var invertSort = false

    @Argument(help: "The tunnel's name or UUID.")
    var tunnelReference: String

    func run() async throws {
        let environment = ProcessInfo.processInfo.environment
        var field = sortBy ?? environment["TUNNEL_INFO_SORT_BY"] ?? "createdAt"
        if !["id", "createdAt", "numConnections", "version"].contains(field) {
            printError("\(field) is not a valid sort field. Valid sort fields are id, createdAt, numConnections, version. Defaulting to 'createdAt'.")
            field = "createdAt"
        }
        let invert = invertSort || ["1", "true"].contains(environment["TUNNEL_INFO_INVERT_SORT"]?.lowercased() ?? "")
        let context = ManagementContext.load(command: "info", options: management, tunnel: tunnel)
        try await ManagementContext.perform {
            let id = try await context.findID(tunnelReference)
            var clients: [V4.ActiveClient]
            do {
                clients = try await context.client.connections(id: id)
            } catch let error as ControlAPIClientError {
                throw ValidationError("Can't get tunnel information. Please check tunnel id: \(id.lowercasedString): \(error.description)")
            }
            let found = try await context.client.listTunnels(TunnelFilter(id: id))
            guard found.count == 1 else { throw ValidationError("Expected to find a single tunnel with uuid \(id.lowercasedString) but found \(found.count) tunnels.") }
            let tunnel = found[0]
            for index in clients.indices where !showRecentlyDisconnected {
                clients[index].conns.removeAll { $0.isPendingReconnect }
            }
            clients.sort { lhs, rhs in
                let ordered: Bool
                switch field {
                case "id": ordered = lhs.id < rhs.id
                case "numConnections": ordered = lhs.conns.count < rhs.conns.count
                case "version": ordered = lhs.version < rhs.version
                default: ordered = lhs.runAt < rhs.runAt
                }
                return invert ? !ordered : ordered
            }
            if let output {
                print(try OutputFormat.render(InfoOutput(id: tunnel.id, name: tunnel.name, createdAt: tunnel.createdAt, conns: clients), format: output), terminator: "")
                return
            }
            guard !clients.isEmpty else {
                print("Your tunnel \(id.lowercasedString) does not have any active connection.")
                return
            }
            var table = TabWriter()
            table.line("NAME:     \(tunnel.name)")
            table.line("ID:       \(tunnel.id)")
            table.line("CREATED:  \(Self.goTime(tunnel.createdAt))")
            table.line("")
            let visible = clients.filter { !$0.conns.isEmpty }
            if visible.isEmpty {
                // cloudflared prints this line before the NAME block (its table is buffered); here it follows.
                table.line("This tunnel has no active connectors.")
            } else {
                table.row(["CONNECTOR ID", "CREATED", "ARCHITECTURE", "VERSION", "ORIGIN IP", "EDGE"])
                for client in visible {
                    table.row([client.id, TunnelListCommand.rfc3339Seconds(client.runAt), client.arch, client.version, client.conns.first?.originIP ?? "", TunnelListCommand.connectionSummary(client.conns)])
                }
            }
            print(table.render(), terminator: "")
        }
    }

    /// Go's default `time.Time` text: `2021-07-29 13:46:14.090955 +0000 UTC`.
    static func goTime(_ text: String) -> String {
        guard let date = V4.parseTimestamp(text) else { return text }
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let parts = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second, .nanosecond], from: date)
        func two(_ value: Int?) -> String { String(format: "%02d", value ?? 0) }
        var fraction = String(format: "%06d", ((parts.nanosecond ?? 0) + 500) / 1000)
        while fraction.hasSuffix("0") { fraction.removeLast() }
        let seconds = two(parts.second) + (fraction.isEmpty ? "" : "." + fraction)
        return "\(parts.year ?? 1)-\(two(parts.month))-\(two(parts.day)) \(two(parts.hour)):\(two(parts.minute)):\(seconds) +0000 UTC"
    }
}

/// `info -o json`: cloudflared's keys.
struct InfoOutput: Encodable {
    let id: String
    let name: String
    let createdAt: String
    let conns: [V4.ActiveClient]
}
