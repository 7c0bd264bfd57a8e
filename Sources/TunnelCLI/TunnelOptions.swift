import ArgumentParser
import Foundation
import TunnelCore

/// Options of `tunnelctl tunnel` that its subcommands share. Like cloudflared, `--config` may be
/// given before the subcommand (`tunnel --config F ingress rule URL`); the ingress commands also
/// accept it after their own name.
struct TunnelOptions: ParsableArguments {
    @Option(
        name: .long,
        help: ArgumentHelp(
            "Configuration file (YAML or JSON).",
            discussion: "Default: the first config.yml or config.yaml in ~/.tunnelctl, ~/.cloudflared, ~/.cloudflare-warp, ~/cloudflare-warp, /etc/cloudflared, /usr/local/etc/cloudflared.",
            valueName: "path"))
    var config: String?
}

/// The configuration file a tunnel command works with, found and read the way cloudflared does.
struct LoadedConfiguration {
    /// The path shown to the user: `--config` exactly as given, or the discovered default path;
    /// empty when there is no usable file.
    var sourcePath: String
    /// The parsed file; `nil` when there is none or it is empty.
    var file: TunnelConfigFile?

    /// Loads `explicitPath` or the default file. An empty file is reported on stderr and then
    /// treated as absent, as cloudflared does.
    static func load(explicitPath: String?, locator: ConfigFileLocator = ConfigFileLocator()) throws(ConfigurationError) -> LoadedConfiguration {
        guard let path = explicitPath ?? locator.defaultConfigPath() else {
            return LoadedConfiguration(sourcePath: "", file: nil)
        }
        guard let file = try TunnelConfigFile.load(path: explicitPath == nil ? path : locator.expand(path)) else {
            printError("ERR Configuration file \(path) was empty")
            return LoadedConfiguration(sourcePath: "", file: nil)
        }
        return LoadedConfiguration(sourcePath: path, file: file)
    }
}

/// Writes a line to standard error.
func printError(_ message: String) {
    FileHandle.standardError.write(Data((message + "\n").utf8))
}
