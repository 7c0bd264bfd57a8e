/// Setting up the TLS leg of a tunnel connection failed.
public struct TunnelTLSError: Error, Hashable, CustomStringConvertible {
    private enum Code: Hashable {
        case untrustedCertificate(serverName: String)
        case serverNameMismatch(serverName: String)
        case handshakeFailed(serverName: String)
        case handshakeTimeout(serverName: String)
        case noCertificates(source: String)
        case unreadableKey(source: String)
        case connectionClosedDuringHandshake
    }

    private let code: Code
    /// The underlying error's description (from NIOSSL/BoringSSL), if any; not part of equality.
    public let detail: String?
    /// Where the error was raised (`#fileID:#line`), for debugging only; not part of equality.
    public let location: String

    private init(_ code: Code, detail: String?, file: String, line: Int) {
        self.code = code
        self.detail = detail
        self.location = "\(file):\(line)"
    }

    /// The edge's certificate chain does not verify against the configured CA pool.
    public static func untrustedCertificate(serverName: String, detail: String? = nil, file: String = #fileID, line: Int = #line) -> Self {
        Self(.untrustedCertificate(serverName: serverName), detail: detail, file: file, line: line)
    }

    /// The edge's leaf certificate does not carry the expected server name in its SANs.
    public static func serverNameMismatch(serverName: String, detail: String? = nil, file: String = #fileID, line: Int = #line) -> Self {
        Self(.serverNameMismatch(serverName: serverName), detail: detail, file: file, line: line)
    }

    /// Any other handshake failure.
    public static func handshakeFailed(serverName: String, detail: String? = nil, file: String = #fileID, line: Int = #line) -> Self {
        Self(.handshakeFailed(serverName: serverName), detail: detail, file: file, line: line)
    }

    /// The handshake did not finish in time.
    public static func handshakeTimeout(serverName: String, file: String = #fileID, line: Int = #line) -> Self {
        Self(.handshakeTimeout(serverName: serverName), detail: nil, file: file, line: line)
    }

    /// A PEM source held no certificate.
    public static func noCertificates(source: String, detail: String? = nil, file: String = #fileID, line: Int = #line) -> Self {
        Self(.noCertificates(source: source), detail: detail, file: file, line: line)
    }

    /// A private key could not be read.
    public static func unreadableKey(source: String, detail: String? = nil, file: String = #fileID, line: Int = #line) -> Self {
        Self(.unreadableKey(source: source), detail: detail, file: file, line: line)
    }

    /// The peer closed the connection before the handshake completed.
    public static func connectionClosedDuringHandshake(file: String = #fileID, line: Int = #line) -> Self {
        Self(.connectionClosedDuringHandshake, detail: nil, file: file, line: line)
    }

    /// Equality by error code only.
    public static func == (lhs: Self, rhs: Self) -> Bool { lhs.code == rhs.code }

    /// Hashes the error code only.
    public func hash(into hasher: inout Hasher) { hasher.combine(self.code) }

    /// What went wrong and what to do next.
    public var description: String {
        let what: String
        switch self.code {
        case .untrustedCertificate(let name):
            what = "the edge's certificate for \(name) is not signed by a trusted CA; check the CA file given to the connector (--cacert) matches the edge's certificate chain"
        case .serverNameMismatch(let name):
            what = "the edge's certificate does not name \(name) in its subject alternative names; issue the edge certificate with DNS SAN \(name)"
        case .handshakeFailed(let name):
            what = "TLS handshake with the edge (\(name)) failed; check TLS versions (1.2+) and that the address is a tunnel edge"
        case .handshakeTimeout(let name):
            what = "TLS handshake with the edge (\(name)) did not finish in time; check connectivity to the edge address"
        case .noCertificates(let source):
            what = "no PEM certificate found in \(source); give a file with -----BEGIN CERTIFICATE----- blocks"
        case .unreadableKey(let source):
            what = "cannot read a private key from \(source); give an unencrypted PEM private key"
        case .connectionClosedDuringHandshake:
            what = "the peer closed the connection during the TLS handshake; it probably refused our certificate or protocol"
        }
        return "\(what)\(self.detail.map { " (\($0))" } ?? "") (at \(self.location))"
    }
}
