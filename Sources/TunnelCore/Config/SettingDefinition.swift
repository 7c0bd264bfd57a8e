/// The type of a command-line flag that config.yml keys and `TUNNEL_*` variables can also set.
public enum SettingKind: Sendable, Hashable {
    /// Text.
    case string
    /// A whole number.
    case int
    /// On/off.
    case bool
    /// A Go duration (`30s`).
    case duration
    /// A list of strings (repeatable flag; comma-separated in the environment).
    case stringList

    var goName: String {
        switch self {
        case .string: "string"
        case .int: "int"
        case .bool: "boolean"
        case .duration: "duration"
        case .stringList: "string slice"
        }
    }
}

/// A typed setting value.
public enum SettingValue: Sendable, Hashable {
    /// Text.
    case string(String)
    /// A whole number.
    case int(Int)
    /// On/off.
    case bool(Bool)
    /// A duration.
    case duration(Duration)
    /// A list of strings.
    case stringList([String])
}

/// One flag: its long name (also its config.yml key), type, environment variables and default.
public struct SettingDefinition: Sendable, Hashable {
    /// Long flag name and config key, e.g. `credentials-file`.
    public var name: String
    /// Value type.
    public var kind: SettingKind
    /// Environment variables, first present wins.
    public var environmentVariables: [String]
    /// Built-in default, if any.
    public var defaultValue: SettingValue?
    /// Whether config.yml may set it (false for plain flags such as `config`).
    public var readsConfigFile: Bool

    /// Creates a definition.
    public init(
        _ name: String, _ kind: SettingKind, env: [String] = [], default defaultValue: SettingValue? = nil,
        readsConfigFile: Bool = true
    ) {
        self.name = name
        self.kind = kind
        self.environmentVariables = env
        self.defaultValue = defaultValue
        self.readsConfigFile = readsConfigFile
    }

    /// The flags of `tunnel` / `tunnel run` that config.yml and the environment can set, with
    /// cloudflared's environment variables and defaults (`cmd/cloudflared/tunnel/cmd.go`).
    public static let tunnelRun: [SettingDefinition] = [
        .init("credentials-file", .string, env: ["TUNNEL_CRED_FILE"]),
        .init("credentials-contents", .string, env: ["TUNNEL_CRED_CONTENTS"]),
        .init("token", .string, env: ["TUNNEL_TOKEN"]),
        .init("token-file", .string, env: ["TUNNEL_TOKEN_FILE"]),
        .init("origincert", .string, env: ["TUNNEL_ORIGIN_CERT"]),
        .init("api-url", .string, env: ["TUNNEL_API_URL"], default: .string("https://api.cloudflare.com/client/v4")),
        .init("loglevel", .string, env: ["TUNNEL_LOGLEVEL"], default: .string("info")),
        .init("log-format", .string, env: ["TUNNEL_LOG_FORMAT"], default: .string("text")),
        .init("transport-loglevel", .string, env: ["TUNNEL_PROTO_LOGLEVEL", "TUNNEL_TRANSPORT_LOGLEVEL"], default: .string("info")),
        .init("logfile", .string, env: ["TUNNEL_LOGFILE"]),
        .init("log-directory", .string, env: ["TUNNEL_LOGDIRECTORY"]),
        .init("trace-output", .string, env: ["TUNNEL_TRACE_OUTPUT"]),
        .init("metrics", .string, env: ["TUNNEL_METRICS"], default: .string("localhost:0")),
        .init("metrics-update-freq", .duration, env: ["TUNNEL_METRICS_UPDATE_FREQ"], default: .duration(.seconds(5))),
        .init("pidfile", .string, env: ["TUNNEL_PIDFILE"]),
        .init("protocol", .string, env: ["TUNNEL_TRANSPORT_PROTOCOL"], default: .string("auto")),
        .init("edge-ip-version", .string, env: ["TUNNEL_EDGE_IP_VERSION"], default: .string("auto")),
        .init("edge-bind-address", .string, env: ["TUNNEL_EDGE_BIND_ADDRESS"]),
        .init("region", .string, env: ["TUNNEL_REGION"], default: .string("")),
        // tunnelctl's own: the DNS servers edge discovery asks instead of /etc/resolv.conf's.
        .init("edge-dns-resolver", .string, env: ["TUNNEL_EDGE_DNS_RESOLVER"]),
        .init("grace-period", .duration, env: ["TUNNEL_GRACE_PERIOD"], default: .duration(.seconds(30))),
        .init("retries", .int, env: ["TUNNEL_RETRIES"], default: .int(5)),
        .init("ha-connections", .int, default: .int(4)),
        .init("max-edge-addr-retries", .int, default: .int(8)),
        .init("rpc-timeout", .duration, default: .duration(.seconds(5))),
        .init("write-stream-timeout", .duration, env: ["TUNNEL_STREAM_WRITE_TIMEOUT"], default: .duration(.zero)),
        .init("tag", .stringList, env: ["TUNNEL_TAG"]),
        .init("label", .string),
        .init("no-autoupdate", .bool, env: ["NO_AUTOUPDATE"], default: .bool(false)),
        .init("autoupdate-freq", .duration, default: .duration(.seconds(86_400))),
        .init("no-prechecks", .bool, env: ["TUNNEL_NO_PRECHECKS"], default: .bool(false)),
        .init("post-quantum", .bool, env: ["TUNNEL_POST_QUANTUM"], default: .bool(false)),
        .init("features", .stringList),
        .init("management-diagnostics", .bool, env: ["TUNNEL_MANAGEMENT_DIAGNOSTICS"], default: .bool(true)),
        .init("management-hostname", .string, env: ["TUNNEL_MANAGEMENT_HOSTNAME"], default: .string("management.argotunnel.com")),
        .init("max-fetch-size", .int, env: ["TUNNEL_MAX_FETCH_SIZE"]),
        .init("hostname", .string, env: ["TUNNEL_HOSTNAME"]),
        .init("lb-pool", .string, env: ["TUNNEL_LB_POOL"]),
        .init("name", .string, env: ["TUNNEL_NAME"]),
        .init("quick-service", .string, default: .string("https://api.trycloudflare.com")),
        .init("edge", .stringList, env: ["TUNNEL_EDGE"]),
        .init("cacert", .string, env: ["TUNNEL_CACERT"]),
        // Single-origin mode (used only without ingress rules).
        .init("url", .string, env: ["TUNNEL_URL"], default: .string("http://localhost:8080")),
        .init("hello-world", .bool, env: ["TUNNEL_HELLO_WORLD"], default: .bool(false)),
        .init("unix-socket", .string, env: ["TUNNEL_UNIX_SOCKET"]),
        .init("bastion", .bool, env: ["TUNNEL_BASTION"], default: .bool(false)),
        .init("socks5", .bool, env: ["TUNNEL_SOCKS"], default: .bool(false)),
        .init("proxy-connect-timeout", .duration, default: .duration(.seconds(30))),
        .init("proxy-tls-timeout", .duration, default: .duration(.seconds(10))),
        .init("proxy-tcp-keepalive", .duration, default: .duration(.seconds(30))),
        .init("proxy-no-happy-eyeballs", .bool, default: .bool(false)),
        .init("proxy-keepalive-connections", .int, default: .int(100)),
        .init("proxy-keepalive-timeout", .duration, default: .duration(.seconds(90))),
        .init("http-host-header", .string, env: ["TUNNEL_HTTP_HOST_HEADER"]),
        .init("origin-server-name", .string, env: ["TUNNEL_ORIGIN_SERVER_NAME"]),
        .init("origin-ca-pool", .string, env: ["TUNNEL_ORIGIN_CA_POOL"]),
        .init("no-tls-verify", .bool, env: ["NO_TLS_VERIFY"], default: .bool(false)),
        .init("no-chunked-encoding", .bool, env: ["TUNNEL_NO_CHUNKED_ENCODING"], default: .bool(false)),
        .init("http2-origin", .bool, env: ["TUNNEL_ORIGIN_ENABLE_HTTP2"], default: .bool(false)),
        .init("proxy-address", .string, env: ["TUNNEL_PROXY_ADDRESS"], default: .string("127.0.0.1")),
        .init("proxy-port", .int, env: ["TUNNEL_PROXY_PORT"], default: .int(0)),
        // Plain flags: never read from config.yml.
        .init("config", .string, readsConfigFile: false),
        .init("ingress-validate-json", .string, env: ["TUNNEL_INGRESS_VALIDATE_JSON"], readsConfigFile: false),
    ]
}
