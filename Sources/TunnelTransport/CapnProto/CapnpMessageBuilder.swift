/// Where a struct being built lives inside a ``CapnpMessageBuilder``.
///
/// A plain value: pass it back to the builder's methods to set fields or children.
public struct CapnpStructBuilder: Sendable, Hashable {
    /// Byte offset of the data section within the segment.
    let dataByte: Int
    /// Data section size in words.
    public let dataWordCount: Int
    /// Number of pointers.
    public let pointerCount: Int

    /// Word index of pointer `index`.
    func slot(_ index: Int) -> Int {
        precondition(index >= 0 && index < self.pointerCount, "pointer \(index) outside struct of \(self.pointerCount) pointers")
        return self.dataByte / 8 + self.dataWordCount + index
    }
}

/// A composite list (`List(SomeStruct)`) being built.
public struct CapnpCompositeListBuilder: Sendable, Hashable {
    let firstWord: Int
    /// Number of elements.
    public let count: Int
    let dataWords: Int
    let pointers: Int

    /// The struct builder of element `index`.
    public func element(_ index: Int) -> CapnpStructBuilder {
        precondition(index >= 0 && index < self.count, "element \(index) outside list of \(self.count)")
        let word = self.firstWord + index * (self.dataWords + self.pointers)
        return CapnpStructBuilder(dataByte: word * 8, dataWordCount: self.dataWords, pointerCount: self.pointers)
    }
}

/// Builds a single-segment Cap'n Proto message.
///
/// Objects are allocated in the order the caller creates them, with no gaps, so building depth-first in
/// field order (as all schema types here do) yields the compact pre-order layout that cloudflared's
/// library produces. Struct sizes are never truncated. Scalars are written `XOR default`.
public struct CapnpMessageBuilder: Sendable {
    /// Segment 0, starting with the root pointer word.
    private(set) var bytes: [UInt8]

    /// The largest element count a list pointer can hold.
    public static let maxListElements = (1 << 29) - 1

    /// Creates an empty builder whose segment has room for `capacityWords` words before growing.
    public init(capacityWords: Int = 32) {
        self.bytes = []
        self.bytes.reserveCapacity(Swift.max(capacityWords, 1) * 8)
        self.bytes.append(contentsOf: repeatElement(0, count: 8))
    }

    /// The finished message.
    public var message: CapnpMessage {
        CapnpMessage(storage: self.bytes, segmentWords: [self.bytes.count / 8])
    }

    /// Current size of the segment in words.
    public var wordCount: Int { self.bytes.count / 8 }

    // MARK: - Allocation and pointers

    private mutating func allocate(words: Int) -> Int {
        let word = self.bytes.count / 8
        self.bytes.append(contentsOf: repeatElement(0, count: words * 8))
        return word
    }

    private mutating func writeWord(_ value: UInt64, at word: Int) {
        self.bytes.withUnsafeMutableBytes { $0.storeBytes(of: value.littleEndian, toByteOffset: word * 8, as: UInt64.self) }
    }

    private static func offsetBits(from slot: Int, to target: Int) -> UInt64 {
        let offset = target - slot - 1
        precondition(offset >= -(1 << 29) && offset < (1 << 29), "segment too large for a 30-bit pointer offset")
        return UInt64(UInt32(bitPattern: Int32(offset) << 2))
    }

    private mutating func writeStructPointer(slot: Int, target: Int, dataWords: Int, pointers: Int) {
        let offset = dataWords + pointers == 0 ? UInt64(UInt32(bitPattern: -1 << 2)) : Self.offsetBits(from: slot, to: target)
        self.writeWord(offset | UInt64(dataWords) << 32 | UInt64(pointers) << 48, at: slot)
    }

    private mutating func writeListPointer(slot: Int, target: Int, size: CapnpElementSize, count: Int) {
        self.writeWord(Self.offsetBits(from: slot, to: target) | 1 | UInt64(size.rawValue) << 32 | UInt64(count) << 35, at: slot)
    }

    // MARK: - Structs

    /// Allocates the root struct. Call once, first.
    public mutating func initRoot(dataWords: Int, pointers: Int) -> CapnpStructBuilder {
        self.initStruct(slot: 0, dataWords: dataWords, pointers: pointers)
    }

    /// Allocates a struct and points pointer `index` of `parent` at it.
    public mutating func initStruct(in parent: CapnpStructBuilder, pointer index: Int, dataWords: Int, pointers: Int) -> CapnpStructBuilder {
        self.initStruct(slot: parent.slot(index), dataWords: dataWords, pointers: pointers)
    }

    mutating func initStruct(slot: Int, dataWords: Int, pointers: Int) -> CapnpStructBuilder {
        precondition(dataWords >= 0 && dataWords <= 0xFFFF && pointers >= 0 && pointers <= 0xFFFF)
        let word = self.allocate(words: dataWords + pointers)
        self.writeStructPointer(slot: slot, target: word, dataWords: dataWords, pointers: pointers)
        return CapnpStructBuilder(dataByte: word * 8, dataWordCount: dataWords, pointerCount: pointers)
    }

    /// Encodes `value` as a new struct at pointer `index` of `parent`.
    public mutating func encode<T: CapnpStructEncodable>(_ value: T, in parent: CapnpStructBuilder, pointer index: Int) throws {
        let child = self.initStruct(in: parent, pointer: index, dataWords: T.capnpDataWords, pointers: T.capnpPointers)
        try value.encode(to: &self, as: child)
    }

    /// Encodes `value` as the root struct.
    public mutating func encodeRoot<T: CapnpStructEncodable>(_ value: T) throws {
        let root = self.initRoot(dataWords: T.capnpDataWords, pointers: T.capnpPointers)
        try value.encode(to: &self, as: root)
    }

    // MARK: - Scalars

    /// Writes an integer field at `byteOffset` of the data section, stored XOR `defaultValue`.
    public mutating func write<T: FixedWidthInteger>(_ value: T, at byteOffset: Int, in target: CapnpStructBuilder, default defaultValue: T = 0) {
        precondition(byteOffset >= 0 && byteOffset + MemoryLayout<T>.size <= target.dataWordCount * 8, "field outside data section")
        let stored = value ^ defaultValue
        self.bytes.withUnsafeMutableBytes {
            $0.storeBytes(of: stored.littleEndian, toByteOffset: target.dataByte + byteOffset, as: T.self)
        }
    }

    /// Writes a `Bool` field at bit `bitOffset` of the data section, stored XOR `defaultValue`.
    public mutating func writeBool(_ value: Bool, bit bitOffset: Int, in target: CapnpStructBuilder, default defaultValue: Bool = false) {
        precondition(bitOffset >= 0 && bitOffset < target.dataWordCount * 64, "field outside data section")
        let index = target.dataByte + bitOffset / 8
        let mask = UInt8(1) << UInt8(bitOffset % 8)
        if value != defaultValue {
            self.bytes[index] |= mask
        } else {
            self.bytes[index] &= ~mask
        }
    }

    /// Writes a `Float32` field, stored as its bit pattern XOR the default's.
    public mutating func writeFloat32(_ value: Float32, at byteOffset: Int, in target: CapnpStructBuilder, default defaultValue: Float32 = 0) {
        self.write(value.bitPattern, at: byteOffset, in: target, default: defaultValue.bitPattern)
    }

    /// Writes a `Float64` field, stored as its bit pattern XOR the default's.
    public mutating func writeFloat64(_ value: Float64, at byteOffset: Int, in target: CapnpStructBuilder, default defaultValue: Float64 = 0) {
        self.write(value.bitPattern, at: byteOffset, in: target, default: defaultValue.bitPattern)
    }

    // MARK: - Blobs and lists

    /// Sets pointer `index` to a `Data` value.
    public mutating func writeData(_ data: some Collection<UInt8>, in parent: CapnpStructBuilder, pointer index: Int) throws {
        try self.writeBytes(data, terminated: false, slot: parent.slot(index))
    }

    /// Sets pointer `index` to a `Text` value (a NUL is appended).
    public mutating func writeText(_ text: String, in parent: CapnpStructBuilder, pointer index: Int) throws {
        try self.writeBytes(text.utf8, terminated: true, slot: parent.slot(index))
    }

    private mutating func writeBytes(_ data: some Collection<UInt8>, terminated: Bool, slot: Int) throws {
        let count = data.count + (terminated ? 1 : 0)
        guard count <= Self.maxListElements else { throw CapnpError.valueTooLarge("\(count) bytes") }
        let word = self.allocate(words: (count + 7) / 8)
        self.writeListPointer(slot: slot, target: word, size: .byte, count: count)
        var offset = word * 8
        for byte in data {
            self.bytes[offset] = byte
            offset += 1
        }
    }

    /// Sets pointer `index` to a `List(Text)`: the pointer list first, then each string in order.
    public mutating func writeTextList(_ texts: [String], in parent: CapnpStructBuilder, pointer index: Int) throws {
        guard texts.count <= Self.maxListElements else { throw CapnpError.valueTooLarge("\(texts.count) list elements") }
        let word = self.allocate(words: texts.count)
        self.writeListPointer(slot: parent.slot(index), target: word, size: .pointer, count: texts.count)
        for (offset, text) in texts.enumerated() {
            try self.writeBytes(text.utf8, terminated: true, slot: word + offset)
        }
    }

    /// Sets pointer `index` to a list of integers (element size from `T`: 1, 2, 4 or 8 bytes).
    public mutating func writeList<T: FixedWidthInteger>(_ values: [T], in parent: CapnpStructBuilder, pointer index: Int) throws {
        guard values.count <= Self.maxListElements else { throw CapnpError.valueTooLarge("\(values.count) list elements") }
        let size: CapnpElementSize
        switch MemoryLayout<T>.size {
        case 1: size = .byte
        case 2: size = .twoBytes
        case 4: size = .fourBytes
        default: size = .eightBytes
        }
        let word = self.allocate(words: (values.count * MemoryLayout<T>.size + 7) / 8)
        self.writeListPointer(slot: parent.slot(index), target: word, size: size, count: values.count)
        self.bytes.withUnsafeMutableBytes { raw in
            for (offset, value) in values.enumerated() {
                raw.storeBytes(of: value.littleEndian, toByteOffset: word * 8 + offset * MemoryLayout<T>.size, as: T.self)
            }
        }
    }

    /// Sets pointer `index` to a `List(Bool)`.
    public mutating func writeBoolList(_ values: [Bool], in parent: CapnpStructBuilder, pointer index: Int) throws {
        guard values.count <= Self.maxListElements else { throw CapnpError.valueTooLarge("\(values.count) list elements") }
        let word = self.allocate(words: (values.count + 63) / 64)
        self.writeListPointer(slot: parent.slot(index), target: word, size: .bit, count: values.count)
        for (offset, value) in values.enumerated() where value {
            self.bytes[word * 8 + offset / 8] |= UInt8(1) << UInt8(offset % 8)
        }
    }

    /// Sets pointer `index` to a `List(Void)` of `count` elements (no storage).
    public mutating func writeVoidList(count: Int, in parent: CapnpStructBuilder, pointer index: Int) throws {
        guard count <= Self.maxListElements else { throw CapnpError.valueTooLarge("\(count) list elements") }
        self.writeListPointer(slot: parent.slot(index), target: self.wordCount, size: .void, count: count)
    }

    /// Sets pointer `index` to a composite list of `count` structs of the given size (an empty list keeps its tag).
    public mutating func initCompositeList(
        in parent: CapnpStructBuilder, pointer index: Int, count: Int, dataWords: Int, pointers: Int
    ) throws -> CapnpCompositeListBuilder {
        try self.initCompositeList(slot: parent.slot(index), count: count, dataWords: dataWords, pointers: pointers)
    }

    mutating func initCompositeList(slot: Int, count: Int, dataWords: Int, pointers: Int) throws -> CapnpCompositeListBuilder {
        let words = count * (dataWords + pointers)
        guard count <= Self.maxListElements, words <= Self.maxListElements else {
            throw CapnpError.valueTooLarge("\(count) list elements of \(dataWords + pointers) words")
        }
        let tagWord = self.allocate(words: words + 1)
        self.writeListPointer(slot: slot, target: tagWord, size: .composite, count: words)
        self.writeWord(UInt64(UInt32(count) << 2) | UInt64(dataWords) << 32 | UInt64(pointers) << 48, at: tagWord)
        return CapnpCompositeListBuilder(firstWord: tagWord + 1, count: count, dataWords: dataWords, pointers: pointers)
    }

    /// Sets pointer `index` to a capability pointer (an index into the RPC payload's capability table).
    public mutating func writeCapability(_ capability: UInt32, in parent: CapnpStructBuilder, pointer index: Int) {
        self.writeWord(3 | UInt64(capability) << 32, at: parent.slot(index))
    }

    // MARK: - Copying

    /// Deep-copies an object read from another message into pointer `index` of `parent`.
    ///
    /// The source reader's traversal and nesting limits apply, so copying hostile input is bounded.
    public mutating func copy(_ value: CapnpPointerValue, in parent: CapnpStructBuilder, pointer index: Int) throws {
        try self.copy(value, slot: parent.slot(index))
    }

    mutating func copy(_ value: CapnpPointerValue, slot: Int) throws {
        switch value {
        case .null:
            self.writeWord(0, at: slot)
        case .capability(let capability):
            self.writeWord(3 | UInt64(capability) << 32, at: slot)
        case .struct(let source):
            let target = self.initStruct(slot: slot, dataWords: source.dataWordCount, pointers: source.pointerCount)
            try self.copyStructBody(source, into: target)
        case .list(let source):
            switch source.elementSize {
            case .composite:
                let list = try self.initCompositeList(
                    slot: slot, count: source.count, dataWords: source.structDataBytes / 8, pointers: source.structPointers)
                for element in 0..<source.count {
                    try self.copyStructBody(try source.readStruct(at: element), into: list.element(element))
                }
            case .pointer:
                let word = self.allocate(words: source.count)
                self.writeListPointer(slot: slot, target: word, size: .pointer, count: source.count)
                for element in 0..<source.count {
                    try self.copy(try source.readPointer(at: element), slot: word + element)
                }
            default:
                let raw = source.rawBytes
                let word = self.allocate(words: raw.count / 8)
                self.writeListPointer(slot: slot, target: word, size: source.elementSize, count: source.count)
                self.bytes.replaceSubrange((word * 8)..<(word * 8 + raw.count), with: raw)
            }
        }
    }

    private mutating func copyStructBody(_ source: CapnpStructReader, into target: CapnpStructBuilder) throws {
        let data = source.dataSection
        self.bytes.replaceSubrange(target.dataByte..<(target.dataByte + data.count), with: data)
        for pointer in 0..<source.pointerCount {
            try self.copy(try source.readPointer(pointer), slot: target.slot(pointer))
        }
    }
}
