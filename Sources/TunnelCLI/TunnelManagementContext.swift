import ArgumentParser
import AsyncHTTPClient
import Foundation
import NIOCore
import Synchronization
import TunnelControl
import TunnelCore
import Yams

/// Flags of the tunnel management commands (`create`, `list`, `info`, `delete`, `cleanup`,
/// `token`). Like cloudflared they may also be given before the subcommand
/// (`tunnel --origincert F list`); after it wins.
struct ManagementOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("cert.pem with the API token (env: TUNNEL_ORIGIN_CERT; default: the first cert.pem in ~/.cloudflared, ~/.cloudflare-warp, ~/cloudflare-warp, /etc/cloudflared, /usr/local/etc/cloudflared).", valueName: "path"))
    var origincert: String?

    @Option(name: .customLong("api-url"), help: ArgumentHelp("Base URL of the control-plane API (env: TUNNEL_API_URL; default: \(ManagementContext.defaultAPIURL)).", valueName: "url"))
    var apiURL: String?
}

/// The `--api-url` of `tunnelctl tunnel` itself (its `--origincert` is a run option).
struct TunnelAPIOptions: ParsableArguments {
    @Option(name: .customLong("api-url"), help: ArgumentHelp("Base URL of the control-plane API (env: TUNNEL_API_URL).", valueName: "url"))
    var apiURL: String?
}

/// The HTTP client of the management commands: a refused connection fails at once instead of
/// being retried until the 15 s deadline. It lives as long as the process.
let apiHTTPClient: HTTPClient = {
    var configuration = HTTPClient.Configuration()
    configuration.connectionPool.retryConnectionEstablishment = false
    configuration.timeout.connect = .seconds(5)
    return HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
}()

/// The cert.pem the running command loaded, for its error messages.
let loadedCertPath = Mutex<String?>(nil)

/// What a management command works with: cert.pem (account, zone, API token) and an API client.
struct ManagementContext {
    /// tunnelctl talks to a self-hosted control plane, so its default is the local edge's API.
    static let defaultAPIURL = "http://127.0.0.1:8787/client/v4"

    let certPath: String
    let certificate: OriginCertificate
    let client: ControlAPIClient

    /// Reads cert.pem and builds the API client; failures end the command with one line that
    /// says what to do.
    static func load(command: String, options: ManagementOptions, tunnel: TunnelCommand) -> ManagementContext {
        let environment = ProcessInfo.processInfo.environment
        let loaded = try? LoadedConfiguration.load(explicitPath: tunnel.options.config)
        let configCert = loaded?.file?.flagValues["origincert"].flatMap { if case .string(let text) = $0 { text } else { nil } }
        let configAPI = loaded?.file?.flagValues["api-url"].flatMap { if case .string(let text) = $0 { text } else { nil } }
        let certificate: (path: String, certificate: OriginCertificate)
        do {
            certificate = try CredentialLocator().loadOriginCertificate(
                flag: options.origincert ?? tunnel.runOptions.origincert, environment: environment, config: configCert)
            try certificate.certificate.requireAccountID(path: certificate.path)
        } catch {
            if error.isMissingOriginCertificate {
                fail("""
                    `tunnelctl tunnel \(command)` manages tunnels through the control-plane API and needs an origin certificate \
                    (cert.pem) holding an API token. \(error.description) A credentials file (<TunnelID>.json) or a token \
                    only runs a tunnel (`tunnelctl tunnel run`).
                    """)
            }
            fail(error.description)
        }
        let apiURL = options.apiURL ?? tunnel.apiOptions.apiURL ?? environment["TUNNEL_API_URL"] ?? configAPI ?? defaultAPIURL
        guard apiURL.hasPrefix("http://") || apiURL.hasPrefix("https://") else {
            fail("--api-url \(String(reflecting: apiURL)) is not an http:// or https:// URL (example: \(defaultAPIURL))")
        }
        let client = ControlAPIClient(
            baseURL: apiURL, token: certificate.certificate.apiToken, accountID: certificate.certificate.accountID,
            zoneID: certificate.certificate.zoneID, userAgent: "tunnelctl/\(TunnelctlVersion.string)", httpClient: apiHTTPClient)
        loadedCertPath.withLock { $0 = certificate.path }
        return ManagementContext(certPath: certificate.path, certificate: certificate.certificate, client: client)
    }

    /// A tunnel given by UUID or name (cloudflared's `findID`): a UUID as is; else the ID in
    /// `credentialsFile`, when given; else the live tunnel with that name.
    func findID(_ reference: String, credentialsFile: String? = nil) async throws -> UUID {
        if let id = UUID(tunnelIDString: reference) { return id }
        if let credentialsFile, let credentials = try? TunnelCredentials(contentsOfFile: credentialsFile), let id = credentials.tunnelID {
            return id
        }
        let found = try await client.listTunnels(TunnelFilter(isDeleted: false, name: reference))
        guard let first = found.first, let id = UUID(tunnelIDString: first.id) else {
            throw ValidationError("\(reference) is neither the ID nor the name of any of your tunnels; list them with `tunnelctl tunnel list`")
        }
        return id
    }

    /// Several tunnels by UUID or name; a name must match exactly one live tunnel.
    func findIDs(_ references: [String]) async throws -> [UUID] {
        var ids: [UUID] = []
        for reference in references {
            if let id = UUID(tunnelIDString: reference) {
                ids.append(id)
                continue
            }
            let found = try await client.listTunnels(TunnelFilter(isDeleted: false, name: reference))
            guard found.count == 1, let id = UUID(tunnelIDString: found[0].id) else {
                throw ValidationError(found.isEmpty
                    ? "\(reference) is neither the ID nor the name of any of your tunnels; list them with `tunnelctl tunnel list`"
                    : "there should only be 1 non-deleted Tunnel named \(reference)")
            }
            ids.append(id)
        }
        return ids
    }

    /// Where `create` and `token --cred-file` write by default: `<TunnelID>.json` beside cert.pem.
    func defaultCredentialsPath(for id: UUID) -> String {
        let directory = (certPath as NSString).deletingLastPathComponent
        return (directory.isEmpty ? "." : directory) + "/" + id.lowercasedString + ".json"
    }

    /// Runs `body`, turning API and validation failures into one line on stderr and exit 1.
    static func perform(_ body: () async throws -> Void) async throws {
        do {
            try await body()
        } catch let error as ControlAPIClientError {
            if error.status == 401 && error.codes.contains(10001) {
                let path = loadedCertPath.withLock { $0 } ?? "cert.pem"
                fail("the API token in \(path) was rolled or revoked; move that file away and run `tunnelctl login` to get a new cert.pem")
            }
            if error.status == 401 {
                fail(error.description + " (this control plane does not know the API token in cert.pem: check --api-url, or get a new cert.pem with `tunnelctl login`)")
            }
            fail(error.description)
        } catch let error as ValidationError {
            fail(error.message)
        } catch let error as CredentialsError {
            fail(error.description)
        } catch let error as ExitCode {
            throw error
        }
    }

    /// Prints a one-line error and exits 1.
    static func fail(_ message: String) -> Never {
        EdgeServeCommand.fail(message)
    }
}

/// `-o json|yaml` rendering, as cloudflared's `renderOutput`.
enum OutputFormat {
    static func render<Value: Encodable>(_ value: Value, format: String) throws -> String {
        switch format {
        case "json":
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .withoutEscapingSlashes, .sortedKeys]
            return String(decoding: try encoder.encode(value), as: UTF8.self) + "\n"
        case "yaml":
            return try YAMLEncoder().encode(value)
        default:
            throw ValidationError("Unknown output format '\(format)'; use json or yaml")
        }
    }
}
