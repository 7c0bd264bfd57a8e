/// Who is connecting (`ClientInfo`, id `0x83ced0145b2f114b`, 0 data words, 4 pointers).
public struct ClientInfo: Sendable, Hashable, CapnpStructCodable {
    /// The connector id: 16 raw UUID bytes in RFC 4122 order, shared by all HA connections of one process.
    public var clientID: [UInt8]
    /// Feature strings in the order they are sent (cloudflared randomises it per connection).
    public var features: [String]
    /// Connector version, e.g. `2026.8.2`.
    public var version: String
    /// `GOOS_GOARCH`, e.g. `linux_amd64`.
    public var arch: String

    /// Creates client information.
    public init(clientID: [UInt8], features: [String], version: String, arch: String) {
        self.clientID = clientID
        self.features = features
        self.version = version
        self.arch = arch
    }

    public static var capnpDataWords: Int { 0 }
    public static var capnpPointers: Int { 4 }

    public init(reading reader: CapnpStructReader) throws {
        self.clientID = try reader.readData(0) ?? []
        self.features = try reader.readTextList(1) ?? []
        self.version = try reader.readText(2) ?? ""
        self.arch = try reader.readText(3) ?? ""
    }

    public func encode(to builder: inout CapnpMessageBuilder, as target: CapnpStructBuilder) throws {
        try builder.writeData(self.clientID, in: target, pointer: 0)
        try builder.writeTextList(self.features, in: target, pointer: 1)
        try builder.writeText(self.version, in: target, pointer: 2)
        try builder.writeText(self.arch, in: target, pointer: 3)
    }
}
