public import NIOCore

/// Splits a byte stream into Cap'n Proto messages using the standard (unpacked) stream framing.
///
/// Feed bytes with ``append(_:)`` in any chunking, then call ``next()`` until it returns `nil`.
/// The header is validated as soon as it is complete, so an oversized frame fails before its body arrives.
public struct CapnpFrameDecoder: Sendable {
    private var buffer: ByteBuffer
    /// Limits applied to every frame; the segment and size limits are checked here.
    public let limits: CapnpReaderLimits

    /// Creates a decoder with the given limits.
    public init(limits: CapnpReaderLimits = .init()) {
        self.buffer = ByteBuffer()
        self.limits = limits
    }

    /// Bytes received but not yet returned as part of a message.
    public var bufferedByteCount: Int { self.buffer.readableBytes }

    /// Appends received bytes.
    public mutating func append(_ bytes: ByteBuffer) {
        var bytes = bytes
        self.buffer.writeBuffer(&bytes)
    }

    /// Appends received bytes.
    public mutating func append(_ bytes: some Sequence<UInt8>) {
        self.buffer.writeBytes(bytes)
    }

    /// Returns the next complete message, or `nil` if more bytes are needed.
    ///
    /// - Throws: ``CapnpError`` when the frame header exceeds ``limits``; the stream cannot be resynchronised then.
    public mutating func next() throws -> CapnpMessage? {
        let base = self.buffer.readerIndex
        guard let countMinusOne = self.buffer.getInteger(at: base, endianness: .little, as: UInt32.self) else {
            return nil
        }
        let count = Int(countMinusOne) + 1
        guard count <= self.limits.maxSegments else {
            throw CapnpError.segmentCountTooLarge("\(count) segments, limit \(self.limits.maxSegments)")
        }
        let headerBytes = 4 * (count + 1) + (count % 2 == 0 ? 4 : 0)
        guard self.buffer.readableBytes >= headerBytes else { return nil }
        var sizes: [Int] = []
        sizes.reserveCapacity(count)
        var total = 0
        for index in 0..<count {
            let words = Int(self.buffer.getInteger(at: base + 4 + 4 * index, endianness: .little, as: UInt32.self)!)
            total += words
            guard total <= self.limits.maxMessageWords else {
                throw CapnpError.messageTooLarge("more than \(self.limits.maxMessageWords) words")
            }
            sizes.append(words)
        }
        guard self.buffer.readableBytes >= headerBytes + total * 8 else { return nil }
        self.buffer.moveReaderIndex(forwardBy: headerBytes)
        let storage = self.buffer.readBytes(length: total * 8)!
        if self.buffer.readableBytes == 0 {
            self.buffer.clear()
        } else if self.buffer.readerIndex > 65536 {
            self.buffer.discardReadBytes()
        }
        return CapnpMessage(storage: storage, segmentWords: sizes)
    }
}
