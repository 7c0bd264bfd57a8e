/// A validated ingress rule, ready for matching.
public struct IngressRule: Sendable {
    /// The hostname as written (`""`, `*`, `app.example.com`, `*.example.com`).
    public let hostname: String
    /// The compiled `path` filter, or `nil` for any path.
    public let path: PathPattern?
    /// Where matching requests go.
    public let service: IngressService
    /// Effective origin settings: the rule's overrides over the top-level block over defaults.
    public let originRequest: OriginRequestConfiguration
    /// The `originRequest` block written on this rule itself (`access` and `ipRules` act only from here).
    public let ruleOptions: OriginRequestOptions

    /// Creates a rule from parts that are already valid.
    public init(
        hostname: String, path: PathPattern?, service: IngressService,
        originRequest: OriginRequestConfiguration = OriginRequestConfiguration(),
        ruleOptions: OriginRequestOptions = OriginRequestOptions()
    ) {
        self.hostname = hostname
        self.path = path
        self.service = service
        self.originRequest = originRequest
        self.ruleOptions = ruleOptions
    }

    /// True when the rule matches every request: hostname empty or `*`, and no path.
    public var isCatchAll: Bool {
        (hostname.isEmpty || hostname == "*") && path == nil
    }

    /// cloudflared's multi-line description, as `ingress rule` prints it: tab-indented
    /// `hostname:` (when set), `path:` (when set) and `service:` lines.
    public var multiLineDescription: String {
        var lines: [String] = []
        if !hostname.isEmpty { lines.append("\thostname: \(hostname)") }
        if let path { lines.append("\tpath: \(path.source)") }
        lines.append("\tservice: \(service)")
        return lines.joined(separator: "\n")
    }
}
