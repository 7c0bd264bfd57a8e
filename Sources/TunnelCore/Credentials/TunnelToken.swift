#if canImport(FoundationEssentials)
public import FoundationEssentials
#else
public import Foundation
#endif

/// A tunnel token (`tunnel run --token`): padded standard base64 of a JSON object with the
/// keys `a` (account tag), `s` (base64 secret), `t` (tunnel ID) and, when set, `e` (endpoint).
public struct TunnelToken: Hashable, Sendable, CustomStringConvertible {
    /// The account tag.
    public var accountTag: String
    /// The tunnel secret.
    public var tunnelSecret: TunnelSecret
    /// The tunnel ID.
    public var tunnelID: UUID
    /// `fed` for FedRAMP, otherwise empty; used as the edge region by `tunnel run`.
    public var endpoint: String

    /// Creates a token.
    public init(accountTag: String, tunnelSecret: TunnelSecret, tunnelID: UUID, endpoint: String = "") {
        self.accountTag = accountTag
        self.tunnelSecret = tunnelSecret
        self.tunnelID = tunnelID
        self.endpoint = endpoint
    }

    /// Decodes a token string. `source` names where it came from (`--token`, `TUNNEL_TOKEN`, a
    /// file) in errors. Like cloudflared: CR and LF are skipped, any other whitespace is invalid.
    public init(_ string: String, source: String? = nil) throws(CredentialsError) {
        guard !string.isEmpty else { throw .tokenEmpty(path: source) }
        guard let json = Base64.decode(string) else { throw .tokenNotBase64(path: source) }
        let object: GoJSON.CaseInsensitiveObject
        do {
            object = try GoJSON.CaseInsensitiveObject(bytes: json)
        } catch {
            switch error {
            case .notJSON(let detail): throw .tokenNotJSON(detail, path: source)
            case .notObject(let found): throw .tokenNotJSON("expected an object, found \(found)", path: source)
            case .wrongType(let key, let expected, let found): throw .tokenNotJSON("\(key) should be a \(expected), found \(found)", path: source)
            }
        }
        do {
            guard let accountTag = try object.string("a"), !accountTag.isEmpty else {
                throw CredentialsError.tokenMissingField("a", path: source)
            }
            guard let secretText = try object.string("s"), !secretText.isEmpty else {
                throw CredentialsError.tokenMissingField("s", path: source)
            }
            guard let secret = TunnelSecret(base64: secretText) else {
                throw CredentialsError.secretNotBase64(field: "the token's secret (s)", path: source)
            }
            guard let idText = try object.string("t") else {
                throw CredentialsError.tokenMissingField("t", path: source)
            }
            guard let id = UUID(tunnelIDString: idText) else {
                throw CredentialsError.invalidTunnelID(idText, path: source)
            }
            self.init(accountTag: accountTag, tunnelSecret: secret, tunnelID: id, endpoint: try object.string("e") ?? "")
        } catch let error as CredentialsError {
            throw error
        } catch {
            throw .tokenNotJSON("\(error)", path: source)
        }
    }

    /// The token string, normalised as cloudflared's `tunnel token` prints it: compact JSON
    /// with keys `a`, `s`, `t`, then `e` only when set; lowercase UUID.
    public var encoded: String {
        var fields = [("a", accountTag), ("s", tunnelSecret.base64), ("t", tunnelID.lowercasedString)]
        if !endpoint.isEmpty {
            fields.append(("e", endpoint))
        }
        return Base64.encode(Array(GoJSON.object(fields).utf8))
    }

    /// The credentials this token stands for.
    public var credentials: TunnelCredentials {
        TunnelCredentials(accountTag: accountTag, tunnelSecret: tunnelSecret, tunnelID: tunnelID, endpoint: endpoint)
    }

    public var description: String {
        "TunnelToken(accountTag: \(accountTag), tunnelID: \(tunnelID.lowercasedString), tunnelSecret: \(tunnelSecret)\(endpoint.isEmpty ? "" : ", endpoint: \(endpoint)"))"
    }
}
