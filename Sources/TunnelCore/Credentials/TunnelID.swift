#if canImport(FoundationEssentials)
public import FoundationEssentials
#else
public import Foundation
#endif

extension UUID {
    /// Parses a UUID in every form cloudflared's UUID library accepts: canonical
    /// `8-4-4-4-12` in any case, wrapped in braces, prefixed with `urn:uuid:`, or 32 hex digits.
    public init?(tunnelIDString string: String) {
        var text = Substring(string)
        switch text.utf8.count {
        case 36:
            break
        case 38:
            guard text.first == "{", text.last == "}" else { return nil }
            text = text.dropFirst().dropLast()
        case 45:
            guard text.lowercased().hasPrefix("urn:uuid:") else { return nil }
            text = text.dropFirst(9)
        case 32:
            break
        default:
            return nil
        }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(16)
        var high: UInt8?
        for (offset, character) in text.utf8.enumerated() {
            if text.utf8.count == 36, [8, 13, 18, 23].contains(offset) {
                guard character == UInt8(ascii: "-") else { return nil }
                continue
            }
            guard let nibble = Self.hexValue(character) else { return nil }
            if let pending = high {
                bytes.append(pending << 4 | nibble)
                high = nil
            } else {
                high = nibble
            }
        }
        guard bytes.count == 16 else { return nil }
        self.init(tunnelIDBytes: bytes)
    }

    /// Creates a UUID from its 16 raw bytes, as carried in registration messages.
    public init(tunnelIDBytes bytes: [UInt8]) {
        precondition(bytes.count == 16, "a UUID has 16 bytes")
        self.init(uuid: (bytes[0], bytes[1], bytes[2], bytes[3], bytes[4], bytes[5], bytes[6], bytes[7],
                         bytes[8], bytes[9], bytes[10], bytes[11], bytes[12], bytes[13], bytes[14], bytes[15]))
    }

    /// The 16 raw bytes, in network order.
    public var tunnelIDBytes: [UInt8] {
        withUnsafeBytes(of: uuid) { Array($0) }
    }

    /// The canonical lowercase `8-4-4-4-12` form cloudflared prints and writes.
    public var lowercasedString: String {
        uuidString.lowercased()
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return byte - UInt8(ascii: "A") + 10
        default: return nil
        }
    }
}
