import ArgumentParser
import Foundation
import TunnelCore

/// `tunnelctl tunnel ingress …`: check ingress rules without running a tunnel.
struct TunnelIngressCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ingress",
        abstract: "Validate ingress rules and test which rule a URL matches.",
        subcommands: [TunnelIngressValidateCommand.self, TunnelIngressRuleCommand.self]
    )
}

/// `tunnelctl tunnel ingress validate`: checks the ingress rules of the configuration file.
struct TunnelIngressValidateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "validate",
        abstract: "Validate the ingress rules of the configuration file.",
        discussion: "Prints OK, or the first problem found. Unknown keys inside ingress rules, originRequest and warp-routing are listed as warnings."
    )

    @ParentCommand var tunnel: TunnelCommand
    @OptionGroup var options: TunnelOptions

    @Option(
        name: [.customShort("j"), .long],
        help: "Validate this JSON ingress configuration (durations in seconds) instead of the file (env: TUNNEL_INGRESS_VALIDATE_JSON).")
    var json: String?

    func run() throws {
        let environment = ProcessInfo.processInfo.environment
        let configuration: TunnelConfigFile
        let loaded = try report { try LoadedConfiguration.load(explicitPath: tunnel.options.config ?? options.config) }
        if let json = json ?? environment["TUNNEL_INGRESS_VALIDATE_JSON"] {
            print("Validating rules from cmdline flag --json")
            do {
                configuration = try TunnelConfigFile.parseValidateJSON(json)
            } catch {
                printError(error.description)
                throw ExitCode.failure
            }
        } else if let file = loaded.file {
            print("Validating rules from \(loaded.sourcePath)")
            configuration = file
        } else {
            print("No configuration file was found. Please create one, or use the --config flag to specify its filepath. You can use the help command to learn more about configuration files")
            throw ExitCode.failure
        }
        do {
            _ = try Ingress(configuration: configuration)
        } catch {
            printError("Validation failed: \(error)")
            throw ExitCode.failure
        }
        let settings = try report { try SettingsResolver().resolve(commandLine: [:], environment: environment, file: loaded.file) }
        if settings.isSet("url") {
            printError(ConfigurationError.urlWithIngressRules().description)
            throw ExitCode.failure
        }
        if !configuration.warnings.isEmpty {
            print("Warning: unused keys detected in your config file. Here is a list of unused keys:")
            print((["yaml: unmarshal errors:"] + configuration.warnings.map { "  \($0)" }).joined(separator: "\n"))
            return
        }
        print("OK")
    }
}

/// `tunnelctl tunnel ingress rule URL`: shows which rule a request to URL would match.
struct TunnelIngressRuleCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rule",
        abstract: "Show which ingress rule matches a URL.",
        discussion: "Prints the 0-based index of the first matching rule and the rule itself. The port in the URL is ignored."
    )

    @ParentCommand var tunnel: TunnelCommand
    @OptionGroup var options: TunnelOptions

    @Argument(help: ArgumentHelp("The URL to test, e.g. https://app.example.com/api.", valueName: "url"))
    var urls: [String] = []

    func run() throws {
        guard urls.count == 1, let argument = urls.first else {
            printError("tunnelctl tunnel rule expects a single argument, the URL to test")
            throw ExitCode.failure
        }
        let loaded = try report { try LoadedConfiguration.load(explicitPath: tunnel.options.config ?? options.config) }
        print("Using rules from \(loaded.sourcePath)")
        let ingress: Ingress
        do {
            ingress = try Ingress(configuration: loaded.file ?? TunnelConfigFile())
        } catch {
            printError("Validation failed: \(error)")
            throw ExitCode.failure
        }
        let request: (host: String, path: String)
        do {
            request = try Ingress.testRequest(forURL: argument)
        } catch {
            printError(error.description)
            throw ExitCode.failure
        }
        let index = ingress.matchingRuleIndex(host: request.host, path: request.path)
        print("Matched rule #\(index)")
        print(ingress.rules[index].multiLineDescription)
    }
}

/// Runs `body`; a configuration error is printed on stderr and ends the command with status 1.
private func report<T>(_ body: () throws -> T) throws -> T {
    do {
        return try body()
    } catch let error as ConfigurationError {
        printError(error.description)
        throw ExitCode.failure
    }
}
