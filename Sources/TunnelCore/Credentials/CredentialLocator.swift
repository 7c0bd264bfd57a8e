/// Where cloudflared looks for cert.pem and `<TunnelID>.json`, as pure functions over an
/// injectable home directory and file test, so tests and embedders control the file system.
public struct CredentialLocator: Sendable {
    /// The default search directories, in cloudflared's order (`~` is the home directory).
    public static let defaultSearchDirectories = [
        "~/.cloudflared", "~/.cloudflare-warp", "~/cloudflare-warp", "/etc/cloudflared", "/usr/local/etc/cloudflared",
    ]

    /// The home directory used to expand `~`; `nil` when unknown.
    public var home: String?
    /// Directories searched for cert.pem and credentials files.
    public var searchDirectories: [String]
    /// Whether a path is an existing regular file.
    public var isRegularFile: @Sendable (String) -> Bool

    /// A locator over the real file system, with the home directory from `HOME`.
    public init(
        home: String? = nil,
        searchDirectories: [String] = CredentialLocator.defaultSearchDirectories,
        isRegularFile: @escaping @Sendable (String) -> Bool = SecureFile.isRegularFile
    ) {
        self.home = home ?? getenvString("HOME")
        self.searchDirectories = searchDirectories
        self.isRegularFile = isRegularFile
    }

    /// Expands a leading `~` or `~/`.
    public func expand(_ path: String) -> String {
        guard path == "~" || path.hasPrefix("~/"), let home else { return path }
        return home + path.dropFirst()
    }

    /// The first `cert.pem` in the search directories, or `nil`.
    public func defaultOriginCertPath() -> String? {
        for directory in searchDirectories {
            let candidate = expand(directory) + "/cert.pem"
            if isRegularFile(candidate) { return candidate }
        }
        return nil
    }

    /// Resolves the cert.pem path with cloudflared's precedence: `--origincert` flag, then
    /// `TUNNEL_ORIGIN_CERT` (set, even if empty, it wins over the file), then config `origincert`,
    /// then the first existing default.
    public func originCertPath(flag: String?, environment: [String: String], config: String?) throws(CredentialsError) -> String {
        let configured = flag ?? environment["TUNNEL_ORIGIN_CERT"] ?? config
        if let configured, !configured.isEmpty {
            let path = expand(configured)
            guard isRegularFile(path) else { throw .originCertNotFound(path: path) }
            return path
        }
        guard let found = defaultOriginCertPath() else {
            throw .noDefaultOriginCert(searched: searchDirectories)
        }
        return found
    }

    /// Loads cert.pem found with ``originCertPath(flag:environment:config:)``.
    public func loadOriginCertificate(flag: String?, environment: [String: String], config: String?) throws(CredentialsError) -> (path: String, certificate: OriginCertificate) {
        let path = try originCertPath(flag: flag, environment: environment, config: config)
        let bytes = try SecureFile.read(path)
        return (path, try OriginCertificate(pemEncoded: String(decoding: bytes, as: UTF8.self), path: path))
    }

    /// Finds `<tunnelID>.json`: next to the origin certificate first, then in each search directory.
    public func credentialsFilePath(tunnelID: String, originCertPath: String?) throws(CredentialsError) -> String {
        var directories: [String] = []
        if let originCertPath, isRegularFile(originCertPath), let slash = originCertPath.lastIndex(of: "/") {
            directories.append(String(originCertPath[..<slash]))
        }
        directories += searchDirectories.map(expand)
        for directory in directories {
            let candidate = directory + "/" + tunnelID.lowercased() + ".json"
            if isRegularFile(candidate) { return candidate }
        }
        throw .credentialsNotFound()
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

func getenvString(_ name: String) -> String? {
    guard let value = getenv(name) else { return nil }
    return String(cString: value)
}
