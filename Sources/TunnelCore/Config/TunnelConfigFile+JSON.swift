import Foundation

extension TunnelConfigFile {
    /// Parses the JSON that `ingress validate --json` takes (and that remote configuration uses):
    /// keys `ingress` and `originRequest`, matched case-insensitively like Go's `encoding/json`;
    /// durations are **integer seconds**. Other keys are ignored.
    /// - Throws: ``ConfigurationError`` whose text follows Go's JSON errors, e.g.
    ///   `strconv.ParseInt: parsing "\"30s\"": invalid syntax` for a duration written as a string.
    public static func parseValidateJSON(_ text: String) throws(ConfigurationError) -> TunnelConfigFile {
        let object: Any
        do {
            object = try JSONDecoder().decode(JSONTree.self, from: Data(text.utf8)).foundationValue
        } catch {
            throw .invalidSettingValue(key: "json", message: "invalid character in JSON input: \(text.prefix(40))")
        }
        guard let root = object as? [String: Any] else {
            throw .invalidSettingValue(key: "json", message: "json: cannot unmarshal \(jsonTypeName(object)) into Go value of type config.Configuration")
        }
        var file = TunnelConfigFile()
        if let value = field(root, "originRequest") {
            file.originRequest = try jsonOriginRequest(value)
        }
        if let value = field(root, "ingress"), !(value is NSNull) {
            guard let rules = value as? [Any] else { throw mismatch(value, "[]config.UnvalidatedIngressRule") }
            file.ingress = try rules.map { (element: Any) throws(ConfigurationError) -> IngressRuleConfig in
                guard let rule = element as? [String: Any] else { throw mismatch(element, "config.UnvalidatedIngressRule") }
                var result = IngressRuleConfig()
                result.hostname = try jsonString(field(rule, "hostname")) ?? ""
                result.path = try jsonString(field(rule, "path")) ?? ""
                result.service = try jsonString(field(rule, "service")) ?? ""
                if let options = field(rule, "originRequest") { result.originRequest = try jsonOriginRequest(options) }
                return result
            }
        }
        return file
    }

    private static func field(_ object: [String: Any], _ name: String) -> Any? {
        if let exact = object[name] { return exact }
        return object.first { $0.key.lowercased() == name.lowercased() }?.value
    }

    private static func jsonOriginRequest(_ value: Any) throws(ConfigurationError) -> OriginRequestOptions {
        if value is NSNull { return OriginRequestOptions() }
        guard let o = value as? [String: Any] else { throw mismatch(value, "config.OriginRequestConfig") }
        var r = OriginRequestOptions()
        r.connectTimeout = try jsonDuration(field(o, "connectTimeout"))
        r.tlsTimeout = try jsonDuration(field(o, "tlsTimeout"))
        r.tcpKeepAlive = try jsonDuration(field(o, "tcpKeepAlive"))
        r.noHappyEyeballs = try jsonBool(field(o, "noHappyEyeballs"))
        r.keepAliveConnections = try jsonInt(field(o, "keepAliveConnections"))
        r.keepAliveTimeout = try jsonDuration(field(o, "keepAliveTimeout"))
        r.httpHostHeader = try jsonString(field(o, "httpHostHeader"))
        r.originServerName = try jsonString(field(o, "originServerName"))
        r.matchSNIToHost = try jsonBool(field(o, "matchSNItoHost"))
        r.caPool = try jsonString(field(o, "caPool"))
        r.noTLSVerify = try jsonBool(field(o, "noTLSVerify"))
        r.disableChunkedEncoding = try jsonBool(field(o, "disableChunkedEncoding"))
        r.bastionMode = try jsonBool(field(o, "bastionMode"))
        r.proxyAddress = try jsonString(field(o, "proxyAddress"))
        r.proxyPort = try jsonInt(field(o, "proxyPort")).map { UInt(max(0, $0)) }
        r.proxyType = try jsonString(field(o, "proxyType"))
        r.http2Origin = try jsonBool(field(o, "http2Origin"))
        if let rules = field(o, "ipRules") as? [[String: Any]] {
            r.ipRules = try rules.map { (rule: [String: Any]) throws(ConfigurationError) -> IPRule in
                IPRule(
                    prefix: try jsonString(field(rule, "prefix")),
                    ports: (field(rule, "ports") as? [Any])?.compactMap { ($0 as? NSNumber)?.intValue } ?? [],
                    allow: try jsonBool(field(rule, "allow")) ?? false)
            }
        }
        if let access = field(o, "access") as? [String: Any] {
            r.access = AccessConfiguration(
                required: try jsonBool(field(access, "required")) ?? false,
                teamName: try jsonString(field(access, "teamName")) ?? "",
                audTags: (field(access, "audTag") as? [String]) ?? [],
                environment: try jsonString(field(access, "environment")) ?? "")
        }
        return r
    }

    private static func isNull(_ value: Any?) -> Bool { value == nil || value is NSNull }

    private static func isBool(_ value: Any) -> Bool { value is JSONBool }

    private static func jsonString(_ value: Any?) throws(ConfigurationError) -> String? {
        if isNull(value) { return nil }
        guard let string = value as? String else { throw mismatch(value!, "string") }
        return string
    }

    private static func jsonBool(_ value: Any?) throws(ConfigurationError) -> Bool? {
        if isNull(value) { return nil }
        guard let flag = value as? JSONBool else { throw mismatch(value!, "bool") }
        return flag.value
    }

    private static func jsonInt(_ value: Any?) throws(ConfigurationError) -> Int? {
        if isNull(value) { return nil }
        guard let value, !isBool(value), let number = value as? NSNumber, number.doubleValue == number.doubleValue.rounded()
        else { throw mismatch(value!, "int") }
        return number.intValue
    }

    /// cloudflared's `CustomDuration` parses the raw JSON token as an integer number of seconds.
    private static func jsonDuration(_ value: Any?) throws(ConfigurationError) -> Duration? {
        if isNull(value) { return nil }
        guard let value, !isBool(value), let number = value as? NSNumber, number.doubleValue == number.doubleValue.rounded() else {
            let raw = (value as? String).map { "\"\($0)\"" } ?? "\(value!)"
            throw .invalidSettingValue(key: "json", message: "strconv.ParseInt: parsing \(goQuote(raw)): invalid syntax")
        }
        return .seconds(number.int64Value)
    }

    private static func mismatch(_ value: Any, _ type: String) -> ConfigurationError {
        .invalidSettingValue(key: "json", message: "json: cannot unmarshal \(jsonTypeName(value)) into Go value of type \(type)")
    }

    private static func jsonTypeName(_ value: Any) -> String {
        if isBool(value) { return "bool" }
        switch value {
        case is String: return "string"
        case is NSNumber: return "number"
        case is [Any]: return "array"
        case is [String: Any]: return "object"
        default: return "null"
        }
    }
}

/// A JSON boolean, kept apart from numbers (Foundation bridges both to `NSNumber`).
private struct JSONBool {
    var value: Bool
}

/// A decoded JSON document, converted to Foundation-style values with ``JSONBool`` for booleans.
private enum JSONTree: Decodable {
    case null, bool(Bool), number(Double), string(String), array([JSONTree]), object([String: JSONTree])

    init(from decoder: any Decoder) throws {
        if var array = try? decoder.unkeyedContainer() {
            var items: [JSONTree] = []
            while !array.isAtEnd { items.append(try array.decode(JSONTree.self)) }
            self = .array(items)
            return
        }
        if let object = try? decoder.container(keyedBy: AnyKey.self) {
            var fields: [String: JSONTree] = [:]
            for key in object.allKeys { fields[key.stringValue] = try object.decode(JSONTree.self, forKey: key) }
            self = .object(fields)
            return
        }
        let single = try decoder.singleValueContainer()
        if single.decodeNil() {
            self = .null
        } else if let flag = try? single.decode(Bool.self) {
            self = .bool(flag)
        } else if let number = try? single.decode(Double.self) {
            self = .number(number)
        } else {
            self = .string(try single.decode(String.self))
        }
    }

    var foundationValue: Any {
        switch self {
        case .null: NSNull()
        case .bool(let flag): JSONBool(value: flag)
        case .number(let number): NSNumber(value: number)
        case .string(let text): text
        case .array(let items): items.map(\.foundationValue)
        case .object(let fields): fields.mapValues(\.foundationValue)
        }
    }

    private struct AnyKey: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }
}
