import NIOCore
import TunnelTransport

/// Hand-assembled messages for tests that need layouts our builder never produces (far pointers, corruption).
enum CapnpTestMessages {
    static func word(_ value: UInt64) -> [UInt8] {
        withUnsafeBytes(of: value.littleEndian) { Array($0) }
    }

    static func structPointer(offset: Int, dataWords: Int, pointers: Int) -> UInt64 {
        UInt64(UInt32(bitPattern: Int32(offset) << 2)) | UInt64(dataWords) << 32 | UInt64(pointers) << 48
    }

    static func listPointer(offset: Int, size: Int, count: Int) -> UInt64 {
        UInt64(UInt32(bitPattern: Int32(offset) << 2)) | 1 | UInt64(size) << 32 | UInt64(count) << 35
    }

    static func farPointer(segment: Int, offset: Int, double: Bool = false) -> UInt64 {
        2 | (double ? 4 : 0) | UInt64(offset) << 3 | UInt64(segment) << 32
    }

    static func message(_ segments: [[UInt64]]) throws -> CapnpMessage {
        try CapnpMessage(segments: segments.map { $0.flatMap(word) })
    }

    /// Recursively visits every object reachable from the root by deep-copying it (bounded by the reader limits).
    static func walk(_ message: CapnpMessage, limits: CapnpReaderLimits = .init()) throws {
        var builder = CapnpMessageBuilder()
        let root = builder.initRoot(dataWords: 0, pointers: 1)
        try builder.copy(try message.rootPointer(limits: limits), in: root, pointer: 0)
    }
}
