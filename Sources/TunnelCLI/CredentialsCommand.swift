import ArgumentParser
import Foundation
import TunnelCore
import X509

/// `tunnelctl credentials ...`: look inside credential files without revealing secrets.
struct CredentialsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "credentials",
        abstract: "Inspect cert.pem files, tunnel credentials files and tunnel tokens.",
        subcommands: [InspectCredentialsCommand.self]
    )
}

/// `tunnelctl credentials inspect FILE | --token TOKEN`.
struct InspectCredentialsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect",
        abstract: "Show what a cert.pem, a credentials JSON file or a tunnel token contains, secrets redacted.",
        discussion: """
            The kind of input is detected from its content: PEM blocks are read as cert.pem \
            (origin certificate bundle), a JSON object as a tunnel credentials file, anything else as \
            a tunnel token. Certificate validity dates and hostnames are shown when the cert.pem \
            holds an origin certificate. Exits non-zero with the reason when the input is invalid.
            """
    )

    @Argument(help: "A cert.pem, <TunnelID>.json credentials file, or a file holding a tunnel token.")
    var file: String?

    @Option(name: .long, help: "Inspect this tunnel token instead of a file (env: TUNNEL_TOKEN).")
    var token: String?

    func validate() throws {
        if file == nil && token == nil && ProcessInfo.processInfo.environment["TUNNEL_TOKEN"] == nil {
            throw ValidationError("Give a FILE to inspect, or --token TOKEN.")
        }
        if file != nil && token != nil {
            throw ValidationError("Give either a FILE or --token, not both.")
        }
    }

    func run() throws {
        let report: [(String, String)]
        if let file {
            let bytes = try SecureFile.read(file)
            let text = String(decoding: bytes, as: UTF8.self)
            report = try Self.inspect(text: text, path: file)
        } else {
            let source = token != nil ? "--token" : "TUNNEL_TOKEN"
            let value = token ?? ProcessInfo.processInfo.environment["TUNNEL_TOKEN"] ?? ""
            report = Self.describe(token: try TunnelToken(value, source: source))
        }
        let width = report.map(\.0.count).max() ?? 0
        for (key, value) in report {
            print(key.padding(toLength: width, withPad: " ", startingAt: 0) + "  " + value)
        }
    }

    static func inspect(text: String, path: String) throws -> [(String, String)] {
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        if text.contains("-----BEGIN ") || text.isEmpty {
            let certificate = try OriginCertificate(pemEncoded: text, path: path)
            return describe(certificate: certificate, path: path)
        }
        if trimmed.hasPrefix("{") {
            let credentials = try TunnelCredentials(json: Array(text.utf8), path: path)
            return describe(credentials: credentials, path: path)
        }
        return describe(token: try TunnelToken(trimmed, source: path))
    }

    static func describe(certificate: OriginCertificate, path: String) -> [(String, String)] {
        var rows = [
            ("Kind", "origin certificate (cert.pem)"),
            ("File", path),
            ("Zone ID", certificate.zoneID),
            ("Account ID", certificate.accountID.isEmpty ? "<missing: get a fresh cert.pem before creating tunnels>" : certificate.accountID),
            ("API token", "\(certificate.apiToken)"),
            ("Endpoint", certificate.endpoint ?? "<default>"),
        ]
        if let origin = certificate.certificate {
            rows.append(("Certificate subject", origin.subject.description))
            rows.append(("Certificate issuer", origin.issuer.description))
            rows.append(("Valid from", origin.notValidBefore.formatted(.iso8601)))
            rows.append(("Valid until", origin.notValidAfter.formatted(.iso8601)))
            if let names = try? origin.extensions.subjectAlternativeNames {
                let hostnames = names.compactMap { name -> String? in
                    if case .dnsName(let host) = name { return host }
                    return nil
                }
                rows.append(("Hostnames", hostnames.isEmpty ? "<none>" : hostnames.joined(separator: ", ")))
            }
        } else {
            rows.append(("Certificate", "<none> (tokens-only cert.pem, as written by login)"))
        }
        rows.append(("Private key", certificate.privateKey == nil ? "<none>" : "present, matches the certificate"))
        for warning in certificate.warnings() {
            rows.append(("Warning", warning.description))
        }
        return rows
    }

    static func describe(credentials: TunnelCredentials, path: String) -> [(String, String)] {
        [
            ("Kind", "tunnel credentials file"),
            ("File", path),
            ("Tunnel ID", credentials.tunnelID?.lowercasedString ?? "<none: taken from the command line>"),
            ("Account tag", credentials.accountTag),
            ("Tunnel secret", "\(credentials.tunnelSecret)"),
            ("Endpoint", credentials.endpoint.isEmpty ? "<default>" : credentials.endpoint),
        ]
    }

    static func describe(token: TunnelToken) -> [(String, String)] {
        [
            ("Kind", "tunnel token"),
            ("Tunnel ID", token.tunnelID.lowercasedString),
            ("Account tag", token.accountTag),
            ("Tunnel secret", "\(token.tunnelSecret)"),
            ("Endpoint", token.endpoint.isEmpty ? "<default>" : token.endpoint),
        ]
    }
}
