/// The edge's answer to `registerConnection` (`ConnectionResponse`, id `0xdbaa9d03d52b62dc`, 1 data word, 1 pointer).
///
/// On the wire a group `result` holding a union whose discriminant sits at data byte 0.
public enum ConnectionResponse: Sendable, Hashable, CapnpStructCodable {
    /// Registration refused (discriminant 0).
    case error(ConnectionError)
    /// Registration accepted (discriminant 1).
    case connectionDetails(ConnectionDetails)

    public static var capnpDataWords: Int { 1 }
    public static var capnpPointers: Int { 1 }

    public init(reading reader: CapnpStructReader) throws {
        let which: UInt16 = reader.read(at: 0)
        let body = try reader.readStruct(0) ?? .empty(reader.context)
        switch which {
        case 0: self = .error(try ConnectionError(reading: body))
        case 1: self = .connectionDetails(try ConnectionDetails(reading: body))
        default: throw CapnpError.unknownUnionDiscriminant("ConnectionResponse.result which = \(which)")
        }
    }

    public func encode(to builder: inout CapnpMessageBuilder, as target: CapnpStructBuilder) throws {
        switch self {
        case .error(let error):
            builder.write(UInt16(0), at: 0, in: target)
            try builder.encode(error, in: target, pointer: 0)
        case .connectionDetails(let details):
            builder.write(UInt16(1), at: 0, in: target)
            try builder.encode(details, in: target, pointer: 0)
        }
    }
}

/// A refused registration (`ConnectionError`, id `0xf5f383d2785edb86`, 2 data words, 1 pointer).
public struct ConnectionError: Sendable, Hashable, CapnpStructCodable {
    /// The error text; `EDUPCONN` means duplicate connection, texts containing `Unauthorized` keep a starting connector retrying.
    public var cause: String
    /// Suggested delay in nanoseconds (ignored by current cloudflared).
    public var retryAfterNanoseconds: Int64
    /// Retryable (`true`) or permanent (`false`).
    public var shouldRetry: Bool

    /// The cause cloudflared recognises as a duplicate connection.
    public static let duplicateConnectionCause = "EDUPCONN"

    /// Creates a refusal.
    public init(cause: String, retryAfterNanoseconds: Int64 = 0, shouldRetry: Bool) {
        self.cause = cause
        self.retryAfterNanoseconds = retryAfterNanoseconds
        self.shouldRetry = shouldRetry
    }

    public static var capnpDataWords: Int { 2 }
    public static var capnpPointers: Int { 1 }

    public init(reading reader: CapnpStructReader) throws {
        self.cause = try reader.readText(0) ?? ""
        self.retryAfterNanoseconds = reader.read(at: 0)
        self.shouldRetry = reader.readBool(bit: 64)
    }

    public func encode(to builder: inout CapnpMessageBuilder, as target: CapnpStructBuilder) throws {
        builder.write(self.retryAfterNanoseconds, at: 0, in: target)
        builder.writeBool(self.shouldRetry, bit: 64, in: target)
        try builder.writeText(self.cause, in: target, pointer: 0)
    }
}

/// An accepted registration (`ConnectionDetails`, id `0xb5f39f082b9ac18a`, 1 data word, 2 pointers).
public struct ConnectionDetails: Sendable, Hashable, CapnpStructCodable {
    /// The edge's id for this connection; cloudflared requires exactly 16 bytes.
    public var uuid: [UInt8]
    /// Location label shown as `location=`, e.g. an airport code.
    public var locationName: String
    /// `true` suppresses the connector's `updateLocalConfiguration` push.
    public var tunnelIsRemotelyManaged: Bool

    /// Creates connection details.
    public init(uuid: [UInt8], locationName: String, tunnelIsRemotelyManaged: Bool) {
        self.uuid = uuid
        self.locationName = locationName
        self.tunnelIsRemotelyManaged = tunnelIsRemotelyManaged
    }

    public static var capnpDataWords: Int { 1 }
    public static var capnpPointers: Int { 2 }

    public init(reading reader: CapnpStructReader) throws {
        self.uuid = try reader.readData(0) ?? []
        self.locationName = try reader.readText(1) ?? ""
        self.tunnelIsRemotelyManaged = reader.readBool(bit: 0)
    }

    public func encode(to builder: inout CapnpMessageBuilder, as target: CapnpStructBuilder) throws {
        builder.writeBool(self.tunnelIsRemotelyManaged, bit: 0, in: target)
        try builder.writeData(self.uuid, in: target, pointer: 0)
        try builder.writeText(self.locationName, in: target, pointer: 1)
    }
}
