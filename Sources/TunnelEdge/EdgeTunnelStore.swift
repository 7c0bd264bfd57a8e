#if canImport(FoundationEssentials)
public import FoundationEssentials
#else
public import Foundation
#endif
import Synchronization
public import TunnelCore

/// A tunnel the edge knows: who may connect it and which hostnames route to it.
public struct EdgeTunnel: Hashable, Sendable {
    /// The tunnel ID.
    public var id: UUID
    /// The owning account's tag.
    public var accountTag: String
    /// The secret connectors must present.
    public var secret: TunnelSecret
    /// A human name (`tunnel create NAME`).
    public var name: String
    /// Hostnames routed to this tunnel: exact (`app.example.com`), wildcard (`*.example.com`)
    /// or `*` for every host.
    public var hostnames: [String]
    /// When the tunnel was deleted; deleted tunnels refuse connections.
    public var deletedAt: Date?

    /// Creates a tunnel record.
    public init(id: UUID, accountTag: String, secret: TunnelSecret, name: String = "", hostnames: [String] = [], deletedAt: Date? = nil) {
        self.id = id
        self.accountTag = accountTag
        self.secret = secret
        self.name = name
        self.hostnames = hostnames
        self.deletedAt = deletedAt
    }

    /// The tunnel's credentials file, as `tunnel create` writes it.
    public var credentials: TunnelCredentials {
        TunnelCredentials(accountTag: accountTag, tunnelSecret: secret, tunnelID: id)
    }
}

/// Where the edge looks up tunnels and hostname routes. The control plane provides a
/// persistent implementation; ``InMemoryTunnelStore`` serves static configurations and tests.
public protocol EdgeTunnelStore: Sendable {
    /// The tunnel with this ID, deleted or not.
    func tunnel(id: UUID) async throws -> EdgeTunnel?
    /// The live tunnel serving `hostname` (lowercased, without port): exact routes win over
    /// wildcards, longer wildcards over shorter ones, `*` last.
    func tunnel(forHostname hostname: String) async throws -> EdgeTunnel?
}

/// An in-memory tunnel store.
public final class InMemoryTunnelStore: EdgeTunnelStore {
    private let tunnels: Mutex<[UUID: EdgeTunnel]>

    /// Creates a store holding `tunnels`.
    public init(_ tunnels: [EdgeTunnel] = []) {
        self.tunnels = Mutex(Dictionary(tunnels.map { ($0.id, $0) }, uniquingKeysWith: { $1 }))
    }

    /// Adds or replaces a tunnel.
    public func upsert(_ tunnel: EdgeTunnel) {
        tunnels.withLock { $0[tunnel.id] = tunnel }
    }

    /// Marks a tunnel deleted (its connections are refused from now on).
    public func delete(id: UUID, at date: Date = Date()) {
        tunnels.withLock { $0[id]?.deletedAt = date }
    }

    /// Every tunnel.
    public var all: [EdgeTunnel] { tunnels.withLock { Array($0.values) } }

    public func tunnel(id: UUID) async throws -> EdgeTunnel? {
        tunnels.withLock { $0[id] }
    }

    public func tunnel(forHostname hostname: String) async throws -> EdgeTunnel? {
        let live = tunnels.withLock { $0.values.filter { $0.deletedAt == nil } }
        return HostnameRouter.best(for: hostname, among: live.map { ($0.hostnames, $0) })
    }
}

/// Picks the tunnel whose hostname pattern matches a host best.
public enum HostnameRouter {
    /// Lowercases a `Host` header value and strips its port (`[v6]:port` too).
    public static func normalize(_ host: String) -> String {
        var host = Substring(host.lowercased())
        if host.hasPrefix("[") {
            if let end = host.firstIndex(of: "]") { host = host[host.index(after: host.startIndex)..<end] }
        } else if let colon = host.lastIndex(of: ":"), host.firstIndex(of: ":") == colon {
            host = host[..<colon]
        }
        if host.hasSuffix(".") { host = host.dropLast() }
        return String(host)
    }

    /// How well `pattern` matches `host`: `nil` for no match, higher is more specific.
    public static func score(pattern: String, host: String) -> Int? {
        let pattern = pattern.lowercased()
        if pattern == host { return 1_000_000 }
        if pattern == "*" { return 0 }
        if pattern.hasPrefix("*."), host.hasSuffix(pattern.dropFirst()), host.count > pattern.count - 1 {
            return pattern.count
        }
        return nil
    }

    /// The best candidate for `host` among (patterns, value) pairs.
    public static func best<Value>(for host: String, among candidates: [([String], Value)]) -> Value? {
        let host = normalize(host)
        var best: (score: Int, value: Value)?
        for (patterns, value) in candidates {
            for pattern in patterns {
                if let score = score(pattern: pattern, host: host), score > (best?.score ?? -1) {
                    best = (score, value)
                }
            }
        }
        return best?.value
    }
}
