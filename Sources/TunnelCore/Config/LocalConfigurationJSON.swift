/// The JSON a connector sends with `updateLocalConfiguration` (edge-protocol.md §3.8): the
/// explicitly set flags among a fixed list, the effective ingress rules and `warp-routing`.
/// Pure: values in, bytes out.
///
/// ```json
/// {"__configuration_flags":{"protocol":"http2"},"ingress":[{"service":"http://127.0.0.1:8080","originRequest":{}}],"warp-routing":{}}
/// ```
public enum LocalConfigurationJSON {
    /// The flags cloudflared reports in `__configuration_flags` when they are explicitly set.
    public static let reportedFlags = [
        "autoupdate-freq", "no-autoupdate", "retries", "protocol", "loglevel", "transport-loglevel",
        "origincert", "metrics", "metrics-update-freq", "edge-ip-version", "edge-bind-address", "max-active-flows",
    ]

    /// Encodes the payload. `flags` holds flag name → value text; keys are written sorted, and
    /// the object is left out when empty. Rule `originRequest` objects carry only values that
    /// differ from the defaults, durations in whole seconds.
    public static func encode(ingress: Ingress, warpRouting: WarpRoutingOptions = WarpRoutingOptions(), flags: [String: String] = [:]) -> [UInt8] {
        var top: [String] = []
        if !flags.isEmpty {
            top.append(GoJSON.quote("__configuration_flags") + ":" + object(flags.keys.sorted().map { ($0, GoJSON.quote(flags[$0]!)) }))
        }
        let rules = ingress.rules.map { rule -> String in
            var fields: [(String, String)] = []
            if !rule.hostname.isEmpty { fields.append(("hostname", GoJSON.quote(rule.hostname))) }
            if let path = rule.path, !path.source.isEmpty { fields.append(("path", GoJSON.quote(path.source))) }
            fields.append(("service", GoJSON.quote(rule.service.description)))
            fields.append(("originRequest", originRequest(rule.originRequest)))
            return object(fields)
        }
        top.append(GoJSON.quote("ingress") + ":[" + rules.joined(separator: ",") + "]")
        var warp: [(String, String)] = []
        if let v = warpRouting.connectTimeout, v != .seconds(5) { warp.append(("connectTimeout", seconds(v))) }
        if let v = warpRouting.maxActiveFlows, v != 0 { warp.append(("maxActiveFlows", String(v))) }
        if let v = warpRouting.tcpKeepAlive, v != .seconds(30) { warp.append(("tcpKeepAlive", seconds(v))) }
        top.append(GoJSON.quote("warp-routing") + ":" + object(warp))
        return Array(("{" + top.joined(separator: ",") + "}").utf8)
    }

    /// The `__configuration_flags` of `settings`: each explicitly set flag of ``reportedFlags``.
    public static func flags(of settings: ResolvedSettings) -> [String: String] {
        var flags: [String: String] = [:]
        for name in reportedFlags where settings.isSet(name) {
            switch settings[name]?.value {
            case .string(let text)?: flags[name] = text
            case .int(let value)?: flags[name] = String(value)
            case .bool(let value)?: flags[name] = value ? "true" : "false"
            case .duration(let value)?: flags[name] = GoDuration.format(value)
            case .stringList(let values)?: flags[name] = values.joined(separator: ",")
            case nil: break
            }
        }
        return flags
    }

    private static func originRequest(_ o: OriginRequestConfiguration) -> String {
        let d = OriginRequestConfiguration()
        var fields: [(String, String)] = []
        if o.connectTimeout != d.connectTimeout { fields.append(("connectTimeout", seconds(o.connectTimeout))) }
        if o.tlsTimeout != d.tlsTimeout { fields.append(("tlsTimeout", seconds(o.tlsTimeout))) }
        if o.tcpKeepAlive != d.tcpKeepAlive { fields.append(("tcpKeepAlive", seconds(o.tcpKeepAlive))) }
        if o.noHappyEyeballs { fields.append(("noHappyEyeballs", "true")) }
        if o.keepAliveConnections != d.keepAliveConnections { fields.append(("keepAliveConnections", String(o.keepAliveConnections))) }
        if o.keepAliveTimeout != d.keepAliveTimeout { fields.append(("keepAliveTimeout", seconds(o.keepAliveTimeout))) }
        if !o.httpHostHeader.isEmpty { fields.append(("httpHostHeader", GoJSON.quote(o.httpHostHeader))) }
        if !o.originServerName.isEmpty { fields.append(("originServerName", GoJSON.quote(o.originServerName))) }
        if o.matchSNIToHost { fields.append(("matchSNItoHost", "true")) }
        if !o.caPool.isEmpty { fields.append(("caPool", GoJSON.quote(o.caPool))) }
        if o.noTLSVerify { fields.append(("noTLSVerify", "true")) }
        if o.disableChunkedEncoding { fields.append(("disableChunkedEncoding", "true")) }
        if o.bastionMode { fields.append(("bastionMode", "true")) }
        if o.proxyAddress != d.proxyAddress { fields.append(("proxyAddress", GoJSON.quote(o.proxyAddress))) }
        if o.proxyPort != d.proxyPort { fields.append(("proxyPort", String(o.proxyPort))) }
        if !o.proxyType.isEmpty { fields.append(("proxyType", GoJSON.quote(o.proxyType))) }
        if !o.ipRules.isEmpty {
            let rules = o.ipRules.map { rule -> String in
                var parts: [(String, String)] = []
                if let prefix = rule.prefix { parts.append(("prefix", GoJSON.quote(prefix))) }
                parts.append(("ports", "[" + rule.ports.map(String.init).joined(separator: ",") + "]"))
                parts.append(("allow", rule.allow ? "true" : "false"))
                return object(parts)
            }
            fields.append(("ipRules", "[" + rules.joined(separator: ",") + "]"))
        }
        if o.http2Origin { fields.append(("http2Origin", "true")) }
        if let access = o.access {
            fields.append(("access", object([
                ("required", access.required ? "true" : "false"),
                ("teamName", GoJSON.quote(access.teamName)),
                ("audTag", "[" + access.audTags.map(GoJSON.quote).joined(separator: ",") + "]"),
            ])))
        }
        return object(fields)
    }

    /// Fields whose values are already JSON text.
    private static func object(_ fields: [(String, String)]) -> String {
        "{" + fields.map { GoJSON.quote($0.0) + ":" + $0.1 }.joined(separator: ",") + "}"
    }

    private static func seconds(_ duration: Duration) -> String {
        String(duration.components.seconds)
    }
}
