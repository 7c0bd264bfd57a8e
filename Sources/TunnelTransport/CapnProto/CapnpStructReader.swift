/// A read-only view of one struct inside a ``CapnpMessage``.
///
/// Fields outside the struct's data or pointer section read as their default, which gives Cap'n Proto's
/// forward compatibility. Every scalar accessor takes the field's declared default: the wire stores
/// `value XOR default`. Pointer accessors return `nil` for a null pointer.
public struct CapnpStructReader {
    let context: CapnpReadContext
    let segment: Int
    /// Absolute byte offset of the data section.
    let dataByte: Int
    let dataBytes: Int
    /// Absolute word index of the pointer section.
    let pointerWord: Int
    /// Number of pointers in the pointer section.
    public let pointerCount: Int
    /// Nesting levels left for children of this struct.
    let nesting: Int

    static func empty(_ context: CapnpReadContext) -> CapnpStructReader {
        CapnpStructReader(context: context, segment: 0, dataByte: 0, dataBytes: 0, pointerWord: 0, pointerCount: 0, nesting: 0)
    }

    /// Size of the data section in words.
    public var dataWordCount: Int { self.dataBytes / 8 }

    /// Reads an integer field at `byteOffset` within the data section (must be aligned to the type's size).
    @inline(__always)
    public func read<T: FixedWidthInteger>(_ type: T.Type = T.self, at byteOffset: Int, default defaultValue: T = 0) -> T {
        let size = MemoryLayout<T>.size
        guard byteOffset >= 0, byteOffset + size <= self.dataBytes else { return defaultValue }
        let raw = self.context.message.storage.withUnsafeBytes {
            T(littleEndian: $0.loadUnaligned(fromByteOffset: self.dataByte + byteOffset, as: T.self))
        }
        return raw ^ defaultValue
    }

    /// Reads a `Bool` field at bit `bitOffset` of the data section.
    public func readBool(bit bitOffset: Int, default defaultValue: Bool = false) -> Bool {
        guard bitOffset >= 0, bitOffset < self.dataBytes * 8 else { return defaultValue }
        let byte = self.context.message.storage[self.dataByte + bitOffset / 8]
        return ((byte >> UInt8(bitOffset % 8)) & 1 == 1) != defaultValue
    }

    /// Reads a `Float32` field at `byteOffset`; the default is XORed on its bit pattern.
    public func readFloat32(at byteOffset: Int, default defaultValue: Float32 = 0) -> Float32 {
        Float32(bitPattern: self.read(UInt32.self, at: byteOffset, default: defaultValue.bitPattern))
    }

    /// Reads a `Float64` field at `byteOffset`; the default is XORed on its bit pattern.
    public func readFloat64(at byteOffset: Int, default defaultValue: Float64 = 0) -> Float64 {
        Float64(bitPattern: self.read(UInt64.self, at: byteOffset, default: defaultValue.bitPattern))
    }

    /// Whether pointer `index` is null (or outside the pointer section).
    public func isNull(_ index: Int) -> Bool {
        guard index >= 0, index < self.pointerCount else { return true }
        return self.context.message.word(self.pointerWord + index) == 0
    }

    /// The struct at pointer `index`, or `nil` if null.
    public func readStruct(_ index: Int) throws -> CapnpStructReader? {
        guard index >= 0, index < self.pointerCount else { return nil }
        return try self.context.readStruct(pointerWord: self.pointerWord + index, segment: self.segment, nesting: self.nesting)
    }

    /// The list at pointer `index`, or `nil` if null.
    public func readList(_ index: Int) throws -> CapnpListReader? {
        guard index >= 0, index < self.pointerCount else { return nil }
        return try self.context.readList(pointerWord: self.pointerWord + index, segment: self.segment, nesting: self.nesting)
    }

    /// Pointer `index` as an untyped value (`AnyPointer`).
    public func readPointer(_ index: Int) throws -> CapnpPointerValue {
        guard index >= 0, index < self.pointerCount else { return .null }
        return try self.context.readPointer(pointerWord: self.pointerWord + index, segment: self.segment, nesting: self.nesting)
    }

    /// A stable, `Sendable` reference to pointer `index`, for reading it later (for example an RPC payload).
    public func pointerReference(_ index: Int) -> CapnpAnyPointer? {
        guard index >= 0, index < self.pointerCount else { return nil }
        return CapnpAnyPointer(message: self.context.message, segment: self.segment, word: self.pointerWord + index)
    }

    /// The `Data` at pointer `index`, or `nil` if null.
    public func readData(_ index: Int) throws -> [UInt8]? {
        guard let list = try self.readList(index) else { return nil }
        return try list.bytes()
    }

    /// The `Text` at pointer `index` (without its NUL), or `nil` if null. Invalid UTF-8 is repaired.
    public func readText(_ index: Int) throws -> String? {
        guard let list = try self.readList(index) else { return nil }
        return try list.text()
    }

    /// The capability table index at pointer `index`, or `nil` if null.
    public func readCapability(_ index: Int) throws -> UInt32? {
        switch try self.readPointer(index) {
        case .null: return nil
        case .capability(let cap): return cap
        case .struct, .list: throw CapnpError.unexpectedPointerKind("expected a capability")
        }
    }

    /// The `List(Text)` at pointer `index`, or `nil` if null.
    public func readTextList(_ index: Int) throws -> [String]? {
        guard let list = try self.readList(index) else { return nil }
        guard list.elementSize == .pointer else {
            throw CapnpError.unexpectedListElementSize("List(Text) needs pointer elements, found \(list.elementSize)")
        }
        var result: [String] = []
        result.reserveCapacity(list.count)
        for index in 0..<list.count {
            result.append(try list.readText(at: index) ?? "")
        }
        return result
    }

    /// The raw data section bytes (for copying).
    var dataSection: ArraySlice<UInt8> {
        self.context.message.storage[self.dataByte..<(self.dataByte + self.dataBytes)]
    }
}

/// A read-only view of one list inside a ``CapnpMessage``.
public struct CapnpListReader {
    let context: CapnpReadContext
    let segment: Int
    /// Element size code from the list pointer.
    public let elementSize: CapnpElementSize
    /// Number of elements.
    public let count: Int
    /// Absolute byte offset of element 0 (after the tag word for composite lists).
    let startByte: Int
    /// For composite lists: data bytes per element.
    let structDataBytes: Int
    /// For composite lists: pointers per element.
    let structPointers: Int
    let nesting: Int

    /// The elements of a byte list (`Data`).
    public func bytes() throws -> [UInt8] {
        guard self.elementSize == .byte else {
            throw CapnpError.unexpectedListElementSize("expected a byte list, found \(self.elementSize)")
        }
        return Array(self.context.message.storage[self.startByte..<(self.startByte + self.count)])
    }

    /// The elements of a NUL-terminated byte list (`Text`), without the NUL.
    public func text() throws -> String {
        guard self.elementSize == .byte else {
            throw CapnpError.unexpectedListElementSize("expected Text (byte list), found \(self.elementSize)")
        }
        guard self.count > 0 else { return "" }
        guard self.context.message.storage[self.startByte + self.count - 1] == 0 else {
            throw CapnpError.textNotTerminated("last of \(self.count) bytes is not NUL")
        }
        return String(decoding: self.context.message.storage[self.startByte..<(self.startByte + self.count - 1)], as: UTF8.self)
    }

    /// Element `index` of a primitive list of `T` (size must match the list's element size).
    public func read<T: FixedWidthInteger>(_ type: T.Type = T.self, at index: Int) throws -> T {
        guard index >= 0, index < self.count else { throw CapnpError.pointerOutOfBounds("list index \(index) of \(self.count)") }
        guard self.elementSize.bits == MemoryLayout<T>.size * 8, self.elementSize != .pointer else {
            throw CapnpError.unexpectedListElementSize("expected \(MemoryLayout<T>.size * 8)-bit elements, found \(self.elementSize)")
        }
        return self.context.message.storage.withUnsafeBytes {
            T(littleEndian: $0.loadUnaligned(fromByteOffset: self.startByte + index * MemoryLayout<T>.size, as: T.self))
        }
    }

    /// Element `index` of a `List(Bool)`.
    public func readBool(at index: Int) throws -> Bool {
        guard index >= 0, index < self.count else { throw CapnpError.pointerOutOfBounds("list index \(index) of \(self.count)") }
        guard self.elementSize == .bit else { throw CapnpError.unexpectedListElementSize("expected bits, found \(self.elementSize)") }
        return (self.context.message.storage[self.startByte + index / 8] >> UInt8(index % 8)) & 1 == 1
    }

    /// Element `index` of a composite list (`List(SomeStruct)`).
    public func readStruct(at index: Int) throws -> CapnpStructReader {
        guard index >= 0, index < self.count else { throw CapnpError.pointerOutOfBounds("list index \(index) of \(self.count)") }
        guard self.elementSize == .composite else {
            throw CapnpError.unexpectedListElementSize("expected a struct list, found \(self.elementSize)")
        }
        let stride = self.structDataBytes + self.structPointers * 8
        let dataByte = self.startByte + index * stride
        return CapnpStructReader(
            context: self.context, segment: self.segment, dataByte: dataByte, dataBytes: self.structDataBytes,
            pointerWord: (dataByte + self.structDataBytes) / 8, pointerCount: self.structPointers, nesting: self.nesting)
    }

    /// Element `index` of a pointer list, untyped.
    public func readPointer(at index: Int) throws -> CapnpPointerValue {
        try self.context.readPointer(pointerWord: try self.pointerWord(index), segment: self.segment, nesting: self.nesting)
    }

    /// Element `index` of a `List(Text)`, or `nil` if null.
    public func readText(at index: Int) throws -> String? {
        guard let list = try self.context.readList(pointerWord: try self.pointerWord(index), segment: self.segment, nesting: self.nesting) else {
            return nil
        }
        return try list.text()
    }

    /// Element `index` of a `List(Data)`, or `nil` if null.
    public func readData(at index: Int) throws -> [UInt8]? {
        guard let list = try self.context.readList(pointerWord: try self.pointerWord(index), segment: self.segment, nesting: self.nesting) else {
            return nil
        }
        return try list.bytes()
    }

    private func pointerWord(_ index: Int) throws -> Int {
        guard index >= 0, index < self.count else { throw CapnpError.pointerOutOfBounds("list index \(index) of \(self.count)") }
        guard self.elementSize == .pointer else {
            throw CapnpError.unexpectedListElementSize("expected a pointer list, found \(self.elementSize)")
        }
        return self.startByte / 8 + index
    }

    /// Raw element bytes of a primitive (non-pointer, non-composite) list, for copying.
    var rawBytes: ArraySlice<UInt8> {
        let bytes = (self.elementSize.bits * self.count + 63) / 64 * 8
        return self.context.message.storage[self.startByte..<(self.startByte + bytes)]
    }
}

/// A `Sendable` reference to a pointer slot inside a message, readable later with fresh limits.
///
/// RPC payloads carry their `content` this way so the schema layer decodes it only when needed.
public struct CapnpAnyPointer: Sendable, Hashable {
    /// The message holding the pointer.
    public let message: CapnpMessage
    let segment: Int
    let word: Int

    /// Reads the pointer.
    public func read(limits: CapnpReaderLimits = .init()) throws -> CapnpPointerValue {
        let context = CapnpReadContext(message: self.message, limits: limits)
        return try context.readPointer(pointerWord: self.word, segment: self.segment, nesting: limits.nestingLimit)
    }

    /// Reads the pointer as a struct, or `nil` if null.
    public func readStruct(limits: CapnpReaderLimits = .init()) throws -> CapnpStructReader? {
        let context = CapnpReadContext(message: self.message, limits: limits)
        return try context.readStruct(pointerWord: self.word, segment: self.segment, nesting: limits.nestingLimit)
    }

    /// Decodes the pointed-to struct as `T`; a null pointer decodes as `T`'s defaults.
    public func decode<T: CapnpStructDecodable>(_ type: T.Type = T.self, limits: CapnpReaderLimits = .init()) throws -> T {
        let context = CapnpReadContext(message: self.message, limits: limits)
        let reader = try context.readStruct(pointerWord: self.word, segment: self.segment, nesting: limits.nestingLimit)
        return try T(reading: reader ?? .empty(context))
    }
}
