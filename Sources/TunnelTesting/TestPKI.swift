public import Foundation
import TunnelEdge

/// A throw-away certificate authority and a leaf certificate for tests, written as PEM files
/// into a temporary directory that ``remove()`` deletes. Built with the edge's own ``EdgePKI``.
///
/// ```swift
/// let pki = try TestPKI()
/// // hand pki.caPath to a connector as --cacert, pki.certPath/pki.keyPath to an edge
/// ```
public struct TestPKI: Sendable {
    /// The directory holding the files.
    public let directory: URL
    /// The CA certificate (PEM).
    public let caPath: String
    /// The leaf certificate (PEM).
    public let certPath: String
    /// The leaf's private key (PKCS#8 PEM).
    public let keyPath: String

    /// Creates a CA and one leaf valid for `dnsNames` and IPv4 `ipAddresses` for `validity` seconds.
    public init(dnsNames: [String] = ["h2.cftunnel.com", "localhost"], ipAddresses: [String] = ["127.0.0.1"], validity: TimeInterval = 86400) throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("tunnel-pki-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let pki = EdgePKI(directory: directory.path)
        try EdgePKI.generate(pki, dnsNames: dnsNames, ipAddresses: ipAddresses, validity: validity)
        caPath = pki.caPath
        certPath = pki.certificatePath
        keyPath = pki.keyPath
    }

    /// Deletes the files.
    public func remove() {
        try? FileManager.default.removeItem(at: directory)
    }
}
