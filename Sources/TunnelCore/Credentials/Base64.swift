/// Base64 as Go's `encoding/base64` does it, which the credential formats depend on.
///
/// Standard alphabet (RFC 4648 §4). ``decode(_:)`` requires `=` padding like `StdEncoding`,
/// and skips `\r` and `\n` like Go's decoder; any other character outside the alphabet fails.
public enum Base64 {
    private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)
    private static let decodeTable: [UInt8] = {
        var table = [UInt8](repeating: 0xFF, count: 256)
        for (index, byte) in alphabet.enumerated() {
            table[Int(byte)] = UInt8(index)
        }
        return table
    }()

    /// Encodes bytes with padding.
    public static func encode(_ bytes: some Collection<UInt8>) -> String {
        encode(bytes, padded: true)
    }

    /// Encodes bytes, with or without `=` padding.
    public static func encode(_ bytes: some Collection<UInt8>, padded: Bool) -> String {
        var out: [UInt8] = []
        encode(bytes, padded: padded, into: &out)
        return String(decoding: out, as: UTF8.self)
    }

    /// Appends the encoding of `bytes` to `output` (no intermediate string: the tunnel's
    /// serialized response headers use it on every proxied request).
    public static func encode(_ bytes: some Collection<UInt8>, padded: Bool, into output: inout [UInt8]) {
        output.reserveCapacity(output.count + (bytes.count + 2) / 3 * 4)
        var iterator = bytes.makeIterator()
        while let b0 = iterator.next() {
            let b1 = iterator.next()
            let b2 = b1 == nil ? nil : iterator.next()
            output.append(alphabet[Int(b0 >> 2)])
            output.append(alphabet[Int((b0 & 0x03) << 4 | (b1 ?? 0) >> 4)])
            guard let b1 else {
                if padded { output.append(contentsOf: [UInt8(ascii: "="), UInt8(ascii: "=")]) }
                break
            }
            output.append(alphabet[Int((b1 & 0x0F) << 2 | (b2 ?? 0) >> 6)])
            guard let b2 else {
                if padded { output.append(UInt8(ascii: "=")) }
                break
            }
            output.append(alphabet[Int(b2 & 0x3F)])
        }
    }

    /// Decodes unpadded base64 symbols exactly (Go's `RawStdEncoding`): `nil` for any byte
    /// outside the alphabet (padding and line breaks included) or an impossible length (4n+1).
    /// Unused trailing bits are ignored, like Go's non-strict decoder.
    public static func decodeUnpadded(_ symbols: some Collection<UInt8>) -> [UInt8]? {
        guard symbols.count % 4 != 1 else { return nil }
        var out: [UInt8] = []
        out.reserveCapacity(symbols.count * 3 / 4)
        var accumulator: UInt32 = 0
        var bits = 0
        for symbol in symbols {
            let value = decodeTable[Int(symbol)]
            guard value != 0xFF else { return nil }
            accumulator = accumulator << 6 | UInt32(value)
            bits += 6
            if bits >= 8 {
                bits -= 8
                out.append(UInt8(truncatingIfNeeded: accumulator >> UInt32(bits)))
            }
        }
        return out
    }

    /// Decodes padded standard base64, skipping CR and LF; `nil` for anything else invalid.
    public static func decode(_ text: some StringProtocol) -> [UInt8]? {
        decode(text, padded: true)
    }

    /// Decodes standard base64; `padded: false` expects no `=` at all (Go's `RawStdEncoding`).
    public static func decode(_ text: some StringProtocol, padded: Bool) -> [UInt8]? {
        var symbols: [UInt8] = []
        symbols.reserveCapacity(text.utf8.count)
        for byte in text.utf8 where byte != UInt8(ascii: "\r") && byte != UInt8(ascii: "\n") {
            symbols.append(byte)
        }
        var padding = 0
        if padded {
            guard symbols.count % 4 == 0 else { return nil }
            while padding < 2, let last = symbols.last, last == UInt8(ascii: "=") {
                symbols.removeLast()
                padding += 1
            }
        }
        // A padded input never has 1 leftover symbol; neither may a raw one.
        if padded, padding > 0, (symbols.count + padding) % 4 != 0 { return nil }
        guard let out = decodeUnpadded(symbols) else { return nil }
        if padded {
            // Go checks the padding matches the leftover symbols: 2 symbols → "==", 3 → "=".
            let leftover = symbols.count % 4
            let expected = leftover == 0 ? 0 : 4 - leftover
            guard expected == padding else { return nil }
        }
        return out
    }
}
