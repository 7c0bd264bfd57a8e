#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
public import NIOCore
import NIOPosix
public import TunnelCore

/// Finds edge addresses the way cloudflared does when no `--edge` is given (edge-protocol.md
/// 1.1): an SRV query for `_v2-origintunneld._tcp.argotunnel.com` (or `_REGION-v2-…` with
/// `--region`), at least two records (two regions), and every A/AAAA address of each target.
///
/// ```swift
/// let regions = try await EdgeDiscovery(configuration: .init(region: "us")).discover()
/// let perConnection = EdgeDiscovery.assign(regions, connections: 4)
/// ```
public struct EdgeDiscovery: Sendable {
    /// Where and what to ask.
    public struct Configuration: Sendable {
        /// `--region` (e.g. `us`, `fed`); `nil` or empty for the global service.
        public var region: String?
        /// Which address families to use.
        public var ipVersion: EdgeIPVersion
        /// DNS servers to ask, in order; `nil` reads `nameserver` lines from /etc/resolv.conf
        /// (falling back to 127.0.0.1:53). Default `nil`.
        public var resolvers: [SocketAddress]?
        /// How long to wait for each answer, per server and attempt. Default 5 s.
        public var timeout: Duration
        /// Attempts per server. Default 2.
        public var attempts: Int
        /// The discovery domain. Default `argotunnel.com`.
        public var domain: String

        /// Creates a configuration; see each property for defaults.
        public init(region: String? = nil, ipVersion: EdgeIPVersion = .auto, resolvers: [SocketAddress]? = nil, timeout: Duration = .seconds(5), attempts: Int = 2, domain: String = "argotunnel.com") {
            self.region = region
            self.ipVersion = ipVersion
            self.resolvers = resolvers
            self.timeout = timeout
            self.attempts = attempts
            self.domain = domain
        }
    }

    /// The settings used.
    public let configuration: Configuration

    /// Creates a discovery with `configuration`.
    public init(configuration: Configuration = .init()) {
        self.configuration = configuration
    }

    /// The SRV name queried: `_v2-origintunneld._tcp.argotunnel.com`, or with a region
    /// `_us-v2-origintunneld._tcp.argotunnel.com`.
    public var serviceName: String {
        let service = (configuration.region ?? "").isEmpty ? "v2-origintunneld" : "\(configuration.region!)-v2-origintunneld"
        return "_\(service)._tcp.\(configuration.domain)"
    }

    /// Resolves the regions: one address list per SRV record (at least two), in SRV priority
    /// order, each filtered to the configured IP version.
    public func discover() async throws(EdgeDiscoveryError) -> [[EdgeAddress]] {
        let resolvers = configuration.resolvers ?? Self.systemResolvers()
        let srv = try await ask(serviceName, .srv, resolvers: resolvers)
        let targets = srv.answers.compactMap { record -> (priority: UInt16, weight: UInt16, port: UInt16, target: String)? in
            if case .srv(let priority, let weight, let port, let target) = record.data { return (priority, weight, port, target) }
            return nil
        }.sorted { ($0.priority, UInt16.max - $0.weight) < ($1.priority, UInt16.max - $1.weight) }
        guard targets.count >= 2 else {
            throw .init("expected at least 2 Cloudflare Regions regions from SRV \(serviceName), got \(targets.count); check the DNS answer or pass --edge host:port")
        }
        var regions: [[EdgeAddress]] = []
        for target in targets {
            var addresses: [EdgeAddress] = []
            for type in configuration.ipVersion.recordTypes {
                let answer = try await ask(target.target, type, resolvers: resolvers)
                for record in answer.answers {
                    switch record.data {
                    case .a(let bytes), .aaaa(let bytes):
                        if let host = IPLiteral.text(bytes) { addresses.append(EdgeAddress(host: host, port: Int(target.port))) }
                    default:
                        continue
                    }
                }
            }
            guard !addresses.isEmpty else {
                throw .init("the SRV target \(target.target) has no \(configuration.ipVersion.familyName) address; check the DNS answer or pass --edge host:port")
            }
            regions.append(addresses)
        }
        return regions
    }

    /// One address per connection: each new connection takes an unused address from the region
    /// with more unused addresses (region 1 first when equal), so HA connections spread over
    /// regions; once every address is in use they are reused in the same order.
    public static func assign(_ regions: [[EdgeAddress]], connections: Int) -> [EdgeAddress] {
        let all = regions.flatMap { $0 }
        guard !all.isEmpty else { return [] }
        var unused = regions
        var order: [EdgeAddress] = []
        while order.count < all.count {
            guard let region = unused.indices.max(by: { unused[$0].count < unused[$1].count || (unused[$0].count == unused[$1].count && $0 > $1) }),
                !unused[region].isEmpty
            else { break }
            order.append(unused[region].removeFirst())
        }
        return (0..<connections).map { order[$0 % order.count] }
    }

    // MARK: DNS over UDP

    private func ask(_ name: String, _ type: DNSRecordType, resolvers: [SocketAddress]) async throws(EdgeDiscoveryError) -> DNSMessage {
        var failures: [String] = []
        for resolver in resolvers {
            for _ in 0..<max(1, configuration.attempts) {
                do {
                    let answer = try await Self.query(name: name, type: type, server: resolver, timeout: configuration.timeout)
                    switch answer.responseCode {
                    case 0:
                        return answer
                    case 3:
                        throw EdgeDiscoveryError("\(resolver.discoveryDescription) says \(name) does not exist (NXDOMAIN); check the name or pass --edge host:port")
                    default:
                        failures.append("\(resolver.discoveryDescription): response code \(answer.responseCode)")
                    }
                } catch let error as EdgeDiscoveryError {
                    throw error
                } catch {
                    failures.append("\(resolver.discoveryDescription): \(error)")
                }
            }
        }
        throw .init("no DNS answer for \(type) \(name) (\(failures.joined(separator: "; "))); check the DNS server or pass --edge host:port")
    }

    /// Sends one query over UDP and waits for the matching answer.
    static func query(name: String, type: DNSRecordType, server: SocketAddress, timeout: Duration) async throws -> DNSMessage {
        let id = UInt16.random(in: 0...UInt16.max)
        let query = try DNSMessage.query(id: id, name: name, type: type).encoded()
        let bindHost = server.protocol == .inet6 ? "::" : "0.0.0.0"
        let channel = try await DatagramBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .bind(host: bindHost, port: 0) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try NIOAsyncChannel<AddressedEnvelope<ByteBuffer>, AddressedEnvelope<ByteBuffer>>(wrappingChannelSynchronously: channel)
                }
            }
        let timer = channel.channel.eventLoop.scheduleTask(in: .nanoseconds(Int64(timeout.components.seconds) * 1_000_000_000 + timeout.components.attoseconds / 1_000_000_000)) {
            channel.channel.close(promise: nil)
        }
        defer { timer.cancel() }
        return try await channel.executeThenClose { inbound, outbound in
            try await outbound.write(AddressedEnvelope(remoteAddress: server, data: ByteBuffer(bytes: query)))
            for try await envelope in inbound {
                // Only an answer from the server with our ID and question counts (RFC 5452).
                guard envelope.remoteAddress == server,
                    let message = try? DNSMessage(bytes: envelope.data.readableBytesView),
                    message.id == id, message.isResponse, message.questions.first?.name.lowercased() == name.lowercased()
                else { continue }
                if message.isTruncated { throw EdgeDiscoveryError("the answer for \(name) was truncated (TC) and DNS over TCP is not supported") }
                return message
            }
            throw EdgeDiscoveryError("no answer within \(timeout)")
        }
    }

    /// `nameserver` lines of /etc/resolv.conf, port 53; 127.0.0.1:53 when there are none.
    public static func systemResolvers(resolvConf path: String = "/etc/resolv.conf") -> [SocketAddress] {
        let text = (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
        let servers = text.split(whereSeparator: \.isNewline).compactMap { line -> SocketAddress? in
            let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            guard fields.count >= 2, fields[0] == "nameserver" else { return nil }
            return try? SocketAddress(ipAddress: String(fields[1].split(separator: "%").first ?? fields[1]), port: 53)
        }
        return servers.isEmpty ? [try! SocketAddress(ipAddress: "127.0.0.1", port: 53)] : servers
    }
}

/// `--edge-ip-version`: which address families discovery returns.
public enum EdgeIPVersion: String, Sendable, Hashable {
    /// IPv4 addresses first, then IPv6.
    case auto
    /// IPv4 only.
    case v4 = "4"
    /// IPv6 only.
    case v6 = "6"

    var recordTypes: [DNSRecordType] {
        switch self {
        case .auto: [.a, .aaaa]
        case .v4: [.a]
        case .v6: [.aaaa]
        }
    }

    var familyName: String {
        switch self {
        case .auto: "IPv4 or IPv6"
        case .v4: "IPv4"
        case .v6: "IPv6"
        }
    }
}

/// Edge discovery failed; the description says what to check and suggests `--edge`.
public struct EdgeDiscoveryError: Error, Hashable, Sendable, CustomStringConvertible {
    /// What went wrong and what to do.
    public let message: String

    init(_ message: String) { self.message = message }

    public var description: String { "edge discovery: \(message)" }
}

extension SocketAddress {
    var discoveryDescription: String {
        guard let ip = ipAddress, let port else { return "\(self)" }
        return ip.contains(":") ? "[\(ip)]:\(port)" : "\(ip):\(port)"
    }
}
