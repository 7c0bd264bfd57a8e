// Deprecated `TunnelServer` structs (spec 4.9/4.10). Current connectors never send them; they are decoded so an
// edge can log and refuse legacy calls, and encoded for tests.

/// Legacy `Authentication` (`0xc082ef6e0d42ed1d`, 0 data words, 3 pointers).
public struct LegacyAuthentication: Sendable, Hashable, CapnpStructCodable {
    /// API key.
    public var key: String
    /// Account e-mail.
    public var email: String
    /// Origin CA key.
    public var originCAKey: String

    /// Creates the value.
    public init(key: String = "", email: String = "", originCAKey: String = "") {
        self.key = key
        self.email = email
        self.originCAKey = originCAKey
    }

    public static var capnpDataWords: Int { 0 }
    public static var capnpPointers: Int { 3 }

    public init(reading reader: CapnpStructReader) throws {
        self.key = try reader.readText(0) ?? ""
        self.email = try reader.readText(1) ?? ""
        self.originCAKey = try reader.readText(2) ?? ""
    }

    public func encode(to builder: inout CapnpMessageBuilder, as target: CapnpStructBuilder) throws {
        try builder.writeText(self.key, in: target, pointer: 0)
        try builder.writeText(self.email, in: target, pointer: 1)
        try builder.writeText(self.originCAKey, in: target, pointer: 2)
    }
}

/// Legacy `TunnelRegistration` (`0xf41a0f001ad49e46`, 1 data word, 6 pointers).
public struct LegacyTunnelRegistration: Sendable, Hashable, CapnpStructCodable {
    /// Error text.
    public var err: String
    /// Tunnel URL.
    public var url: String
    /// Log lines for the connector.
    public var logLines: [String]
    /// Whether the failure is permanent.
    public var permanentFailure: Bool
    /// Tunnel id text.
    public var tunnelID: String
    /// Retry delay in seconds.
    public var retryAfterSeconds: UInt16
    /// Event digest.
    public var eventDigest: [UInt8]
    /// Connection digest.
    public var connDigest: [UInt8]

    /// Creates the value.
    public init(
        err: String = "", url: String = "", logLines: [String] = [], permanentFailure: Bool = false, tunnelID: String = "",
        retryAfterSeconds: UInt16 = 0, eventDigest: [UInt8] = [], connDigest: [UInt8] = []
    ) {
        self.err = err
        self.url = url
        self.logLines = logLines
        self.permanentFailure = permanentFailure
        self.tunnelID = tunnelID
        self.retryAfterSeconds = retryAfterSeconds
        self.eventDigest = eventDigest
        self.connDigest = connDigest
    }

    public static var capnpDataWords: Int { 1 }
    public static var capnpPointers: Int { 6 }

    public init(reading reader: CapnpStructReader) throws {
        self.err = try reader.readText(0) ?? ""
        self.url = try reader.readText(1) ?? ""
        self.logLines = try reader.readTextList(2) ?? []
        self.permanentFailure = reader.readBool(bit: 0)
        self.tunnelID = try reader.readText(3) ?? ""
        self.retryAfterSeconds = reader.read(at: 2)
        self.eventDigest = try reader.readData(4) ?? []
        self.connDigest = try reader.readData(5) ?? []
    }

    public func encode(to builder: inout CapnpMessageBuilder, as target: CapnpStructBuilder) throws {
        builder.writeBool(self.permanentFailure, bit: 0, in: target)
        builder.write(self.retryAfterSeconds, at: 2, in: target)
        try builder.writeText(self.err, in: target, pointer: 0)
        try builder.writeText(self.url, in: target, pointer: 1)
        try builder.writeTextList(self.logLines, in: target, pointer: 2)
        try builder.writeText(self.tunnelID, in: target, pointer: 3)
        try builder.writeData(self.eventDigest, in: target, pointer: 4)
        try builder.writeData(self.connDigest, in: target, pointer: 5)
    }
}

/// Legacy `Tag` (`0xcbd96442ae3bb01a`, 0 data words, 2 pointers).
public struct LegacyTag: Sendable, Hashable, CapnpStructCodable {
    /// Tag name.
    public var name: String
    /// Tag value.
    public var value: String

    /// Creates the value.
    public init(name: String, value: String) {
        self.name = name
        self.value = value
    }

    public static var capnpDataWords: Int { 0 }
    public static var capnpPointers: Int { 2 }

    public init(reading reader: CapnpStructReader) throws {
        self.name = try reader.readText(0) ?? ""
        self.value = try reader.readText(1) ?? ""
    }

    public func encode(to builder: inout CapnpMessageBuilder, as target: CapnpStructBuilder) throws {
        try builder.writeText(self.name, in: target, pointer: 0)
        try builder.writeText(self.value, in: target, pointer: 1)
    }
}

/// Legacy `RegistrationOptions` (`0xc793e50592935b4a`, 2 data words, 8 pointers).
public struct LegacyRegistrationOptions: Sendable, Hashable, CapnpStructCodable {
    /// Client id text.
    public var clientID: String = ""
    /// Connector version.
    public var version: String = ""
    /// Operating system.
    public var os: String = ""
    /// `ExistingTunnelPolicy`: 0 ignore, 1 disconnect, 2 balance.
    public var existingTunnelPolicy: UInt16 = 0
    /// Pool name.
    public var poolName: String = ""
    /// Tags.
    public var tags: [LegacyTag] = []
    /// Connection index.
    public var connectionID: UInt8 = 0
    /// Origin local IP as text.
    public var originLocalIP: String = ""
    /// Whether the connector auto-updates.
    public var isAutoupdated: Bool = false
    /// Whether the connector runs from a terminal.
    public var runFromTerminal: Bool = false
    /// Compression quality.
    public var compressionQuality: UInt64 = 0
    /// UUID text.
    public var uuid: String = ""
    /// Retry counter.
    public var numPreviousAttempts: UInt8 = 0
    /// Feature strings.
    public var features: [String] = []

    /// Creates options with every field at its default.
    public init() {}

    public static var capnpDataWords: Int { 2 }
    public static var capnpPointers: Int { 8 }

    public init(reading reader: CapnpStructReader) throws {
        self.clientID = try reader.readText(0) ?? ""
        self.version = try reader.readText(1) ?? ""
        self.os = try reader.readText(2) ?? ""
        self.existingTunnelPolicy = reader.read(at: 0)
        self.poolName = try reader.readText(3) ?? ""
        if let list = try reader.readList(4) {
            self.tags = try (0..<list.count).map { try LegacyTag(reading: try list.readStruct(at: $0)) }
        }
        self.connectionID = reader.read(at: 2)
        self.originLocalIP = try reader.readText(5) ?? ""
        self.isAutoupdated = reader.readBool(bit: 24)
        self.runFromTerminal = reader.readBool(bit: 25)
        self.compressionQuality = reader.read(at: 8)
        self.uuid = try reader.readText(6) ?? ""
        self.numPreviousAttempts = reader.read(at: 4)
        self.features = try reader.readTextList(7) ?? []
    }

    public func encode(to builder: inout CapnpMessageBuilder, as target: CapnpStructBuilder) throws {
        builder.write(self.existingTunnelPolicy, at: 0, in: target)
        builder.write(self.connectionID, at: 2, in: target)
        builder.writeBool(self.isAutoupdated, bit: 24, in: target)
        builder.writeBool(self.runFromTerminal, bit: 25, in: target)
        builder.write(self.numPreviousAttempts, at: 4, in: target)
        builder.write(self.compressionQuality, at: 8, in: target)
        try builder.writeText(self.clientID, in: target, pointer: 0)
        try builder.writeText(self.version, in: target, pointer: 1)
        try builder.writeText(self.os, in: target, pointer: 2)
        try builder.writeText(self.poolName, in: target, pointer: 3)
        let list = try builder.initCompositeList(in: target, pointer: 4, count: self.tags.count, dataWords: 0, pointers: 2)
        for (index, tag) in self.tags.enumerated() {
            try tag.encode(to: &builder, as: list.element(index))
        }
        try builder.writeText(self.originLocalIP, in: target, pointer: 5)
        try builder.writeText(self.uuid, in: target, pointer: 6)
        try builder.writeTextList(self.features, in: target, pointer: 7)
    }
}

/// Legacy `ServerInfo` (`0xf2c68e2547ec3866`, 0 data words, 1 pointer).
public struct LegacyServerInfo: Sendable, Hashable, CapnpStructCodable {
    /// Location name.
    public var locationName: String

    /// Creates the value.
    public init(locationName: String) {
        self.locationName = locationName
    }

    public static var capnpDataWords: Int { 0 }
    public static var capnpPointers: Int { 1 }

    public init(reading reader: CapnpStructReader) throws {
        self.locationName = try reader.readText(0) ?? ""
    }

    public func encode(to builder: inout CapnpMessageBuilder, as target: CapnpStructBuilder) throws {
        try builder.writeText(self.locationName, in: target, pointer: 0)
    }
}

/// Legacy `AuthenticateResponse` (`0x82c325a07ad22a65`, 1 data word, 3 pointers).
public struct LegacyAuthenticateResponse: Sendable, Hashable, CapnpStructCodable {
    /// Permanent error text.
    public var permanentErr: String
    /// Retryable error text.
    public var retryableErr: String
    /// JWT bytes.
    public var jwt: [UInt8]
    /// Hours until the JWT should be refreshed.
    public var hoursUntilRefresh: UInt8

    /// Creates the value.
    public init(permanentErr: String = "", retryableErr: String = "", jwt: [UInt8] = [], hoursUntilRefresh: UInt8 = 0) {
        self.permanentErr = permanentErr
        self.retryableErr = retryableErr
        self.jwt = jwt
        self.hoursUntilRefresh = hoursUntilRefresh
    }

    public static var capnpDataWords: Int { 1 }
    public static var capnpPointers: Int { 3 }

    public init(reading reader: CapnpStructReader) throws {
        self.permanentErr = try reader.readText(0) ?? ""
        self.retryableErr = try reader.readText(1) ?? ""
        self.jwt = try reader.readData(2) ?? []
        self.hoursUntilRefresh = reader.read(at: 0)
    }

    public func encode(to builder: inout CapnpMessageBuilder, as target: CapnpStructBuilder) throws {
        builder.write(self.hoursUntilRefresh, at: 0, in: target)
        try builder.writeText(self.permanentErr, in: target, pointer: 0)
        try builder.writeText(self.retryableErr, in: target, pointer: 1)
        try builder.writeData(self.jwt, in: target, pointer: 2)
    }
}

/// Parameters of legacy `registerTunnel` and `authenticate` (0 data words, 3 pointers).
public struct LegacyRegisterTunnelParams: Sendable, Hashable, CapnpStructCodable {
    /// Origin certificate bytes.
    public var originCert: [UInt8]
    /// Hostname.
    public var hostname: String
    /// Options.
    public var options: LegacyRegistrationOptions

    /// Creates the value.
    public init(originCert: [UInt8], hostname: String, options: LegacyRegistrationOptions) {
        self.originCert = originCert
        self.hostname = hostname
        self.options = options
    }

    public static var capnpDataWords: Int { 0 }
    public static var capnpPointers: Int { 3 }

    public init(reading reader: CapnpStructReader) throws {
        self.originCert = try reader.readData(0) ?? []
        self.hostname = try reader.readText(1) ?? ""
        self.options = try LegacyRegistrationOptions(reading: try reader.readStruct(2) ?? .empty(reader.context))
    }

    public func encode(to builder: inout CapnpMessageBuilder, as target: CapnpStructBuilder) throws {
        try builder.writeData(self.originCert, in: target, pointer: 0)
        try builder.writeText(self.hostname, in: target, pointer: 1)
        try builder.encode(self.options, in: target, pointer: 2)
    }
}

/// Parameters of legacy `reconnectTunnel` (0 data words, 5 pointers).
public struct LegacyReconnectTunnelParams: Sendable, Hashable, CapnpStructCodable {
    /// JWT bytes.
    public var jwt: [UInt8]
    /// Event digest.
    public var eventDigest: [UInt8]
    /// Connection digest.
    public var connDigest: [UInt8]
    /// Hostname.
    public var hostname: String
    /// Options.
    public var options: LegacyRegistrationOptions

    /// Creates the value.
    public init(jwt: [UInt8], eventDigest: [UInt8], connDigest: [UInt8], hostname: String, options: LegacyRegistrationOptions) {
        self.jwt = jwt
        self.eventDigest = eventDigest
        self.connDigest = connDigest
        self.hostname = hostname
        self.options = options
    }

    public static var capnpDataWords: Int { 0 }
    public static var capnpPointers: Int { 5 }

    public init(reading reader: CapnpStructReader) throws {
        self.jwt = try reader.readData(0) ?? []
        self.eventDigest = try reader.readData(1) ?? []
        self.connDigest = try reader.readData(2) ?? []
        self.hostname = try reader.readText(3) ?? ""
        self.options = try LegacyRegistrationOptions(reading: try reader.readStruct(4) ?? .empty(reader.context))
    }

    public func encode(to builder: inout CapnpMessageBuilder, as target: CapnpStructBuilder) throws {
        try builder.writeData(self.jwt, in: target, pointer: 0)
        try builder.writeData(self.eventDigest, in: target, pointer: 1)
        try builder.writeData(self.connDigest, in: target, pointer: 2)
        try builder.writeText(self.hostname, in: target, pointer: 3)
        try builder.encode(self.options, in: target, pointer: 4)
    }
}

/// Parameters of legacy `unregisterTunnel` (1 data word, 0 pointers).
public struct LegacyUnregisterTunnelParams: Sendable, Hashable, CapnpStructCodable {
    /// Grace period in nanoseconds.
    public var gracePeriodNanoseconds: Int64

    /// Creates the value.
    public init(gracePeriodNanoseconds: Int64) {
        self.gracePeriodNanoseconds = gracePeriodNanoseconds
    }

    public static var capnpDataWords: Int { 1 }
    public static var capnpPointers: Int { 0 }

    public init(reading reader: CapnpStructReader) throws {
        self.gracePeriodNanoseconds = reader.read(at: 0)
    }

    public func encode(to builder: inout CapnpMessageBuilder, as target: CapnpStructBuilder) throws {
        builder.write(self.gracePeriodNanoseconds, at: 0, in: target)
    }
}

/// Results of the legacy methods that return one struct (`result @0`, 0 data words, 1 pointer).
public struct LegacyResult<Value: CapnpStructCodable & Sendable & Hashable>: Sendable, Hashable, CapnpStructCodable {
    /// The result struct.
    public var result: Value

    /// Creates the value.
    public init(result: Value) {
        self.result = result
    }

    public static var capnpDataWords: Int { 0 }
    public static var capnpPointers: Int { 1 }

    public init(reading reader: CapnpStructReader) throws {
        self.result = try Value(reading: try reader.readStruct(0) ?? .empty(reader.context))
    }

    public func encode(to builder: inout CapnpMessageBuilder, as target: CapnpStructBuilder) throws {
        try builder.encode(self.result, in: target, pointer: 0)
    }
}
