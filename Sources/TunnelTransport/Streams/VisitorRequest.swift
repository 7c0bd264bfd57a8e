/// A visitor's request as the edge received it (typically over HTTP/1.1), before it is sent
/// to a connector as an HTTP/2 request stream.
public struct VisitorRequest: Sendable, Hashable {
    /// Request method, e.g. `GET`.
    public var method: String
    /// The scheme the visitor used towards the edge: `http` or `https`.
    public var scheme: String
    /// The visitor's `Host` (may include a port).
    public var authority: String
    /// Path with query string, e.g. `/index.html?a=1`.
    public var path: String
    /// Header fields in visitor order; names in any case.
    public var headers: [(name: String, value: String)]
    /// The visitor's IP address as text, if known (`192.0.2.7`, `2001:db8::1`).
    public var visitorAddress: String?

    /// A visitor request.
    public init(
        method: String,
        scheme: String,
        authority: String,
        path: String,
        headers: [(name: String, value: String)] = [],
        visitorAddress: String? = nil
    ) {
        self.method = method
        self.scheme = scheme
        self.authority = authority
        self.path = path
        self.headers = headers
        self.visitorAddress = visitorAddress
    }

    /// Field-by-field equality (tuples are not `Equatable`).
    public static func == (lhs: Self, rhs: Self) -> Bool {
        lhs.method == rhs.method && lhs.scheme == rhs.scheme && lhs.authority == rhs.authority
            && lhs.path == rhs.path && lhs.visitorAddress == rhs.visitorAddress
            && lhs.headers.elementsEqual(rhs.headers, by: { $0.name == $1.name && $0.value == $1.value })
    }

    /// Hashes the request line, address and header fields.
    public func hash(into hasher: inout Hasher) {
        hasher.combine(self.method)
        hasher.combine(self.scheme)
        hasher.combine(self.authority)
        hasher.combine(self.path)
        hasher.combine(self.visitorAddress)
        for header in self.headers {
            hasher.combine(header.name)
            hasher.combine(header.value)
        }
    }
}
