import Crypto
#if canImport(FoundationEssentials)
public import FoundationEssentials
#else
public import Foundation
#endif

/// Transaction signatures (TSIG, RFC 8945) with HMAC-SHA256: signing a request and verifying
/// the signed response, on wire bytes. Pure functions; the clock is a parameter.
public struct DNSTSIGKey: Sendable, Hashable, CustomStringConvertible {
    /// The key's name, as the server knows it (`update-key`).
    public var name: String
    /// The shared secret.
    public var secret: [UInt8]

    /// Creates a key.
    public init(name: String, secret: [UInt8]) {
        self.name = name
        self.secret = secret
    }

    public var description: String { "TSIG key \(name) (hmac-sha256, secret redacted)" }

    static let algorithm = "hmac-sha256"
    static let type = DNSRecordType(rawValue: 250)
    /// Allowed clock difference, in seconds (RFC 8945 recommends 300).
    static let fudge: UInt16 = 300

    /// `message` with a TSIG record appended (ARCOUNT + 1); returns the signed bytes and the MAC
    /// (needed to verify the response).
    public func sign(_ message: [UInt8], at time: Date = Date()) throws(DNSMessageError) -> (bytes: [UInt8], mac: [UInt8]) {
        guard message.count >= 12 else { throw .truncated() }
        let signedAt = UInt64(max(0, time.timeIntervalSince1970))
        var variables: [UInt8] = []
        try appendVariables(to: &variables, time: signedAt, error: 0, other: [])
        let mac = hmac(message + variables)
        let id = Array(message[0..<2])
        var record: [UInt8] = []
        try DNSName.encode(name.lowercased(), into: &record)
        record += [0, 250, 0, 255, 0, 0, 0, 0]   // type TSIG, class ANY, TTL 0
        var data: [UInt8] = []
        try DNSName.encode(Self.algorithm, into: &data)
        data += Self.uint48(signedAt) + Self.u16(Self.fudge) + Self.u16(UInt16(mac.count)) + mac + id + Self.u16(0) + Self.u16(0)
        record += Self.u16(UInt16(data.count)) + data
        var signed = message
        let count = (UInt16(signed[10]) << 8 | UInt16(signed[11])) + 1
        signed[10] = UInt8(count >> 8)
        signed[11] = UInt8(count & 0xFF)
        return (signed + record, mac)
    }

    /// Checks the TSIG of a response to a request whose MAC was `requestMAC`: the last
    /// additional record must be a TSIG by this key, its MAC right and its time within the fudge.
    public func verify(response: [UInt8], requestMAC: [UInt8], now: Date = Date()) throws(DNSTSIGError) {
        let split: (unsigned: [UInt8], owner: String, data: [UInt8])
        do {
            split = try Self.splitTSIG(response)
        } catch {
            throw DNSTSIGError(.unsigned, "the answer is not a DNS message with a TSIG record (\(error))")
        }
        guard split.owner.lowercased() == name.lowercased() else { throw DNSTSIGError(.wrongKey, "the answer is signed with key \(split.owner), not \(name)") }
        var reader = DNSReader(bytes: split.data)
        let algorithm: String
        let signedAt: UInt64
        let fudge: UInt16
        let mac: [UInt8]
        let originalID: [UInt8]
        let error: UInt16
        let other: [UInt8]
        do {
            algorithm = try reader.name()
            signedAt = UInt64(try reader.u16()) << 32 | UInt64(try reader.u32())
            fudge = try reader.u16()
            mac = try reader.take(Int(try reader.u16()))
            originalID = try reader.take(2)
            error = try reader.u16()
            other = try reader.take(Int(try reader.u16()))
        } catch {
            throw DNSTSIGError(.unsigned, "the answer's TSIG record is malformed")
        }
        guard algorithm.lowercased() == Self.algorithm else { throw DNSTSIGError(.wrongKey, "the answer is signed with \(algorithm), not \(Self.algorithm)") }
        switch error {
        case 0: break
        case 16: throw DNSTSIGError(.badSignature, "the server rejected our signature (BADSIG): the TSIG secret differs from the server's")
        case 17: throw DNSTSIGError(.badKey, "the server does not know the key \(name) (BADKEY)")
        case 18: throw DNSTSIGError(.badTime, "the server says our clock is off by more than \(fudge) s (BADTIME)")
        default: throw DNSTSIGError(.badSignature, "the server answered TSIG error \(error)")
        }
        var unsigned = split.unsigned
        unsigned[0] = originalID[0]
        unsigned[1] = originalID[1]
        var variables: [UInt8] = []
        do {
            try appendVariables(to: &variables, time: signedAt, error: error, other: other, fudge: fudge)
        } catch {
            throw DNSTSIGError(.unsigned, "the key name is not a DNS name")
        }
        let expected = hmac(Self.u16(UInt16(requestMAC.count)) + requestMAC + unsigned + variables)
        guard expected.count == mac.count, zip(expected, mac).reduce(0, { $0 | ($1.0 ^ $1.1) }) == 0 else {
            throw DNSTSIGError(.badSignature, "the answer's TSIG signature does not verify: it was not signed with this key's secret")
        }
        let drift = abs(now.timeIntervalSince1970 - Double(signedAt))
        guard drift <= Double(fudge) else { throw DNSTSIGError(.badTime, "the answer was signed \(Int(drift)) s away from our clock") }
    }

    private func appendVariables(to out: inout [UInt8], time: UInt64, error: UInt16, other: [UInt8], fudge: UInt16 = DNSTSIGKey.fudge) throws(DNSMessageError) {
        try DNSName.encode(name.lowercased(), into: &out)
        out += [0, 255, 0, 0, 0, 0]   // class ANY, TTL 0
        try DNSName.encode(Self.algorithm, into: &out)
        out += Self.uint48(time) + Self.u16(fudge) + Self.u16(error) + Self.u16(UInt16(other.count)) + other
    }

    private func hmac(_ bytes: [UInt8]) -> [UInt8] {
        Array(HMAC<SHA256>.authenticationCode(for: bytes, using: SymmetricKey(data: secret)))
    }

    /// The message without its last additional record (ARCOUNT - 1), that record's owner and data;
    /// throws unless that record is a TSIG.
    static func splitTSIG(_ bytes: [UInt8]) throws(DNSMessageError) -> (unsigned: [UInt8], owner: String, data: [UInt8]) {
        var reader = DNSReader(bytes: bytes)
        _ = try reader.take(4)
        let counts = [try reader.u16(), try reader.u16(), try reader.u16(), try reader.u16()]
        guard counts[3] > 0 else { throw .badRecord("no additional record") }
        for _ in 0..<counts[0] {
            _ = try reader.name()
            _ = try reader.take(4)
        }
        let records = Int(counts[1]) + Int(counts[2]) + Int(counts[3])
        var start = reader.offset
        for index in 0..<records {
            if index == records - 1 { start = reader.offset }
            _ = try reader.name()
            _ = try reader.take(8)
            _ = try reader.take(Int(try reader.u16()))
        }
        var last = DNSReader(bytes: bytes)
        last.offset = start
        let owner = try last.name()
        guard try last.u16() == 250 else { throw .badRecord("the last record is not a TSIG") }
        _ = try last.take(6)
        let data = try last.take(Int(try last.u16()))
        var unsigned = Array(bytes[0..<start])
        unsigned[11] = UInt8(truncatingIfNeeded: Int(counts[3]) - 1)
        unsigned[10] = UInt8((Int(counts[3]) - 1) >> 8)
        return (unsigned, owner, data)
    }

    static func u16(_ value: UInt16) -> [UInt8] { [UInt8(value >> 8), UInt8(value & 0xFF)] }

    static func uint48(_ value: UInt64) -> [UInt8] {
        (0..<6).reversed().map { UInt8((value >> (UInt64($0) * 8)) & 0xFF) }
    }
}

/// Why a TSIG check failed; the ``description`` says what to do.
public struct DNSTSIGError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The kind of failure.
    public enum Kind: Hashable, Sendable {
        /// No (or a malformed) TSIG record.
        case unsigned
        /// Signed with another key or algorithm.
        case wrongKey
        /// The MAC does not verify, or the server rejected ours.
        case badSignature
        /// The server does not know the key.
        case badKey
        /// Clocks too far apart.
        case badTime
    }

    /// The kind of failure.
    public let kind: Kind
    /// What went wrong.
    public let message: String

    init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    public var description: String { message }
}

extension DNSMessage {
    /// An RFC 2136 UPDATE for `zone`: prerequisites go in the answer section, updates in the
    /// authority section (RFC 2136 §2).
    public static func update(id: UInt16, zone: String, prerequisites: [DNSResourceRecord] = [], updates: [DNSResourceRecord]) -> DNSMessage {
        DNSMessage(id: id, flags: 5 << 11, questions: [DNSQuestion(name: zone, type: .soa)], answers: prerequisites, authorities: updates)
    }

    /// The DNS class NONE (254): "this RR must not exist" / "delete this RR" in UPDATEs.
    public static let classNone: UInt16 = 254
    /// The DNS class ANY (255).
    public static let classAny: UInt16 = 255
}
