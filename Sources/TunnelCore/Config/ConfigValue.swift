/// A value of a top-level configuration key that names a command-line flag (`loglevel: debug`,
/// `retries: 5`, `tag: [a=b]`), typed the way Go's yaml.v3 types an untyped value.
public enum ConfigValue: Sendable, Hashable {
    /// `null`, `~` or an empty value.
    case null
    /// `true` / `false` (YAML 1.2 spelling; `yes`/`no` are strings here).
    case bool(Bool)
    /// An integer (`5`, `0x10`, `-3`).
    case int(Int)
    /// A floating-point number (`1.5`, `.inf`).
    case float(Double)
    /// A string, including anything quoted.
    case string(String)
    /// A sequence.
    case list([ConfigValue])
    /// A mapping.
    case map([String: ConfigValue])

    /// The Go type name cloudflared prints in `expected … found <type> for <key>`.
    public var goTypeName: String {
        switch self {
        case .null: "<nil>"
        case .bool: "bool"
        case .int: "int"
        case .float: "float64"
        case .string: "string"
        case .list: "[]interface {}"
        case .map: "map[string]interface {}"
        }
    }

    /// The string payload, if this is a string.
    public var stringValue: String? {
        if case .string(let value) = self { return value }
        return nil
    }
}
