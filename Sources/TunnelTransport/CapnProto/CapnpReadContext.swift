/// Shared state of one read pass over a message: the message and the remaining traversal budget.
///
/// All bounds checks live here; the typed readers only ever use offsets this type validated.
final class CapnpReadContext {
    let message: CapnpMessage
    private(set) var remainingWords: Int

    init(message: CapnpMessage, limits: CapnpReaderLimits) {
        self.message = message
        self.remainingWords = limits.traversalLimitWords
    }

    /// Charges `words` against the traversal limit.
    @inline(__always)
    func charge(_ words: Int) throws {
        self.remainingWords -= words
        if self.remainingWords < 0 {
            self.remainingWords = -1
            throw CapnpError.traversalLimitExceeded()
        }
    }

    /// What a (possibly far) pointer resolves to: the tag word describing the object, and where the object starts.
    struct Target {
        var tag: UInt64
        var segment: Int
        /// Absolute word index of the object's first word (for composite lists: of the tag word).
        var word: Int
    }

    enum Resolved {
        case null
        case object(Target)
        case capability(UInt32)
    }

    @inline(__always)
    static func signedOffset(_ raw: UInt64) -> Int {
        Int(Int32(truncatingIfNeeded: UInt32(truncatingIfNeeded: raw)) >> 2)
    }

    /// Resolves the pointer at absolute word `pointerWord` of `segment`, following at most one far hop.
    func resolve(pointerWord: Int, segment: Int) throws -> Resolved {
        let raw = self.message.word(pointerWord)
        if raw == 0 { return .null }
        switch raw & 3 {
        case 0, 1:
            return .object(Target(tag: raw, segment: segment, word: pointerWord + 1 + Self.signedOffset(raw)))
        case 3:
            guard raw & 0xFFFF_FFFF == 3 else {
                throw CapnpError.invalidCapabilityPointer("reserved bits set in \(String(raw, radix: 16))")
            }
            return .capability(UInt32(truncatingIfNeeded: raw >> 32))
        default:
            let landingSegment = Int(raw >> 32)
            let landingOffset = Int((raw >> 3) & 0x1FFF_FFFF)
            let isDouble = raw & 4 != 0
            guard landingSegment < self.message.segmentCount else {
                throw CapnpError.farPointerSegmentOutOfRange("segment \(landingSegment) of \(self.message.segmentCount)")
            }
            let padWords = isDouble ? 2 : 1
            guard landingOffset + padWords <= self.message.segmentWords[landingSegment] else {
                throw CapnpError.pointerOutOfBounds("far pointer landing pad at word \(landingOffset)")
            }
            try self.charge(padWords)
            let padIndex = self.message.segmentStarts[landingSegment] + landingOffset
            let pad = self.message.word(padIndex)
            if !isDouble {
                switch pad & 3 {
                case 2:
                    throw CapnpError.farPointerChain("single landing pad holds another far pointer")
                case 3:
                    return try self.resolve(pointerWord: padIndex, segment: landingSegment)
                default:
                    if pad == 0 { return .null }
                    return .object(Target(tag: pad, segment: landingSegment, word: padIndex + 1 + Self.signedOffset(pad)))
                }
            }
            guard pad & 7 == 2 else {
                throw CapnpError.farPointerChain("double landing pad does not start with a single far pointer")
            }
            let tag = self.message.word(padIndex + 1)
            guard tag & 3 == 0 || tag & 3 == 1 else {
                throw CapnpError.farPointerChain("double landing pad tag is not a struct or list pointer")
            }
            let contentSegment = Int(pad >> 32)
            guard contentSegment < self.message.segmentCount else {
                throw CapnpError.farPointerSegmentOutOfRange("segment \(contentSegment) of \(self.message.segmentCount)")
            }
            let contentOffset = Int((pad >> 3) & 0x1FFF_FFFF)
            return .object(Target(tag: tag, segment: contentSegment, word: self.message.segmentStarts[contentSegment] + contentOffset))
        }
    }

    /// Checks that `words` words starting at absolute word `start` lie inside `segment`.
    @inline(__always)
    func checkBounds(segment: Int, start: Int, words: Int) throws {
        let lower = self.message.segmentStarts[segment]
        let upper = lower + self.message.segmentWords[segment]
        guard start >= lower, words >= 0, start <= upper, words <= upper - start else {
            throw CapnpError.pointerOutOfBounds("object of \(words) words at word \(start - lower) of segment \(segment) (\(upper - lower) words)")
        }
    }

    func readStruct(pointerWord: Int, segment: Int, nesting: Int) throws -> CapnpStructReader? {
        switch try self.resolve(pointerWord: pointerWord, segment: segment) {
        case .null:
            return nil
        case .capability:
            throw CapnpError.unexpectedPointerKind("expected a struct, found a capability")
        case .object(let target):
            return try self.structReader(target, nesting: nesting)
        }
    }

    func structReader(_ target: Target, nesting: Int) throws -> CapnpStructReader {
        guard target.tag & 3 == 0 else { throw CapnpError.unexpectedPointerKind("expected a struct, found a list") }
        guard nesting > 0 else { throw CapnpError.nestingLimitExceeded() }
        let dataWords = Int((target.tag >> 32) & 0xFFFF)
        let pointers = Int(target.tag >> 48)
        try self.checkBounds(segment: target.segment, start: target.word, words: dataWords + pointers)
        try self.charge(dataWords + pointers)
        return CapnpStructReader(
            context: self, segment: target.segment, dataByte: target.word * 8, dataBytes: dataWords * 8,
            pointerWord: target.word + dataWords, pointerCount: pointers, nesting: nesting - 1)
    }

    func readList(pointerWord: Int, segment: Int, nesting: Int) throws -> CapnpListReader? {
        switch try self.resolve(pointerWord: pointerWord, segment: segment) {
        case .null:
            return nil
        case .capability:
            throw CapnpError.unexpectedPointerKind("expected a list, found a capability")
        case .object(let target):
            return try self.listReader(target, nesting: nesting)
        }
    }

    func listReader(_ target: Target, nesting: Int) throws -> CapnpListReader {
        guard target.tag & 3 == 1 else { throw CapnpError.unexpectedPointerKind("expected a list, found a struct") }
        guard nesting > 0 else { throw CapnpError.nestingLimitExceeded() }
        let sizeCode = Int((target.tag >> 32) & 7)
        let count = Int(target.tag >> 35)
        guard let elementSize = CapnpElementSize(rawValue: sizeCode) else { preconditionFailure("3-bit code") }
        if elementSize == .composite {
            let words = count
            try self.checkBounds(segment: target.segment, start: target.word, words: words + 1)
            let tag = self.message.word(target.word)
            guard tag & 3 == 0 else { throw CapnpError.invalidCompositeListTag("tag is not struct-shaped") }
            let elements = Self.signedOffset(tag)
            let dataWords = Int((tag >> 32) & 0xFFFF)
            let pointers = Int(tag >> 48)
            guard elements >= 0, elements * (dataWords + pointers) <= words else {
                throw CapnpError.invalidCompositeListTag("\(elements) elements of \(dataWords + pointers) words exceed \(words) words")
            }
            // Zero-sized elements cost nothing to store, so charge per element to stop amplification.
            try self.charge(Swift.max(words + 1, elements))
            return CapnpListReader(
                context: self, segment: target.segment, elementSize: .composite, count: elements,
                startByte: (target.word + 1) * 8, structDataBytes: dataWords * 8, structPointers: pointers,
                nesting: nesting - 1)
        }
        let bits = elementSize.bits * count
        let words = (bits + 63) / 64
        try self.checkBounds(segment: target.segment, start: target.word, words: words)
        try self.charge(elementSize == .void ? Swift.max(count, 1) : words)
        return CapnpListReader(
            context: self, segment: target.segment, elementSize: elementSize, count: count,
            startByte: target.word * 8, structDataBytes: elementSize.bits >= 8 && elementSize != .pointer ? elementSize.bits / 8 : 0,
            structPointers: elementSize == .pointer ? 1 : 0, nesting: nesting - 1)
    }

    func readPointer(pointerWord: Int, segment: Int, nesting: Int) throws -> CapnpPointerValue {
        switch try self.resolve(pointerWord: pointerWord, segment: segment) {
        case .null:
            return .null
        case .capability(let index):
            return .capability(index)
        case .object(let target):
            if target.tag & 3 == 0 {
                return .struct(try self.structReader(target, nesting: nesting))
            }
            return .list(try self.listReader(target, nesting: nesting))
        }
    }
}

/// Element size code of a Cap'n Proto list pointer.
public enum CapnpElementSize: Int, Sendable, Hashable {
    /// No data (`List(Void)`).
    case void = 0
    /// One bit per element (`List(Bool)`).
    case bit = 1
    /// One byte per element (`Data`, `Text`, `List(UInt8)`).
    case byte = 2
    /// Two bytes per element.
    case twoBytes = 3
    /// Four bytes per element.
    case fourBytes = 4
    /// Eight bytes per element.
    case eightBytes = 5
    /// One pointer per element (`List(Text)`, `List(Data)`, lists of lists).
    case pointer = 6
    /// Structs, preceded by a tag word (`List(SomeStruct)`).
    case composite = 7

    /// Bits per element (composite: not meaningful, 0).
    public var bits: Int {
        switch self {
        case .void: 0
        case .bit: 1
        case .byte: 8
        case .twoBytes: 16
        case .fourBytes: 32
        case .eightBytes, .pointer: 64
        case .composite: 0
        }
    }
}

/// An untyped pointer value: what an `AnyPointer` field holds.
public enum CapnpPointerValue {
    /// A null pointer.
    case null
    /// A struct.
    case `struct`(CapnpStructReader)
    /// A list.
    case list(CapnpListReader)
    /// A capability: an index into the enclosing RPC payload's capability table.
    case capability(UInt32)
}
