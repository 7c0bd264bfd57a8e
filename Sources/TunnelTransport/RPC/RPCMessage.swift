/// One message of the Cap'n Proto RPC protocol (`rpc.capnp` `Message`, the subset a tunnel control stream uses).
///
/// Decode with ``init(decoding:limits:)`` and encode with ``encode()``; kinds outside the subset decode as
/// ``other(kind:)`` and are answered with ``unimplemented(_:)`` by ``RPCSession``.
public indirect enum RPCMessage: Sendable {
    /// The peer did not understand the echoed message (`nil` when the echo itself could not be decoded).
    case unimplemented(RPCMessage?)
    /// The peer ends the connection.
    case abort(RPCException)
    /// A method call.
    case call(RPCCall)
    /// The answer to a question.
    case `return`(RPCReturn)
    /// The caller no longer needs a question's answer.
    case finish(questionID: UInt32, releaseResultCaps: Bool)
    /// Drops references to an imported capability.
    case release(id: UInt32, referenceCount: UInt32)
    /// Asks for the peer's bootstrap capability.
    case bootstrap(questionID: UInt32)
    /// A message kind outside the supported subset (`resolve`=5, `obsoleteSave`=7, `obsoleteDelete`=9,
    /// `provide`=10, `accept`=11, `join`=12, `disembargo`=13, or unknown).
    case other(kind: UInt16)

    /// Union discriminant values of `Message`.
    public enum Kind: UInt16, Sendable {
        /// `unimplemented`.
        case unimplemented = 0
        /// `abort`.
        case abort = 1
        /// `call`.
        case call = 2
        /// `return`.
        case `return` = 3
        /// `finish`.
        case finish = 4
        /// `resolve`.
        case resolve = 5
        /// `release`.
        case release = 6
        /// `obsoleteSave`.
        case obsoleteSave = 7
        /// `bootstrap`.
        case bootstrap = 8
        /// `obsoleteDelete`.
        case obsoleteDelete = 9
        /// `provide`.
        case provide = 10
        /// `accept`.
        case accept = 11
        /// `join`.
        case join = 12
        /// `disembargo`.
        case disembargo = 13
    }
}

/// The RPC `Exception` struct, used by `Abort` and by `Return.exception`.
public struct RPCException: Error, Sendable, Hashable, CustomStringConvertible {
    /// Exception type (`failed`, `overloaded`, `disconnected`, `unimplemented`, or a future value).
    public struct ExceptionType: RawRepresentable, Sendable, Hashable, CustomStringConvertible {
        /// Wire value.
        public var rawValue: UInt16
        /// Creates a type from its wire value.
        public init(rawValue: UInt16) { self.rawValue = rawValue }
        /// Generic failure.
        public static let failed = ExceptionType(rawValue: 0)
        /// Temporary lack of resources.
        public static let overloaded = ExceptionType(rawValue: 1)
        /// The connection or capability went away.
        public static let disconnected = ExceptionType(rawValue: 2)
        /// The method or message is not implemented.
        public static let unimplemented = ExceptionType(rawValue: 3)

        public var description: String {
            switch self.rawValue {
            case 0: "failed"
            case 1: "overloaded"
            case 2: "disconnected"
            case 3: "unimplemented"
            default: "type \(self.rawValue)"
            }
        }
    }

    /// Human-readable reason.
    public var reason: String
    /// Exception type.
    public var type: ExceptionType
    /// Optional trace (newer `rpc.capnp`, pointer 1); encoded only when non-`nil`.
    public var trace: String?

    /// Creates an exception.
    public init(reason: String, type: ExceptionType = .failed, trace: String? = nil) {
        self.reason = reason
        self.type = type
        self.trace = trace
    }

    public var description: String { "rpc exception (\(self.type)): \(self.reason)" }
}

/// Where a call is sent: an imported capability, or a capability promised by an unanswered question.
public enum RPCMessageTarget: Sendable, Hashable {
    /// A capability the receiver exported earlier (the receiver's export id).
    case importedCap(UInt32)
    /// The capability in the (future) answer to question `questionID`, reached through `transform`.
    case promisedAnswer(RPCPromisedAnswer)
}

/// `PromisedAnswer`: a question id and a path of pointer fields into its results.
public struct RPCPromisedAnswer: Sendable, Hashable {
    /// One step of the path.
    public enum Op: Sendable, Hashable {
        /// No step.
        case noop
        /// Follow pointer field `n` of the current struct.
        case getPointerField(UInt16)
    }

    /// The question whose answer holds the capability.
    public var questionID: UInt32
    /// Path into the answer's content; cloudflared sends an empty list.
    public var transform: [Op]

    /// Creates a promised answer.
    public init(questionID: UInt32, transform: [Op] = []) {
        self.questionID = questionID
        self.transform = transform
    }
}

/// `CapDescriptor`: one entry of a payload's capability table.
public enum RPCCapDescriptor: Sendable, Hashable {
    /// No capability.
    case none
    /// A capability the sender exports under this id.
    case senderHosted(UInt32)
    /// A promise the sender exports under this id.
    case senderPromise(UInt32)
    /// A capability the receiver exported under this id.
    case receiverHosted(UInt32)
    /// A capability promised by one of the receiver's answers.
    case receiverAnswer(RPCPromisedAnswer)
    /// Level 3 (not supported); carries the discriminant seen.
    case unsupported(UInt16)
}

/// What a payload's `content` pointer holds.
public enum RPCContent: Sendable {
    /// A null pointer.
    case null
    /// A capability pointer: an index into the payload's capability table.
    case capability(UInt32)
    /// A struct to encode (outgoing).
    case value(any CapnpStructEncodable & Sendable)
    /// A pointer inside a received message (incoming), decoded on demand.
    case received(CapnpAnyPointer)

    /// Decodes the content as `T` (a null pointer gives `T`'s defaults).
    public func decode<T: CapnpStructDecodable>(_ type: T.Type = T.self, limits: CapnpReaderLimits = .init()) throws -> T {
        switch self {
        case .null:
            return try T(capnpMessage: try CapnpEmptyStruct().capnpMessage(), limits: limits)
        case .capability:
            throw CapnpError.unexpectedPointerKind("payload content is a capability, expected a struct")
        case .value(let value):
            if let value = value as? T { return value }
            var builder = CapnpMessageBuilder()
            try builder.encodeRoot(value)
            return try T(capnpMessage: builder.message, limits: limits)
        case .received(let pointer):
            return try pointer.decode(T.self, limits: limits)
        }
    }
}

/// `Payload`: the content of a call's parameters or a return's results, plus its capability table.
public struct RPCPayload: Sendable {
    /// The params/results struct, or a capability (bootstrap answers).
    public var content: RPCContent
    /// The capability table; `nil` encodes a null pointer, `[]` an empty list (cloudflared sends `[]` in calls).
    public var capTable: [RPCCapDescriptor]?

    /// Creates a payload.
    public init(content: RPCContent, capTable: [RPCCapDescriptor]? = []) {
        self.content = content
        self.capTable = capTable
    }
}

/// `Call`: a method call on a target capability.
public struct RPCCall: Sendable {
    /// The caller's question id for this call.
    public var questionID: UInt32
    /// The capability called.
    public var target: RPCMessageTarget
    /// Interface declaring the method.
    public var interfaceID: UInt64
    /// Method ordinal within the interface.
    public var methodID: UInt16
    /// Parameters.
    public var params: RPCPayload
    /// `sendResultsTo` discriminant: 0 caller (the only supported value), 1 yourself, 2 third party.
    public var sendResultsTo: UInt16
    /// `allowThirdPartyTailCall` (always `false` here).
    public var allowThirdPartyTailCall: Bool

    /// Creates a call whose results go back to the caller.
    public init(
        questionID: UInt32, target: RPCMessageTarget, interfaceID: UInt64, methodID: UInt16, params: RPCPayload,
        sendResultsTo: UInt16 = 0, allowThirdPartyTailCall: Bool = false
    ) {
        self.questionID = questionID
        self.target = target
        self.interfaceID = interfaceID
        self.methodID = methodID
        self.params = params
        self.sendResultsTo = sendResultsTo
        self.allowThirdPartyTailCall = allowThirdPartyTailCall
    }
}

/// `Return`: the answer to a question.
public struct RPCReturn: Sendable {
    /// What the answer is.
    public enum Result: Sendable {
        /// Results payload.
        case results(RPCPayload)
        /// The call failed.
        case exception(RPCException)
        /// The call was canceled by a Finish.
        case canceled
        /// Results went elsewhere (not supported).
        case resultsSentElsewhere
        /// Same as another question's answer (not supported).
        case takeFromOtherQuestion(UInt32)
        /// Level 3 (not supported).
        case acceptFromThirdParty
        /// A future union member.
        case unknown(UInt16)
    }

    /// The question id being answered.
    public var answerID: UInt32
    /// Whether the receiver should release the call's parameter capabilities (default `true`; wire bit 1 = false).
    public var releaseParamCaps: Bool
    /// `noFinishNeeded` (newer `rpc.capnp`, bit 33); cloudflared's library ignores it.
    public var noFinishNeeded: Bool
    /// The answer.
    public var result: Result

    /// Creates a return.
    public init(answerID: UInt32, result: Result, releaseParamCaps: Bool = true, noFinishNeeded: Bool = false) {
        self.answerID = answerID
        self.result = result
        self.releaseParamCaps = releaseParamCaps
        self.noFinishNeeded = noFinishNeeded
    }
}
