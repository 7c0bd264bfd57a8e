import Foundation
import Yams

/// Turns a composed YAML tree into a ``TunnelConfigFile`` with yaml.v3's typing rules, collecting
/// type errors (``problems``) and unknown keys (``warnings``) with their lines.
struct ConfigFileDecoder {
    private(set) var problems: [String] = []
    private(set) var warnings: [ConfigurationWarning] = []

    static let ruleType = "config.UnvalidatedIngressRule"
    static let originRequestType = "config.OriginRequestConfig"
    static let accessType = "config.AccessConfig"
    static let ipRuleType = "config.IngressIPRule"
    static let warpRoutingType = "config.WarpRoutingConfig"

    mutating func decodeRoot(_ root: Node) -> TunnelConfigFile {
        var file = TunnelConfigFile()
        guard let mapping = mapping(root, into: "config.configFileSettings") else { return file }
        for (keyNode, value) in mapping {
            guard let key = keyNode.scalar?.string else { continue }
            switch key {
            case "tunnel":
                file.tunnel = string(value)
            case "ingress":
                file.ingress = decodeIngress(value)
            case "originRequest":
                file.originRequest = decodeOriginRequest(value)
            case "warp-routing":
                file.warpRouting = decodeWarpRouting(value)
            default:
                file.flagValues[key] = Self.untyped(value)
            }
        }
        return file
    }

    // MARK: Structured blocks

    private mutating func decodeIngress(_ node: Node) -> [IngressRuleConfig] {
        if isNull(node) { return [] }
        guard case .sequence(let sequence) = node else {
            mismatch(node, "[]" + Self.ruleType)
            return []
        }
        var rules: [IngressRuleConfig] = []
        for element in sequence {
            var rule = IngressRuleConfig()
            if let fields = mapping(element, into: Self.ruleType) {
                for (keyNode, value) in fields {
                    guard let key = keyNode.scalar?.string else { continue }
                    switch key {
                    case "hostname": rule.hostname = string(value) ?? ""
                    case "path": rule.path = string(value) ?? ""
                    case "service": rule.service = string(value) ?? ""
                    case "originRequest": rule.originRequest = decodeOriginRequest(value)
                    default: unknown(keyNode, key, Self.ruleType)
                    }
                }
            }
            rules.append(rule)
        }
        return rules
    }

    mutating func decodeOriginRequest(_ node: Node) -> OriginRequestOptions {
        var options = OriginRequestOptions()
        guard let fields = mapping(node, into: Self.originRequestType) else { return options }
        for (keyNode, value) in fields {
            guard let key = keyNode.scalar?.string else { continue }
            switch key {
            case "connectTimeout": options.connectTimeout = duration(value)
            case "tlsTimeout": options.tlsTimeout = duration(value)
            case "tcpKeepAlive": options.tcpKeepAlive = duration(value)
            case "noHappyEyeballs": options.noHappyEyeballs = bool(value)
            case "keepAliveConnections": options.keepAliveConnections = int(value)
            case "keepAliveTimeout": options.keepAliveTimeout = duration(value)
            case "httpHostHeader": options.httpHostHeader = string(value)
            case "originServerName": options.originServerName = string(value)
            case "matchSNItoHost": options.matchSNIToHost = bool(value)
            case "caPool": options.caPool = string(value)
            case "noTLSVerify": options.noTLSVerify = bool(value)
            case "disableChunkedEncoding": options.disableChunkedEncoding = bool(value)
            case "bastionMode": options.bastionMode = bool(value)
            case "proxyAddress": options.proxyAddress = string(value)
            case "proxyPort": options.proxyPort = uint(value)
            case "proxyType": options.proxyType = string(value)
            case "ipRules": options.ipRules = decodeIPRules(value)
            case "http2Origin": options.http2Origin = bool(value)
            case "access": options.access = decodeAccess(value)
            default: unknown(keyNode, key, Self.originRequestType)
            }
        }
        return options
    }

    private mutating func decodeAccess(_ node: Node) -> AccessConfiguration? {
        guard let fields = mapping(node, into: Self.accessType) else { return nil }
        var access = AccessConfiguration()
        for (keyNode, value) in fields {
            guard let key = keyNode.scalar?.string else { continue }
            switch key {
            case "required": access.required = bool(value) ?? false
            case "teamName": access.teamName = string(value) ?? ""
            case "audTag": access.audTags = stringList(value, "[]string")
            case "environment": access.environment = string(value) ?? ""
            default: unknown(keyNode, key, Self.accessType)
            }
        }
        return access
    }

    private mutating func decodeIPRules(_ node: Node) -> [IPRule]? {
        if isNull(node) { return nil }
        guard case .sequence(let sequence) = node else {
            mismatch(node, "[]" + Self.ipRuleType)
            return nil
        }
        return sequence.map { element in
            var rule = IPRule()
            guard let fields = mapping(element, into: Self.ipRuleType) else { return rule }
            for (keyNode, value) in fields {
                guard let key = keyNode.scalar?.string else { continue }
                switch key {
                case "prefix": rule.prefix = string(value)
                case "ports":
                    if case .sequence(let ports) = value {
                        rule.ports = ports.compactMap { int($0) }
                    } else if !isNull(value) {
                        mismatch(value, "[]int")
                    }
                case "allow": rule.allow = bool(value) ?? false
                default: unknown(keyNode, key, Self.ipRuleType)
                }
            }
            return rule
        }
    }

    private mutating func decodeWarpRouting(_ node: Node) -> WarpRoutingOptions {
        var options = WarpRoutingOptions()
        guard let fields = mapping(node, into: Self.warpRoutingType) else { return options }
        for (keyNode, value) in fields {
            guard let key = keyNode.scalar?.string else { continue }
            switch key {
            case "connectTimeout": options.connectTimeout = duration(value)
            case "tcpKeepAlive": options.tcpKeepAlive = duration(value)
            case "maxActiveFlows": options.maxActiveFlows = uint(value)
            default: unknown(keyNode, key, Self.warpRoutingType)
            }
        }
        return options
    }

    // MARK: Typed scalars (yaml.v3 rules for struct fields)

    private func isNull(_ node: Node) -> Bool {
        if case .scalar = node, case .null = Self.untyped(node) { return true }
        return false
    }

    private mutating func mapping(_ node: Node, into type: String) -> Node.Mapping? {
        if isNull(node) { return nil }
        guard case .mapping(let mapping) = node else {
            mismatch(node, type)
            return nil
        }
        return mapping
    }

    /// Any scalar decodes into a string field; null leaves it unset.
    private mutating func string(_ node: Node) -> String? {
        guard case .scalar(let scalar) = node else {
            mismatch(node, "string")
            return nil
        }
        return isNull(node) ? nil : scalar.string
    }

    private mutating func stringList(_ node: Node, _ type: String) -> [String] {
        if isNull(node) { return [] }
        guard case .sequence(let sequence) = node else {
            mismatch(node, type)
            return []
        }
        return sequence.compactMap { string($0) }
    }

    private mutating func bool(_ node: Node) -> Bool? {
        if isNull(node) { return nil }
        switch Self.untyped(node) {
        case .bool(let value):
            return value
        case .string(let text) where node.scalar?.style == .plain:
            // Typed bool fields also take YAML 1.1 spellings.
            if ["y", "Y", "yes", "Yes", "YES", "on", "On", "ON"].contains(text) { return true }
            if ["n", "N", "no", "No", "NO", "off", "Off", "OFF"].contains(text) { return false }
        default:
            break
        }
        mismatch(node, "bool")
        return nil
    }

    private mutating func int(_ node: Node) -> Int? {
        if isNull(node) { return nil }
        switch Self.untyped(node) {
        case .int(let value): return value
        case .float(let value) where value == value.rounded() && abs(value) < 9e18: return Int(value)
        default:
            mismatch(node, "int")
            return nil
        }
    }

    private mutating func uint(_ node: Node) -> UInt? {
        if isNull(node) { return nil }
        if case .int(let value) = Self.untyped(node), value >= 0 { return UInt(value) }
        mismatch(node, "uint")
        return nil
    }

    /// Durations must be strings with units; a bare number is an error, as in cloudflared.
    private mutating func duration(_ node: Node) -> Duration? {
        if isNull(node) { return nil }
        if case .string(let text) = Self.untyped(node), let nanoseconds = GoDuration.parseNanoseconds(text) {
            return .nanoseconds(nanoseconds)
        }
        mismatch(node, "time.Duration")
        return nil
    }

    private mutating func mismatch(_ node: Node, _ type: String) {
        let line = node.mark?.line ?? 0
        let tag: String
        var shown = ""
        switch node {
        case .mapping: tag = "!!map"
        case .sequence: tag = "!!seq"
        default:
            let value = Self.untyped(node)
            switch value {
            case .null: tag = "!!null"
            case .bool: tag = "!!bool"
            case .int: tag = "!!int"
            case .float: tag = "!!float"
            default: tag = "!!str"
            }
            let text = node.scalar?.string ?? ""
            shown = text.count > 10 ? " `\(text.prefix(7))...`" : " `\(text)`"
        }
        problems.append("line \(line): cannot unmarshal \(tag)\(shown) into \(type)")
    }

    private mutating func unknown(_ keyNode: Node, _ key: String, _ type: String) {
        warnings.append(ConfigurationWarning(line: keyNode.mark?.line ?? 0, key: key, typeName: type))
    }

    // MARK: Untyped values (yaml.v3 resolution into interface{})

    static func untyped(_ node: Node) -> ConfigValue {
        switch node {
        case .scalar(let scalar):
            return resolve(scalar)
        case .sequence(let sequence):
            return .list(sequence.map { untyped($0) })
        case .mapping(let mapping):
            var result: [String: ConfigValue] = [:]
            for (key, value) in mapping {
                result[key.scalar?.string ?? ""] = untyped(value)
            }
            return .map(result)
        case .alias:
            return .null
        }
    }

    private static func resolve(_ scalar: Node.Scalar) -> ConfigValue {
        let text = scalar.string
        let tag = scalar.tag.description
        if tag.hasSuffix(":str") { return .string(text) }
        if tag.hasSuffix(":int"), let value = parseInt(text) { return .int(value) }
        if tag.hasSuffix(":bool") { return .bool(text.lowercased() == "true") }
        guard scalar.style == .plain else { return .string(text) }
        switch text {
        case "", "~", "null", "Null", "NULL": return .null
        case "true", "True", "TRUE": return .bool(true)
        case "false", "False", "FALSE": return .bool(false)
        case ".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF": return .float(.infinity)
        case "-.inf", "-.Inf", "-.INF": return .float(-.infinity)
        case ".nan", ".NaN", ".NAN": return .float(.nan)
        default: break
        }
        if let value = parseInt(text) { return .int(value) }
        if isFloat(text), let value = Double(text) { return .float(value) }
        return .string(text)
    }

    /// Go `strconv.ParseInt(s, 0, 64)` after removing `_`: decimal, `0x`, `0o`, `0b`, leading-0 octal.
    static func parseInt(_ raw: String) -> Int? {
        var text = Substring(raw.replacingOccurrences(of: "_", with: ""))
        var sign = 1
        if let first = text.first, first == "+" || first == "-" {
            sign = first == "-" ? -1 : 1
            text = text.dropFirst()
        }
        guard let first = text.first, first.isASCII, first.isNumber else { return nil }
        let lower = text.lowercased()
        let magnitude: Int?
        if lower.hasPrefix("0x") {
            magnitude = Int(lower.dropFirst(2), radix: 16)
        } else if lower.hasPrefix("0o") {
            magnitude = Int(lower.dropFirst(2), radix: 8)
        } else if lower.hasPrefix("0b") {
            magnitude = Int(lower.dropFirst(2), radix: 2)
        } else if lower.count > 1 && lower.hasPrefix("0") {
            magnitude = Int(lower.dropFirst(), radix: 8)
        } else {
            magnitude = lower.allSatisfy({ $0.isASCII && $0.isNumber }) ? Int(lower) : nil
        }
        return magnitude.map { $0 * sign }
    }

    private static func isFloat(_ text: String) -> Bool {
        // [-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?
        var rest = Substring(text)
        if rest.first == "-" || rest.first == "+" { rest = rest.dropFirst() }
        let whole = rest.prefix { $0.isASCII && $0.isNumber }
        rest = rest.dropFirst(whole.count)
        var fraction = Substring("")
        if rest.first == "." {
            rest = rest.dropFirst()
            fraction = rest.prefix { $0.isASCII && $0.isNumber }
            rest = rest.dropFirst(fraction.count)
        }
        guard !whole.isEmpty || !fraction.isEmpty else { return false }
        if let e = rest.first, e == "e" || e == "E" {
            rest = rest.dropFirst()
            if rest.first == "-" || rest.first == "+" { rest = rest.dropFirst() }
            let exponent = rest.prefix { $0.isASCII && $0.isNumber }
            guard !exponent.isEmpty else { return false }
            rest = rest.dropFirst(exponent.count)
        }
        return rest.isEmpty
    }
}
