/// One element of the `ingress` list as written, before validation
/// (cloudflared `UnvalidatedIngressRule`).
public struct IngressRuleConfig: Sendable, Hashable {
    /// `hostname`: exact host, `*.suffix` wildcard, `*` or empty for any host. Default empty.
    public var hostname: String
    /// `path`: Go regular expression searched in the request path. Default empty (any path).
    public var path: String
    /// `service`: where matching requests go (`http://…`, `unix:…`, `http_status:404`, …).
    /// Default empty (allowed only for bastion rules).
    public var service: String
    /// `originRequest`: per-rule overrides of the top-level origin settings. Default: none.
    public var originRequest: OriginRequestOptions

    /// Creates a rule.
    public init(
        hostname: String = "", path: String = "", service: String = "",
        originRequest: OriginRequestOptions = OriginRequestOptions()
    ) {
        self.hostname = hostname
        self.path = path
        self.service = service
        self.originRequest = originRequest
    }
}

/// A key cloudflared's strict decode would report as unused, with its line (1-based).
///
/// Only keys inside `ingress` rules, `originRequest` blocks, `access`, `ipRules` and `warp-routing`
/// are reported; unknown top-level keys are treated as flag keys, as cloudflared does.
public struct ConfigurationWarning: Sendable, Hashable, CustomStringConvertible {
    /// 1-based line of the key.
    public var line: Int
    /// The key as written.
    public var key: String
    /// cloudflared's Go type name for the block (`config.WarpRoutingConfig`).
    public var typeName: String

    /// Creates a warning.
    public init(line: Int, key: String, typeName: String) {
        self.line = line
        self.key = key
        self.typeName = typeName
    }

    /// yaml.v3's wording: `line 7: field enabled not found in type config.WarpRoutingConfig`.
    public var description: String { "line \(line): field \(key) not found in type \(typeName)" }
}
