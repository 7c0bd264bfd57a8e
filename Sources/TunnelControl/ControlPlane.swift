import Crypto
public import Foundation
public import Logging
import Synchronization
public import TunnelCore
public import TunnelEdge

/// A connector connection as the control plane sees it (from the edge that holds it).
public struct LiveConnectionInfo: Hashable, Sendable {
    /// The connection ID the edge gave it.
    public var id: UUID
    /// The connector (`clientId`).
    public var connectorID: UUID
    /// Slot on the connector, 0…3.
    public var connIndex: Int
    /// The connector's version.
    public var version: String
    /// The connector's architecture.
    public var arch: String
    /// The connector's address as the edge saw it.
    public var originIP: String
    /// The edge's location name.
    public var location: String
    /// When it registered.
    public var openedAt: Date
    /// Whether it unregistered and is draining.
    public var isPendingReconnect: Bool

    /// Creates a description of a live connection.
    public init(id: UUID, connectorID: UUID, connIndex: Int, version: String, arch: String, originIP: String, location: String, openedAt: Date, isPendingReconnect: Bool) {
        self.id = id
        self.connectorID = connectorID
        self.connIndex = connIndex
        self.version = version
        self.arch = arch
        self.originIP = originIP
        self.location = location
        self.openedAt = openedAt
        self.isPendingReconnect = isPendingReconnect
    }
}

/// What the control plane needs from the edge holding the connections: look at them, and
/// close them (revocation, cleanup). ``TunnelEdgeServer`` provides it.
public protocol LiveTunnelConnections: Sendable {
    /// The live connections of a tunnel.
    func liveConnections(tunnelID: UUID) -> [LiveConnectionInfo]
    /// Closes the connections of a tunnel, or of one of its connectors; returns how many.
    func disconnect(tunnelID: UUID, connectorID: UUID?) async -> Int
}

extension TunnelEdgeServer: LiveTunnelConnections {
    public func liveConnections(tunnelID: UUID) -> [LiveConnectionInfo] {
        registry.connections(of: tunnelID).map {
            LiveConnectionInfo(
                id: $0.id, connectorID: $0.connectorID, connIndex: $0.connIndex, version: $0.version, arch: $0.arch,
                originIP: $0.remoteAddress, location: $0.location, openedAt: $0.registeredAt, isPendingReconnect: $0.isDraining)
        }
    }
}

/// An API token as issued: the secret value is shown once and never stored.
public struct IssuedToken: Sendable {
    /// The stored record (ID, account, name).
    public var record: APITokenRecord
    /// The bearer token itself.
    public var value: RedactedString
}

/// The control plane: accounts, API tokens, tunnels, revocation and the audit log, over a
/// ``ControlStore``. The HTTP API (``ControlAPI``) and `tunnelctl edge …` call it; the edge
/// looks tunnels up through ``edgeTunnelStore(staticTunnels:)`` and reports its
/// connections to ``recordEdgeEvents(_:)``.
public final class ControlPlane: Sendable {
    /// Where everything is kept.
    public let store: any ControlStore
    let logger: Logger
    private let live = Mutex<(any LiveTunnelConnections)?>(nil)
    private let tunnelCache = Mutex<[UUID: EdgeTunnel]>([:])
    /// Hostname → tunnel, from the DNS routes; loaded on first use, updated by ``routeDNS``.
    let routes = Mutex<RouteTable?>(nil)
    /// The domain of `<tunnel-id>.<domain>` names, the target of tunnel routes.
    public let tunnelDomain: String
    /// What the edge's DNS server answers, rebuilt by ``refreshDNS()``.
    let dns = Mutex<(settings: DNSSettings?, snapshot: DNSZoneData?)>((nil, nil))
    /// The origin CA, login settings, polls waiting for an approval and browser sessions.
    let loginState = Mutex(LoginState())
    /// Failed sign-ins per user name, in 15-minute windows.
    let signInFailures = FixedWindowCounter(window: .seconds(900))
    /// Quick tunnels' settings and account; `nil` while they are off.
    let quickState = Mutex<QuickTunnelState?>(nil)

    /// Largest page size of lists. 1000.
    public static let maxPageSize = 1000
    /// Page size when the request names none. 20, as Cloudflare's API.
    public static let defaultPageSize = 20

    /// Creates a control plane over `store`.
    public init(store: any ControlStore, tunnelDomain: String = "cfargotunnel.com", logger: Logger = Logger(label: "tunnel.control")) {
        self.store = store
        self.tunnelDomain = tunnelDomain.lowercased()
        self.logger = logger
    }

    /// Connects the control plane to the edge holding the live connections.
    public func attach(_ connections: any LiveTunnelConnections) {
        live.withLock { $0 = connections }
    }

    var connections: (any LiveTunnelConnections)? { live.withLock { $0 } }

    // MARK: Accounts and tokens (edge host commands)

    /// Creates an account owning `zones`, with a first API token named `admin`.
    public func createAccount(name: String, zones zoneNames: [String], actor: String = "admin") async throws -> (account: Account, zones: [Zone], token: IssuedToken) {
        guard Self.isValidLabel(name) else {
            throw ControlPlaneError.invalidRequest("account name \(String(reflecting: name)) must be 1-64 letters, digits, '-', '_' or '.'")
        }
        var zones: [Zone] = []
        let account = Account(id: Self.randomTag(), name: name, createdAt: Date())
        for zoneName in zoneNames {
            let normalized = zoneName.lowercased().trimmingCharacters(in: CharacterSet(charactersIn: "."))
            guard Self.isValidZoneName(normalized) else {
                throw ControlPlaneError.invalidRequest("zone \(String(reflecting: zoneName)) is not a domain name (example: example.test)")
            }
            zones.append(Zone(id: Self.randomTag(), accountID: account.id, name: normalized))
        }
        try await store.insertAccount(account, zones: zones)
        try await store.appendAudit(AuditEvent(accountID: account.id, at: account.createdAt, action: .accountCreated, actor: actor, metadata: ["name": name, "zones": zones.map(\.name).joined(separator: ",")]))
        let token = try await createToken(accountIDOrName: account.id, name: "admin", actor: actor)
        return (account, zones, token)
    }

    /// Issues a new API token for an account.
    public func createToken(accountIDOrName: String, name: String, actor: String = "admin") async throws -> IssuedToken {
        guard let account = try await store.account(idOrName: accountIDOrName) else { throw ControlPlaneError.accountNotFound(accountIDOrName) }
        guard Self.isValidLabel(name) else {
            throw ControlPlaneError.invalidRequest("token name \(String(reflecting: name)) must be 1-64 letters, digits, '-', '_' or '.'")
        }
        return try await mintToken(accountID: account.id, name: name, userID: nil, actor: actor)
    }

    /// Issues a token for a user (`userID`) or a service (`name`), recording its digest only.
    func mintToken(accountID: String, name: String, userID: String?, actor: String) async throws -> IssuedToken {
        let value = Self.randomSecret(bytes: 30)
        let record = APITokenRecord(id: Self.randomTag(), accountID: accountID, name: name, createdAt: Date(), userID: userID)
        try await store.insertToken(record, digest: Self.digest(value))
        var metadata = ["token_id": record.id, "name": name]
        if let userID { metadata["user_id"] = userID }
        try await store.appendAudit(AuditEvent(accountID: accountID, at: record.createdAt, action: .tokenCreated, actor: actor, metadata: metadata))
        logger.info("API token created", metadata: ["account": "\(accountID)", "token": "\(record.id)", "name": "\(name)"])
        return IssuedToken(record: record, value: RedactedString(value))
    }

    /// Revokes an API token: requests with it are refused from now on.
    public func revokeToken(id: String, actor: String = "admin") async throws -> APITokenRecord {
        guard let record = try await store.revokeToken(id: id, at: Date(), reason: "revoked") else { throw ControlPlaneError.tokenNotFound(id) }
        try await store.appendAudit(AuditEvent(accountID: record.accountID, at: record.revokedAt ?? Date(), action: .tokenRevoked, actor: actor, metadata: ["token_id": record.id, "name": record.name]))
        logger.info("API token revoked", metadata: ["account": "\(record.accountID)", "token": "\(record.id)"])
        return record
    }

    // MARK: Authentication

    /// The token a request's `Authorization: Bearer …` header carries.
    public func authenticate(authorization: String?) async throws -> APITokenRecord {
        guard let authorization, authorization.count < 512 else { throw ControlPlaneError.unauthenticated() }
        let parts = authorization.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, parts[0].lowercased() == "bearer" else { throw ControlPlaneError.unauthenticated() }
        let value = parts[1].trimmingCharacters(in: .whitespaces)
        guard !value.isEmpty, let token = try await store.token(digest: Self.digest(value)) else { throw ControlPlaneError.unauthenticated() }
        // A known but revoked token gets its own answer, so that the holder of an old cert.pem
        // learns to log in again rather than to suspect a typo.
        guard token.revokedAt == nil else { throw ControlPlaneError.tokenRolled() }
        return token
    }

    /// Refuses a token of another account than the one in the path.
    public func authorize(_ token: APITokenRecord, accountID: String) throws {
        guard token.accountID == accountID else { throw ControlPlaneError.wrongAccount() }
    }

    // MARK: Tunnels

    /// Creates a tunnel (`POST …/cfd_tunnel`).
    public func createTunnel(accountID: String, name: String, secretBase64: String, actor: String) async throws -> V4.Tunnel {
        guard !name.isEmpty, name.utf8.count <= 255, !name.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else {
            throw ControlPlaneError.invalidRequest("tunnel name must be 1-255 bytes without control characters")
        }
        guard UUID(tunnelIDString: name) == nil else { throw ControlPlaneError.invalidRequest("you cannot use UUIDs as tunnel names") }
        guard let secret = TunnelSecret(base64: secretBase64), secret.bytes.count >= 32 else {
            throw ControlPlaneError.invalidRequest("tunnel_secret must be standard base64 of at least 32 bytes")
        }
        let tunnel = StoredTunnel(id: UUID(), accountID: accountID, name: name, secret: secret, createdAt: Date())
        try await store.insertTunnel(tunnel)
        try await store.appendAudit(AuditEvent(accountID: accountID, at: tunnel.createdAt, action: .tunnelCreated, actor: actor, tunnelID: tunnel.id, metadata: ["name": name]))
        logger.info("tunnel created", metadata: ["account": "\(accountID)", "tunnel": "\(tunnel.id.lowercasedString)", "name": "\(name)"])
        var view = render(tunnel)
        view.token = tunnel.token.encoded
        view.credentialsFile = V4.CredentialsFile(accountTag: accountID, tunnelID: tunnel.id.lowercasedString, tunnelName: name, tunnelSecret: secret.base64)
        return view
    }

    /// A tunnel of the account, deleted or not (`GET …/cfd_tunnel/{id}`).
    public func tunnel(accountID: String, id: UUID) async throws -> V4.Tunnel {
        render(try await storedTunnel(accountID: accountID, id: id))
    }

    /// A page of the account's tunnels (`GET …/cfd_tunnel`).
    public func listTunnels(accountID: String, filter: TunnelFilter, page: Int = 1, perPage: Int = ControlPlane.defaultPageSize) async throws -> Page<V4.Tunnel> {
        let stored = try await store.tunnels(accountID: accountID, filter: filter, page: page, perPage: perPage)
        return Page(items: stored.items.map(render), page: stored.page, perPage: stored.perPage, totalCount: stored.totalCount)
    }

    /// Deletes a tunnel and revokes its credentials: its live connections are closed at once
    /// and its reconnects refused. Without `cascade`, a tunnel with live connections is refused.
    public func deleteTunnel(accountID: String, id: UUID, cascade: Bool, actor: String) async throws -> V4.Tunnel {
        var tunnel = try await storedTunnel(accountID: accountID, id: id)
        let liveCount = connections?.liveConnections(tunnelID: id).count ?? 0
        if tunnel.deletedAt == nil {
            guard cascade || liveCount == 0 else { throw ControlPlaneError.tunnelHasConnections(id.lowercasedString) }
            let now = Date()
            if try await store.markTunnelDeleted(id: id, at: now) {
                tunnel.deletedAt = now
                try await store.appendAudit(AuditEvent(accountID: accountID, at: now, action: .tunnelDeleted, actor: actor, tunnelID: id, metadata: ["name": tunnel.name, "cascade": "\(cascade)"]))
            }
        }
        // The cache first: a reconnect racing the close must see the tunnel deleted.
        tunnelCache.withLock { $0[id]?.deletedAt = tunnel.deletedAt ?? Date() }
        let closed = await connections?.disconnect(tunnelID: id, connectorID: nil) ?? 0
        logger.info("tunnel deleted", metadata: ["account": "\(accountID)", "tunnel": "\(id.lowercasedString)", "closedConnections": "\(closed)"])
        return render(tunnel)
    }

    /// The token that runs a tunnel (`GET …/cfd_tunnel/{id}/token`).
    public func tunnelToken(accountID: String, id: UUID) async throws -> String {
        let tunnel = try await storedTunnel(accountID: accountID, id: id)
        guard tunnel.deletedAt == nil else { throw ControlPlaneError.tunnelDeleted(id.lowercasedString) }
        return tunnel.token.encoded
    }

    /// The connectors of a tunnel with their connections (`GET …/connections`).
    public func activeClients(accountID: String, id: UUID) async throws -> [V4.ActiveClient] {
        _ = try await storedTunnel(accountID: accountID, id: id)
        let live = connections?.liveConnections(tunnelID: id) ?? []
        var order: [UUID] = []
        var byConnector: [UUID: [LiveConnectionInfo]] = [:]
        for connection in live.sorted(by: { ($0.openedAt, $0.connIndex) < ($1.openedAt, $1.connIndex) }) {
            if byConnector[connection.connectorID] == nil { order.append(connection.connectorID) }
            byConnector[connection.connectorID, default: []].append(connection)
        }
        return order.map { connectorID in
            let conns = byConnector[connectorID] ?? []
            let first = conns[0]
            return V4.ActiveClient(
                id: connectorID.lowercasedString, features: [], version: first.version, arch: first.arch,
                runAt: V4.timestamp(conns.map(\.openedAt).min() ?? first.openedAt), conns: conns.map(Self.render))
        }
    }

    /// Closes a tunnel's connections, or one connector's (`DELETE …/connections`); the
    /// connectors may reconnect.
    public func cleanupConnections(accountID: String, id: UUID, connectorID: UUID?, actor: String) async throws {
        _ = try await storedTunnel(accountID: accountID, id: id)
        let closed = await connections?.disconnect(tunnelID: id, connectorID: connectorID) ?? 0
        logger.info("tunnel connections cleaned up", metadata: ["tunnel": "\(id.lowercasedString)", "closed": "\(closed)", "actor": "\(actor)"])
    }

    /// A page of the account's audit log.
    public func auditLog(accountID: String, filter: AuditFilter, page: Int = 1, perPage: Int = 100) async throws -> Page<V4.AuditEntry> {
        let events = try await store.audit(accountID: accountID, filter: filter, page: page, perPage: perPage)
        return Page(items: events.items.map(Self.render), page: events.page, perPage: events.perPage, totalCount: events.totalCount)
    }

    func storedTunnel(accountID: String, id: UUID) async throws -> StoredTunnel {
        guard let tunnel = try await store.tunnel(id: id), tunnel.accountID == accountID else {
            throw ControlPlaneError.tunnelNotFound(id.lowercasedString)
        }
        return tunnel
    }

    // MARK: Rendering

    func render(_ tunnel: StoredTunnel) -> V4.Tunnel {
        let live = connections?.liveConnections(tunnelID: tunnel.id) ?? []
        let status: String
        if !live.isEmpty {
            status = "healthy"
        } else {
            status = tunnel.lastActiveAt == nil ? "inactive" : "down"
        }
        return V4.Tunnel(
            id: tunnel.id.lowercasedString, name: tunnel.name, accountTag: tunnel.accountID, createdAt: V4.timestamp(tunnel.createdAt),
            deletedAt: tunnel.deletedAt.map(V4.timestamp), connections: live.map(Self.render),
            connsActiveAt: live.isEmpty ? nil : live.map(\.openedAt).min().map(V4.timestamp),
            connsInactiveAt: live.isEmpty ? tunnel.lastInactiveAt.map(V4.timestamp) : nil, status: status)
    }

    static func render(_ connection: LiveConnectionInfo) -> V4.Connection {
        V4.Connection(
            coloName: connection.location, id: connection.id.lowercasedString, isPendingReconnect: connection.isPendingReconnect,
            originIP: connection.originIP, openedAt: V4.timestamp(connection.openedAt), clientID: connection.connectorID.lowercasedString,
            clientVersion: connection.version)
    }

    static func render(_ event: AuditEvent) -> V4.AuditEntry {
        V4.AuditEntry(id: event.id, when: V4.timestamp(event.at), action: event.action.rawValue, actor: event.actor, tunnelID: event.tunnelID?.lowercasedString, metadata: event.metadata)
    }

    // MARK: Edge integration

    /// The edge's view of the store: static tunnels from edge.yml first, then the stored ones.
    public func edgeTunnelStore(staticTunnels: [EdgeTunnel] = []) -> ControlPlaneTunnelStore {
        ControlPlaneTunnelStore(controlPlane: self, staticTunnels: InMemoryTunnelStore(staticTunnels))
    }

    /// The stored tunnel as the edge needs it, cached: the edge asks on every registration and
    /// for every visitor request to a `<id>.<tunnel domain>` hostname.
    func edgeTunnel(id: UUID) async throws -> EdgeTunnel? {
        if let cached = tunnelCache.withLock({ $0[id] }) { return cached }
        guard let stored = try await store.tunnel(id: id) else { return nil }
        let tunnel = EdgeTunnel(id: stored.id, accountTag: stored.accountID, secret: stored.secret, name: stored.name, deletedAt: stored.deletedAt)
        tunnelCache.withLock { cache in
            if cache.count >= 100_000 { cache.removeAll() }
            // A deletion that landed meanwhile wins.
            if cache[id]?.deletedAt == nil { cache[id] = tunnel }
        }
        return tunnelCache.withLock { $0[id] } ?? tunnel
    }

    /// Records the edge's connector events: connection history and the audit log
    /// (Registered / Unregistered). Runs until the stream ends.
    public func recordEdgeEvents(_ events: AsyncStream<EdgeEvent>) async {
        // Connections that unregistered themselves; the others get their Unregistered event
        // when they close (lost, revoked, cleaned up).
        var unregistered = Set<UUID>()
        for await event in events {
            do {
                switch event {
                case .registered(let live):
                    try await store.connectionOpened(ConnectionRecord(
                        id: live.id, tunnelID: live.tunnelID, connectorID: live.connectorID, connIndex: live.connIndex,
                        clientVersion: live.version, arch: live.arch, originIP: live.remoteAddress, location: live.location, openedAt: live.registeredAt))
                    try await store.appendAudit(AuditEvent(
                        accountID: live.accountTag, at: live.registeredAt, action: .registered, actor: "connector:\(live.connectorID.lowercasedString)",
                        tunnelID: live.tunnelID, metadata: Self.metadata(live)))
                case .unregistered(let live):
                    unregistered.insert(live.id)
                    try await store.appendAudit(AuditEvent(
                        accountID: live.accountTag, at: Date(), action: .unregistered, actor: "connector:\(live.connectorID.lowercasedString)",
                        tunnelID: live.tunnelID, metadata: Self.metadata(live).merging(["reason": "unregistered"]) { $1 }))
                case .disconnected(let live):
                    try await store.connectionClosed(id: live.id, at: Date())
                    if unregistered.remove(live.id) != nil {
                        // The connector left on purpose: a quick tunnel goes with it.
                        try await quickTunnelConnectorLeft(live.tunnelID)
                    } else {
                        // Lost or closed by the edge (revocation, cleanup) without unregistering first.
                        try await store.appendAudit(AuditEvent(
                            accountID: live.accountTag, at: Date(), action: .unregistered, actor: "edge",
                            tunnelID: live.tunnelID, metadata: Self.metadata(live).merging(["reason": "disconnected"]) { $1 }))
                    }
                case .refused:
                    break
                }
            } catch {
                logger.error("cannot record an edge event in the control-plane store", metadata: ["error": "\(error)"])
            }
        }
    }

    static func metadata(_ live: LiveConnection) -> [String: String] {
        [
            "connection_id": live.id.lowercasedString, "conn_index": "\(live.connIndex)", "client_version": live.version,
            "client_id": live.connectorID.lowercasedString, "origin_ip": live.remoteAddress, "location": live.location, "arch": live.arch,
        ]
    }

    // MARK: Helpers

    /// `bytes` random bytes as URL-safe base64, without padding unless `padded` (tokens,
    /// passwords, cookies; login keys keep cloudflared's padding).
    static func randomSecret(bytes count: Int, padded: Bool = false) -> String {
        var generator = SystemRandomNumberGenerator()
        let random = (0..<count).map { _ in UInt8.random(in: 0...255, using: &generator) }
        let text = Base64.encode(random).replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
        return padded ? text : text.replacingOccurrences(of: "=", with: "")
    }

    /// 32 lowercase hex digits: account, zone and token IDs (Cloudflare's tag format).
    static func randomTag() -> String {
        var generator = SystemRandomNumberGenerator()
        return hex((0..<16).map { _ in UInt8.random(in: 0...255, using: &generator) })
    }

    static func hex(_ bytes: [UInt8]) -> String {
        let digits = Array("0123456789abcdef")
        var text = ""
        text.reserveCapacity(bytes.count * 2)
        for byte in bytes {
            text.append(digits[Int(byte >> 4)])
            text.append(digits[Int(byte & 0x0f)])
        }
        return text
    }

    /// SHA-256 (hex) of a token: tokens are 240-bit random, so a fast digest is enough.
    static func digest(_ token: String) -> String {
        hex(Array(SHA256.hash(data: Array(token.utf8))))
    }

    static func isValidLabel(_ text: String) -> Bool {
        !text.isEmpty && text.count <= 64 && text.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "-_.".contains($0)) }
    }

    static func isValidZoneName(_ name: String) -> Bool {
        let labels = name.split(separator: ".", omittingEmptySubsequences: false)
        guard labels.count >= 2, name.count <= 253 else { return false }
        return labels.allSatisfy { label in
            !label.isEmpty && label.count <= 63 && !label.hasPrefix("-") && !label.hasSuffix("-")
                && label.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-") }
        }
    }
}

/// The edge's tunnel lookup backed by the control plane, with edge.yml's static tunnels beside
/// it. `<tunnel-id>.<tunnel domain>` routes to that tunnel (the target of its CNAME records).
public final class ControlPlaneTunnelStore: EdgeTunnelStore {
    let controlPlane: ControlPlane
    let staticTunnels: InMemoryTunnelStore

    /// The domain of `<tunnel-id>.<domain>` hostnames, lowercase: the control plane's.
    public var tunnelDomain: String { controlPlane.tunnelDomain }

    init(controlPlane: ControlPlane, staticTunnels: InMemoryTunnelStore) {
        self.controlPlane = controlPlane
        self.staticTunnels = staticTunnels
    }

    public func tunnel(id: UUID) async throws -> EdgeTunnel? {
        if let tunnel = try await staticTunnels.tunnel(id: id) { return tunnel }
        return try await controlPlane.edgeTunnel(id: id)
    }

    public func tunnel(forHostname hostname: String) async throws -> EdgeTunnel? {
        if let tunnel = try await staticTunnels.tunnel(forHostname: hostname) { return tunnel }
        let host = HostnameRouter.normalize(hostname)
        let suffix = "." + tunnelDomain
        let id: UUID
        if host.hasSuffix(suffix), let direct = UUID(tunnelIDString: String(host.dropLast(suffix.count))) {
            id = direct
        } else if let routed = try await controlPlane.routedTunnel(host: host) {
            id = routed
        } else {
            return nil
        }
        guard let tunnel = try await tunnel(id: id), tunnel.deletedAt == nil else { return nil }
        return tunnel
    }
}
