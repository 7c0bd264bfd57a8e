#if canImport(FoundationEssentials)
public import FoundationEssentials
#else
public import Foundation
#endif
import NIOCore
import NIOExtras
import NIOPosix
public import TunnelCore

/// DNS records at a server that takes RFC 2136 dynamic updates (BIND, Knot, PowerDNS…) signed
/// with TSIG (HMAC-SHA256): for zones hosted elsewhere (a partial setup). Updates carry
/// prerequisites, so a record that appeared meanwhile is not overwritten by accident; every
/// signed answer is verified. UDP first, TCP when the answer is truncated.
public struct RFC2136Provider: DNSRecordProvider {
    /// The server, its zone and key.
    public struct Configuration: Sendable, Hashable {
        /// The primary server's address (an IP literal or a name resolvable here).
        public var host: String
        /// Its port. Default 53.
        public var port: Int
        /// The zone to update, e.g. `example.com`.
        public var zone: String
        /// The TSIG key; `nil` sends unsigned updates (servers should refuse them).
        public var key: DNSTSIGKey?
        /// How long to wait for an answer. Default 5 s.
        public var timeout: Duration

        /// Creates a configuration; see each property for defaults.
        public init(host: String, port: Int = 53, zone: String, key: DNSTSIGKey?, timeout: Duration = .seconds(5)) {
            self.host = host
            self.port = port
            self.zone = zone.lowercased()
            self.key = key
            self.timeout = timeout
        }
    }

    /// Where updates go.
    public let configuration: Configuration

    /// Creates a provider.
    public init(configuration: Configuration) {
        self.configuration = configuration
    }

    public func setCNAME(name: String, target: String, ttl: UInt32 = 300, overwrite: Bool) async throws -> DNSRecordChange {
        let name = name.lowercased()
        var existing: (type: String, content: String)?
        for type in [DNSRecordType.cname, .a, .aaaa] {
            let answer = try await exchange(DNSMessage.query(id: .random(in: 0...UInt16.max), name: name, type: type), signed: false)
            if let record = answer.answers.first(where: { $0.name.lowercased() == name && $0.type == type }) {
                existing = (type.description, Self.text(record.data))
                break
            }
        }
        if let existing, existing.type == "CNAME", existing.content.lowercased() == target.lowercased() { return .unchanged }
        if let existing, !overwrite {
            throw DNSRecordProviderError.recordExists(name, type: existing.type, content: existing.content, at: configuration.host)
        }
        let add = DNSResourceRecord(name: name, type: .cname, ttl: ttl, data: .cname(target))
        let update: DNSMessage
        if overwrite {
            // Delete every RRset at the name, then add: one atomic update.
            let deleteAll = DNSResourceRecord(name: name, type: .any, recordClass: DNSMessage.classAny, ttl: 0, data: .other([]))
            update = .update(id: .random(in: 0...UInt16.max), zone: configuration.zone, updates: [deleteAll, add])
        } else {
            // Prerequisite: the name is not in use (RFC 2136 §2.4.5).
            let notInUse = DNSResourceRecord(name: name, type: .any, recordClass: DNSMessage.classNone, ttl: 0, data: .other([]))
            update = .update(id: .random(in: 0...UInt16.max), zone: configuration.zone, prerequisites: [notInUse], updates: [add])
        }
        let answer = try await exchange(update, signed: true)
        try check(answer, name: name)
        return existing.map { .replaced(type: $0.type, content: $0.content) } ?? .created
    }

    public func removeCNAME(name: String) async throws {
        let delete = DNSResourceRecord(name: name.lowercased(), type: .cname, recordClass: DNSMessage.classAny, ttl: 0, data: .other([]))
        let answer = try await exchange(.update(id: .random(in: 0...UInt16.max), zone: configuration.zone, updates: [delete]), signed: true)
        try check(answer, name: name)
    }

    private func check(_ answer: DNSMessage, name: String) throws {
        switch answer.responseCode {
        case 0: return
        case 6, 7: throw DNSRecordProviderError(.recordExists, "A record appeared at \(name) meanwhile at \(configuration.host); try again (with --overwrite-dns to replace it)")
        case 5: throw DNSRecordProviderError(.refused, "\(configuration.host) refused the update of \(configuration.zone) (REFUSED): the zone must allow updates with key \(configuration.key?.name ?? "(none)") (BIND: allow-update { key \(configuration.key?.name ?? "NAME"); };)")
        case 9: throw DNSRecordProviderError(.refused, "\(configuration.host) is not authoritative for \(configuration.zone) (NOTAUTH), or rejected the key \(configuration.key?.name ?? "(none)")")
        default: throw DNSRecordProviderError(.refused, "\(configuration.host) answered the update of \(name) with response code \(answer.responseCode)")
        }
    }

    // MARK: Transport

    /// Sends `message` (TSIG-signed when asked and a key is set) and returns the verified answer.
    func exchange(_ message: DNSMessage, signed: Bool) async throws -> DNSMessage {
        var bytes = try message.encoded()
        var mac: [UInt8]?
        if signed, let key = configuration.key {
            (bytes, mac) = try key.sign(bytes)
        }
        var answer = try await udp(bytes)
        if let parsed = try? DNSMessage(bytes: answer), parsed.isTruncated {
            answer = try await tcp(bytes)
        }
        guard let parsed = try? DNSMessage(bytes: answer), parsed.isResponse, parsed.id == message.id else {
            throw DNSRecordProviderError(.unreachable, "\(configuration.host):\(configuration.port) sent an answer that is not a DNS response to our query")
        }
        if let mac, let key = configuration.key {
            do {
                try key.verify(response: answer, requestMAC: mac)
            } catch {
                throw DNSRecordProviderError(.authentication, "\(configuration.host): \(error.description); check the TSIG key name and secret configured for \(configuration.zone)")
            }
        }
        return parsed
    }

    private var nanoseconds: Int64 {
        Int64(configuration.timeout.components.seconds) * 1_000_000_000 + configuration.timeout.components.attoseconds / 1_000_000_000
    }

    private func udp(_ bytes: [UInt8]) async throws -> [UInt8] {
        let server = try SocketAddress.makeAddressResolvingHost(configuration.host, port: configuration.port)
        let channel = try await DatagramBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .bind(host: server.protocol == .inet6 ? "::" : "0.0.0.0", port: 0) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try NIOAsyncChannel<AddressedEnvelope<ByteBuffer>, AddressedEnvelope<ByteBuffer>>(wrappingChannelSynchronously: channel)
                }
            }
        let timer = channel.channel.eventLoop.scheduleTask(in: .nanoseconds(nanoseconds)) { channel.channel.close(promise: nil) }
        defer { timer.cancel() }
        let id = Array(bytes.prefix(2))
        return try await channel.executeThenClose { inbound, outbound in
            try await outbound.write(AddressedEnvelope(remoteAddress: server, data: ByteBuffer(bytes: bytes)))
            for try await envelope in inbound where envelope.remoteAddress == server {
                let answer = Array(envelope.data.readableBytesView)
                if answer.prefix(2).elementsEqual(id) { return answer }
            }
            throw DNSRecordProviderError(.unreachable, "no answer from \(configuration.host):\(configuration.port) within \(configuration.timeout); check the server address of \(configuration.zone)")
        }
    }

    private func tcp(_ bytes: [UInt8]) async throws -> [UInt8] {
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connectTimeout(.nanoseconds(nanoseconds))
            .connect(host: configuration.host, port: configuration.port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(LengthFieldBasedFrameDecoder(lengthFieldBitLength: .twoBytes)))
                    try channel.pipeline.syncOperations.addHandler(LengthFieldPrepender(lengthFieldBitLength: .twoBytes))
                    return try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
                }
            }
        let timer = channel.channel.eventLoop.scheduleTask(in: .nanoseconds(nanoseconds)) { channel.channel.close(promise: nil) }
        defer { timer.cancel() }
        return try await channel.executeThenClose { inbound, outbound in
            try await outbound.write(ByteBuffer(bytes: bytes))
            for try await frame in inbound { return Array(frame.readableBytesView) }
            throw DNSRecordProviderError(.unreachable, "\(configuration.host):\(configuration.port) closed the TCP connection without an answer")
        }
    }

    static func text(_ data: DNSRecordData) -> String {
        switch data {
        case .a(let bytes), .aaaa(let bytes): IPLiteral.text(bytes) ?? "\(bytes)"
        case .cname(let target): target
        default: "\(data)"
        }
    }
}
