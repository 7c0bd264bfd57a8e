/// What an authoritative server knows: its zones and their records, as a value. The control
/// plane builds it from its store; ``DNSAuthority/respond(to:maxSize:)`` answers from it.
public struct DNSZoneData: Sendable, Hashable {
    /// Zone apex names, lowercase, without the trailing dot.
    public var zones: Set<String>
    /// Records by owner name (lowercase): CNAME, A, AAAA, TXT. A `*.zone` owner is a wildcard.
    public var records: [String: [DNSRecordData]]
    /// The name servers announced in NS records and the SOA (the first is the SOA's primary).
    public var nameServers: [String]
    /// The SOA mailbox, as a name (`hostmaster.example.test`).
    public var mailbox: String
    /// The SOA serial: increases whenever the data changes.
    public var serial: UInt32
    /// TTL of answers, and the SOA minimum (negative answers), in seconds. Default 300.
    public var ttl: UInt32
    /// Names whose CNAME target ends with one of these suffixes are answered with the target's
    /// A/AAAA under their own name, like a flattened apex: routes as address records. Default
    /// none (routes answer as CNAME plus the target's addresses).
    public var flattenTargetsUnder: [String] = []

    /// Creates zone data.
    public init(zones: Set<String> = [], records: [String: [DNSRecordData]] = [:], nameServers: [String] = [], mailbox: String = "", serial: UInt32 = 1, ttl: UInt32 = 300) {
        self.zones = zones
        self.records = records
        self.nameServers = nameServers
        self.mailbox = mailbox
        self.serial = serial
        self.ttl = ttl
    }

    /// The zone holding `name`: the longest apex it ends with.
    public func zone(of name: String) -> String? {
        var best: String?
        for zone in zones where name == zone || name.hasSuffix("." + zone) {
            if zone.count > (best?.count ?? -1) { best = zone }
        }
        return best
    }

    /// The records of `name`: its own, else those of the closest `*.` wildcard above it.
    func recordsOf(_ name: String, in zone: String) -> [DNSRecordData]? {
        if let own = records[name] { return own }
        guard name != zone, !hasDescendants(name) else { return nil }
        var parent = Substring(name)
        while let dot = parent.firstIndex(of: ".") {
            parent = parent[parent.index(after: dot)...]
            if let wildcard = records["*." + parent] { return wildcard }
            if parent == zone { break }
        }
        return nil
    }

    /// Whether some record lies below `name` (an empty non-terminal exists: NODATA, not NXDOMAIN).
    func hasDescendants(_ name: String) -> Bool {
        records.keys.contains { $0.hasSuffix("." + name) && !$0.hasPrefix("*.") }
    }
}

/// An authoritative answer engine over ``DNSZoneData``: pure, no I/O, fuzzable.
///
/// CNAMEs are answered with the target's addresses when the target is in the data too; a CNAME
/// at a zone apex is flattened (answered as the target's A/AAAA with the apex as owner, since a
/// CNAME cannot stand beside the apex's SOA and NS). Names outside the zones are REFUSED, unknown
/// names NXDOMAIN with the SOA, names without the asked type NODATA with the SOA.
public enum DNSAuthority {
    /// The answer to `query` as wire bytes, or `nil` when the bytes are not worth an answer (no
    /// header, or a response). Over UDP `maxSize` is 512 or the EDNS size the client announced;
    /// a larger answer is cut to its question with TC set, so the client retries over TCP.
    public static func respond(to query: [UInt8], data: DNSZoneData?, maxSize: Int? = nil) -> [UInt8]? {
        guard query.count >= 12 else { return nil }
        let id = UInt16(query[0]) << 8 | UInt16(query[1])
        let flags = UInt16(query[2]) << 8 | UInt16(query[3])
        guard flags & 0x8000 == 0 else { return nil }
        let message: DNSMessage
        do {
            message = try DNSMessage(bytes: query)
        } catch {
            return try? DNSMessage(id: id, flags: DNSMessage.responseFlags(to: flags, authoritative: false, code: .formatError)).encoded()
        }
        var response = answer(message, data: data)
        var limit = maxSize
        if limit != nil, let opt = message.additionals.first(where: { $0.type == .opt }) {
            // EDNS: the client's UDP payload size is the OPT record's class.
            limit = max(512, min(Int(opt.recordClass), 4096))
            response.additionals.append(DNSResourceRecord(name: "", type: .opt, recordClass: UInt16(limit!), ttl: 0, data: .other([])))
        }
        guard var bytes = try? response.encoded() else {
            return try? DNSMessage(id: id, flags: DNSMessage.responseFlags(to: flags, authoritative: false, code: .serverFailure), questions: message.questions).encoded()
        }
        if let limit, bytes.count > limit {
            var cut = DNSMessage(id: response.id, flags: response.flags | 0x0200, questions: response.questions)
            cut.additionals = response.additionals.filter { $0.type == .opt }
            bytes = (try? cut.encoded()) ?? Array(bytes.prefix(12))
        }
        return bytes
    }

    /// The answer to a decoded query.
    public static func answer(_ query: DNSMessage, data: DNSZoneData?) -> DNSMessage {
        func reply(_ code: DNSMessage.ResponseCode, authoritative: Bool = false, answers: [DNSResourceRecord] = [], authorities: [DNSResourceRecord] = []) -> DNSMessage {
            DNSMessage(id: query.id, flags: DNSMessage.responseFlags(to: query.flags, authoritative: authoritative, code: code),
                       questions: query.questions, answers: answers, authorities: authorities)
        }
        guard query.opcode == 0 else { return reply(.notImplemented) }
        guard query.questions.count == 1, let question = query.questions.first else { return reply(.formatError) }
        guard let data else { return reply(.serverFailure) }
        guard question.recordClass == 1 || question.recordClass == 255 else { return reply(.refused) }
        var name = question.name.lowercased()
        if name.hasSuffix(".") { name.removeLast() }
        guard let zone = data.zone(of: name) else { return reply(.refused) }
        let soa = DNSResourceRecord(name: zone, type: .soa, ttl: data.ttl, data: .soa(
            primary: data.nameServers.first ?? zone, mailbox: data.mailbox.isEmpty ? "hostmaster." + zone : data.mailbox,
            serial: data.serial, refresh: 3600, retry: 600, expire: 604_800, minimum: data.ttl))
        let type = question.type
        var answers: [DNSResourceRecord] = []
        if name == zone {
            if type == .soa || type == .any { answers.append(soa) }
            if type == .ns || type == .any {
                answers += data.nameServers.map { DNSResourceRecord(name: zone, type: .ns, ttl: data.ttl, data: .ns($0)) }
            }
        }
        guard let records = data.recordsOf(name, in: zone) else {
            if !answers.isEmpty { return reply(.noError, authoritative: true, answers: answers) }
            let exists = name == zone || data.hasDescendants(name)
            return reply(exists ? .noError : .nameError, authoritative: true, authorities: [soa])
        }
        func addresses(of target: String, depth: Int) -> [DNSRecordData] {
            guard depth < 8, let targetZone = data.zone(of: target), let records = data.recordsOf(target, in: targetZone) else { return [] }
            if let next = records.compactMap({ if case .cname(let next) = $0 { next } else { nil } }).first {
                return addresses(of: next, depth: depth + 1)
            }
            return records.filter { if case .a = $0 { true } else if case .aaaa = $0 { true } else { false } }
        }
        func matches(_ record: DNSRecordData) -> Bool {
            switch record {
            case .a: type == .a || type == .any
            case .aaaa: type == .aaaa || type == .any
            case .txt: type == .txt || type == .any
            case .cname: true
            default: false
            }
        }
        if let target = records.compactMap({ if case .cname(let target) = $0 { target } else { nil } }).first {
            let flattened = addresses(of: target, depth: 0).filter(matches)
            if name == zone || data.flattenTargetsUnder.contains(where: { target.hasSuffix("." + $0) }) {
                // Apex CNAME flattening (and address routes): the target's addresses under this name.
                answers += flattened.map { DNSResourceRecord(name: name, type: Self.type(of: $0), ttl: data.ttl, data: $0) }
            } else {
                answers.append(DNSResourceRecord(name: name, type: .cname, ttl: data.ttl, data: .cname(target)))
                if type != .cname {
                    answers += flattened.map { DNSResourceRecord(name: target, type: Self.type(of: $0), ttl: data.ttl, data: $0) }
                }
            }
        } else {
            answers += records.filter(matches).map { DNSResourceRecord(name: name, type: Self.type(of: $0), ttl: data.ttl, data: $0) }
        }
        return reply(.noError, authoritative: true, answers: answers, authorities: answers.isEmpty ? [soa] : [])
    }

    static func type(of data: DNSRecordData) -> DNSRecordType {
        switch data {
        case .a: .a
        case .aaaa: .aaaa
        case .cname: .cname
        case .txt: .txt
        case .ns: .ns
        case .soa: .soa
        case .srv: .srv
        case .other: DNSRecordType(rawValue: 0)
        }
    }
}
