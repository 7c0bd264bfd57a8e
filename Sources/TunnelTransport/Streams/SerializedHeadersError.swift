/// A `cf-cloudflared-response-headers` value could not be decoded.
public struct SerializedHeadersError: Error, Hashable, CustomStringConvertible {
    private enum Code: Hashable {
        case tooLong(length: Int, limit: Int)
        case tooManyFields(limit: Int)
        case missingColon(pair: Int)
        case extraColon(pair: Int)
        case invalidBase64(pair: Int, inName: Bool)
        case emptyName(pair: Int)
    }

    private let code: Code
    /// Where the error was raised (`#fileID:#line`), for debugging only; not part of equality.
    public let location: String

    private init(_ code: Code, file: String, line: Int) {
        self.code = code
        self.location = "\(file):\(line)"
    }

    /// The value is longer than the configured limit.
    public static func tooLong(length: Int, limit: Int, file: String = #fileID, line: Int = #line) -> Self {
        Self(.tooLong(length: length, limit: limit), file: file, line: line)
    }

    /// The value holds more pairs than the configured limit.
    public static func tooManyFields(limit: Int, file: String = #fileID, line: Int = #line) -> Self {
        Self(.tooManyFields(limit: limit), file: file, line: line)
    }

    /// A pair has no `:` between name and value.
    public static func missingColon(pair: Int, file: String = #fileID, line: Int = #line) -> Self {
        Self(.missingColon(pair: pair), file: file, line: line)
    }

    /// A pair has more than one `:`.
    public static func extraColon(pair: Int, file: String = #fileID, line: Int = #line) -> Self {
        Self(.extraColon(pair: pair), file: file, line: line)
    }

    /// A name or value is not unpadded standard base64.
    public static func invalidBase64(pair: Int, inName: Bool, file: String = #fileID, line: Int = #line) -> Self {
        Self(.invalidBase64(pair: pair, inName: inName), file: file, line: line)
    }

    /// A pair decodes to an empty header name.
    public static func emptyName(pair: Int, file: String = #fileID, line: Int = #line) -> Self {
        Self(.emptyName(pair: pair), file: file, line: line)
    }

    /// Equality by error code only.
    public static func == (lhs: Self, rhs: Self) -> Bool { lhs.code == rhs.code }

    /// Hashes the error code only.
    public func hash(into hasher: inout Hasher) { hasher.combine(self.code) }

    /// What went wrong and what to do next.
    public var description: String {
        let what: String
        switch self.code {
        case .tooLong(let length, let limit):
            what = "is \(length) bytes long, over the limit of \(limit); raise SerializedHeaders.Limits.maxEncodedLength if the origin legitimately sends that much"
        case .tooManyFields(let limit):
            what = "holds more than \(limit) headers; raise SerializedHeaders.Limits.maxFieldCount if that is legitimate"
        case .missingColon(let pair):
            what = "has no ':' in pair \(pair); the connector is not encoding headers as base64(name):base64(value)"
        case .extraColon(let pair):
            what = "has more than one ':' in pair \(pair); the connector is not encoding headers as base64(name):base64(value)"
        case .invalidBase64(let pair, let inName):
            what = "has invalid unpadded base64 in the \(inName ? "name" : "value") of pair \(pair); the connector must use the standard alphabet without '=' padding"
        case .emptyName(let pair):
            what = "has an empty header name in pair \(pair); the connector sent a header that cannot be forwarded"
        }
        return "cf-cloudflared-response-headers \(what) (at \(self.location))"
    }
}
