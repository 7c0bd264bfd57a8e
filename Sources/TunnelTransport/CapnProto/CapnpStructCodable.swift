/// A Swift value decoded from a Cap'n Proto struct.
public protocol CapnpStructDecodable {
    /// Decodes the value; missing fields read as their defaults.
    init(reading reader: CapnpStructReader) throws
}

/// A Swift value encoded as a Cap'n Proto struct.
public protocol CapnpStructEncodable {
    /// Data section size in words.
    static var capnpDataWords: Int { get }
    /// Pointer section size.
    static var capnpPointers: Int { get }
    /// Writes the fields into `target` (already allocated with the sizes above), children depth-first.
    func encode(to builder: inout CapnpMessageBuilder, as target: CapnpStructBuilder) throws
}

/// A Swift value that is both encoded and decoded as a Cap'n Proto struct.
public typealias CapnpStructCodable = CapnpStructDecodable & CapnpStructEncodable

extension CapnpStructEncodable {
    /// This value encoded as the root of a new single-segment message.
    public func capnpMessage() throws -> CapnpMessage {
        var builder = CapnpMessageBuilder()
        try builder.encodeRoot(self)
        return builder.message
    }
}

extension CapnpStructDecodable {
    /// Decodes a value from the root of `message`.
    public init(capnpMessage message: CapnpMessage, limits: CapnpReaderLimits = .init()) throws {
        try self.init(reading: try message.root(limits: limits))
    }
}
