public import NIOCore

/// An immutable Cap'n Proto message: one or more segments of 8-byte words.
///
/// Create one from framed bytes with ``CapnpFrameDecoder`` or ``init(framedBytes:limits:)``, or build one
/// with ``CapnpMessageBuilder``. Read it with ``root(limits:)``.
public struct CapnpMessage: Sendable, Hashable {
    /// All segments' bytes, concatenated.
    let storage: [UInt8]
    /// Word index in `storage` where each segment starts.
    let segmentStarts: [Int]
    /// Length of each segment in words.
    let segmentWords: [Int]

    /// Creates a message from its segments; each segment's length must be a multiple of 8 bytes.
    public init(segments: [[UInt8]]) throws {
        var storage: [UInt8] = []
        storage.reserveCapacity(segments.reduce(0) { $0 + $1.count })
        var starts: [Int] = []
        var words: [Int] = []
        for segment in segments {
            guard segment.count % 8 == 0 else {
                throw CapnpError.truncatedMessage("segment of \(segment.count) bytes is not a whole number of words")
            }
            starts.append(storage.count / 8)
            words.append(segment.count / 8)
            storage.append(contentsOf: segment)
        }
        guard !segments.isEmpty else { throw CapnpError.missingRoot("message has no segment") }
        self.storage = storage
        self.segmentStarts = starts
        self.segmentWords = words
    }

    init(storage: [UInt8], segmentWords: [Int]) {
        var starts: [Int] = []
        starts.reserveCapacity(segmentWords.count)
        var next = 0
        for count in segmentWords {
            starts.append(next)
            next += count
        }
        self.storage = storage
        self.segmentStarts = starts
        self.segmentWords = segmentWords
    }

    /// Parses exactly one stream-framed message; trailing bytes are an error.
    public init(framedBytes: [UInt8], limits: CapnpReaderLimits = .init()) throws {
        var decoder = CapnpFrameDecoder(limits: limits)
        decoder.append(ByteBuffer(bytes: framedBytes))
        guard let message = try decoder.next() else {
            throw CapnpError.truncatedMessage("\(framedBytes.count) bytes do not hold a whole frame")
        }
        guard decoder.bufferedByteCount == 0 else {
            throw CapnpError.truncatedMessage("\(decoder.bufferedByteCount) bytes follow the frame")
        }
        self = message
    }

    /// Number of segments.
    public var segmentCount: Int { self.segmentWords.count }

    /// The bytes of segment `index`.
    public func segment(_ index: Int) -> ArraySlice<UInt8> {
        let start = self.segmentStarts[index] * 8
        return self.storage[start..<(start + self.segmentWords[index] * 8)]
    }

    /// Size of the framed encoding in bytes (header plus segments).
    public var framedByteCount: Int {
        let count = self.segmentWords.count
        return 4 * (count + 1) + (count % 2 == 0 ? 4 : 0) + self.storage.count
    }

    /// Appends the standard stream framing (segment table, padding, segments) to `buffer`.
    public func writeFramed(to buffer: inout ByteBuffer) {
        buffer.reserveCapacity(minimumWritableBytes: self.framedByteCount)
        buffer.writeInteger(UInt32(self.segmentWords.count - 1), endianness: .little)
        for words in self.segmentWords {
            buffer.writeInteger(UInt32(words), endianness: .little)
        }
        if self.segmentWords.count % 2 == 0 {
            buffer.writeInteger(UInt32(0))
        }
        buffer.writeBytes(self.storage)
    }

    /// The standard stream framing of this message as a new buffer.
    public func framed(allocator: ByteBufferAllocator = ByteBufferAllocator()) -> ByteBuffer {
        var buffer = allocator.buffer(capacity: self.framedByteCount)
        self.writeFramed(to: &buffer)
        return buffer
    }

    /// The standard stream framing of this message as bytes.
    public var framedBytes: [UInt8] {
        var buffer = self.framed()
        return buffer.readBytes(length: buffer.readableBytes) ?? []
    }

    /// A reader for the root struct, bounded by `limits`.
    public func root(limits: CapnpReaderLimits = .init()) throws -> CapnpStructReader {
        let context = CapnpReadContext(message: self, limits: limits)
        guard self.segmentWords[0] > 0 else { throw CapnpError.missingRoot() }
        return try context.readStruct(pointerWord: self.segmentStarts[0], segment: 0, nesting: limits.nestingLimit)
            ?? CapnpStructReader.empty(context)
    }

    /// The root pointer as an untyped value, bounded by `limits`.
    public func rootPointer(limits: CapnpReaderLimits = .init()) throws -> CapnpPointerValue {
        let context = CapnpReadContext(message: self, limits: limits)
        guard self.segmentWords[0] > 0 else { throw CapnpError.missingRoot() }
        return try context.readPointer(pointerWord: self.segmentStarts[0], segment: 0, nesting: limits.nestingLimit)
    }

    @inline(__always)
    func word(_ index: Int) -> UInt64 {
        self.storage.withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(fromByteOffset: index &* 8, as: UInt64.self)) }
    }
}
