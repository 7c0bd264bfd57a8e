import ArgumentParser
import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import TunnelControl
import TunnelCore
import TunnelOrigin

/// `tunnelctl tunnel diag`: one archive for a bug report (cloudflared's `tunnel diag`), and
/// `tunnelctl tunnel diag exposure`: whether the origins answer outside the tunnel.
struct TunnelDiagCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "diag",
        abstract: "Collect a diagnostic archive for a bug report (secrets redacted).",
        discussion: """
            Writes one tar archive with: the configuration file with secrets redacted, the TUNNEL_* \
            environment with secrets redacted, versions and the system, a snapshot of the running \
            tunnel's /metrics, /ready and /quicktunnel (from --metrics, or the first of \
            127.0.0.1:20241-20245 that answers), the origin exposure report, and the last 1 MiB of \
            --log-file when given. Nothing is sent anywhere.
            """,
        subcommands: [TunnelDiagExposureCommand.self])

    @ParentCommand var tunnel: TunnelCommand

    @Option(name: .long, help: ArgumentHelp("The running tunnel's metrics server (default: the first of 127.0.0.1:20241-20245 that answers).", valueName: "host:port"))
    var metrics: String?

    @Option(name: .customLong("log-file"), help: ArgumentHelp("A file with the tunnel's logs (e.g. saved from kubectl logs or journalctl); its last 1 MiB goes in.", valueName: "path"))
    var logFile: String?

    @Option(name: [.short, .long], help: ArgumentHelp("Where to write the archive (default: tunnelctl-diag-<time>.tar here).", valueName: "path"))
    var output: String?

    func run() async throws {
        let now = Date()
        var archive = TarArchive()
        let environment = ProcessInfo.processInfo.environment

        var versions = "tunnelctl \(TunnelctlVersion.string)\n"
        var system = utsname()
        uname(&system)
        func field<T>(_ value: T) -> String {
            withUnsafeBytes(of: value) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        }
        versions += "system \(field(system.sysname)) \(field(system.release)) \(field(system.machine))\n"
        versions += "collected \(V4.timestamp(now))\n"
        archive.add("versions.txt", text: versions)

        let loaded = try? LoadedConfiguration.load(explicitPath: tunnel.options.config)
        if let path = loaded?.sourcePath, !path.isEmpty, let text = try? String(contentsOfFile: path, encoding: .utf8) {
            archive.add("config.yml", text: Redaction.yaml(text))
        } else {
            archive.add("config.yml", text: "# no configuration file found (--config, or config.yml in the default directories)\n")
        }
        let tunnelVariables = environment.filter { $0.key.hasPrefix("TUNNEL_") || $0.key == "NO_TLS_VERIFY" }.sorted { $0.key < $1.key }
        archive.add("environment.txt", text: tunnelVariables.map { "\($0.key)=\(Redaction.isSecret($0.key) ? "REDACTED" : $0.value)" }.joined(separator: "\n") + "\n")

        // `--metrics` may land on `tunnel`'s own run option of the same name.
        let candidates = (metrics ?? tunnel.runOptions.metrics).map { [$0] } ?? (20241...20245).map { "127.0.0.1:\($0)" }
        var snapshot = "# no metrics server answered at \(candidates.joined(separator: ", ")); pass --metrics host:port of the running tunnel\n"
        for address in candidates {
            guard let metricsText = await Self.fetch("http://\(address)/metrics") else { continue }
            snapshot = metricsText
            archive.add("ready.json", text: await Self.fetch("http://\(address)/ready") ?? "")
            archive.add("quicktunnel.json", text: await Self.fetch("http://\(address)/quicktunnel") ?? "")
            break
        }
        archive.add("metrics.txt", text: snapshot)

        var exposure = ""
        let configURL = loaded?.file?.flagValues["url"].flatMap { if case .string(let text) = $0 { text } else { nil } }
        if let ingress = TunnelDiagExposureCommand.ingress(loaded: loaded, url: tunnel.runOptions.url ?? environment["TUNNEL_URL"] ?? configURL) {
            let addresses = (try? OriginExposureCheck.nonLoopbackAddresses()) ?? []
            let findings = await OriginExposureCheck.probe(OriginExposureCheck.targets(ingress: ingress, addresses: addresses))
            exposure = TunnelDiagExposureCommand.report(findings, remote: OriginExposureCheck.localOrigins(ingress).remote).joined(separator: "\n") + "\n"
        } else {
            exposure = "# no ingress rules or TUNNEL_URL: nothing to check\n"
        }
        archive.add("exposure.txt", text: exposure)

        if let logFile {
            guard let handle = FileHandle(forReadingAtPath: logFile) else {
                throw ValidationError("cannot read --log-file \(logFile)")
            }
            let size = (try? handle.seekToEnd()) ?? 0
            try? handle.seek(toOffset: size > 1 << 20 ? size - (1 << 20) : 0)
            let data = (try? handle.readToEnd()) ?? Data()
            archive.add("logs.txt", text: Redaction.logs(String(decoding: data, as: UTF8.self)))
        }

        let path = output ?? "tunnelctl-diag-\(Int(now.timeIntervalSince1970)).tar"
        do {
            try Data(archive.encoded).write(to: URL(fileURLWithPath: path))
        } catch {
            throw ValidationError("cannot write \(path): \(error.localizedDescription); pass --output with a writable path")
        }
        print("Diagnostic archive written to \(path); attach it to the bug report (secrets are redacted; check it before sharing).")
    }

    /// A page's text, or `nil` when nothing answered 200 within 3 s.
    static func fetch(_ url: String) async -> String? {
        do {
            let response = try await apiHTTPClient.execute(HTTPClientRequest(url: url), timeout: .seconds(3))
            let body = try await response.body.collect(upTo: 8 << 20)
            return response.status == .ok || response.status == .serviceUnavailable ? String(buffer: body) : nil
        } catch {
            return nil
        }
    }
}

/// What the diagnostic archive hides.
enum Redaction {
    /// Names of settings and variables whose values are secrets.
    static func isSecret(_ name: String) -> Bool {
        let lowered = name.lowercased()
        return ["token", "secret", "password", "cred_contents", "credentials-contents", "private"].contains { lowered.contains($0) }
    }

    /// config.yml with the values of secret keys replaced.
    static func yaml(_ text: String) -> String {
        text.split(separator: "\n", omittingEmptySubsequences: false).map { line -> String in
            let trimmed = line.drop { $0 == " " || $0 == "-" }
            guard let colon = trimmed.firstIndex(of: ":") else { return String(line) }
            let key = trimmed[..<colon].trimmingCharacters(in: CharacterSet(charactersIn: "\"' "))
            guard isSecret(key) else { return String(line) }
            return String(line[..<colon]) + ": REDACTED"
        }.joined(separator: "\n")
    }

    /// Log lines with `token=`, `secret=` and bearer values replaced.
    static func logs(_ text: String) -> String {
        var text = text
        text.replace(/(?i)(bearer\s+)[A-Za-z0-9._~+\/=-]+/) { "\($0.1)REDACTED" }
        text.replace(/(?i)((?:token|secret|password)[a-z_]*[=:]\s*"?)[^\s"]+/) { "\($0.1)REDACTED" }
        return text
    }
}

/// `tunnelctl tunnel diag exposure`: do the origins answer from outside the tunnel?
struct TunnelDiagExposureCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "exposure",
        abstract: "Check that the tunnel's origins do not answer from outside the tunnel.",
        discussion: """
            Reads the ingress rules (config.yml, or --url), and tries each local origin's port and \
            80/443 on this machine's non-loopback addresses (or each --host). An open port means \
            anyone who can reach that address bypasses the tunnel and its access policies: bind the \
            origin to 127.0.0.1, or block the port with a firewall rule. Exits 0 only when nothing \
            is open.
            """)

    @ParentCommand var diag: TunnelDiagCommand

    @Option(name: .long, help: ArgumentHelp("An address to try instead of this machine's non-loopback addresses; repeatable.", valueName: "address"))
    var host: [String] = []

    @Option(name: .long, help: ArgumentHelp("The single origin, when config.yml has no ingress rules (env: TUNNEL_URL).", valueName: "url"))
    var url: String?

    @Option(name: .long, help: ArgumentHelp("How long to wait for each connection, in milliseconds (default: 2000).", valueName: "ms"))
    var timeout = 2000

    func run() async throws {
        let loaded = try? LoadedConfiguration.load(explicitPath: diag.tunnel.options.config)
        let configURL = loaded?.file?.flagValues["url"].flatMap { if case .string(let text) = $0 { text } else { nil } }
        guard let ingress = Self.ingress(loaded: loaded, url: url ?? diag.tunnel.runOptions.url ?? ProcessInfo.processInfo.environment["TUNNEL_URL"] ?? configURL) else {
            ManagementContext.fail("no ingress rules to check: pass --config with a config.yml that has ingress rules, or --url http://localhost:PORT")
        }
        let addresses: [String]
        if host.isEmpty {
            addresses = (try? OriginExposureCheck.nonLoopbackAddresses()) ?? []
            guard !addresses.isEmpty else { ManagementContext.fail("this machine has no non-loopback address to check; pass --host ADDRESS") }
        } else {
            addresses = host
        }
        let local = OriginExposureCheck.localOrigins(ingress)
        print("Checking \(local.local.map { "\($0.service) (port \($0.port))" }.joined(separator: ", ")) and ports 80/443 on \(addresses.joined(separator: ", ")) …")
        let findings = await OriginExposureCheck.probe(OriginExposureCheck.targets(ingress: ingress, addresses: addresses), timeout: .milliseconds(Int64(timeout)))
        for line in Self.report(findings, remote: local.remote) { print(line) }
        if findings.contains(where: { $0.state == .open }) { throw ExitCode.failure }
    }

    /// The ingress rules of config.yml, or a single rule for `url`.
    static func ingress(loaded: LoadedConfiguration?, url: String?) -> Ingress? {
        if let rules = loaded?.file?.ingress, !rules.isEmpty, let ingress = try? Ingress(rules: rules) { return ingress }
        if let url, let ingress = try? Ingress(rules: [IngressRuleConfig(service: url)]) { return ingress }
        return nil
    }

    /// One line per finding, then a summary.
    static func report(_ findings: [OriginExposureCheck.Finding], remote: [String]) -> [String] {
        var lines: [String] = []
        for finding in findings {
            let target = finding.target
            let uses = target.services.isEmpty ? "" : " (\(target.services.joined(separator: ", ")))"
            switch finding.state {
            case .open:
                lines.append("\(target.endpoint)\(uses): open: anyone who can reach \(target.endpoint) bypasses the tunnel; bind the origin to 127.0.0.1, or block the port with a firewall rule (e.g. nft add rule inet filter input iifname != \"lo\" tcp dport \(target.port) drop)")
            case .closed:
                lines.append("\(target.endpoint)\(uses): closed")
            case .filtered:
                lines.append("\(target.endpoint)\(uses): no answer (filtered)")
            }
        }
        for service in remote {
            lines.append("\(service): on another host, not checked here; run this check there")
        }
        let open = findings.filter { $0.state == .open }.count
        lines.append(open == 0 ? "Nothing answers from outside the tunnel." : "\(open) port\(open == 1 ? "" : "s") answer\(open == 1 ? "s" : "") from outside the tunnel.")
        return lines
    }
}
