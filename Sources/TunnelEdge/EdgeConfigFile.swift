public import Foundation
import NIOSSL
public import TunnelCore
import Yams

/// edge.yml: the listeners, certificates, limits and static tunnels of a self-hosted edge.
/// Every key is optional; an empty file (or none) runs the embedded default: both listeners on
/// loopback and a generated CA and edge certificate in the state directory. See Docs/edge.md
/// for a commented example.
public struct EdgeConfigFile: Sendable, Hashable, Decodable {
    /// Where the generated CA, edge certificate and key live. Default `~/.tunnelctl/edge`.
    public var stateDirectory: String?
    /// `locationName` answered to connectors. Default `SELF`.
    public var location: String?
    /// How long in-flight requests may run after SIGTERM, Go duration text. Default `30s`.
    public var gracePeriod: String?
    /// The connector listener.
    public var connectors: Listener?
    /// The visitor listeners.
    public var visitors: Visitors?
    /// Visitor limits.
    public var limits: Limits?
    /// Tunnels the edge accepts without a control plane.
    public var tunnels: [StaticTunnel]?
    /// The control plane's HTTP API listener.
    public var api: API?
    /// The domain whose `<tunnel-id>.<domain>` hostnames route to that tunnel (the target of
    /// a tunnel's CNAME records). Default `cfargotunnel.com`.
    public var tunnelDomain: String?
    /// The authoritative DNS server for the account zones and the tunnel domain.
    public var dns: DNS?
    /// Removal of the route records of tunnels that stay unregistered.
    public var recordGC: RecordGC?
    /// `tunnelctl login`: the origin CA and how long certificates and logins last.
    public var login: Login?
    /// Quick tunnels (`POST /tunnel` on the API listener).
    public var quickTunnels: QuickTunnels?

    /// Anonymous, short-lived tunnels for `tunnelctl tunnel --url` and cloudflared's
    /// `--quick-service`. On by default (with the API).
    public struct QuickTunnels: Sendable, Hashable, Decodable {
        /// `false` turns them off. Default `true`.
        public var enabled: Bool?
        /// Their hostnames are `<four words>.<domain>`. Default `quick.localhost`.
        public var domain: String?
        /// Quick tunnels one source address may hold at once. Default 10.
        public var perAddress: Int?
        /// How long one lives at most, Go duration text. Default `24h`.
        public var lifetime: String?
        /// How long one waits for its connector, Go duration text. Default `5m`.
        public var connectWithin: String?
        /// How long one whose connections were lost waits for them, Go duration text. Default `30s`.
        public var reconnectWithin: String?
    }

    /// The login flow and the origin certificates it issues.
    public struct Login: Sendable, Hashable, Decodable {
        /// The origin CA's certificate and key (PEM). Default: generated into the state
        /// directory as `origin-ca.pem` and `origin-ca.key` on first start.
        public var originCA: CertificateFiles?
        /// How long issued origin certificates are valid, in days. Default 3653 (10 years with their leap days).
        public var certificateValidityDays: Int?
        /// How long a `tunnelctl login` poll is held waiting for the approval, Go duration
        /// text. Default `50s` (clients give up on one request after 60 s).
        public var pollHold: String?
        /// How long a login may take from opening the sign-in page to collecting the cert.pem,
        /// Go duration text. Default `10m`.
        public var lifetime: String?
    }

    /// A certificate and its private key, PEM files.
    public struct CertificateFiles: Sendable, Hashable, Decodable {
        /// The certificate.
        public var certificate: String?
        /// Its private key.
        public var key: String?
    }

    /// When the route records of quiet tunnels go: `after` of no registered connection, looked
    /// for `every` so long (Go duration text). Defaults `24h` and `24h`: gone between 24 and 48 h.
    public struct RecordGC: Sendable, Hashable, Decodable {
        /// How long a tunnel must stay unregistered. Default `24h`.
        public var after: String?
        /// How often to look. Default `24h`.
        public var every: String?
    }

    /// The edge's DNS server (off unless an address is given).
    public struct DNS: Sendable, Hashable, Decodable {
        /// `host:port` for UDP and TCP, e.g. `0.0.0.0:53`; absent or `off`: no DNS server.
        public var address: String?
        /// The IPv4/IPv6 addresses `<tunnel-id>.<tunnel domain>` resolve to: the edge's visitor
        /// addresses. Default: the visitor listener's address (127.0.0.1 if it listens on all).
        public var addresses: [String]?
        /// Name servers announced in NS and SOA records. Default `ns.<tunnel domain>`.
        public var nameServers: [String]?
        /// How routes answer: `cname` (CNAME to `<tunnel-id>.<tunnel domain>` plus its
        /// addresses) or `address` (the edge's A/AAAA under the route's own name). Default `cname`.
        public var routeAnswers: String?

        /// Creates a DNS entry.
        public init(address: String? = nil, addresses: [String]? = nil, nameServers: [String]? = nil, routeAnswers: String? = nil) {
            self.address = address
            self.addresses = addresses
            self.nameServers = nameServers
            self.routeAnswers = routeAnswers
        }
    }

    /// The Cloudflare-v4-compatible API (`tunnelctl tunnel …`, `cloudflared tunnel --api-url`).
    public struct API: Sendable, Hashable, Decodable {
        /// `host:port`; `off` turns the API off. Default `127.0.0.1:8787`.
        public var address: String?
        /// Largest request body, in bytes. Default 65536.
        public var maxBodyBytes: Int?
        /// Requests one API token may make per ``rateLimitWindow``; 0 turns the limit off.
        /// Default 12000 (Cloudflare allows 1200).
        public var rateLimitRequests: Int?
        /// The rate-limit window, Go duration text. Default `5m`.
        public var rateLimitWindow: String?

        /// Creates an API entry.
        public init(address: String? = nil, maxBodyBytes: Int? = nil, rateLimitRequests: Int? = nil, rateLimitWindow: String? = nil) {
            self.address = address
            self.maxBodyBytes = maxBodyBytes
            self.rateLimitRequests = rateLimitRequests
            self.rateLimitWindow = rateLimitWindow
        }
    }

    /// A listener address and, optionally, its certificate.
    public struct Listener: Sendable, Hashable, Decodable {
        /// `host:port`, `[v6]:port` or `:port` (all interfaces).
        public var address: String?
        /// PEM certificate chain, leaf first. Default: generated in the state directory.
        public var certificate: String?
        /// PEM private key of ``certificate``.
        public var key: String?

        /// Creates a listener entry.
        public init(address: String? = nil, certificate: String? = nil, key: String? = nil) {
            self.address = address
            self.certificate = certificate
            self.key = key
        }
    }

    /// The clear-text visitor listener, and an optional TLS one.
    public struct Visitors: Sendable, Hashable, Decodable {
        /// Clear-text (HTTP/1.1 and h2c) `host:port`. Default `127.0.0.1:8080`.
        public var address: String?
        /// The TLS listener (ALPN h2 and http/1.1); absent means none.
        public var tls: Listener?

        /// Creates a visitors entry.
        public init(address: String? = nil, tls: Listener? = nil) {
            self.address = address
            self.tls = tls
        }
    }

    /// Visitor limits; see ``VisitorLimits`` for meaning and defaults.
    public struct Limits: Sendable, Hashable, Decodable {
        /// Largest request head in bytes.
        public var maxHeaderBytes: Int?
        /// Slowloris timeout, Go duration text.
        public var headerTimeout: String?
        /// Idle keep-alive timeout, Go duration text.
        public var idleTimeout: String?
        /// Time to wait for the origin's response head before 524, Go duration text.
        public var responseTimeout: String?
        /// SETTINGS_MAX_CONCURRENT_STREAMS for HTTP/2 visitors.
        public var maxConcurrentStreams: Int?
        /// Streams a visitor may reset per window (rapid-reset protection).
        public var maxResetStreams: Int?
        /// Tunnels one account may run at once; 0 for no limit. Default 1000.
        public var runningTunnelsPerAccount: Int?
    }

    /// A tunnel declared in the file: either a cloudflared credentials file or its three fields.
    public struct StaticTunnel: Sendable, Hashable, Decodable {
        /// A tunnel credentials JSON file (`<TunnelID>.json` from `tunnel create`).
        public var credentialsFile: String?
        /// The tunnel UUID, when no credentials file is given.
        public var id: String?
        /// The account tag, when no credentials file is given.
        public var accountTag: String?
        /// The base64 tunnel secret, when no credentials file is given.
        public var secret: String?
        /// A human name.
        public var name: String?
        /// Hostnames routed to the tunnel: exact, `*.example.com` or `*`.
        public var hostnames: [String]?
    }

    /// An empty file: the embedded default.
    public init() {}

    /// Parses edge.yml text; `path` names the file in errors.
    public init(yaml: String, path: String = "edge.yml") throws(EdgeConfigError) {
        if yaml.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty {
            self.init()
            return
        }
        do {
            self = try YAMLDecoder().decode(EdgeConfigFile.self, from: yaml)
        } catch let error as DecodingError {
            throw EdgeConfigError(path: path, problem: Self.describe(error))
        } catch {
            throw EdgeConfigError(path: path, problem: "not valid YAML: \(error)")
        }
    }

    /// Reads and parses an edge.yml file.
    public init(contentsOfFile path: String) throws(EdgeConfigError) {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw EdgeConfigError(path: path, problem: "cannot read the file (\(Self.reason(error))); check the path and its permissions")
        }
        try self.init(yaml: text, path: path)
    }

    private static func describe(_ error: DecodingError) -> String {
        func location(_ path: [any CodingKey]) -> String {
            var text = ""
            for key in path {
                if let index = key.intValue { text += "[\(index)]" } else { text += (text.isEmpty ? "" : ".") + key.stringValue }
            }
            return text.isEmpty ? "the document" : text
        }
        switch error {
        case .typeMismatch(let type, let context):
            return "\(location(context.codingPath)): expected \(typeName(type))"
        case .valueNotFound(let type, let context):
            return "\(location(context.codingPath)): expected \(typeName(type)), found nothing"
        case .keyNotFound(let key, let context):
            return "\(location(context.codingPath + [key])): missing"
        case .dataCorrupted(let context):
            return "\(location(context.codingPath)): \(context.debugDescription)"
        @unknown default:
            return "\(error)"
        }
    }

    private static func typeName(_ type: Any.Type) -> String {
        // Yams names YAML node kinds (Node.Mapping, Node.Sequence, Node.Scalar); Swift types otherwise.
        let name = "\(type)"
        if name.contains("Mapping") || name.hasPrefix("Dictionary") { return "a mapping" }
        if name.contains("Sequence") || name.hasPrefix("Array") { return "a list" }
        if type is Int.Type { return "an integer" }
        return "a single value"
    }

    static func reason(_ error: any Error) -> String {
        let nsError = error as NSError
        if let underlying = nsError.userInfo[NSUnderlyingErrorKey] as? NSError, underlying.domain == NSPOSIXErrorDomain,
            let code = POSIXErrorCode(rawValue: Int32(underlying.code))
        {
            return String(cString: strerror(code.rawValue))
        }
        switch nsError.code {
        case NSFileReadNoSuchFileError: return "no such file"
        case NSFileReadNoPermissionError: return "permission denied"
        default: return nsError.localizedDescription
        }
    }
}

/// A problem with edge.yml or a file it names: which file, what is wrong, what to do.
public struct EdgeConfigError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The file at fault.
    public let path: String
    /// What is wrong with it.
    public let problem: String

    /// Creates an error.
    public init(path: String, problem: String) {
        self.path = path
        // One line: YAML parser messages carry a caret diagram on the following lines.
        self.problem = problem.split(whereSeparator: \.isNewline).first.map(String.init) ?? problem
    }

    public var description: String { "\(path): \(problem)" }
}
