/// A request could not be converted between its visitor, HTTP/2 and origin forms.
public struct RequestConversionError: Error, Hashable, CustomStringConvertible {
    private enum Code: Hashable {
        case missingPseudoHeader(String)
        case invalidScheme(String)
        case invalidHeaderName(String)
        case invalidHeaderValue(name: String)
    }

    private let code: Code
    /// Where the error was raised (`#fileID:#line`), for debugging only; not part of equality.
    public let location: String

    private init(_ code: Code, file: String, line: Int) {
        self.code = code
        self.location = "\(file):\(line)"
    }

    /// A required pseudo header (`:method`, `:path`, `:scheme`, `:authority`) is missing or empty.
    public static func missingPseudoHeader(_ name: String, file: String = #fileID, line: Int = #line) -> Self {
        Self(.missingPseudoHeader(name), file: file, line: line)
    }

    /// `:scheme` is neither `http` nor `https`.
    public static func invalidScheme(_ scheme: String, file: String = #fileID, line: Int = #line) -> Self {
        Self(.invalidScheme(String(scheme.prefix(64))), file: file, line: line)
    }

    /// A header name is empty or not an HTTP token.
    public static func invalidHeaderName(_ name: String, file: String = #fileID, line: Int = #line) -> Self {
        Self(.invalidHeaderName(String(name.prefix(64))), file: file, line: line)
    }

    /// A header value contains CR, LF or NUL.
    public static func invalidHeaderValue(name: String, file: String = #fileID, line: Int = #line) -> Self {
        Self(.invalidHeaderValue(name: String(name.prefix(64))), file: file, line: line)
    }

    /// Equality by error code only.
    public static func == (lhs: Self, rhs: Self) -> Bool { lhs.code == rhs.code }

    /// Hashes the error code only.
    public func hash(into hasher: inout Hasher) { hasher.combine(self.code) }

    /// What went wrong and what to do next.
    public var description: String {
        switch self.code {
        case .missingPseudoHeader(let name):
            "request has no usable \(name); the HTTP/2 peer must send :method, :scheme and :path (CONNECT: :authority) (at \(self.location))"
        case .invalidScheme(let scheme):
            "request :scheme \"\(scheme)\" is not http or https (at \(self.location))"
        case .invalidHeaderName(let name):
            "header name \"\(name)\" is not a valid HTTP token; answer the visitor 400 (at \(self.location))"
        case .invalidHeaderValue(let name):
            "header \"\(name)\" has a value with CR, LF or NUL; answer the visitor 400 (at \(self.location))"
        }
    }
}
