public import Foundation
import NIOSSL
public import TunnelCore

/// What `tunnelctl edge serve` runs: the edge configuration, its static tunnels, and where the
/// CA that connectors must trust lives.
public struct EdgeSetup: Sendable {
    /// Listeners, certificates and limits.
    public var configuration: EdgeConfiguration
    /// Tunnels declared in edge.yml.
    public var tunnels: [EdgeTunnel]
    /// The state directory in use.
    public var stateDirectory: String
    /// The generated CA to hand to connectors as `--cacert`; `nil` when edge.yml names its own
    /// connector certificate.
    public var generatedCAPath: String?
    /// Things worth telling the user that do not stop the edge.
    public var warnings: [String]
    /// Where the control plane's API listens; `nil` when it is off.
    public var apiAddress: (host: String, port: Int)?
    /// Largest API request body, in bytes.
    public var apiMaxBodyBytes: Int
    /// The domain of `<tunnel-id>.<domain>` hostnames.
    public var tunnelDomain: String
    /// Where the DNS server listens (UDP and TCP); `nil` when it is off.
    public var dnsAddress: (host: String, port: Int)?
    /// A/AAAA data the tunnel domain's names resolve to.
    public var dnsRecordAddresses: [[UInt8]]
    /// Name servers for NS/SOA; empty for the default.
    public var dnsNameServers: [String]
    /// How long a tunnel stays unregistered before its route records go.
    public var recordGCAfter: Duration
    /// How often the records of quiet tunnels are looked for.
    public var recordGCEvery: Duration
    /// Requests per window one API token may make; `nil` for no limit.
    public var apiRateLimit: (requests: Int, window: Duration)?
    /// Routes answer as the edge's A/AAAA instead of a CNAME.
    public var dnsRoutesAsAddresses: Bool
    /// The origin CA's certificate and key files from edge.yml; `nil`: the state directory's.
    public var loginOriginCA: (certificate: String, key: String)?
    /// Origin certificate validity and the login's timings.
    public var login = LoginSettings()
    /// Quick tunnels, `nil` when off.
    public var quickTunnels: QuickTunnelSettings?
}


extension EdgeConfigFile {
    /// The default state directory, `~/.tunnelctl/edge`.
    public static var defaultStateDirectory: String {
        // $HOME first, as the shell and cloudflared see it (Foundation's home-directory lookup
        // reads the password database on Linux).
        ((ProcessInfo.processInfo.environment["HOME"] ?? NSHomeDirectory()) as NSString).appendingPathComponent(".tunnelctl/edge")
    }

    /// The state directory in force: `override` (`--state-dir`), else `stateDirectory`
    /// relative to the file's directory, else ``defaultStateDirectory``; `~` expanded.
    public func resolvedStateDirectory(configPath: String = "edge.yml", override: String? = nil) -> String {
        if let override { return (override as NSString).expandingTildeInPath }
        guard let configured = stateDirectory else { return Self.defaultStateDirectory }
        let expanded = (configured as NSString).expandingTildeInPath
        let base = (configPath as NSString).deletingLastPathComponent
        return expanded.hasPrefix("/") || base.isEmpty ? expanded : base + "/" + expanded
    }

    /// Turns the file into a runnable setup: parses addresses and durations, loads (or generates)
    /// certificates and reads credentials files. Relative paths are relative to the file's
    /// directory. `configPath` names the file in errors.
    public func setup(configPath: String = "edge.yml", stateDirectoryOverride: String? = nil) throws(EdgeConfigError) -> EdgeSetup {
        func fail(_ key: String, _ problem: String) -> EdgeConfigError {
            EdgeConfigError(path: configPath, problem: "\(key): \(problem)")
        }
        let base = (configPath as NSString).deletingLastPathComponent
        func resolvePath(_ path: String) -> String {
            let expanded = (path as NSString).expandingTildeInPath
            return expanded.hasPrefix("/") || base.isEmpty ? expanded : base + "/" + expanded
        }
        func duration(_ key: String, _ text: String?, default fallback: Duration) throws(EdgeConfigError) -> Duration {
            guard let text else { return fallback }
            do {
                let value = try GoDuration.parse(text)
                guard value >= .zero else { throw fail(key, "must not be negative") }
                return value
            } catch let error as EdgeConfigError {
                throw error
            } catch {
                throw fail(key, "\(String(reflecting: text)) is not a duration (examples: 30s, 1m30s)")
            }
        }
        func address(_ key: String, _ text: String?, default fallback: (String, Int)) throws(EdgeConfigError) -> (String, Int) {
            guard let text else { return fallback }
            guard let parsed = EdgeListenAddress.parse(text) else {
                throw fail(key, "\(String(reflecting: text)) is not host:port (examples: 127.0.0.1:7844, [::1]:7844, :7844)")
            }
            return parsed
        }

        let stateDirectory = resolvedStateDirectory(configPath: configPath, override: stateDirectoryOverride)
        var generated: EdgePKI?
        func generatedPKI() throws(EdgeConfigError) -> EdgePKI {
            if let generated { return generated }
            do {
                let pki = try EdgePKI.loadOrCreate(in: stateDirectory)
                generated = pki
                return pki
            } catch {
                throw EdgeConfigError(path: stateDirectory, problem: "cannot create the edge CA and certificate here (\(Self.reason(error))); pass a writable --state-dir")
            }
        }
        func certificate(_ key: String, _ listener: Listener?) throws(EdgeConfigError) -> ([NIOSSLCertificate], NIOSSLPrivateKey) {
            switch (listener?.certificate, listener?.key) {
            case (nil, nil):
                let pki = try generatedPKI()
                return try Self.loadCertificate(certificate: pki.certificatePath, key: pki.keyPath)
            case (let certificate?, let privateKey?):
                // The error names the unreadable file itself.
                return try Self.loadCertificate(certificate: resolvePath(certificate), key: resolvePath(privateKey))
            default:
                throw fail(key, "give both certificate and key, or neither to use the generated ones")
            }
        }

        let (connectorHost, connectorPort) = try address("connectors.address", connectors?.address, default: ("127.0.0.1", 7844))
        let (visitorHost, visitorPort) = try address("visitors.address", visitors?.address, default: ("127.0.0.1", 8080))
        let (chain, key) = try certificate("connectors", connectors)
        var limits = VisitorLimits()
        if let configured = self.limits {
            if let value = configured.maxHeaderBytes {
                guard value >= 1024 else { throw fail("limits.maxHeaderBytes", "must be at least 1024") }
                limits.maxHeaderBytes = value
            }
            limits.headerTimeout = try duration("limits.headerTimeout", configured.headerTimeout, default: limits.headerTimeout)
            limits.idleTimeout = try duration("limits.idleTimeout", configured.idleTimeout, default: limits.idleTimeout)
            limits.responseTimeout = try duration("limits.responseTimeout", configured.responseTimeout, default: limits.responseTimeout)
            if let value = configured.maxConcurrentStreams {
                guard value >= 1 else { throw fail("limits.maxConcurrentStreams", "must be at least 1") }
                limits.http2.maxConcurrentStreams = value
            }
            if let value = configured.maxResetStreams {
                guard value >= 1 else { throw fail("limits.maxResetStreams", "must be at least 1") }
                limits.http2.maxResetStreams = value
            }
        }
        var runningTunnelLimit: Int? = 1000
        if let value = self.limits?.runningTunnelsPerAccount {
            guard value >= 0 else { throw fail("limits.runningTunnelsPerAccount", "must be 0 (no limit) or more") }
            runningTunnelLimit = value == 0 ? nil : value
        }
        var api: (host: String, port: Int)? = ("127.0.0.1", 8787)
        if let text = self.api?.address {
            api = text == "off" ? nil : try address("api.address", text, default: ("127.0.0.1", 8787))
        }
        let apiMaxBodyBytes = self.api?.maxBodyBytes ?? 65536
        let rateLimitRequests = self.api?.rateLimitRequests ?? 12000
        guard rateLimitRequests >= 0 else { throw fail("api.rateLimitRequests", "must be 0 (no limit) or more") }
        let rateLimitWindow = try duration("api.rateLimitWindow", self.api?.rateLimitWindow, default: .seconds(300))
        guard rateLimitWindow > .zero else { throw fail("api.rateLimitWindow", "must be more than 0s") }
        guard apiMaxBodyBytes >= 1024 else { throw fail("api.maxBodyBytes", "must be at least 1024") }
        var dnsAddress: (host: String, port: Int)?
        var dnsRecordAddresses: [[UInt8]] = []
        if let text = dns?.address, text != "off" {
            dnsAddress = try address("dns.address", text, default: ("127.0.0.1", 53))
            let defaultAddress = visitorHost == "0.0.0.0" || visitorHost == "::" || visitorHost == "localhost" ? "127.0.0.1" : visitorHost
            for literal in dns?.addresses ?? [defaultAddress] {
                guard let bytes = IPLiteral.bytes(literal) else {
                    throw fail("dns.addresses", "\(String(reflecting: literal)) is not an IPv4 or IPv6 address")
                }
                dnsRecordAddresses.append(bytes)
            }
        }
        let routeAnswers = dns?.routeAnswers ?? "cname"
        guard ["cname", "address"].contains(routeAnswers) else { throw fail("dns.routeAnswers", "\(String(reflecting: routeAnswers)) is not cname or address") }
        let recordGCAfter = try duration("recordGC.after", recordGC?.after, default: .seconds(86_400))
        let recordGCEvery = try duration("recordGC.every", recordGC?.every, default: .seconds(86_400))
        guard recordGCEvery > .zero else { throw fail("recordGC.every", "must be more than 0s") }
        let tunnelDomain = (self.tunnelDomain ?? "cfargotunnel.com").lowercased()
        guard !tunnelDomain.isEmpty, !tunnelDomain.contains("/"), !tunnelDomain.contains(" "), !tunnelDomain.hasPrefix(".") else {
            throw fail("tunnelDomain", "\(String(reflecting: tunnelDomain)) is not a domain name (example: tunnels.example.com)")
        }
        var configuration = EdgeConfiguration(
            certificateChain: chain, privateKey: key,
            connectorHost: connectorHost, connectorPort: connectorPort,
            visitorHost: visitorHost, visitorPort: visitorPort,
            locationName: location ?? "SELF",
            gracePeriod: try duration("gracePeriod", gracePeriod, default: .seconds(30)),
            visitorLimits: limits, maxRunningTunnelsPerAccount: runningTunnelLimit)
        if let tls = visitors?.tls {
            let (host, port) = try address("visitors.tls.address", tls.address, default: ("127.0.0.1", 8443))
            let (tlsChain, tlsKey) = try certificate("visitors.tls", tls)
            configuration.visitorTLS = VisitorTLSConfiguration(certificateChain: tlsChain, privateKey: tlsKey, host: host, port: port)
        }

        var tunnels: [EdgeTunnel] = []
        var warnings: [String] = []
        for (index, entry) in (self.tunnels ?? []).enumerated() {
            let key = "tunnels[\(index)]"
            var tunnel: EdgeTunnel
            if let file = entry.credentialsFile {
                guard entry.id == nil, entry.accountTag == nil, entry.secret == nil else {
                    throw fail(key, "give credentialsFile or id/accountTag/secret, not both")
                }
                let credentials: TunnelCredentials
                do {
                    credentials = try TunnelCredentials(contentsOfFile: resolvePath(file))
                } catch {
                    throw fail("\(key).credentialsFile", error.description)
                }
                guard let id = credentials.tunnelID else { throw fail("\(key).credentialsFile", "\(file) has no TunnelID") }
                tunnel = EdgeTunnel(id: id, accountTag: credentials.accountTag, secret: credentials.tunnelSecret)
            } else {
                guard let idText = entry.id else { throw fail(key, "needs credentialsFile, or id, accountTag and secret") }
                guard let id = UUID(tunnelIDString: idText) else { throw fail("\(key).id", "\(String(reflecting: idText)) is not a UUID") }
                guard let accountTag = entry.accountTag, !accountTag.isEmpty else { throw fail("\(key).accountTag", "missing") }
                guard let secretText = entry.secret else { throw fail("\(key).secret", "missing (base64 of at least 32 bytes, as in a credentials file)") }
                guard let secret = TunnelSecret(base64: secretText), secret.bytes.count >= 32 else {
                    throw fail("\(key).secret", "not base64 of at least 32 bytes (generate one with: head -c 32 /dev/urandom | base64)")
                }
                tunnel = EdgeTunnel(id: id, accountTag: accountTag, secret: secret)
            }
            tunnel.name = entry.name ?? ""
            tunnel.hostnames = (entry.hostnames ?? []).map { $0.lowercased() }
            for hostname in tunnel.hostnames where hostname.isEmpty || hostname.contains("/") || hostname.contains(" ") {
                throw fail("\(key).hostnames", "\(String(reflecting: hostname)) is not a hostname pattern (examples: app.example.com, *.example.com, *)")
            }
            if tunnels.contains(where: { $0.id == tunnel.id }) {
                throw fail(key, "tunnel \(tunnel.id.lowercasedString) is declared twice")
            }
            if tunnel.hostnames.isEmpty {
                warnings.append("tunnel \(tunnel.id.lowercasedString) has no hostnames: it can connect but receives no visitors")
            }
            tunnels.append(tunnel)
        }
        var loginOriginCA: (String, String)?
        if let originCA = login?.originCA {
            guard let certificate = originCA.certificate, let key = originCA.key else {
                throw fail("login.originCA", "needs both certificate and key (PEM files), or leave it out to use the generated CA")
            }
            loginOriginCA = (resolvePath(certificate), resolvePath(key))
        }
        let validityDays = login?.certificateValidityDays ?? 3653
        guard validityDays >= 1, validityDays <= 5475 else { throw fail("login.certificateValidityDays", "must be 1 to 5475 days (15 years)") }
        let pollHold = try duration("login.pollHold", login?.pollHold, default: .seconds(50))
        guard pollHold >= .seconds(1), pollHold <= .seconds(55) else { throw fail("login.pollHold", "must be 1s to 55s (clients give up on one poll after 60 s)") }
        let loginLifetime = try duration("login.lifetime", login?.lifetime, default: .seconds(600))
        guard loginLifetime >= .seconds(30) else { throw fail("login.lifetime", "must be at least 30s") }
        var quick: QuickTunnelSettings?
        if quickTunnels?.enabled ?? true {
            let domain = (quickTunnels?.domain ?? "quick.localhost").lowercased()
            guard domain.contains("."), !domain.hasPrefix("."), !domain.hasSuffix("."), !domain.contains(" "), !domain.contains("/") else {
                throw fail("quickTunnels.domain", "\(String(reflecting: domain)) is not a domain name (example: quick.example.com)")
            }
            let perAddress = quickTunnels?.perAddress ?? 10
            guard perAddress >= 1 else { throw fail("quickTunnels.perAddress", "must be at least 1 (turn quick tunnels off with enabled: false)") }
            quick = QuickTunnelSettings(
                domain: domain, perAddress: perAddress,
                lifetime: try duration("quickTunnels.lifetime", quickTunnels?.lifetime, default: .seconds(86_400)),
                connectWithin: try duration("quickTunnels.connectWithin", quickTunnels?.connectWithin, default: .seconds(300)),
                reconnectWithin: try duration("quickTunnels.reconnectWithin", quickTunnels?.reconnectWithin, default: .seconds(30)))
        }
        return EdgeSetup(
            configuration: configuration, tunnels: tunnels, stateDirectory: stateDirectory,
            generatedCAPath: connectors?.certificate == nil ? generated?.caPath : nil, warnings: warnings,
            apiAddress: api, apiMaxBodyBytes: apiMaxBodyBytes, tunnelDomain: tunnelDomain,
            dnsAddress: dnsAddress, dnsRecordAddresses: dnsRecordAddresses, dnsNameServers: dns?.nameServers ?? [],
            recordGCAfter: recordGCAfter, recordGCEvery: recordGCEvery,
            apiRateLimit: rateLimitRequests == 0 ? nil : (rateLimitRequests, rateLimitWindow),
            dnsRoutesAsAddresses: routeAnswers == "address", loginOriginCA: loginOriginCA,
            login: LoginSettings(certificateValidityDays: validityDays, pollHold: pollHold, lifetime: loginLifetime), quickTunnels: quick)
    }

    /// Loads a PEM chain and key; the error names the file and says what is wrong.
    static func loadCertificate(certificate: String, key: String) throws(EdgeConfigError) -> ([NIOSSLCertificate], NIOSSLPrivateKey) {
        func read(_ path: String) throws(EdgeConfigError) -> [UInt8] {
            do {
                return Array(try Data(contentsOf: URL(fileURLWithPath: path)))
            } catch {
                throw EdgeConfigError(path: path, problem: "cannot read (\(reason(error))); check the path and its permissions")
            }
        }
        let certificateBytes = try read(certificate)
        let chain: [NIOSSLCertificate]
        do {
            chain = try NIOSSLCertificate.fromPEMBytes(certificateBytes)
        } catch {
            throw EdgeConfigError(path: certificate, problem: "not a PEM certificate chain")
        }
        guard !chain.isEmpty else { throw EdgeConfigError(path: certificate, problem: "holds no PEM certificate") }
        let privateKey: NIOSSLPrivateKey
        do {
            privateKey = try NIOSSLPrivateKey(bytes: try read(key), format: .pem)
        } catch let error as EdgeConfigError {
            throw error
        } catch {
            throw EdgeConfigError(path: key, problem: "not a PEM private key (or it is encrypted)")
        }
        return (chain, privateKey)
    }
}

/// `host:port` listen addresses as edge.yml and the command line write them.
public enum EdgeListenAddress {
    /// `127.0.0.1:7844`, `[::1]:7844`, `localhost:0`, or `:7844` (all IPv4 interfaces).
    public static func parse(_ text: String) -> (host: String, port: Int)? {
        let host: Substring
        let portText: Substring
        if text.hasPrefix("[") {
            guard let end = text.firstIndex(of: "]"), text[text.index(after: end)...].hasPrefix(":") else { return nil }
            host = text[text.index(after: text.startIndex)..<end]
            portText = text[text.index(end, offsetBy: 2)...]
        } else {
            guard let colon = text.lastIndex(of: ":"), text.firstIndex(of: ":") == colon else { return nil }
            host = text[..<colon]
            portText = text[text.index(after: colon)...]
        }
        guard let port = Int(portText), (0...65535).contains(port), !host.contains(" ") else { return nil }
        return (host.isEmpty ? "0.0.0.0" : String(host), port)
    }
}
