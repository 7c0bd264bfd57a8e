/// Tunnel credentials sent in `registerConnection` (`TunnelAuth`, id `0x9496331ab9cd463f`, 0 data words, 2 pointers).
public struct TunnelAuth: Sendable, Hashable, CapnpStructCodable {
    /// The account tag from the credentials file (`AccountTag`).
    public var accountTag: String
    /// The raw tunnel secret: the base64-decoded `TunnelSecret` (32 bytes when created by cloudflared).
    public var tunnelSecret: [UInt8]

    /// Creates credentials.
    public init(accountTag: String, tunnelSecret: [UInt8]) {
        self.accountTag = accountTag
        self.tunnelSecret = tunnelSecret
    }

    public static var capnpDataWords: Int { 0 }
    public static var capnpPointers: Int { 2 }

    public init(reading reader: CapnpStructReader) throws {
        self.accountTag = try reader.readText(0) ?? ""
        self.tunnelSecret = try reader.readData(1) ?? []
    }

    public func encode(to builder: inout CapnpMessageBuilder, as target: CapnpStructBuilder) throws {
        try builder.writeText(self.accountTag, in: target, pointer: 0)
        try builder.writeData(self.tunnelSecret, in: target, pointer: 1)
    }
}
