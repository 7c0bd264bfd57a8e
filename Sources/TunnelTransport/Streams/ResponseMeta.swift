/// The `cf-cloudflared-response-meta` value: who produced a response (edge-protocol.md 7.4).
public struct ResponseMeta: Sendable, Hashable, CustomStringConvertible {
    /// The producer of the response.
    public enum Source: String, Sendable, Hashable {
        /// The origin, or a connector-internal service acting as one.
        case origin
        /// The connector itself could not serve the request (always status 502).
        case cloudflared
    }

    /// Who produced the response.
    public var source: Source
    /// Rejected because the connector's private-network flow limit was reached.
    public var flowRateLimited: Bool

    /// A meta value.
    public init(source: Source, flowRateLimited: Bool = false) {
        self.source = source
        self.flowRateLimited = flowRateLimited
    }

    /// `{"src":"origin"}`.
    public static let origin = ResponseMeta(source: .origin)
    /// `{"src":"cloudflared"}`.
    public static let cloudflared = ResponseMeta(source: .cloudflared)
    /// `{"src":"cloudflared","flow_rate_limited":true}`.
    public static let flowRateLimited = ResponseMeta(source: .cloudflared, flowRateLimited: true)

    /// The compact JSON cloudflared writes, byte for byte.
    public var headerValue: String {
        self.flowRateLimited
            ? #"{"src":"\#(self.source.rawValue)","flow_rate_limited":true}"#
            : #"{"src":"\#(self.source.rawValue)"}"#
    }

    /// Parses a received value. Accepts any JSON object with a string `src` of `origin` or
    /// `cloudflared` and an optional boolean `flow_rate_limited`; whitespace and key order
    /// do not matter, unknown keys are ignored.
    public init(headerValue: String) throws(ResponseMetaError) {
        var parser = MiniJSONObjectParser(Array(headerValue.utf8))
        guard let object = parser.parseFlatObject() else { throw .malformed(headerValue) }
        guard case .string(let src)? = object["src"] else { throw .malformed(headerValue) }
        guard let source = Source(rawValue: src) else { throw .unknownSource(src) }
        var limited = false
        switch object["flow_rate_limited"] {
        case .bool(let value)?: limited = value
        case nil, .null?: break
        default: throw .malformed(headerValue)
        }
        self.init(source: source, flowRateLimited: limited)
    }

    /// Same as ``headerValue``.
    public var description: String { self.headerValue }
}

/// A `cf-cloudflared-response-meta` value could not be understood.
public struct ResponseMetaError: Error, Hashable, CustomStringConvertible {
    private enum Code: Hashable {
        case malformed(String)
        case unknownSource(String)
    }

    private let code: Code

    /// The value is not a JSON object with a string `src`.
    public static func malformed(_ value: String) -> Self { Self(code: .malformed(String(value.prefix(200)))) }

    /// `src` is neither `origin` nor `cloudflared`.
    public static func unknownSource(_ source: String) -> Self { Self(code: .unknownSource(String(source.prefix(200)))) }

    /// What went wrong and what to do next.
    public var description: String {
        switch self.code {
        case .malformed(let value):
            "cf-cloudflared-response-meta is not a JSON object with a string \"src\": \(value); treat the response as a connector error (502)"
        case .unknownSource(let source):
            "cf-cloudflared-response-meta names an unknown source \"\(source)\"; expected \"origin\" or \"cloudflared\""
        }
    }
}

/// Just enough JSON to read a flat object of strings, booleans, numbers and null, without
/// pulling Foundation into the transport.
struct MiniJSONObjectParser {
    enum Value: Equatable {
        case string(String)
        case bool(Bool)
        case number(String)
        case null
    }

    private let bytes: [UInt8]
    private var index = 0

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    mutating func parseFlatObject() -> [String: Value]? {
        var result = [String: Value]()
        self.skipSpace()
        guard self.take(UInt8(ascii: "{")) else { return nil }
        self.skipSpace()
        if self.take(UInt8(ascii: "}")) { return self.atEnd() ? result : nil }
        while true {
            self.skipSpace()
            guard let key = self.parseString() else { return nil }
            self.skipSpace()
            guard self.take(UInt8(ascii: ":")) else { return nil }
            self.skipSpace()
            guard let value = self.parseValue() else { return nil }
            result[key] = value
            self.skipSpace()
            if self.take(UInt8(ascii: ",")) { continue }
            guard self.take(UInt8(ascii: "}")) else { return nil }
            return self.atEnd() ? result : nil
        }
    }

    private mutating func atEnd() -> Bool {
        self.skipSpace()
        return self.index == self.bytes.count
    }

    private mutating func skipSpace() {
        while self.index < self.bytes.count, [0x20, 0x09, 0x0A, 0x0D].contains(self.bytes[self.index]) {
            self.index += 1
        }
    }

    private mutating func take(_ byte: UInt8) -> Bool {
        guard self.index < self.bytes.count, self.bytes[self.index] == byte else { return false }
        self.index += 1
        return true
    }

    private mutating func takeLiteral(_ literal: String) -> Bool {
        let literalBytes = Array(literal.utf8)
        guard self.bytes[self.index...].starts(with: literalBytes) else { return false }
        self.index += literalBytes.count
        return true
    }

    private mutating func parseValue() -> Value? {
        guard self.index < self.bytes.count else { return nil }
        switch self.bytes[self.index] {
        case UInt8(ascii: "\""): return self.parseString().map(Value.string)
        case UInt8(ascii: "t"): return self.takeLiteral("true") ? .bool(true) : nil
        case UInt8(ascii: "f"): return self.takeLiteral("false") ? .bool(false) : nil
        case UInt8(ascii: "n"): return self.takeLiteral("null") ? .null : nil
        default:
            let start = self.index
            while self.index < self.bytes.count,
                Array("+-.eE0123456789".utf8).contains(self.bytes[self.index])
            {
                self.index += 1
            }
            return self.index > start ? .number(String(decoding: self.bytes[start..<self.index], as: UTF8.self)) : nil
        }
    }

    /// Strings with simple escapes; `\u` escapes are rejected (never used by the producer).
    private mutating func parseString() -> String? {
        guard self.take(UInt8(ascii: "\"")) else { return nil }
        var out = [UInt8]()
        while self.index < self.bytes.count {
            let byte = self.bytes[self.index]
            self.index += 1
            switch byte {
            case UInt8(ascii: "\""): return String(decoding: out, as: UTF8.self)
            case UInt8(ascii: "\\"):
                guard self.index < self.bytes.count else { return nil }
                let escaped = self.bytes[self.index]
                self.index += 1
                switch escaped {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): out.append(escaped)
                case UInt8(ascii: "n"): out.append(0x0A)
                case UInt8(ascii: "t"): out.append(0x09)
                case UInt8(ascii: "r"): out.append(0x0D)
                default: return nil
                }
            default:
                out.append(byte)
            }
        }
        return nil
    }
}
