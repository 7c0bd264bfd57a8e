import ArgumentParser

/// The version string printed by `tunnelctl version` and `tunnelctl --version`.
enum TunnelctlVersion {
    static let string = "0.1.0"
}

/// `tunnelctl version`: prints the version, the way `cloudflared version` does.
struct VersionCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "version",
        abstract: "Print the tunnelctl version."
    )

    @Flag(name: .long, help: "Print only the version number.")
    var short = false

    func run() {
        if short {
            print(TunnelctlVersion.string)
        } else {
            #if arch(x86_64)
            let arch = "amd64"
            #elseif arch(arm64)
            let arch = "arm64"
            #else
            let arch = "unknown"
            #endif
            #if os(Linux)
            let os = "linux"
            #else
            let os = "darwin"
            #endif
            print("tunnelctl version \(TunnelctlVersion.string) (\(os)_\(arch))")
        }
    }
}
