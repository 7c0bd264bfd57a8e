/// A failed registration RPC, as seen by the connector.
public struct RegistrationError: Error, Hashable, CustomStringConvertible, Sendable {
    private enum Code: Hashable, Sendable {
        case refused
        case invalidDetails
        case timedOut
    }

    private let code: Code
    /// The edge's refusal, for ``refused(_:file:line:)``.
    public let connectionError: ConnectionError?
    /// More detail.
    public let detail: String
    /// Source file (`#fileID`) that raised the error.
    public let file: String
    /// Source line that raised the error.
    public let line: Int

    private init(_ code: Code, _ connectionError: ConnectionError?, _ detail: String, file: String, line: Int) {
        self.code = code
        self.connectionError = connectionError
        self.detail = detail
        self.file = file
        self.line = line
    }

    public static func == (lhs: RegistrationError, rhs: RegistrationError) -> Bool { lhs.code == rhs.code }
    public func hash(into hasher: inout Hasher) { hasher.combine(self.code) }

    /// The edge answered `ConnectionResponse.error`.
    public static func refused(_ error: ConnectionError, file: String = #fileID, line: Int = #line) -> Self {
        Self(.refused, error, error.cause, file: file, line: line)
    }
    /// The edge accepted but its `ConnectionDetails` are unusable (uuid not 16 bytes).
    public static func invalidDetails(_ detail: String = "", file: String = #fileID, line: Int = #line) -> Self {
        Self(.invalidDetails, nil, detail, file: file, line: line)
    }
    /// The call did not complete within its timeout (a `Finish` was sent, like cloudflared).
    public static func timedOut(_ detail: String = "", file: String = #fileID, line: Int = #line) -> Self {
        Self(.timedOut, nil, detail, file: file, line: line)
    }

    /// `true` when the edge reported a duplicate connection (`EDUPCONN`): try another edge address.
    public var isDuplicateConnection: Bool { self.connectionError?.cause == ConnectionError.duplicateConnectionCause }

    /// `true` when the edge asked to retry (`shouldRetry`).
    public var shouldRetry: Bool { self.connectionError?.shouldRetry ?? false }

    public var description: String {
        switch self.code {
        case .refused:
            let kind = self.shouldRetry ? "retryable" : "permanent"
            return "edge refused the registration (\(kind)): \(self.detail); check the tunnel credentials, then retry with backoff (\(self.file):\(self.line))"
        case .invalidDetails:
            return "edge accepted the registration with invalid details: \(self.detail); the edge is broken (\(self.file):\(self.line))"
        case .timedOut:
            return "registration RPC timed out: \(self.detail); the edge is slow or unreachable, retry with backoff (\(self.file):\(self.line))"
        }
    }
}
