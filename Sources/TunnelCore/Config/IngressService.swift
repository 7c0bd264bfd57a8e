import Foundation

/// Where an ingress rule sends matching requests (cloudflared `ingress/origin_service.go`).
public enum IngressService: Sendable, Hashable, CustomStringConvertible {
    /// An HTTP(S) origin; `url` is the service as written (`ws`/`wss` travel as `http`/`https`).
    case http(url: String, scheme: String, host: String, port: Int?)
    /// HTTP over a Unix socket; `tls` for `unix+tls:`.
    case unixSocket(path: String, tls: Bool)
    /// A fixed status response (`http_status:404`).
    case httpStatus(Int)
    /// The built-in hello-world test server (`hello_world` / `hello-world`).
    case helloWorld
    /// A jump host: the destination comes from the `Cf-Access-Jump-Destination` header.
    case bastion
    /// SOCKS proxy over WebSocket, policed by the rule's own `ipRules`.
    case socksProxy
    /// TCP over WebSocket (`ssh://`, `rdp://`, `smb://`, `tcp://` and any other scheme).
    /// `port` is the written port or the scheme's default (ssh 22, rdp 3389, smb 445, tcp 7864).
    case tcpOverWebSocket(scheme: String, host: String, port: Int?)

    /// The form `ingress rule` prints (`http://localhost:8000`, `ssh://host:22`, `hello_world`).
    public var description: String {
        switch self {
        case .http(let url, _, _, _): url
        case .unixSocket(let path, let tls): (tls ? "unix+tls:" : "unix:") + path
        case .httpStatus(let code): "http_status:\(code)"
        case .helloWorld: "hello_world"
        case .bastion: "bastion"
        case .socksProxy: "socks-proxy"
        case .tcpOverWebSocket(let scheme, let host, let port):
            "\(scheme)://\(host.contains(":") ? "[\(host)]" : host)" + (port.map { ":\($0)" } ?? "")
        }
    }

    static let defaultTCPPorts = ["ssh": 22, "rdp": 3389, "smb": 445, "tcp": 7864]

    /// Parses a service string in cloudflared's order: `unix:`, `unix+tls:`, `http_status:`,
    /// hello world, `socks-proxy`, bastion (by name or by effective `bastionMode`), then a URL.
    static func parse(
        _ service: String, ruleIndex: Int, bastionMode: Bool, ipRules: [IPRule]
    ) throws(ConfigurationError) -> IngressService {
        if service.hasPrefix("unix:") {
            return .unixSocket(path: String(service.dropFirst(5)), tls: false)
        }
        if service.hasPrefix("unix+tls:") {
            return .unixSocket(path: String(service.dropFirst(9)), tls: true)
        }
        if service.hasPrefix("http_status:") {
            let text = String(service.dropFirst(12))
            guard let code = goAtoi(text) else { throw .invalidStatusCodeSyntax(ruleIndex: ruleIndex, text: text) }
            guard (100...999).contains(code) else { throw .invalidStatusCode(ruleIndex: ruleIndex, code: code) }
            return .httpStatus(code)
        }
        if service == "hello_world" || service == "hello-world" {
            return .helloWorld
        }
        if service == "socks-proxy" {
            try validateIPRules(ipRules, ruleIndex: ruleIndex)
            return .socksProxy
        }
        if service == "bastion" || bastionMode {
            return .bastion
        }
        let url: GoURL
        do {
            url = try GoURL.parse(service)
        } catch {
            throw .unparsableServiceURL(ruleIndex: ruleIndex, service: service, reason: error.message)
        }
        guard !url.scheme.isEmpty, !url.hostname.isEmpty else {
            throw .serviceMissingSchemeOrHost(ruleIndex: ruleIndex, service: service)
        }
        guard url.path.isEmpty else { throw .serviceHasPath(ruleIndex: ruleIndex, service: service) }
        let port = Int(url.port)
        if ["http", "https", "ws", "wss"].contains(url.scheme) {
            return .http(url: service, scheme: url.scheme, host: url.hostname, port: port)
        }
        return .tcpOverWebSocket(scheme: url.scheme, host: url.hostname, port: port ?? defaultTCPPorts[url.scheme])
    }

    private static func validateIPRules(_ rules: [IPRule], ruleIndex: Int) throws(ConfigurationError) {
        for rule in rules {
            guard let prefix = rule.prefix else {
                throw .invalidIPRule(ruleIndex: ruleIndex, reason: "no prefix provided", value: "")
            }
            guard isCIDR(prefix) else {
                throw .invalidIPRule(ruleIndex: ruleIndex, reason: "unable to parse cidr: \(prefix)", value: prefix)
            }
            for port in rule.ports where !(1...65535).contains(port) {
                throw .invalidIPRule(
                    ruleIndex: ruleIndex, reason: "invalid port \(port), needs to be between 1 and 65535",
                    value: String(port))
            }
        }
    }

    /// `address/bits` with an IPv4 or IPv6 address and a prefix length in range.
    static func isCIDR(_ text: String) -> Bool {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, let bits = Int(parts[1]), parts[1].allSatisfy(\.isNumber) else { return false }
        var v4 = in_addr()
        var v6 = in6_addr()
        if inet_pton(AF_INET, String(parts[0]), &v4) == 1 { return (0...32).contains(bits) }
        if inet_pton(AF_INET6, String(parts[0]), &v6) == 1 { return (0...128).contains(bits) }
        return false
    }
}

/// Go `strconv.Atoi`: optional sign and decimal digits only.
func goAtoi(_ text: String) -> Int? {
    var digits = Substring(text)
    if let first = digits.first, first == "+" || first == "-" { digits = digits.dropFirst() }
    guard !digits.isEmpty, digits.allSatisfy({ $0.isASCII && $0.isNumber }) else { return nil }
    return Int(text.hasPrefix("+") ? String(text.dropFirst()) : text)
}
