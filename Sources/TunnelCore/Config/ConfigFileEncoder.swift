import Yams

/// Writes a ``TunnelConfigFile`` as YAML with the same key names it was read with.
enum ConfigFileEncoder {
    static func encode(_ file: TunnelConfigFile) -> String {
        var pairs: [(Node, Node)] = []
        if let tunnel = file.tunnel { pairs.append((key("tunnel"), string(tunnel))) }
        for name in file.flagValues.keys.sorted() {
            pairs.append((key(name), value(file.flagValues[name]!)))
        }
        if !file.originRequest.isEmpty {
            pairs.append((key("originRequest"), originRequest(file.originRequest)))
        }
        if file.warpRouting != WarpRoutingOptions() {
            var fields: [(Node, Node)] = []
            if let v = file.warpRouting.connectTimeout { fields.append((key("connectTimeout"), duration(v))) }
            if let v = file.warpRouting.tcpKeepAlive { fields.append((key("tcpKeepAlive"), duration(v))) }
            if let v = file.warpRouting.maxActiveFlows { fields.append((key("maxActiveFlows"), integer(Int(v)))) }
            pairs.append((key("warp-routing"), Node(fields)))
        }
        if !file.ingress.isEmpty {
            let rules = file.ingress.map { rule -> Node in
                var fields: [(Node, Node)] = []
                if !rule.hostname.isEmpty { fields.append((key("hostname"), string(rule.hostname))) }
                if !rule.path.isEmpty { fields.append((key("path"), string(rule.path))) }
                if !rule.service.isEmpty { fields.append((key("service"), string(rule.service))) }
                if !rule.originRequest.isEmpty {
                    fields.append((key("originRequest"), originRequest(rule.originRequest)))
                }
                return Node(fields)
            }
            pairs.append((key("ingress"), Node(rules)))
        }
        if pairs.isEmpty { return "{}\n" }
        return (try? Yams.serialize(node: Node(pairs), indent: 2, sortKeys: false)) ?? ""
    }

    private static func originRequest(_ o: OriginRequestOptions) -> Node {
        var fields: [(Node, Node)] = []
        func add(_ name: String, _ node: Node?) {
            if let node { fields.append((key(name), node)) }
        }
        add("connectTimeout", o.connectTimeout.map(duration))
        add("tlsTimeout", o.tlsTimeout.map(duration))
        add("tcpKeepAlive", o.tcpKeepAlive.map(duration))
        add("noHappyEyeballs", o.noHappyEyeballs.map(boolean))
        add("keepAliveConnections", o.keepAliveConnections.map(integer))
        add("keepAliveTimeout", o.keepAliveTimeout.map(duration))
        add("httpHostHeader", o.httpHostHeader.map(string))
        add("originServerName", o.originServerName.map(string))
        add("matchSNItoHost", o.matchSNIToHost.map(boolean))
        add("caPool", o.caPool.map(string))
        add("noTLSVerify", o.noTLSVerify.map(boolean))
        add("disableChunkedEncoding", o.disableChunkedEncoding.map(boolean))
        add("bastionMode", o.bastionMode.map(boolean))
        add("proxyAddress", o.proxyAddress.map(string))
        add("proxyPort", o.proxyPort.map { integer(Int($0)) })
        add("proxyType", o.proxyType.map(string))
        add("ipRules", o.ipRules.map { rules in
            Node(rules.map { rule -> Node in
                var fields: [(Node, Node)] = []
                if let prefix = rule.prefix { fields.append((key("prefix"), string(prefix))) }
                if !rule.ports.isEmpty { fields.append((key("ports"), Node(rule.ports.map(integer)))) }
                fields.append((key("allow"), boolean(rule.allow)))
                return Node(fields)
            })
        })
        add("http2Origin", o.http2Origin.map(boolean))
        add("access", o.access.map { access in
            Node([
                (key("required"), boolean(access.required)),
                (key("teamName"), string(access.teamName)),
                (key("audTag"), Node(access.audTags.map(string))),
                (key("environment"), string(access.environment)),
            ])
        })
        return Node(fields)
    }

    private static func value(_ value: ConfigValue) -> Node {
        switch value {
        case .null: return Node("null", Tag(.null), .plain)
        case .bool(let v): return boolean(v)
        case .int(let v): return integer(v)
        case .float(let v):
            if v.isNaN { return Node(".nan", Tag(.float), .plain) }
            if v.isInfinite { return Node(v > 0 ? ".inf" : "-.inf", Tag(.float), .plain) }
            return Node("\(v)", Tag(.float), .plain)
        case .string(let v): return string(v)
        case .list(let items): return Node(items.map(Self.value))
        case .map(let fields):
            return Node(fields.keys.sorted().map { (key($0), Self.value(fields[$0]!)) })
        }
    }

    private static func key(_ name: String) -> Node { Node(name, Tag(.str), .plain) }
    private static func string(_ text: String) -> Node { Node(text, Tag(.str), .doubleQuoted) }
    private static func duration(_ d: Duration) -> Node { string(GoDuration.format(d)) }
    private static func boolean(_ b: Bool) -> Node { Node(b ? "true" : "false", Tag(.bool), .plain) }
    private static func integer(_ i: Int) -> Node { Node(String(i), Tag(.int), .plain) }
}
