/// The secret bytes that authenticate a tunnel's connections (`TunnelSecret`).
///
/// Never printed: `description` and `debugDescription` show only the length.
public struct TunnelSecret: Hashable, Sendable, CustomStringConvertible, CustomDebugStringConvertible {
    /// The raw secret; 32 random bytes when tunnelctl or cloudflared create a tunnel.
    public var bytes: [UInt8]

    /// Wraps raw secret bytes.
    public init(bytes: [UInt8]) {
        self.bytes = bytes
    }

    /// Decodes the padded standard base64 form used in credentials files and tokens.
    public init?(base64: String) {
        guard let bytes = Base64.decode(base64) else { return nil }
        self.bytes = bytes
    }

    /// A new random secret of `count` bytes (32 by default, as cloudflared).
    public static func random(count: Int = 32) -> TunnelSecret {
        var generator = SystemRandomNumberGenerator()
        return TunnelSecret(bytes: (0..<count).map { _ in UInt8.random(in: .min ... .max, using: &generator) })
    }

    /// The padded standard base64 form.
    public var base64: String { Base64.encode(bytes) }

    public var description: String { "<redacted \(bytes.count)-byte secret>" }
    public var debugDescription: String { description }
}

/// A secret string such as an API token; printed redacted.
public struct RedactedString: Hashable, Sendable, CustomStringConvertible, CustomDebugStringConvertible, ExpressibleByStringLiteral {
    /// The secret value; use it only where it is sent or written.
    public var value: String

    /// Wraps a secret string.
    public init(_ value: String) {
        self.value = value
    }

    /// Wraps a literal.
    public init(stringLiteral value: String) {
        self.value = value
    }

    /// Whether the secret is empty.
    public var isEmpty: Bool { value.isEmpty }

    public var description: String { value.isEmpty ? "<empty>" : "<redacted>" }
    public var debugDescription: String { description }
}
