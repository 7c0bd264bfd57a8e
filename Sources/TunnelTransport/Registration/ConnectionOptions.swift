/// Per-connection options of `registerConnection` (`ConnectionOptions`, id `0xb4bf9861fe035d04`, 1 data word, 2 pointers).
public struct ConnectionOptions: Sendable, Hashable, CapnpStructCodable {
    /// Information about the connector.
    public var client: ClientInfo
    /// Local IP of the connector's socket: 16 bytes (IPv4-mapped for IPv4).
    public var originLocalIP: [UInt8]
    /// Replace an existing connection with the same index; cloudflared always sends `false`.
    public var replaceExisting: Bool
    /// Legacy compression level, always 0.
    public var compressionQuality: UInt8
    /// Retry counter of this HA slot.
    public var numPreviousAttempts: UInt8

    /// Creates options; the legacy fields default to cloudflared's values.
    public init(
        client: ClientInfo, originLocalIP: [UInt8], replaceExisting: Bool = false,
        compressionQuality: UInt8 = 0, numPreviousAttempts: UInt8 = 0
    ) {
        self.client = client
        self.originLocalIP = originLocalIP
        self.replaceExisting = replaceExisting
        self.compressionQuality = compressionQuality
        self.numPreviousAttempts = numPreviousAttempts
    }

    public static var capnpDataWords: Int { 1 }
    public static var capnpPointers: Int { 2 }

    public init(reading reader: CapnpStructReader) throws {
        self.client = try ClientInfo(reading: try reader.readStruct(0) ?? .empty(reader.context))
        self.originLocalIP = try reader.readData(1) ?? []
        self.replaceExisting = reader.readBool(bit: 0)
        self.compressionQuality = reader.read(at: 1)
        self.numPreviousAttempts = reader.read(at: 2)
    }

    public func encode(to builder: inout CapnpMessageBuilder, as target: CapnpStructBuilder) throws {
        builder.writeBool(self.replaceExisting, bit: 0, in: target)
        builder.write(self.compressionQuality, at: 1, in: target)
        builder.write(self.numPreviousAttempts, at: 2, in: target)
        try builder.encode(self.client, in: target, pointer: 0)
        try builder.writeData(self.originLocalIP, in: target, pointer: 1)
    }
}
