#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The credentials `tunnel run` uses and where they came from, found in cloudflared's order
/// (credentials.md §2.3, §3.3):
/// 1. `token` (flag, `TUNNEL_TOKEN`, config), then `token-file` (`TUNNEL_TOKEN_FILE`, trimmed);
/// 2. otherwise the tunnel reference (argument, else config `tunnel:`): a UUID, or a name that a
///    `--credentials-file` holding a `TunnelID` stands for;
/// 3. `credentials-contents` (`TUNNEL_CRED_CONTENTS`), then `credentials-file` (`~` expanded),
///    then `<TunnelID>.json` beside cert.pem and in the default search directories.
public struct TunnelRunCredentials: Sendable, Hashable {
    /// The credentials, with `tunnelID` set.
    public var credentials: TunnelCredentials
    /// Where they came from: `--token`, `TUNNEL_TOKEN`, a file path, `TUNNEL_CRED_CONTENTS`, …
    public var source: String
    /// Whether they came from a token (tokens carry their own endpoint and need no cert.pem).
    public var fromToken: Bool

    /// Creates a value.
    public init(credentials: TunnelCredentials, source: String, fromToken: Bool) {
        self.credentials = credentials
        self.source = source
        self.fromToken = fromToken
    }

    /// Finds the credentials.
    ///
    /// - Parameters:
    ///   - tunnelReference: The positional argument (UUID or name), if any.
    ///   - settings: Resolved flags, environment and config.yml.
    ///   - locator: File lookup (`~` expansion, search directories).
    public static func find(
        tunnelReference: String?, settings: ResolvedSettings, locator: CredentialLocator = CredentialLocator()
    ) throws(TunnelRunError) -> TunnelRunCredentials {
        if let token = settings.string("token"), !token.isEmpty {
            let source = label(settings["token"]?.source, flag: "--token")
            do {
                return TunnelRunCredentials(credentials: try TunnelToken(token, source: source).credentials, source: source, fromToken: true)
            } catch {
                throw .invalidToken(error.description)
            }
        }
        if let path = settings.string("token-file"), !path.isEmpty {
            let expanded = locator.expand(path)
            let bytes: [UInt8]
            do {
                bytes = try SecureFile.read(expanded)
            } catch {
                throw .tokenFileUnreadable(error.description)
            }
            let blank: (UInt8) -> Bool = { [0x20, 0x09, 0x0A, 0x0D, 0x0B, 0x0C].contains($0) }
            let text = String(decoding: bytes.drop(while: blank).reversed().drop(while: blank).reversed(), as: UTF8.self)
            do {
                return TunnelRunCredentials(credentials: try TunnelToken(text, source: expanded).credentials, source: expanded, fromToken: true)
            } catch {
                throw .invalidToken(error.description)
            }
        }

        let reference = tunnelReference.flatMap { $0.isEmpty ? nil : $0 } ?? settings.file?.tunnel.flatMap { $0.isEmpty ? nil : $0 }
        var tunnelID = reference.flatMap(UUID.init(tunnelIDString:))
        let found: (TunnelCredentials, String)
        do {
            if let contents = settings.string("credentials-contents"), !contents.isEmpty {
                found = (try TunnelCredentials(json: Array(contents.utf8), path: "TUNNEL_CRED_CONTENTS"), "TUNNEL_CRED_CONTENTS")
            } else if let path = settings.string("credentials-file"), !path.isEmpty {
                let expanded = locator.expand(path)
                guard locator.isRegularFile(expanded) else {
                    throw CredentialsError.unreadable("tunnel credentials file doesn't exist or is not a file", path: expanded)
                }
                found = (try TunnelCredentials(contentsOfFile: expanded), expanded)
            } else {
                guard let id = tunnelID else {
                    if let reference { throw TunnelRunError.tunnelNameNeedsAPI(reference) }
                    throw TunnelRunError.missingTunnelReference()
                }
                let certPath = settings.string("origincert").map(locator.expand) ?? locator.defaultOriginCertPath()
                let path = try locator.credentialsFilePath(tunnelID: id.lowercasedString, originCertPath: certPath)
                found = (try TunnelCredentials(contentsOfFile: path), path)
            }
        } catch let error as CredentialsError {
            throw .credentials(error)
        } catch let error as TunnelRunError {
            throw error
        } catch {
            throw .credentials(.unreadable("\(error)", path: nil))
        }
        var credentials = found.0
        // A name resolves to the credentials file's TunnelID without an API call (cloudflared `findID`).
        if tunnelID == nil, let reference {
            guard let id = credentials.tunnelID else { throw .tunnelNameNeedsAPI(reference) }
            tunnelID = id
        }
        if let tunnelID, credentials.tunnelID == nil { credentials.tunnelID = tunnelID }
        guard credentials.tunnelID != nil else { throw .missingTunnelReference() }
        return TunnelRunCredentials(credentials: credentials, source: found.1, fromToken: false)
    }

    private static func label(_ source: SettingSource?, flag: String) -> String {
        switch source {
        case .environment(let variable)?: variable
        case .configFile?: "config file"
        default: flag
        }
    }
}
