/// Interface ids and method ordinals of the registration schema (`tunnelrpc.capnp`, file id `0xdb8274f9144abc7e`).
public enum RegistrationSchema {
    /// `RegistrationServer` interface id; the connector calls all three methods with this id.
    public static let registrationServerInterfaceID: UInt64 = 0xf716_95ec_7fe8_5497
    /// Deprecated `TunnelServer` interface id (extends `RegistrationServer`).
    public static let tunnelServerInterfaceID: UInt64 = 0xea58_385c_6541_6035

    /// `RegistrationServer` method ordinals.
    public enum RegistrationMethod: UInt16, Sendable, Hashable {
        /// `registerConnection @0`.
        case registerConnection = 0
        /// `unregisterConnection @1`.
        case unregisterConnection = 1
        /// `updateLocalConfiguration @2`.
        case updateLocalConfiguration = 2
    }

    /// Deprecated `TunnelServer` method ordinals.
    public enum TunnelServerMethod: UInt16, Sendable, Hashable {
        /// `registerTunnel @0`.
        case registerTunnel = 0
        /// `getServerInfo @1`.
        case getServerInfo = 1
        /// `unregisterTunnel @2`.
        case unregisterTunnel = 2
        /// `obsoleteDeclarativeTunnelConnect @3`.
        case obsoleteDeclarativeTunnelConnect = 3
        /// `authenticate @4`.
        case authenticate = 4
        /// `reconnectTunnel @5`.
        case reconnectTunnel = 5
    }
}

/// Parameters of `registerConnection` (`0xe6646dec8feaa6ee`, 1 data word, 3 pointers).
public struct RegisterConnectionParams: Sendable, Hashable, CapnpStructCodable {
    /// Tunnel credentials.
    public var auth: TunnelAuth
    /// 16 raw bytes of the tunnel UUID.
    public var tunnelID: [UInt8]
    /// HA slot.
    public var connIndex: UInt8
    /// Connector details.
    public var options: ConnectionOptions

    /// Creates parameters.
    public init(auth: TunnelAuth, tunnelID: [UInt8], connIndex: UInt8, options: ConnectionOptions) {
        self.auth = auth
        self.tunnelID = tunnelID
        self.connIndex = connIndex
        self.options = options
    }

    public static var capnpDataWords: Int { 1 }
    public static var capnpPointers: Int { 3 }

    public init(reading reader: CapnpStructReader) throws {
        self.auth = try TunnelAuth(reading: try reader.readStruct(0) ?? .empty(reader.context))
        self.tunnelID = try reader.readData(1) ?? []
        self.connIndex = reader.read(at: 0)
        self.options = try ConnectionOptions(reading: try reader.readStruct(2) ?? .empty(reader.context))
    }

    public func encode(to builder: inout CapnpMessageBuilder, as target: CapnpStructBuilder) throws {
        builder.write(self.connIndex, at: 0, in: target)
        try builder.encode(self.auth, in: target, pointer: 0)
        try builder.writeData(self.tunnelID, in: target, pointer: 1)
        try builder.encode(self.options, in: target, pointer: 2)
    }
}

/// Results of `registerConnection` (`0xea50d822450d1f17`, 0 data words, 1 pointer).
public struct RegisterConnectionResults: Sendable, Hashable, CapnpStructCodable {
    /// The answer.
    public var result: ConnectionResponse

    /// Creates results.
    public init(result: ConnectionResponse) {
        self.result = result
    }

    public static var capnpDataWords: Int { 0 }
    public static var capnpPointers: Int { 1 }

    public init(reading reader: CapnpStructReader) throws {
        guard let result = try reader.readStruct(0) else {
            throw CapnpError.unexpectedPointerKind("registerConnection results carry no ConnectionResponse")
        }
        self.result = try ConnectionResponse(reading: result)
    }

    public func encode(to builder: inout CapnpMessageBuilder, as target: CapnpStructBuilder) throws {
        try builder.encode(self.result, in: target, pointer: 0)
    }
}

/// Parameters of `updateLocalConfiguration` (`0xc5d6e311876a3604`, 0 data words, 1 pointer).
public struct UpdateLocalConfigurationParams: Sendable, Hashable, CapnpStructCodable {
    /// UTF-8 JSON of the connector's configuration.
    public var config: [UInt8]

    /// Creates parameters.
    public init(config: [UInt8]) {
        self.config = config
    }

    public static var capnpDataWords: Int { 0 }
    public static var capnpPointers: Int { 1 }

    public init(reading reader: CapnpStructReader) throws {
        self.config = try reader.readData(0) ?? []
    }

    public func encode(to builder: inout CapnpMessageBuilder, as target: CapnpStructBuilder) throws {
        try builder.writeData(self.config, in: target, pointer: 0)
    }
}

/// An empty parameter or result struct (`unregisterConnection`, `updateLocalConfiguration` results, …).
public struct CapnpEmptyStruct: Sendable, Hashable, CapnpStructCodable {
    /// Creates the empty struct.
    public init() {}

    public static var capnpDataWords: Int { 0 }
    public static var capnpPointers: Int { 0 }

    public init(reading reader: CapnpStructReader) throws {}

    public func encode(to builder: inout CapnpMessageBuilder, as target: CapnpStructBuilder) throws {}
}
