#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Small JSON helpers that reproduce what cloudflared's Go encoder writes and reads.
public enum GoJSON {
    /// A JSON string literal escaped as Go's `encoding/json` does (HTML-safe: `<`, `>`, `&`).
    public static func quote(_ string: String) -> String {
        var out = "\""
        for scalar in string.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case "<": out += "\\u003c"
            case ">": out += "\\u003e"
            case "&": out += "\\u0026"
            case "\u{2028}": out += "\\u2028"
            case "\u{2029}": out += "\\u2029"
            default:
                if scalar.value < 0x20 {
                    let hex = String(scalar.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }

    /// A compact object with keys in the given order.
    public static func object(_ fields: [(String, String)]) -> String {
        "{" + fields.map { "\(quote($0.0)):\(quote($0.1))" }.joined(separator: ",") + "}"
    }

    /// A JSON value, enough to read credential objects with Go's case-insensitive key match.
    enum Value: Decodable {
        case string(String)
        case number(Double)
        case bool(Bool)
        case null
        case array([Value])
        case object([String: Value])

        init(from decoder: any Decoder) throws {
            let container = try decoder.singleValueContainer()
            if container.decodeNil() {
                self = .null
            } else if let value = try? container.decode(Bool.self) {
                self = .bool(value)
            } else if let value = try? container.decode(Double.self) {
                self = .number(value)
            } else if let value = try? container.decode(String.self) {
                self = .string(value)
            } else if let value = try? container.decode([Value].self) {
                self = .array(value)
            } else {
                self = .object(try container.decode([String: Value].self))
            }
        }

        var typeName: String {
            switch self {
            case .string: "string"
            case .number: "number"
            case .bool: "boolean"
            case .null: "null"
            case .array: "array"
            case .object: "object"
            }
        }
    }

    enum ObjectError: Error {
        case notJSON(String)
        case notObject(String)
        case wrongType(key: String, expected: String, found: String)
    }

    /// Decodes a JSON object whose keys are matched case-insensitively, as Go's decoder does.
    struct CaseInsensitiveObject {
        private var fields: [String: Value] = [:]

        init(bytes: [UInt8]) throws(ObjectError) {
            let value: Value
            do {
                value = try JSONDecoder().decode(Value.self, from: Data(bytes))
            } catch {
                throw .notJSON(Self.describe(error))
            }
            guard case .object(let object) = value else {
                throw .notObject(value.typeName)
            }
            // Keys differing only in case are ambiguous in Go too; sorting keeps the pick stable.
            for (key, value) in object.sorted(by: { $0.key < $1.key }) {
                fields[key.lowercased()] = value
            }
        }

        /// The string under `key`; `nil` when absent or null.
        func string(_ key: String) throws(ObjectError) -> String? {
            switch fields[key.lowercased()] {
            case nil, .null?: return nil
            case .string(let value)?: return value
            case let other?: throw .wrongType(key: key, expected: "string", found: other.typeName)
            }
        }

        private static func describe(_ error: any Error) -> String {
            if let decoding = error as? DecodingError {
                switch decoding {
                case .dataCorrupted(let context):
                    return context.debugDescription
                default:
                    return "\(decoding)"
                }
            }
            return "\(error)"
        }
    }
}
