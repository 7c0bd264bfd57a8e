#if canImport(FoundationEssentials)
public import FoundationEssentials
#else
public import Foundation
#endif

/// The JSON shapes of the Cloudflare-v4-compatible API, as cloudflared reads and writes them
/// (management-api.md A5). IDs are canonical lowercase UUID strings and times RFC 3339 strings,
/// kept as text so that what goes on the wire is exactly what is built here.
public enum V4 {
    /// A tunnel (`cfd_tunnel`).
    public struct Tunnel: Codable, Hashable, Sendable {
        public var id: String
        public var name: String
        public var accountTag: String
        public var createdAt: String
        public var deletedAt: String?
        public var connections: [Connection]
        public var connsActiveAt: String?
        public var connsInactiveAt: String?
        public var tunType: String
        public var status: String
        public var remoteConfig: Bool
        public var metadata: [String: String]
        /// Only in the create response.
        public var token: String?
        /// Only in the create response.
        public var credentialsFile: CredentialsFile?

        enum CodingKeys: String, CodingKey {
            case id, name, connections, status, metadata, token
            case accountTag = "account_tag", createdAt = "created_at", deletedAt = "deleted_at"
            case connsActiveAt = "conns_active_at", connsInactiveAt = "conns_inactive_at", tunType = "tun_type"
            case remoteConfig = "remote_config", credentialsFile = "credentials_file"
        }

        /// Creates a tunnel object.
        public init(id: String, name: String, accountTag: String, createdAt: String, deletedAt: String?, connections: [Connection], connsActiveAt: String?, connsInactiveAt: String?, status: String, token: String? = nil, credentialsFile: CredentialsFile? = nil) {
            self.id = id
            self.name = name
            self.accountTag = accountTag
            self.createdAt = createdAt
            self.deletedAt = deletedAt
            self.connections = connections
            self.connsActiveAt = connsActiveAt
            self.connsInactiveAt = connsInactiveAt
            self.tunType = "cfd_tunnel"
            self.status = status
            self.remoteConfig = false
            self.metadata = [:]
            self.token = token
            self.credentialsFile = credentialsFile
        }

        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            id = try c.decode(String.self, forKey: .id)
            name = try c.decodeIfPresent(String.self, forKey: .name) ?? ""
            accountTag = try c.decodeIfPresent(String.self, forKey: .accountTag) ?? ""
            createdAt = try c.decodeIfPresent(String.self, forKey: .createdAt) ?? ""
            deletedAt = try c.decodeIfPresent(String.self, forKey: .deletedAt)
            connections = try c.decodeIfPresent([Connection].self, forKey: .connections) ?? []
            connsActiveAt = try c.decodeIfPresent(String.self, forKey: .connsActiveAt)
            connsInactiveAt = try c.decodeIfPresent(String.self, forKey: .connsInactiveAt)
            tunType = try c.decodeIfPresent(String.self, forKey: .tunType) ?? "cfd_tunnel"
            status = try c.decodeIfPresent(String.self, forKey: .status) ?? ""
            remoteConfig = try c.decodeIfPresent(Bool.self, forKey: .remoteConfig) ?? false
            metadata = (try? c.decodeIfPresent([String: String].self, forKey: .metadata)) ?? [:]
            token = try c.decodeIfPresent(String.self, forKey: .token)
            credentialsFile = try c.decodeIfPresent(CredentialsFile.self, forKey: .credentialsFile)
        }

        public func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(id, forKey: .id)
            try c.encode(name, forKey: .name)
            try c.encode(accountTag, forKey: .accountTag)
            try c.encode(createdAt, forKey: .createdAt)
            try c.encode(deletedAt, forKey: .deletedAt)
            try c.encode(connections, forKey: .connections)
            try c.encode(connsActiveAt, forKey: .connsActiveAt)
            try c.encode(connsInactiveAt, forKey: .connsInactiveAt)
            try c.encode(tunType, forKey: .tunType)
            try c.encode(status, forKey: .status)
            try c.encode(remoteConfig, forKey: .remoteConfig)
            try c.encode(metadata, forKey: .metadata)
            try c.encodeIfPresent(token, forKey: .token)
            try c.encodeIfPresent(credentialsFile, forKey: .credentialsFile)
        }
    }

    /// The credentials file in a create response (Cloudflare's key spelling).
    public struct CredentialsFile: Codable, Hashable, Sendable {
        public var accountTag: String
        public var tunnelID: String
        public var tunnelName: String
        public var tunnelSecret: String

        enum CodingKeys: String, CodingKey {
            case accountTag = "AccountTag", tunnelID = "TunnelID", tunnelName = "TunnelName", tunnelSecret = "TunnelSecret"
        }
    }

    /// One connector connection (in a tunnel and in an active client).
    public struct Connection: Codable, Hashable, Sendable {
        public var coloName: String
        public var id: String
        public var isPendingReconnect: Bool
        public var originIP: String
        public var openedAt: String
        public var clientID: String
        public var clientVersion: String

        enum CodingKeys: String, CodingKey {
            case id
            case coloName = "colo_name", isPendingReconnect = "is_pending_reconnect", originIP = "origin_ip"
            case openedAt = "opened_at", clientID = "client_id", clientVersion = "client_version"
        }

        /// Creates a connection object.
        public init(coloName: String, id: String, isPendingReconnect: Bool, originIP: String, openedAt: String, clientID: String, clientVersion: String) {
            self.coloName = coloName
            self.id = id
            self.isPendingReconnect = isPendingReconnect
            self.originIP = originIP
            self.openedAt = openedAt
            self.clientID = clientID
            self.clientVersion = clientVersion
        }

        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            coloName = try c.decodeIfPresent(String.self, forKey: .coloName) ?? ""
            id = try c.decodeIfPresent(String.self, forKey: .id) ?? ""
            isPendingReconnect = try c.decodeIfPresent(Bool.self, forKey: .isPendingReconnect) ?? false
            originIP = try c.decodeIfPresent(String.self, forKey: .originIP) ?? ""
            openedAt = try c.decodeIfPresent(String.self, forKey: .openedAt) ?? ""
            clientID = try c.decodeIfPresent(String.self, forKey: .clientID) ?? ""
            clientVersion = try c.decodeIfPresent(String.self, forKey: .clientVersion) ?? ""
        }
    }

    /// A connector with its connections (`/connections`).
    public struct ActiveClient: Codable, Hashable, Sendable {
        public var id: String
        public var features: [String]
        public var version: String
        public var arch: String
        public var runAt: String
        public var conns: [Connection]

        enum CodingKeys: String, CodingKey {
            case id, features, version, arch, conns
            case runAt = "run_at"
        }

        /// Creates an active-client object.
        public init(id: String, features: [String], version: String, arch: String, runAt: String, conns: [Connection]) {
            self.id = id
            self.features = features
            self.version = version
            self.arch = arch
            self.runAt = runAt
            self.conns = conns
        }

        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            id = try c.decode(String.self, forKey: .id)
            features = try c.decodeIfPresent([String].self, forKey: .features) ?? []
            version = try c.decodeIfPresent(String.self, forKey: .version) ?? ""
            arch = try c.decodeIfPresent(String.self, forKey: .arch) ?? ""
            runAt = try c.decodeIfPresent(String.self, forKey: .runAt) ?? ""
            conns = try c.decodeIfPresent([Connection].self, forKey: .conns) ?? []
        }
    }

    /// An audit log entry (`/audit_logs`).
    public struct AuditEntry: Codable, Hashable, Sendable {
        public var id: Int64
        public var when: String
        public var action: String
        public var actor: String
        public var tunnelID: String?
        public var metadata: [String: String]

        enum CodingKeys: String, CodingKey {
            case id, when, action, actor, metadata
            case tunnelID = "tunnel_id"
        }

        /// Creates an audit entry.
        public init(id: Int64, when: String, action: String, actor: String, tunnelID: String?, metadata: [String: String]) {
            self.id = id
            self.when = when
            self.action = action
            self.actor = actor
            self.tunnelID = tunnelID
            self.metadata = metadata
        }

        public func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(id, forKey: .id)
            try c.encode(when, forKey: .when)
            try c.encode(action, forKey: .action)
            try c.encode(actor, forKey: .actor)
            try c.encode(tunnelID, forKey: .tunnelID)
            try c.encode(metadata, forKey: .metadata)
        }
    }

    /// The body of `POST …/cfd_tunnel`.
    public struct CreateTunnelRequest: Codable, Hashable, Sendable {
        public var name: String
        public var tunnelSecret: String
        public var configSrc: String?

        enum CodingKeys: String, CodingKey {
            case name
            case tunnelSecret = "tunnel_secret", configSrc = "config_src"
        }

        /// Creates a request body.
        public init(name: String, tunnelSecret: String) {
            self.name = name
            self.tunnelSecret = tunnelSecret
        }
    }

    /// The body of `PUT /zones/{zone}/tunnels/{id}/routes` (cloudflared's `route dns`).
    public struct HostnameRouteRequest: Codable, Hashable, Sendable {
        public var type: String
        public var userHostname: String?
        public var overwriteExisting: Bool?

        enum CodingKeys: String, CodingKey {
            case type
            case userHostname = "user_hostname", overwriteExisting = "overwrite_existing"
        }

        /// Creates a DNS route request.
        public init(hostname: String, overwrite: Bool) {
            self.type = "dns"
            self.userHostname = hostname
            self.overwriteExisting = overwrite
        }
    }

    /// Paging of a list response.
    public struct ResultInfo: Codable, Hashable, Sendable {
        public var count: Int
        public var page: Int
        public var perPage: Int
        public var totalCount: Int

        enum CodingKeys: String, CodingKey {
            case count, page
            case perPage = "per_page", totalCount = "total_count"
        }

        /// Creates paging information.
        public init(count: Int, page: Int, perPage: Int, totalCount: Int) {
            self.count = count
            self.page = page
            self.perPage = perPage
            self.totalCount = totalCount
        }
    }

    /// One entry of `errors`.
    public struct ErrorItem: Codable, Hashable, Sendable {
        public var code: Int
        public var message: String

        /// Creates an error entry.
        public init(code: Int, message: String) {
            self.code = code
            self.message = message
        }
    }

    /// The envelope every response has: `result` is always present (`null` for nothing).
    public struct Envelope<Result: Codable & Sendable>: Codable, Sendable {
        public var success: Bool
        public var errors: [ErrorItem]
        public var messages: [String]
        public var result: Result?
        public var resultInfo: ResultInfo?

        enum CodingKeys: String, CodingKey {
            case success, errors, messages, result
            case resultInfo = "result_info"
        }

        /// Creates an envelope.
        public init(success: Bool, errors: [ErrorItem] = [], result: Result?, resultInfo: ResultInfo? = nil) {
            self.success = success
            self.errors = errors
            self.messages = []
            self.result = result
            self.resultInfo = resultInfo
        }

        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            success = try c.decodeIfPresent(Bool.self, forKey: .success) ?? false
            errors = try c.decodeIfPresent([ErrorItem].self, forKey: .errors) ?? []
            messages = try c.decodeIfPresent([String].self, forKey: .messages) ?? []
            result = try c.decodeIfPresent(Result.self, forKey: .result)
            resultInfo = try c.decodeIfPresent(ResultInfo.self, forKey: .resultInfo)
        }

        public func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(success, forKey: .success)
            try c.encode(errors, forKey: .errors)
            try c.encode(messages, forKey: .messages)
            try c.encode(result, forKey: .result)
            try c.encodeIfPresent(resultInfo, forKey: .resultInfo)
        }
    }

    /// RFC 3339 with fractional seconds, UTC (`2021-07-29T13:46:14.090955Z`).
    public static func timestamp(_ date: Date) -> String {
        date.formatted(Date.ISO8601FormatStyle(includingFractionalSeconds: true))
    }

    /// Parses an RFC 3339 time, with or without fractional seconds.
    public static func parseTimestamp(_ text: String) -> Date? {
        if let date = try? Date.ISO8601FormatStyle(includingFractionalSeconds: true).parse(text) { return date }
        return try? Date.ISO8601FormatStyle().parse(text)
    }
}
