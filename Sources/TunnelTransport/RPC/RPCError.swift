/// An RPC-level failure that is not an exception sent by the peer (those are thrown as ``RPCException``).
public struct RPCError: Error, Hashable, CustomStringConvertible, Sendable {
    private enum Code: Hashable, Sendable {
        case sessionClosed
        case protocolViolation
        case bootstrapFailed
        case tooManyQuestions
    }

    private let code: Code
    /// More detail about the failure.
    public let detail: String
    /// Source file (`#fileID`) that raised the error.
    public let file: String
    /// Source line that raised the error.
    public let line: Int

    private init(_ code: Code, _ detail: String, file: String, line: Int) {
        self.code = code
        self.detail = detail
        self.file = file
        self.line = line
    }

    public static func == (lhs: RPCError, rhs: RPCError) -> Bool { lhs.code == rhs.code }
    public func hash(into hasher: inout Hasher) { hasher.combine(self.code) }

    /// The session ended (peer abort, end of stream, local shutdown) before the call completed.
    public static func sessionClosed(_ detail: String = "", file: String = #fileID, line: Int = #line) -> Self {
        Self(.sessionClosed, detail, file: file, line: line)
    }
    /// The peer sent a message that breaks the RPC protocol (undecodable, duplicate question id, bad capability).
    public static func protocolViolation(_ detail: String = "", file: String = #fileID, line: Int = #line) -> Self {
        Self(.protocolViolation, detail, file: file, line: line)
    }
    /// The peer's bootstrap answer did not carry a usable capability.
    public static func bootstrapFailed(_ detail: String = "", file: String = #fileID, line: Int = #line) -> Self {
        Self(.bootstrapFailed, detail, file: file, line: line)
    }
    /// The peer has more unanswered questions than ``RPCSession/Configuration/maxOutstandingAnswers`` allows.
    public static func tooManyQuestions(_ detail: String = "", file: String = #fileID, line: Int = #line) -> Self {
        Self(.tooManyQuestions, detail, file: file, line: line)
    }

    public var description: String {
        let what: String
        switch self.code {
        case .sessionClosed: what = "RPC session closed before the call completed; reconnect and retry"
        case .protocolViolation: what = "peer violated the Cap'n Proto RPC protocol; the session was aborted"
        case .bootstrapFailed: what = "peer's bootstrap answer carried no capability; check that the peer serves RegistrationServer"
        case .tooManyQuestions: what = "peer sent too many concurrent calls; the session was aborted"
        }
        return self.detail.isEmpty ? "\(what) (\(self.file):\(self.line))" : "\(what): \(self.detail) (\(self.file):\(self.line))"
    }
}
