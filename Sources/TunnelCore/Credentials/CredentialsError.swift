/// An error reading, validating or writing a credential file: cert.pem, a tunnel credentials
/// JSON file or a tunnel token.
///
/// The ``description`` names the file (when there is one), says what is wrong and what to do next.
/// Two errors are equal when they have the same code and file, wherever they were thrown.
public struct CredentialsError: Error, Hashable, Sendable, CustomStringConvertible {
    enum Code: Hashable, Sendable {
        case emptyCertificate
        case notPEM
        case unknownBlock(String)
        case multipleTokens
        case missingToken
        case tokenBlockNotBase64
        case tokenBlockNotJSON(String)
        case missingAccountID
        case invalidCertificate(String)
        case invalidPrivateKey(String)
        case certificateKeyMismatch
        case originCertNotFound
        case noDefaultOriginCert(searched: [String])
        case unreadable(String)
        case credentialsInvalidJSON(String)
        case credentialsIsPEM
        case credentialsMissingField(String)
        case secretNotBase64(field: String)
        case secretTooShort(Int)
        case invalidTunnelID(String)
        case credentialsNotFound
        case tokenEmpty
        case tokenNotBase64
        case tokenNotJSON(String)
        case tokenMissingField(String)
        case fileExists
        case writeFailed(String)
    }

    let code: Code

    /// The file the error is about, or a label such as `TUNNEL_TOKEN` for values that came
    /// from the command line or environment.
    public private(set) var path: String?

    /// Where the error was raised in this library, for bug reports.
    public let location: String

    init(_ code: Code, path: String?, file: String, line: UInt) {
        self.code = code
        self.path = path
        self.location = "\(file):\(line)"
    }

    /// The same error, about another file.
    func at(_ path: String?) -> CredentialsError {
        var copy = self
        copy.path = path
        return copy
    }

    /// Whether no cert.pem was found (none configured exists, and none in the search
    /// directories): management commands then explain how to get one.
    public var isMissingOriginCertificate: Bool {
        switch code {
        case .originCertNotFound, .noDefaultOriginCert: true
        default: false
        }
    }

    public static func == (lhs: CredentialsError, rhs: CredentialsError) -> Bool {
        lhs.code == rhs.code && lhs.path == rhs.path
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(code)
        hasher.combine(path)
    }

    private var file: String { path ?? "<input>" }

    public var description: String {
        switch code {
        case .emptyCertificate:
            return "\(file): cannot decode empty certificate. Get a fresh cert.pem with `tunnelctl login` (move this one away first), or from the edge administrator (`tunnelctl edge token create --account ACCOUNT --cert-out cert.pem` on the edge host)."
        case .notPEM:
            return "\(file): not a PEM file (no -----BEGIN ...----- block found). Point --origincert at a cert.pem (written by `tunnelctl login`, or by `tunnelctl edge token create --account ACCOUNT --cert-out cert.pem` on the edge host)."
        case .unknownBlock(let type):
            return "\(file): unknown block \(type) in the certificate. A cert.pem holds only ARGO TUNNEL TOKEN, CERTIFICATE and PRIVATE KEY blocks; get a fresh one with `tunnelctl login` (move this one away first) or from the edge administrator (`tunnelctl edge token create --account ACCOUNT --cert-out cert.pem` on the edge host)."
        case .multipleTokens:
            return "\(file): found multiple tokens in the certificate. Keep exactly one ARGO TUNNEL TOKEN block, or get a fresh one with `tunnelctl login` (move this one away first) or from the edge administrator (`tunnelctl edge token create --account ACCOUNT --cert-out cert.pem` on the edge host)."
        case .missingToken:
            return "\(file): missing token in the certificate (no ARGO TUNNEL TOKEN block with zoneID and apiToken). Get a fresh cert.pem with `tunnelctl login` (move this one away first), or from the edge administrator (`tunnelctl edge token create --account ACCOUNT --cert-out cert.pem` on the edge host)."
        case .tokenBlockNotBase64:
            return "\(file): the ARGO TUNNEL TOKEN block is not valid base64; the file is damaged. Get a fresh cert.pem with `tunnelctl login` (move this one away first), or from the edge administrator (`tunnelctl edge token create --account ACCOUNT --cert-out cert.pem` on the edge host)."
        case .tokenBlockNotJSON(let detail):
            return "\(file): the ARGO TUNNEL TOKEN block does not hold valid JSON (\(detail)). Get a fresh cert.pem with `tunnelctl login` (move this one away first), or from the edge administrator (`tunnelctl edge token create --account ACCOUNT --cert-out cert.pem` on the edge host)."
        case .missingAccountID:
            return "\(file): the origin certificate has no accountID and needs to be refreshed before creating new tunnels. Delete \(file) and get a new one from the edge administrator (`tunnelctl edge token create --account ACCOUNT --cert-out cert.pem` on the edge host)."
        case .invalidCertificate(let detail):
            return "\(file): the CERTIFICATE block cannot be parsed (\(detail)). Remove the block (it is optional)."
        case .invalidPrivateKey(let detail):
            return "\(file): the PRIVATE KEY block cannot be parsed (\(detail)). Remove the block (it is optional)."
        case .certificateKeyMismatch:
            return "\(file): the PRIVATE KEY does not belong to the CERTIFICATE in the same file. Remove both blocks (they are optional) or get a fresh cert.pem from the edge administrator."
        case .originCertNotFound:
            return "cannot find a valid certificate at the path \(file). If the path is wrong, pass --origincert (or set TUNNEL_ORIGIN_CERT); if you have no certificate, run `tunnelctl login`, or ask the edge administrator for one (`tunnelctl edge token create --account ACCOUNT --cert-out cert.pem` on the edge host)."
        case .noDefaultOriginCert(let searched):
            return "Cannot determine default origin certificate path. No file cert.pem in [\(searched.joined(separator: " "))]. Pass --origincert, set TUNNEL_ORIGIN_CERT or the origincert key in config.yml; without a cert.pem, run `tunnelctl login`, or ask the edge administrator for one (`tunnelctl edge token create --account ACCOUNT --cert-out cert.pem` on the edge host)."
        case .unreadable(let detail):
            return "cannot read \(file): \(detail). Check the path and its permissions."
        case .credentialsInvalidJSON(let detail):
            return "\(file): invalid JSON when parsing tunnel credentials file (\(detail)). The credentials file is the <tunnel-id>.json written by `tunnel create`; check that you passed the right path."
        case .credentialsIsPEM:
            return "\(file): the tunnel credentials file should be .json but you gave a .pem. It was originally created by `tunnel create`; you may have used the path of cert.pem, which holds an API token, not tunnel credentials."
        case .credentialsMissingField(let field):
            return "\(file): the tunnel credentials have no \(field). Recreate them with `tunnelctl tunnel token --cred-file FILE TUNNEL`."
        case .secretNotBase64(let field):
            return "\(file): \(field) is not valid padded standard base64. Recreate the credentials with `tunnelctl tunnel token --cred-file FILE TUNNEL`."
        case .secretTooShort(let count):
            return "\(file): the tunnel secret is \(count) bytes; it must be at least 32 bytes long. Generate one with `openssl rand -base64 32`."
        case .invalidTunnelID(let value):
            return "\(file): \(String(reflecting: value)) is not a valid tunnel ID (UUID). Use the ID printed by `tunnelctl tunnel list`."
        case .credentialsNotFound:
            return "tunnel credentials file not found. Pass --credentials-file, or run `tunnelctl tunnel token --cred-file FILE TUNNEL` to write one."
        case .tokenEmpty:
            return "\(file): the tunnel token is empty. Copy the whole token printed by `tunnelctl tunnel token TUNNEL`."
        case .tokenNotBase64:
            return "\(file): provided tunnel token is not valid (not padded standard base64; it may be truncated or contain spaces). Copy the whole token printed by `tunnelctl tunnel token TUNNEL`."
        case .tokenNotJSON(let detail):
            return "\(file): provided tunnel token is not valid (its content is not the expected JSON: \(detail)). Copy the whole token printed by `tunnelctl tunnel token TUNNEL`."
        case .tokenMissingField(let field):
            return "\(file): provided tunnel token is not valid (field \"\(field)\" is missing). Copy the whole token printed by `tunnelctl tunnel token TUNNEL`."
        case .fileExists:
            return "\(file) already exists. Move or delete it first; tunnelctl never overwrites credentials."
        case .writeFailed(let detail):
            return "cannot write \(file): \(detail). Check that the directory exists and is writable."
        }
    }
}

extension CredentialsError {
    /// The certificate file is empty.
    public static func emptyCertificate(path: String?, file: String = #fileID, line: UInt = #line) -> Self { .init(.emptyCertificate, path: path, file: file, line: line) }
    /// The file holds no PEM block at all.
    public static func notPEM(path: String?, file: String = #fileID, line: UInt = #line) -> Self { .init(.notPEM, path: path, file: file, line: line) }
    /// A PEM block of a type cert.pem never holds.
    public static func unknownBlock(_ type: String, path: String?, file: String = #fileID, line: UInt = #line) -> Self { .init(.unknownBlock(type), path: path, file: file, line: line) }
    /// Two ARGO TUNNEL TOKEN blocks.
    public static func multipleTokens(path: String?, file: String = #fileID, line: UInt = #line) -> Self { .init(.multipleTokens, path: path, file: file, line: line) }
    /// No token block, or one without zoneID/apiToken.
    public static func missingToken(path: String?, file: String = #fileID, line: UInt = #line) -> Self { .init(.missingToken, path: path, file: file, line: line) }
    /// The token block's body is not base64.
    public static func tokenBlockNotBase64(path: String?, file: String = #fileID, line: UInt = #line) -> Self { .init(.tokenBlockNotBase64, path: path, file: file, line: line) }
    /// The token block does not decode to the expected JSON object.
    public static func tokenBlockNotJSON(_ detail: String, path: String?, file: String = #fileID, line: UInt = #line) -> Self { .init(.tokenBlockNotJSON(detail), path: path, file: file, line: line) }
    /// The token has no accountID (an old certificate); API commands need one.
    public static func missingAccountID(path: String?, file: String = #fileID, line: UInt = #line) -> Self { .init(.missingAccountID, path: path, file: file, line: line) }
    /// The CERTIFICATE block does not parse.
    public static func invalidCertificate(_ detail: String, path: String?, file: String = #fileID, line: UInt = #line) -> Self { .init(.invalidCertificate(detail), path: path, file: file, line: line) }
    /// The PRIVATE KEY block does not parse.
    public static func invalidPrivateKey(_ detail: String, path: String?, file: String = #fileID, line: UInt = #line) -> Self { .init(.invalidPrivateKey(detail), path: path, file: file, line: line) }
    /// The private key does not match the certificate's public key.
    public static func certificateKeyMismatch(path: String?, file: String = #fileID, line: UInt = #line) -> Self { .init(.certificateKeyMismatch, path: path, file: file, line: line) }
    /// The configured cert.pem path does not exist or is not a regular file.
    public static func originCertNotFound(path: String?, file: String = #fileID, line: UInt = #line) -> Self { .init(.originCertNotFound, path: path, file: file, line: line) }
    /// No cert.pem was configured and none exists in the default directories.
    public static func noDefaultOriginCert(searched: [String], file: String = #fileID, line: UInt = #line) -> Self { .init(.noDefaultOriginCert(searched: searched), path: nil, file: file, line: line) }
    /// The file exists but cannot be read.
    public static func unreadable(_ detail: String, path: String?, file: String = #fileID, line: UInt = #line) -> Self { .init(.unreadable(detail), path: path, file: file, line: line) }
    /// The credentials file is not the expected JSON.
    public static func credentialsInvalidJSON(_ detail: String, path: String?, file: String = #fileID, line: UInt = #line) -> Self { .init(.credentialsInvalidJSON(detail), path: path, file: file, line: line) }
    /// A cert.pem was given where a credentials JSON file was expected.
    public static func credentialsIsPEM(path: String?, file: String = #fileID, line: UInt = #line) -> Self { .init(.credentialsIsPEM, path: path, file: file, line: line) }
    /// A required credentials field is absent.
    public static func credentialsMissingField(_ field: String, path: String?, file: String = #fileID, line: UInt = #line) -> Self { .init(.credentialsMissingField(field), path: path, file: file, line: line) }
    /// A secret field is not padded standard base64.
    public static func secretNotBase64(field: String, path: String?, file: String = #fileID, line: UInt = #line) -> Self { .init(.secretNotBase64(field: field), path: path, file: file, line: line) }
    /// A tunnel secret shorter than 32 bytes.
    public static func secretTooShort(_ count: Int, path: String?, file: String = #fileID, line: UInt = #line) -> Self { .init(.secretTooShort(count), path: path, file: file, line: line) }
    /// A tunnel ID that is not a UUID.
    public static func invalidTunnelID(_ value: String, path: String?, file: String = #fileID, line: UInt = #line) -> Self { .init(.invalidTunnelID(value), path: path, file: file, line: line) }
    /// No credentials file was found in any search location.
    public static func credentialsNotFound(file: String = #fileID, line: UInt = #line) -> Self { .init(.credentialsNotFound, path: nil, file: file, line: line) }
    /// An empty token.
    public static func tokenEmpty(path: String?, file: String = #fileID, line: UInt = #line) -> Self { .init(.tokenEmpty, path: path, file: file, line: line) }
    /// A token that is not padded standard base64.
    public static func tokenNotBase64(path: String?, file: String = #fileID, line: UInt = #line) -> Self { .init(.tokenNotBase64, path: path, file: file, line: line) }
    /// A token whose content is not the expected JSON object.
    public static func tokenNotJSON(_ detail: String, path: String?, file: String = #fileID, line: UInt = #line) -> Self { .init(.tokenNotJSON(detail), path: path, file: file, line: line) }
    /// A token without one of `a`, `s`, `t`.
    public static func tokenMissingField(_ field: String, path: String?, file: String = #fileID, line: UInt = #line) -> Self { .init(.tokenMissingField(field), path: path, file: file, line: line) }
    /// The destination file exists and is never overwritten.
    public static func fileExists(path: String?, file: String = #fileID, line: UInt = #line) -> Self { .init(.fileExists, path: path, file: file, line: line) }
    /// Writing the file failed.
    public static func writeFailed(_ detail: String, path: String?, file: String = #fileID, line: UInt = #line) -> Self { .init(.writeFailed(detail), path: path, file: file, line: line) }
}
