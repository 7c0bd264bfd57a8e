import TunnelCore

/// Codec for the `cf-cloudflared-response-headers` value (edge-protocol.md 7.3).
///
/// Each header becomes `B(name):B(value)`, with `B` = standard base64 without padding;
/// pairs are joined with `;`. Repeated names give repeated pairs in order; no headers give
/// the empty string. Pure value code: no I/O.
public enum SerializedHeaders {
    /// Abuse limits applied when decoding a value received from a peer.
    public struct Limits: Sendable, Hashable {
        /// Longest accepted encoded value, in bytes. Default 16 MiB (the edge's HTTP/2
        /// header list limit; cloudflared allows 10 MiB of origin headers, ≈13.4 MiB encoded).
        public var maxEncodedLength: Int
        /// Most accepted header pairs. Default 10 000.
        public var maxFieldCount: Int

        /// Limits with the documented defaults, overridable per field.
        public init(maxEncodedLength: Int = 16 << 20, maxFieldCount: Int = 10_000) {
            self.maxEncodedLength = maxEncodedLength
            self.maxFieldCount = maxFieldCount
        }
    }

    /// Encodes `fields` in the given order. No filtering happens here; see
    /// ``encode(originHeaders:)`` for the cloudflared rules.
    public static func encode(_ fields: some Sequence<SerializedHeaderField>) -> String {
        var output = [UInt8]()
        var first = true
        for field in fields {
            if !first { output.append(UInt8(ascii: ";")) }
            first = false
            Base64.encode(field.name, padded: false, into: &output)
            output.append(UInt8(ascii: ":"))
            Base64.encode(field.value, padded: false, into: &output)
        }
        return String(decoding: output, as: UTF8.self)
    }

    /// Encodes origin response headers the way cloudflared does (7.2): control headers
    /// (`:*`, `cf-int-*`, `cf-cloudflared-*`, `cf-proxy-*`) are dropped and names are put
    /// into Go canonical form (`x-request-id` → `X-Request-Id`).
    public static func encode(originHeaders: some Sequence<(name: String, value: String)>) -> String {
        self.encode(
            originHeaders.lazy
                .filter { !isControlHeader($0.name) }
                .map { SerializedHeaderField(name: canonicalName($0.name), value: $0.value) }
        )
    }

    /// Decodes a received value into fields, in wire order.
    public static func decode(
        _ value: some StringProtocol,
        limits: Limits = Limits()
    ) throws(SerializedHeadersError) -> [SerializedHeaderField] {
        try self.decode(bytes: Array(value.utf8), limits: limits)
    }

    /// Decodes a received value given as bytes. Empty pieces (`;;`) are skipped, like
    /// cloudflared's own decoder; every other violation throws.
    public static func decode(
        bytes: [UInt8],
        limits: Limits = Limits()
    ) throws(SerializedHeadersError) -> [SerializedHeaderField] {
        guard bytes.count <= limits.maxEncodedLength else {
            throw .tooLong(length: bytes.count, limit: limits.maxEncodedLength)
        }
        var fields = [SerializedHeaderField]()
        var pair = 0
        for piece in bytes.split(separator: UInt8(ascii: ";"), omittingEmptySubsequences: true) {
            guard fields.count < limits.maxFieldCount else { throw .tooManyFields(limit: limits.maxFieldCount) }
            guard let colon = piece.firstIndex(of: UInt8(ascii: ":")) else { throw .missingColon(pair: pair) }
            let encodedValue = piece[piece.index(after: colon)...]
            guard !encodedValue.contains(UInt8(ascii: ":")) else { throw .extraColon(pair: pair) }
            guard let name = Base64.decodeUnpadded(piece[..<colon]) else {
                throw .invalidBase64(pair: pair, inName: true)
            }
            guard !name.isEmpty else { throw .emptyName(pair: pair) }
            guard let value = Base64.decodeUnpadded(encodedValue) else {
                throw .invalidBase64(pair: pair, inName: false)
            }
            fields.append(SerializedHeaderField(name: name, value: value))
            pair += 1
        }
        return fields
    }

    /// Whether cloudflared treats an origin response header as a control header and drops it
    /// (edge-protocol.md 7.2). Case-insensitive.
    public static func isControlHeader(_ name: String) -> Bool {
        let lower = name.lowercased()
        return lower.hasPrefix(":") || lower.hasPrefix("cf-int-") || lower.hasPrefix("cf-cloudflared-")
            || lower.hasPrefix("cf-proxy-")
    }

    /// Go's canonical MIME header form: first letter and letters after `-` upper case, the
    /// rest lower case. Names with bytes outside token characters are returned unchanged.
    public static func canonicalName(_ name: String) -> String {
        var bytes = Array(name.utf8)
        var upper = true
        for index in bytes.indices {
            let byte = bytes[index]
            guard byte > 0x20, byte < 0x7F, byte != UInt8(ascii: ":") else { return name }
            if upper, byte >= UInt8(ascii: "a"), byte <= UInt8(ascii: "z") {
                bytes[index] = byte - 0x20
            } else if !upper, byte >= UInt8(ascii: "A"), byte <= UInt8(ascii: "Z") {
                bytes[index] = byte + 0x20
            }
            upper = byte == UInt8(ascii: "-")
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
