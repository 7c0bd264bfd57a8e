/// A DNS message (RFC 1035 section 4) as far as the tunnel needs it: queries, and answers with
/// A, AAAA, SRV, CNAME and TXT records (anything else is kept as raw bytes). A pure value type:
/// bytes in, message out, no I/O; the decoder checks every length and follows compression
/// pointers only backwards, so hostile input yields a ``DNSMessageError``.
public struct DNSMessage: Sendable, Hashable {
    /// The transaction ID.
    public var id: UInt16
    /// The header flags word: QR, opcode, AA, TC, RD, RA, Z, RCODE.
    public var flags: UInt16
    /// The question section.
    public var questions: [DNSQuestion]
    /// The answer section.
    public var answers: [DNSResourceRecord]
    /// The authority section.
    public var authorities: [DNSResourceRecord]
    /// The additional section.
    public var additionals: [DNSResourceRecord]

    /// Creates a message.
    public init(id: UInt16, flags: UInt16, questions: [DNSQuestion] = [], answers: [DNSResourceRecord] = [], authorities: [DNSResourceRecord] = [], additionals: [DNSResourceRecord] = []) {
        self.id = id
        self.flags = flags
        self.questions = questions
        self.answers = answers
        self.authorities = authorities
        self.additionals = additionals
    }

    /// A standard recursive query (RD set) for one name and type.
    public static func query(id: UInt16, name: String, type: DNSRecordType) -> DNSMessage {
        DNSMessage(id: id, flags: 0x0100, questions: [DNSQuestion(name: name, type: type)])
    }

    /// Whether this is a response (QR).
    public var isResponse: Bool { flags & 0x8000 != 0 }
    /// Whether the answer was truncated (TC): retry over TCP.
    public var isTruncated: Bool { flags & 0x0200 != 0 }
    /// The response code: 0 no error, 2 server failure, 3 no such name, 5 refused.
    public var responseCode: UInt16 { flags & 0x000F }
    /// The operation (0 QUERY, 5 UPDATE, …).
    public var opcode: UInt16 { (flags >> 11) & 0x0F }
    /// Whether recursion was desired.
    public var recursionDesired: Bool { flags & 0x0100 != 0 }

    /// Response codes (RFC 1035 §4.1.1, RFC 2136).
    public enum ResponseCode: UInt16, Sendable {
        case noError = 0, formatError = 1, serverFailure = 2, nameError = 3, notImplemented = 4, refused = 5
    }

    /// Header flags of a response to a query with `requestFlags`: QR set, the opcode and RD
    /// copied, AA and TC as given.
    public static func responseFlags(to requestFlags: UInt16, authoritative: Bool, truncated: Bool = false, code: ResponseCode) -> UInt16 {
        var flags: UInt16 = 0x8000 | (requestFlags & 0x7800) | (requestFlags & 0x0100)
        if authoritative { flags |= 0x0400 }
        if truncated { flags |= 0x0200 }
        return flags | code.rawValue
    }

    /// The message in wire format (names uncompressed).
    public func encoded() throws(DNSMessageError) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(512)
        func u16(_ value: UInt16) { out.append(UInt8(value >> 8)); out.append(UInt8(value & 0xFF)) }
        func u32(_ value: UInt32) { u16(UInt16(value >> 16)); u16(UInt16(value & 0xFFFF)) }
        u16(id)
        u16(flags)
        for count in [questions.count, answers.count, authorities.count, additionals.count] {
            guard count <= Int(UInt16.max) else { throw .tooLarge() }
            u16(UInt16(count))
        }
        for question in questions {
            try DNSName.encode(question.name, into: &out)
            u16(question.type.rawValue)
            u16(question.recordClass)
        }
        for record in answers + authorities + additionals {
            try DNSName.encode(record.name, into: &out)
            u16(record.type.rawValue)
            u16(record.recordClass)
            u32(record.ttl)
            var data: [UInt8] = []
            switch record.data {
            case .a(let address), .aaaa(let address):
                data = address
            case .srv(let priority, let weight, let port, let target):
                data = [UInt8(priority >> 8), UInt8(priority & 0xFF), UInt8(weight >> 8), UInt8(weight & 0xFF), UInt8(port >> 8), UInt8(port & 0xFF)]
                try DNSName.encode(target, into: &data)
            case .cname(let target), .ns(let target):
                try DNSName.encode(target, into: &data)
            case .soa(let primary, let mailbox, let serial, let refresh, let retry, let expire, let minimum):
                try DNSName.encode(primary, into: &data)
                try DNSName.encode(mailbox, into: &data)
                for value in [serial, refresh, retry, expire, minimum] {
                    data += [UInt8(value >> 24), UInt8((value >> 16) & 0xFF), UInt8((value >> 8) & 0xFF), UInt8(value & 0xFF)]
                }
            case .txt(let strings):
                for string in strings {
                    let bytes = Array(string.utf8)
                    guard bytes.count <= 255 else { throw .tooLarge() }
                    data.append(UInt8(bytes.count))
                    data += bytes
                }
            case .other(let bytes):
                data = bytes
            }
            guard data.count <= Int(UInt16.max) else { throw .tooLarge() }
            u16(UInt16(data.count))
            out += data
        }
        return out
    }

    /// Decodes a message in wire format.
    public init(bytes: some Collection<UInt8>) throws(DNSMessageError) {
        var reader = DNSReader(bytes: Array(bytes))
        id = try reader.u16()
        flags = try reader.u16()
        let counts = [try reader.u16(), try reader.u16(), try reader.u16(), try reader.u16()]
        questions = []
        for _ in 0..<counts[0] {
            let name = try reader.name()
            questions.append(DNSQuestion(name: name, type: DNSRecordType(rawValue: try reader.u16()), recordClass: try reader.u16()))
        }
        var sections: [[DNSResourceRecord]] = [[], [], []]
        for section in 0..<3 {
            for _ in 0..<counts[section + 1] {
                sections[section].append(try reader.record())
            }
        }
        answers = sections[0]
        authorities = sections[1]
        additionals = sections[2]
    }
}

/// A question: name, type, class (1 = IN).
public struct DNSQuestion: Sendable, Hashable {
    /// The queried name, without the trailing dot.
    public var name: String
    /// The queried type.
    public var type: DNSRecordType
    /// The class; 1 (IN) unless told otherwise.
    public var recordClass: UInt16

    /// Creates a question.
    public init(name: String, type: DNSRecordType, recordClass: UInt16 = 1) {
        self.name = name
        self.type = type
        self.recordClass = recordClass
    }
}

/// A record type code.
public struct DNSRecordType: RawRepresentable, Sendable, Hashable, CustomStringConvertible {
    /// The type code.
    public var rawValue: UInt16
    /// Creates a type from its code.
    public init(rawValue: UInt16) { self.rawValue = rawValue }

    /// IPv4 address.
    public static let a = DNSRecordType(rawValue: 1)
    /// Authoritative name server.
    public static let ns = DNSRecordType(rawValue: 2)
    /// Start of authority.
    public static let soa = DNSRecordType(rawValue: 6)
    /// EDNS(0) pseudo-record (RFC 6891).
    public static let opt = DNSRecordType(rawValue: 41)
    /// Any type (a query only).
    public static let any = DNSRecordType(rawValue: 255)
    /// Canonical name.
    public static let cname = DNSRecordType(rawValue: 5)
    /// Text strings.
    public static let txt = DNSRecordType(rawValue: 16)
    /// IPv6 address.
    public static let aaaa = DNSRecordType(rawValue: 28)
    /// Service location (RFC 2782).
    public static let srv = DNSRecordType(rawValue: 33)

    public var description: String {
        switch self {
        case .a: "A"
        case .ns: "NS"
        case .soa: "SOA"
        case .opt: "OPT"
        case .any: "ANY"
        case .cname: "CNAME"
        case .txt: "TXT"
        case .aaaa: "AAAA"
        case .srv: "SRV"
        default: "TYPE\(rawValue)"
        }
    }
}

/// A resource record.
public struct DNSResourceRecord: Sendable, Hashable {
    /// The owner name, without the trailing dot.
    public var name: String
    /// The record type.
    public var type: DNSRecordType
    /// The class; 1 (IN) normally.
    public var recordClass: UInt16
    /// Time to live, in seconds.
    public var ttl: UInt32
    /// The decoded data.
    public var data: DNSRecordData

    /// Creates a record.
    public init(name: String, type: DNSRecordType, recordClass: UInt16 = 1, ttl: UInt32, data: DNSRecordData) {
        self.name = name
        self.type = type
        self.recordClass = recordClass
        self.ttl = ttl
        self.data = data
    }
}

/// Record data by type.
public enum DNSRecordData: Sendable, Hashable {
    /// 4 address bytes.
    case a([UInt8])
    /// 16 address bytes.
    case aaaa([UInt8])
    /// Priority, weight, port and target host (RFC 2782).
    case srv(priority: UInt16, weight: UInt16, port: UInt16, target: String)
    /// The canonical name.
    case cname(String)
    /// A name server's name.
    case ns(String)
    /// Start of authority: primary server, mailbox, serial and timers in seconds.
    case soa(primary: String, mailbox: String, serial: UInt32, refresh: UInt32, retry: UInt32, expire: UInt32, minimum: UInt32)
    /// The character strings.
    case txt([String])
    /// Any other type, undecoded.
    case other([UInt8])
}

/// A malformed or unusable DNS message.
public struct DNSMessageError: Error, Hashable, Sendable, CustomStringConvertible {
    private enum Code: Hashable, Sendable {
        case truncated
        case badName(String)
        case badRecord(String)
        case tooLarge
    }

    private let code: Code

    static func truncated() -> Self { Self(code: .truncated) }
    static func badName(_ why: String) -> Self { Self(code: .badName(why)) }
    static func badRecord(_ why: String) -> Self { Self(code: .badRecord(why)) }
    static func tooLarge() -> Self { Self(code: .tooLarge) }

    public var description: String {
        switch code {
        case .truncated: "DNS message ends early"
        case .badName(let why): "DNS name is malformed: \(why)"
        case .badRecord(let why): "DNS record is malformed: \(why)"
        case .tooLarge: "DNS message field is too large to encode"
        }
    }
}

/// Domain names in wire format.
enum DNSName {
    /// Appends `name` as labels (a trailing dot is optional; the root is "" or ".").
    static func encode(_ name: String, into out: inout [UInt8]) throws(DNSMessageError) {
        var trimmed = Substring(name)
        if trimmed.hasSuffix(".") { trimmed = trimmed.dropLast() }
        var total = 1
        if !trimmed.isEmpty {
            for label in trimmed.split(separator: ".", omittingEmptySubsequences: false) {
                let bytes = Array(label.utf8)
                guard !bytes.isEmpty else { throw .badName("empty label in \(String(reflecting: name))") }
                guard bytes.count <= 63 else { throw .badName("a label longer than 63 bytes") }
                total += bytes.count + 1
                out.append(UInt8(bytes.count))
                out += bytes
            }
        }
        guard total <= 255 else { throw .badName("longer than 255 bytes") }
        out.append(0)
    }
}

/// A bounds-checked reader over a whole message (compression pointers are offsets into it).
struct DNSReader {
    let bytes: [UInt8]
    var offset = 0

    init(bytes: [UInt8]) { self.bytes = bytes }

    mutating func u8() throws(DNSMessageError) -> UInt8 {
        guard offset < bytes.count else { throw .truncated() }
        defer { offset += 1 }
        return bytes[offset]
    }

    mutating func u16() throws(DNSMessageError) -> UInt16 {
        UInt16(try u8()) << 8 | UInt16(try u8())
    }

    mutating func u32() throws(DNSMessageError) -> UInt32 {
        UInt32(try u16()) << 16 | UInt32(try u16())
    }

    mutating func take(_ count: Int) throws(DNSMessageError) -> [UInt8] {
        guard count >= 0, bytes.count - offset >= count else { throw .truncated() }
        defer { offset += count }
        return Array(bytes[offset..<offset + count])
    }

    /// A possibly compressed name; pointers must go strictly backwards (no loops).
    mutating func name() throws(DNSMessageError) -> String {
        var labels: [String] = []
        var position = offset
        var jumped = false
        var limit = position
        var length = 1
        while true {
            guard position < bytes.count else { throw .truncated() }
            let byte = bytes[position]
            switch byte & 0xC0 {
            case 0x00:
                if byte == 0 {
                    if !jumped { offset = position + 1 }
                    return labels.joined(separator: ".")
                }
                let count = Int(byte)
                guard bytes.count - position - 1 >= count else { throw .truncated() }
                length += count + 1
                guard length <= 255 else { throw .badName("longer than 255 bytes") }
                labels.append(String(decoding: bytes[(position + 1)...(position + count)], as: UTF8.self))
                position += count + 1
            case 0xC0:
                guard position + 1 < bytes.count else { throw .truncated() }
                let target = Int(byte & 0x3F) << 8 | Int(bytes[position + 1])
                guard target < limit else { throw .badName("a compression pointer that does not point backwards") }
                if !jumped { offset = position + 2 }
                jumped = true
                limit = target
                position = target
            default:
                throw .badName("an unsupported label type")
            }
        }
    }

    mutating func record() throws(DNSMessageError) -> DNSResourceRecord {
        let name = try name()
        let type = DNSRecordType(rawValue: try u16())
        let recordClass = try u16()
        let ttl = try u32()
        let length = Int(try u16())
        guard bytes.count - offset >= length else { throw .truncated() }
        let end = offset + length
        let data: DNSRecordData
        switch type {
        case .a:
            guard length == 4 else { throw .badRecord("an A record with \(length) bytes") }
            data = .a(try take(4))
        case .aaaa:
            guard length == 16 else { throw .badRecord("an AAAA record with \(length) bytes") }
            data = .aaaa(try take(16))
        case .srv:
            guard length >= 7 else { throw .badRecord("an SRV record with \(length) bytes") }
            let priority = try u16(), weight = try u16(), port = try u16()
            data = .srv(priority: priority, weight: weight, port: port, target: try self.name())
        case .cname:
            data = .cname(try self.name())
        case .ns:
            data = .ns(try self.name())
        case .soa:
            let primary = try self.name(), mailbox = try self.name()
            data = .soa(primary: primary, mailbox: mailbox, serial: try u32(), refresh: try u32(), retry: try u32(), expire: try u32(), minimum: try u32())
        case .txt:
            var strings: [String] = []
            while offset < end {
                let count = Int(try u8())
                guard end - offset >= count else { throw .badRecord("a TXT string past its record") }
                strings.append(String(decoding: try take(count), as: UTF8.self))
            }
            data = .txt(strings)
        default:
            data = .other(try take(length))
        }
        guard offset == end else { throw .badRecord("\(type) data of \(length) bytes does not match its content") }
        return DNSResourceRecord(name: name, type: type, recordClass: recordClass, ttl: ttl, data: data)
    }
}
