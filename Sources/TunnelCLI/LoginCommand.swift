import ArgumentParser
import AsyncHTTPClient
import Foundation
import TunnelControl
import TunnelCore

/// `tunnelctl login` (also `tunnelctl tunnel login`): gets a cert.pem from the control plane,
/// through the browser as cloudflared does, or with an API token for scripts.
struct LoginCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "login",
        abstract: "Get a cert.pem (origin certificate, key and API token) from the control plane.",
        discussion: """
            Prints a sign-in URL and tries to open a browser. Sign in with the user name and password \
            the edge administrator gave you (`tunnelctl edge user add`), pick a zone and approve; \
            tunnelctl waits for the approval (up to 10 polls of about 50 s) and writes cert.pem \
            (mode 0600) to ~/.cloudflared/cert.pem, or to --origincert. An existing cert.pem is \
            never overwritten: move it away first.

            Scripts and service users skip the browser: `tunnelctl login --api-token TOKEN --zone \
            example.com` uses a token from `tunnelctl edge token create --service NAME` (env: \
            TUNNEL_API_TOKEN) and writes the same file.
            """)

    @Option(name: .customLong("api-url"), help: ArgumentHelp("Base URL of the control-plane API; the sign-in page and the poll are on the same host (env: TUNNEL_API_URL; default: \(ManagementContext.defaultAPIURL)).", valueName: "url"))
    var apiURL: String?

    @Option(name: .long, help: ArgumentHelp("Where to write cert.pem (default: ~/.cloudflared/cert.pem).", valueName: "path"))
    var origincert: String?

    @Option(name: .customLong("api-token"), help: ArgumentHelp("Log in without a browser with this API token (env: TUNNEL_API_TOKEN); needs --zone.", valueName: "token"))
    var apiToken: String?

    @Option(name: .long, help: ArgumentHelp("The zone the cert.pem is for, with --api-token (e.g. example.com).", valueName: "domain"))
    var zone: String?

    @Option(name: .customLong("loginURL"), help: ArgumentHelp("The sign-in page (default: <api origin>/argotunnel).", valueName: "url"))
    var loginURL: String?

    @Option(name: .customLong("callbackURL"), help: ArgumentHelp("The store polled for the cert.pem; the key is appended (default: <api origin>/login-store/).", valueName: "url"))
    var callbackURL: String?

    @Flag(name: .customLong("no-browser"), help: "Only print the sign-in URL; do not try to open a browser.")
    var noBrowser = false

    @Option(name: .customLong("poll-attempts"), help: ArgumentHelp("Polls before giving up (cloudflared: 10).", valueName: "n"))
    var pollAttempts = 10

    func validate() throws {
        guard pollAttempts >= 1 else { throw ValidationError("--poll-attempts must be at least 1") }
        if zone != nil && apiToken == nil && ProcessInfo.processInfo.environment["TUNNEL_API_TOKEN"] == nil {
            throw ValidationError("--zone goes with --api-token (the browser login asks for the zone on the page)")
        }
    }

    func run() async throws {
        let environment = ProcessInfo.processInfo.environment
        let path = (origincert.map { ($0 as NSString).expandingTildeInPath })
            ?? ((environment["HOME"] ?? NSHomeDirectory()) as NSString).appendingPathComponent(".cloudflared/cert.pem")
        if let attributes = try? FileManager.default.attributesOfItem(atPath: path), (attributes[.size] as? Int ?? 0) > 0 {
            ManagementContext.fail("You have an existing certificate at \(path) which login would overwrite. If this is intentional, please move or delete that file then run this command again.")
        }
        let apiURL = self.apiURL ?? environment["TUNNEL_API_URL"] ?? ManagementContext.defaultAPIURL
        guard apiURL.hasPrefix("http://") || apiURL.hasPrefix("https://") else {
            ManagementContext.fail("--api-url \(String(reflecting: apiURL)) is not an http:// or https:// URL (example: \(ManagementContext.defaultAPIURL))")
        }
        let pem: String
        if let token = apiToken ?? environment["TUNNEL_API_TOKEN"] {
            guard let zone else { ManagementContext.fail("--api-token needs --zone: the zone the cert.pem is for (e.g. --zone example.com)") }
            pem = await tokenLogin(apiURL: apiURL, token: token, zone: zone)
        } else {
            pem = await browserLogin(apiURL: apiURL)
        }
        let certificate: OriginCertificate
        do {
            certificate = try OriginCertificate(pemEncoded: pem, path: "the control plane's answer")
            let directory = (path as NSString).deletingLastPathComponent
            if !directory.isEmpty && !FileManager.default.fileExists(atPath: directory) { try SecureFile.makeDirectory(directory) }
            try SecureFile.writeNew(Array(try certificate.pemEncoded(includeLegacyBlocks: true).utf8), to: path, mode: 0o600)
        } catch let error as CredentialsError {
            ManagementContext.fail("failed to decode or write the origin certificate: \(error.description)")
        }
        Self.say("You have successfully logged in.")
        Self.say("If you wish to copy your credentials to a server, they have been saved to:")
        Self.say(path)
    }

    /// The non-interactive login: the zone's ID, then a cert.pem for it.
    func tokenLogin(apiURL: String, token: String, zone: String) async -> String {
        let client = ControlAPIClient(baseURL: apiURL, token: RedactedString(token), accountID: "", userAgent: "tunnelctl/\(TunnelctlVersion.string)", httpClient: apiHTTPClient)
        do {
            let zones = try await client.zones(name: zone)
            guard let found = zones.first else {
                let all = (try? await client.zones()) ?? []
                ManagementContext.fail("the account of this API token has no zone \(zone)\(all.isEmpty ? "" : " (its zones: \(all.map(\.name).joined(separator: ", ")))"); pick one with --zone")
            }
            return try await client.issueCertPEM(zoneID: found.id).certPEM
        } catch let error as ControlAPIClientError {
            if error.status == 401 {
                ManagementContext.fail("the control plane refused the API token (\(error.description)); get a token from the edge administrator (`tunnelctl edge token create --service NAME`)")
            }
            ManagementContext.fail(error.description)
        } catch {
            ManagementContext.fail("\(error)")
        }
    }

    /// The browser login: print the URL, try a browser, poll until the cert.pem comes.
    func browserLogin(apiURL: String) async -> String {
        let login = LoginClient(apiURL: apiURL, loginURL: loginURL, callbackURL: callbackURL, userAgent: "tunnelctl/\(TunnelctlVersion.string)", httpClient: apiHTTPClient)
        if !noBrowser && Self.openBrowser(login.signInURL) {
            Self.say("A browser window should have opened at the following URL:\n\n\(login.signInURL)\n\nIf the browser failed to open, please visit the URL above directly in your browser.")
        } else {
            Self.say("Please open the following URL and log in with your account:\n\n\(login.signInURL)\n\nLeave tunnelctl running to download the cert automatically.")
        }
        Self.say("The page shows the login code \(login.code); approve only if it matches.")
        for attempt in 1...pollAttempts {
            let result: LoginClient.PollResult
            do {
                result = try await login.poll()
            } catch {
                ManagementContext.fail("cannot reach the login store at \(login.callbackURL) (\(error)); check --api-url and that `tunnelctl edge serve` runs there")
            }
            switch result {
            case .certificate(let pem):
                return pem
            case .waiting:
                Self.say("Waiting for login... (\(attempt) of \(pollAttempts))")
            case .refused(let status, let message):
                ManagementContext.fail(status >= 500 ? "error on request \(status): \(message)" : "the control plane refused the login (\(status)): \(message)")
            }
        }
        ManagementContext.fail("Failed to fetch resource: the login was not approved within \(pollAttempts) polls; run `tunnelctl login` again")
    }

    /// Tries `$BROWSER`, then `xdg-open` when a display is there; whether one started.
    static func openBrowser(_ url: String) -> Bool {
        let environment = ProcessInfo.processInfo.environment
        var command: [String]
        if let browser = environment["BROWSER"], !browser.isEmpty {
            command = [browser]
        } else if environment["DISPLAY"] != nil || environment["WAYLAND_DISPLAY"] != nil {
            command = ["xdg-open"]
        } else {
            return false
        }
        command.append(url)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = command
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        do {
            try process.run()
            return true
        } catch {
            return false
        }
    }

    /// Messages of the login go to standard error, as cloudflared logs them.
    static func say(_ text: String) {
        FileHandle.standardError.write(Data((text + "\n").utf8))
    }
}
