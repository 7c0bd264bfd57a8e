#if canImport(FoundationEssentials)
public import FoundationEssentials
#else
public import Foundation
#endif

/// A tunnel credentials file (`<TunnelID>.json`), written by `tunnel create`, read by `tunnel run`.
///
/// Keys are cloudflared's Go field names (`AccountTag`, `TunnelSecret`, `TunnelID`, `Endpoint`),
/// matched case-insensitively on read; unknown keys are ignored.
public struct TunnelCredentials: Hashable, Sendable, CustomStringConvertible {
    /// The account tag (32 hex digits).
    public var accountTag: String
    /// The tunnel secret.
    public var tunnelSecret: TunnelSecret
    /// The tunnel's ID; `nil` in old files that predate the key. The ID given on the command
    /// line always wins over it, as in cloudflared.
    public var tunnelID: UUID?
    /// `fed` for FedRAMP, otherwise empty.
    public var endpoint: String

    /// Creates credentials.
    public init(accountTag: String, tunnelSecret: TunnelSecret, tunnelID: UUID?, endpoint: String = "") {
        self.accountTag = accountTag
        self.tunnelSecret = tunnelSecret
        self.tunnelID = tunnelID
        self.endpoint = endpoint
    }

    public var description: String {
        "TunnelCredentials(accountTag: \(accountTag), tunnelID: \(tunnelID?.lowercasedString ?? "<none>"), tunnelSecret: \(tunnelSecret), endpoint: \(endpoint.isEmpty ? "<none>" : endpoint))"
    }
}

extension TunnelCredentials {
    /// Parses the JSON form. `path` appears in errors; a `.pem` path with invalid JSON gets the
    /// "you gave a .pem" hint, as cloudflared does.
    public init(json bytes: some Collection<UInt8>, path: String? = nil) throws(CredentialsError) {
        let object: GoJSON.CaseInsensitiveObject
        do {
            object = try GoJSON.CaseInsensitiveObject(bytes: Array(bytes))
        } catch {
            if let path, path.hasSuffix(".pem") { throw .credentialsIsPEM(path: path) }
            switch error {
            case .notJSON(let detail): throw .credentialsInvalidJSON(detail, path: path)
            case .notObject(let found): throw .credentialsInvalidJSON("expected an object, found \(found)", path: path)
            case .wrongType(let key, let expected, let found):
                throw .credentialsInvalidJSON("\(key) should be a \(expected), found \(found)", path: path)
            }
        }
        do {
            let accountTag = try object.string("AccountTag") ?? ""
            guard !accountTag.isEmpty else { throw CredentialsError.credentialsMissingField("AccountTag", path: path) }
            guard let secretText = try object.string("TunnelSecret"), !secretText.isEmpty else {
                throw CredentialsError.credentialsMissingField("TunnelSecret", path: path)
            }
            guard let secret = TunnelSecret(base64: secretText) else {
                throw CredentialsError.secretNotBase64(field: "TunnelSecret", path: path)
            }
            var tunnelID: UUID?
            if let idText = try object.string("TunnelID") {
                guard let id = UUID(tunnelIDString: idText) else {
                    throw CredentialsError.invalidTunnelID(idText, path: path)
                }
                tunnelID = id
            }
            self.init(accountTag: accountTag, tunnelSecret: secret, tunnelID: tunnelID, endpoint: try object.string("Endpoint") ?? "")
        } catch let error as CredentialsError {
            throw error
        } catch let error as GoJSON.ObjectError {
            guard case .wrongType(let key, let expected, let found) = error else {
                throw .credentialsInvalidJSON("\(error)", path: path)
            }
            throw .credentialsInvalidJSON("\(key) should be a \(expected), found \(found)", path: path)
        } catch {
            throw .credentialsInvalidJSON("\(error)", path: path)
        }
    }

    /// Reads and parses a credentials file.
    public init(contentsOfFile path: String) throws(CredentialsError) {
        let bytes = try SecureFile.read(path)
        try self.init(json: bytes, path: path)
    }

    /// The exact bytes cloudflared writes: compact JSON, keys in Go field order, `Endpoint`
    /// always present, no trailing newline.
    public var jsonEncoded: String {
        GoJSON.object([
            ("AccountTag", accountTag),
            ("TunnelSecret", tunnelSecret.base64),
            ("TunnelID", tunnelID?.lowercasedString ?? ""),
            ("Endpoint", endpoint),
        ])
    }

    /// Writes the file atomically with mode 0400, refusing to replace an existing file.
    public func write(to path: String) throws(CredentialsError) {
        try SecureFile.writeNew(Array(jsonEncoded.utf8), to: path, mode: 0o400)
    }

    /// The same credentials as a tunnel token.
    public var token: TunnelToken {
        TunnelToken(accountTag: accountTag, tunnelSecret: tunnelSecret, tunnelID: tunnelID ?? UUID(tunnelIDBytes: Array(repeating: 0, count: 16)), endpoint: endpoint)
    }
}
