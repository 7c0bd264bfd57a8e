/// Effective flag values after ``SettingsResolver/resolve(commandLine:environment:file:)``.
public struct ResolvedSettings: Sendable {
    /// Every flag with a value, by name.
    public let values: [String: ResolvedSetting]
    /// The configuration file the values were resolved against.
    public let file: TunnelConfigFile?

    /// Creates settings from resolved values.
    public init(values: [String: ResolvedSetting], file: TunnelConfigFile? = nil) {
        self.values = values
        self.file = file
    }

    /// The resolved entry for a flag.
    public subscript(name: String) -> ResolvedSetting? { values[name] }

    /// Whether the flag was given by command line, environment or file (cloudflared `IsSet`).
    public func isSet(_ name: String) -> Bool { values[name]?.isSet ?? false }

    /// A string flag's value.
    public func string(_ name: String) -> String? {
        if case .string(let value)? = values[name]?.value { return value }
        return nil
    }

    /// An int flag's value.
    public func int(_ name: String) -> Int? {
        if case .int(let value)? = values[name]?.value { return value }
        return nil
    }

    /// A bool flag's value (`false` when unknown).
    public func bool(_ name: String) -> Bool {
        if case .bool(let value)? = values[name]?.value { return value }
        return false
    }

    /// A duration flag's value.
    public func duration(_ name: String) -> Duration? {
        if case .duration(let value)? = values[name]?.value { return value }
        return nil
    }

    /// A string-list flag's value (empty when unset).
    public func stringList(_ name: String) -> [String] {
        if case .stringList(let value)? = values[name]?.value { return value }
        return []
    }

    /// Checks the values cloudflared checks before starting (`protocol`, `edge-ip-version`,
    /// `grace-period`, `tag`).
    public func validate() throws(ConfigurationError) {
        if let proto = string("protocol"), !["auto", "quic", "http2", "h2mux"].contains(proto) {
            throw .invalidSettingValue(key: "protocol", message: "unknown protocol \(proto), Available protocols: 'auto' - automatically chooses the best protocol over time (the default; and also the recommended one); 'quic' - based on QUIC, relying on UDP egress to Cloudflare edge; 'http2' - using Go's HTTP2 library, relying on TCP egress to Cloudflare edge")
        }
        if let version = string("edge-ip-version"), !["4", "6", "auto"].contains(version) {
            throw .invalidSettingValue(key: "edge-ip-version", message: "invalid value for edge-ip-version: \(version)")
        }
        if let grace = duration("grace-period"), grace > .seconds(180) {
            throw .invalidSettingValue(key: "grace-period", message: "grace-period must be equal or less than 3m0s")
        }
        for tag in stringList("tag") {
            let parts = tag.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            if parts.count != 2 || parts[0].isEmpty {
                throw .invalidSettingValue(key: "tag", message: "Cannot parse tag value \(tag)")
            }
        }
    }

    /// The origin settings the single-origin flags describe (`proxy-connect-timeout` →
    /// `connectTimeout`, `no-tls-verify` → `noTLSVerify`, …; cloudflared `originRequestFromSingleRule`).
    public var singleOriginRequest: OriginRequestConfiguration {
        var config = OriginRequestConfiguration()
        if let v = duration("proxy-connect-timeout") { config.connectTimeout = v }
        if let v = duration("proxy-tls-timeout") { config.tlsTimeout = v }
        if let v = duration("proxy-tcp-keepalive") { config.tcpKeepAlive = v }
        config.noHappyEyeballs = bool("proxy-no-happy-eyeballs")
        if let v = int("proxy-keepalive-connections") { config.keepAliveConnections = v }
        if let v = duration("proxy-keepalive-timeout") { config.keepAliveTimeout = v }
        config.httpHostHeader = string("http-host-header") ?? ""
        config.originServerName = string("origin-server-name") ?? ""
        config.caPool = string("origin-ca-pool") ?? ""
        config.noTLSVerify = bool("no-tls-verify")
        config.disableChunkedEncoding = bool("no-chunked-encoding")
        config.bastionMode = bool("bastion")
        config.http2Origin = bool("http2-origin")
        config.proxyAddress = string("proxy-address") ?? "127.0.0.1"
        config.proxyPort = UInt(max(0, int("proxy-port") ?? 0))
        // cloudflared decides by "is set", so an explicit false also selects socks.
        if isSet("socks5") { config.proxyType = "socks" }
        return config
    }

    /// The ingress `tunnel run` uses: the file's rules when there are any, else the single rule
    /// the flags describe (`hello-world`, then `bastion`, then `url`, then `unix-socket`), else
    /// ``Ingress/serviceUnavailable``.
    public func effectiveIngress() throws(ConfigurationError) -> Ingress {
        if let file, !file.ingress.isEmpty {
            return try Ingress(configuration: file)
        }
        let origin = singleOriginRequest
        let service: IngressService
        if bool("hello-world") {
            service = .helloWorld
        } else if bool("bastion") {
            service = .bastion
        } else if isSet("url"), let url = string("url") {
            service = try Self.singleOriginService(url)
        } else if let socket = string("unix-socket"), isSet("unix-socket") {
            service = .unixSocket(path: socket, tls: false)
        } else {
            return .serviceUnavailable
        }
        return Ingress(validatedRules: [IngressRule(hostname: "", path: nil, service: service, originRequest: origin)])
    }

    /// `--url` normalisation (cloudflared `validation.ValidateUrl`): scheme defaults to `http`,
    /// only http, https, rdp, ssh, smb and tcp are allowed, and any path is dropped.
    static func singleOriginService(_ raw: String) throws(ConfigurationError) -> IngressService {
        let withScheme = raw.contains("://") ? raw : "http://" + raw
        let url: GoURL
        do {
            url = try GoURL.parse(withScheme)
        } catch {
            throw .unparsableServiceURL(ruleIndex: 0, service: raw, reason: error.message)
        }
        guard ["http", "https", "rdp", "ssh", "smb", "tcp"].contains(url.scheme) else {
            throw .unsupportedURLScheme(url.scheme)
        }
        guard !url.hostname.isEmpty else { throw .serviceMissingSchemeOrHost(ruleIndex: 0, service: raw) }
        let stripped = "\(url.scheme)://\(url.host)"
        return try IngressService.parse(stripped, ruleIndex: 0, bastionMode: false, ipRules: [])
    }
}
