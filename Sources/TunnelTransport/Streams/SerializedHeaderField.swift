/// One header of the serialized response header set (edge-protocol.md 7.3).
///
/// Names and values are raw bytes: the origin may send Latin-1 or other non-UTF-8 bytes,
/// and the set must carry them unchanged (streams.md S8).
public struct SerializedHeaderField: Sendable, Hashable, CustomStringConvertible {
    /// The header name as sent (cloudflared uses Go canonical form, e.g. `Content-Type`).
    public var name: [UInt8]
    /// The header value, raw bytes.
    public var value: [UInt8]

    /// A field from raw bytes.
    public init(name: [UInt8], value: [UInt8]) {
        self.name = name
        self.value = value
    }

    /// A field from strings (encoded as UTF-8).
    public init(name: String, value: String) {
        self.name = Array(name.utf8)
        self.value = Array(value.utf8)
    }

    /// The name as a string (invalid UTF-8 is repaired).
    public var nameString: String { String(decoding: self.name, as: UTF8.self) }

    /// The value as a string (invalid UTF-8 is repaired; use ``value`` to keep raw bytes).
    public var valueString: String { String(decoding: self.value, as: UTF8.self) }

    /// `Name: value`, for logs and test failures.
    public var description: String { "\(self.nameString): \(self.valueString)" }
}
