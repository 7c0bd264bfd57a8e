/// An error raised while framing, reading or building a Cap'n Proto message.
///
/// Every malformed or hostile input maps to one of these codes; the reader never traps on input bytes.
/// Errors compare equal when their codes are equal (the source location is ignored).
public struct CapnpError: Error, Hashable, CustomStringConvertible, Sendable {
    private enum Code: Hashable, Sendable {
        case truncatedMessage
        case segmentCountTooLarge
        case messageTooLarge
        case missingRoot
        case pointerOutOfBounds
        case farPointerSegmentOutOfRange
        case farPointerChain
        case traversalLimitExceeded
        case nestingLimitExceeded
        case unexpectedPointerKind
        case unexpectedListElementSize
        case invalidCompositeListTag
        case textNotTerminated
        case invalidCapabilityPointer
        case valueTooLarge
        case unknownUnionDiscriminant
    }

    private let code: Code
    private let detail: String
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

    public static func == (lhs: CapnpError, rhs: CapnpError) -> Bool { lhs.code == rhs.code }
    public func hash(into hasher: inout Hasher) { hasher.combine(self.code) }

    /// The input ended in the middle of a frame (header or segments).
    public static func truncatedMessage(_ detail: String = "", file: String = #fileID, line: Int = #line) -> Self {
        Self(.truncatedMessage, detail, file: file, line: line)
    }
    /// The frame header announces more segments than the configured limit.
    public static func segmentCountTooLarge(_ detail: String = "", file: String = #fileID, line: Int = #line) -> Self {
        Self(.segmentCountTooLarge, detail, file: file, line: line)
    }
    /// The frame header announces more words than the configured limit.
    public static func messageTooLarge(_ detail: String = "", file: String = #fileID, line: Int = #line) -> Self {
        Self(.messageTooLarge, detail, file: file, line: line)
    }
    /// The message has no root pointer (its first segment is empty).
    public static func missingRoot(_ detail: String = "", file: String = #fileID, line: Int = #line) -> Self {
        Self(.missingRoot, detail, file: file, line: line)
    }
    /// A pointer targets memory outside its segment.
    public static func pointerOutOfBounds(_ detail: String = "", file: String = #fileID, line: Int = #line) -> Self {
        Self(.pointerOutOfBounds, detail, file: file, line: line)
    }
    /// A far pointer names a segment that does not exist.
    public static func farPointerSegmentOutOfRange(_ detail: String = "", file: String = #fileID, line: Int = #line) -> Self {
        Self(.farPointerSegmentOutOfRange, detail, file: file, line: line)
    }
    /// A far pointer's landing pad is malformed (for example another far pointer, which would allow loops).
    public static func farPointerChain(_ detail: String = "", file: String = #fileID, line: Int = #line) -> Self {
        Self(.farPointerChain, detail, file: file, line: line)
    }
    /// Following the message's pointers read more words than the traversal limit allows.
    public static func traversalLimitExceeded(_ detail: String = "", file: String = #fileID, line: Int = #line) -> Self {
        Self(.traversalLimitExceeded, detail, file: file, line: line)
    }
    /// Structs and lists are nested deeper than the nesting limit.
    public static func nestingLimitExceeded(_ detail: String = "", file: String = #fileID, line: Int = #line) -> Self {
        Self(.nestingLimitExceeded, detail, file: file, line: line)
    }
    /// A pointer has a different kind (struct, list, capability) than the schema expects.
    public static func unexpectedPointerKind(_ detail: String = "", file: String = #fileID, line: Int = #line) -> Self {
        Self(.unexpectedPointerKind, detail, file: file, line: line)
    }
    /// A list has a different element size than the schema expects.
    public static func unexpectedListElementSize(_ detail: String = "", file: String = #fileID, line: Int = #line) -> Self {
        Self(.unexpectedListElementSize, detail, file: file, line: line)
    }
    /// A composite list's tag word is malformed or does not fit the list's size.
    public static func invalidCompositeListTag(_ detail: String = "", file: String = #fileID, line: Int = #line) -> Self {
        Self(.invalidCompositeListTag, detail, file: file, line: line)
    }
    /// A Text value is not terminated by a NUL byte.
    public static func textNotTerminated(_ detail: String = "", file: String = #fileID, line: Int = #line) -> Self {
        Self(.textNotTerminated, detail, file: file, line: line)
    }
    /// A capability pointer is malformed or indexes outside the capability table.
    public static func invalidCapabilityPointer(_ detail: String = "", file: String = #fileID, line: Int = #line) -> Self {
        Self(.invalidCapabilityPointer, detail, file: file, line: line)
    }
    /// A value is too large to be encoded (lists are limited to 2^29 - 1 elements).
    public static func valueTooLarge(_ detail: String = "", file: String = #fileID, line: Int = #line) -> Self {
        Self(.valueTooLarge, detail, file: file, line: line)
    }
    /// A union discriminant has a value the schema does not define.
    public static func unknownUnionDiscriminant(_ detail: String = "", file: String = #fileID, line: Int = #line) -> Self {
        Self(.unknownUnionDiscriminant, detail, file: file, line: line)
    }

    public var description: String {
        let what: String
        switch self.code {
        case .truncatedMessage: what = "Cap'n Proto frame is truncated; wait for more bytes or treat the stream as broken"
        case .segmentCountTooLarge: what = "Cap'n Proto frame has too many segments; the peer is broken or hostile, close the stream"
        case .messageTooLarge: what = "Cap'n Proto message exceeds the size limit; close the stream or raise CapnpReaderLimits"
        case .missingRoot: what = "Cap'n Proto message has no root pointer; the peer sent an empty message"
        case .pointerOutOfBounds: what = "Cap'n Proto pointer points outside its segment; the message is corrupt"
        case .farPointerSegmentOutOfRange: what = "Cap'n Proto far pointer names a missing segment; the message is corrupt"
        case .farPointerChain: what = "Cap'n Proto far pointer landing pad is invalid; the message is corrupt"
        case .traversalLimitExceeded: what = "Cap'n Proto traversal limit exceeded; the message is amplified or too large, raise CapnpReaderLimits if legitimate"
        case .nestingLimitExceeded: what = "Cap'n Proto nesting limit exceeded; the message is nested too deeply"
        case .unexpectedPointerKind: what = "Cap'n Proto pointer has the wrong kind for the schema; check that both sides use the same schema"
        case .unexpectedListElementSize: what = "Cap'n Proto list has the wrong element size for the schema; check that both sides use the same schema"
        case .invalidCompositeListTag: what = "Cap'n Proto composite list tag is invalid; the message is corrupt"
        case .textNotTerminated: what = "Cap'n Proto Text is not NUL-terminated; the message is corrupt"
        case .invalidCapabilityPointer: what = "Cap'n Proto capability pointer is invalid; the message is corrupt"
        case .valueTooLarge: what = "value is too large to encode in a Cap'n Proto message; shorten it"
        case .unknownUnionDiscriminant: what = "Cap'n Proto union has an unknown discriminant; the peer uses a newer schema"
        }
        return self.detail.isEmpty ? "\(what) (\(self.file):\(self.line))" : "\(what): \(self.detail) (\(self.file):\(self.line))"
    }
}
