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
        let input = Array(bytes)
        var out: [UInt8] = []
        out.reserveCapacity((input.count + 2) / 3 * 4)
        var index = 0
        while index + 3 <= input.count {
            let value = UInt32(input[index]) << 16 | UInt32(input[index + 1]) << 8 | UInt32(input[index + 2])
            out.append(alphabet[Int(value >> 18 & 63)])
            out.append(alphabet[Int(value >> 12 & 63)])
            out.append(alphabet[Int(value >> 6 & 63)])
            out.append(alphabet[Int(value & 63)])
            index += 3
        }
        let remaining = input.count - index
        if remaining > 0 {
            var value = UInt32(input[index]) << 16
            if remaining == 2 { value |= UInt32(input[index + 1]) << 8 }
            out.append(alphabet[Int(value >> 18 & 63)])
            out.append(alphabet[Int(value >> 12 & 63)])
            if remaining == 2 {
                out.append(alphabet[Int(value >> 6 & 63)])
            } else if padded {
                out.append(UInt8(ascii: "="))
            }
            if padded { out.append(UInt8(ascii: "=")) }
        }
        return String(decoding: out, as: UTF8.self)
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
        guard symbols.count % 4 != 1 else { return nil }
        if padded, padding > 0, (symbols.count + padding) % 4 != 0 { return nil }
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
        if padded {
            // Go checks the padding matches the leftover symbols: 2 symbols → "==", 3 → "=".
            let leftover = symbols.count % 4
            let expected = leftover == 0 ? 0 : 4 - leftover
            guard expected == padding else { return nil }
        }
        return out
    }
}
