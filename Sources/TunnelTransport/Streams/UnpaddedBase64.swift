/// Standard-alphabet base64 without padding (Go's `RawStdEncoding`), as used by the
/// serialized response headers of the tunnel protocol.
///
/// Kept internal and allocation-light: the serialized header value of one response can
/// carry every origin header, so it is on the hot path of every proxied request.
enum UnpaddedBase64 {
    private static let alphabet: [UInt8] = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)

    /// 0xFF marks bytes outside the alphabet (padding `=` included).
    private static let reverse: [UInt8] = {
        var table = [UInt8](repeating: 0xFF, count: 256)
        for (index, byte) in alphabet.enumerated() {
            table[Int(byte)] = UInt8(index)
        }
        return table
    }()

    /// Appends the unpadded encoding of `bytes` to `output`.
    static func encode(_ bytes: some Collection<UInt8>, into output: inout [UInt8]) {
        output.reserveCapacity(output.count + (bytes.count * 4 + 2) / 3)
        var iterator = bytes.makeIterator()
        while let b0 = iterator.next() {
            let b1 = iterator.next()
            let b2 = b1 == nil ? nil : iterator.next()
            output.append(alphabet[Int(b0 >> 2)])
            output.append(alphabet[Int((b0 & 0x03) << 4 | (b1 ?? 0) >> 4)])
            guard let b1 else { break }
            output.append(alphabet[Int((b1 & 0x0F) << 2 | (b2 ?? 0) >> 6)])
            guard let b2 else { break }
            output.append(alphabet[Int(b2 & 0x3F)])
        }
    }

    /// Decodes unpadded base64; `nil` for characters outside the alphabet, padding, or an
    /// impossible length (4n+1). Like Go's non-strict decoder, unused trailing bits are ignored.
    static func decode(_ encoded: some Collection<UInt8>) -> [UInt8]? {
        if encoded.count % 4 == 1 { return nil }
        var output = [UInt8]()
        output.reserveCapacity(encoded.count * 3 / 4)
        var accumulator: UInt32 = 0
        var bits = 0
        for byte in encoded {
            let value = reverse[Int(byte)]
            if value == 0xFF { return nil }
            accumulator = accumulator << 6 | UInt32(value)
            bits += 6
            if bits >= 8 {
                bits -= 8
                output.append(UInt8(truncatingIfNeeded: accumulator >> UInt32(bits)))
            }
        }
        return output
    }
}
