import Foundation

/// Finds the default configuration file the way cloudflared does (`FindDefaultConfigPath`): the
/// first existing `config.yml`, then `config.yaml`, in each search directory in order.
///
/// swift-tunnel searches its own `~/.tunnelctl` before cloudflared's directories. The home
/// directory and the file test are injectable so tests never touch the real home.
public struct ConfigFileLocator: Sendable {
    /// cloudflared's search directories, `~` unexpanded (`config/configuration.go`).
    public static let cloudflaredDirectories = [
        "~/.cloudflared", "~/.cloudflare-warp", "~/cloudflare-warp", "/etc/cloudflared", "/usr/local/etc/cloudflared",
    ]
    /// Our directories: `~/.tunnelctl` first, then cloudflared's.
    public static let defaultDirectories = ["~/.tunnelctl"] + cloudflaredDirectories
    /// File names tried in each directory, in order.
    public static let fileNames = ["config.yml", "config.yaml"]

    /// Directories searched, in order; a leading `~` stands for ``homeDirectory``.
    public var searchDirectories: [String]
    /// The home directory `~` expands to.
    public var homeDirectory: String
    /// Whether a path names an existing file.
    public var fileExists: @Sendable (String) -> Bool

    /// Creates a locator.
    /// - Parameters:
    ///   - searchDirectories: Default ``defaultDirectories``.
    ///   - homeDirectory: Default `$HOME`, else the account's home directory.
    ///   - fileExists: Default: an existing non-directory at the path.
    public init(
        searchDirectories: [String] = ConfigFileLocator.defaultDirectories,
        homeDirectory: String? = nil,
        fileExists: @escaping @Sendable (String) -> Bool = ConfigFileLocator.isRegularFile
    ) {
        self.searchDirectories = searchDirectories
        self.homeDirectory = homeDirectory ?? ProcessInfo.processInfo.environment["HOME"] ?? NSHomeDirectory()
        self.fileExists = fileExists
    }

    /// True for an existing path that is not a directory.
    @Sendable public static func isRegularFile(_ path: String) -> Bool {
        var isDirectory: ObjCBool = false
        return FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) && !isDirectory.boolValue
    }

    /// Expands a leading `~` or `~/`.
    public func expand(_ path: String) -> String {
        if path == "~" { return homeDirectory }
        if path.hasPrefix("~/") {
            return (homeDirectory.hasSuffix("/") ? String(homeDirectory.dropLast()) : homeDirectory) + path.dropFirst()
        }
        return path
    }

    /// The first existing configuration file, or `nil`.
    public func defaultConfigPath() -> String? {
        for directory in searchDirectories {
            for name in Self.fileNames {
                let path = expand(directory) + "/" + name
                if fileExists(path) { return path }
            }
        }
        return nil
    }

    /// What `tunnel run` logs when nothing is found.
    public var notFoundMessage: String {
        "Cannot determine default configuration path. No file [\(Self.fileNames.joined(separator: " "))] in [\(searchDirectories.joined(separator: " "))]"
    }
}
