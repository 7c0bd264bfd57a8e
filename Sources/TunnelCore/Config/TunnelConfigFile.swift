import Foundation
import Yams

/// A parsed cloudflared `config.yml` (or JSON): the structured keys plus every other top-level key
/// as a flag value.
///
/// Reading follows cloudflared's `config/configuration.go`: only the first YAML document is used,
/// keys are case-sensitive, duplicate keys and type mismatches in the structured blocks are errors,
/// and unknown keys inside structured blocks become ``warnings``.
public struct TunnelConfigFile: Sendable, Equatable {
    /// `tunnel`: tunnel UUID or name for `tunnel run` without an argument.
    public var tunnel: String?
    /// `ingress`: the rules as written, in order.
    public var ingress: [IngressRuleConfig]
    /// Top-level `originRequest`: defaults for every rule.
    public var originRequest: OriginRequestOptions
    /// `warp-routing`: private network routing settings.
    public var warpRouting: WarpRoutingOptions
    /// Every other top-level key (`loglevel`, `credentials-file`, `retries`, …), applied to the
    /// command-line flag of the same long name by ``SettingsResolver``.
    public var flagValues: [String: ConfigValue]
    /// Unknown keys inside structured blocks, in file order. Not part of equality.
    public var warnings: [ConfigurationWarning]
    /// The path the file was read from, if any. Not part of equality.
    public var sourcePath: String?

    /// Creates a configuration.
    public init(
        tunnel: String? = nil, ingress: [IngressRuleConfig] = [],
        originRequest: OriginRequestOptions = OriginRequestOptions(),
        warpRouting: WarpRoutingOptions = WarpRoutingOptions(), flagValues: [String: ConfigValue] = [:],
        warnings: [ConfigurationWarning] = [], sourcePath: String? = nil
    ) {
        self.tunnel = tunnel
        self.ingress = ingress
        self.originRequest = originRequest
        self.warpRouting = warpRouting
        self.flagValues = flagValues
        self.warnings = warnings
        self.sourcePath = sourcePath
    }

    public static func == (lhs: Self, rhs: Self) -> Bool {
        lhs.tunnel == rhs.tunnel && lhs.ingress == rhs.ingress && lhs.originRequest == rhs.originRequest
            && lhs.warpRouting == rhs.warpRouting && lhs.flagValues == rhs.flagValues
    }

    /// Parses YAML or JSON text.
    ///
    /// - Parameters:
    ///   - text: The file contents.
    ///   - path: The path shown in error messages.
    /// - Returns: The configuration, or `nil` when the document is empty or only comments
    ///   (cloudflared then logs `Configuration file <path> was empty` and behaves as if there were
    ///   no file).
    /// - Throws: ``ConfigurationError`` for YAML syntax errors, duplicate keys and type mismatches.
    public static func parse(_ text: String, path: String) throws(ConfigurationError) -> TunnelConfigFile? {
        var source = text
        if source.drop(while: { $0.isWhitespace }).first == "{" {
            // JSON may indent with tabs, which YAML forbids outside flow context; valid JSON has
            // no raw tabs inside strings, so spaces are equivalent.
            source = source.replacingOccurrences(of: "\t", with: " ")
        }
        let root: Node?
        do {
            root = try Parser(yaml: source).nextRoot()
        } catch let error as YamlError {
            throw .yamlSyntax(path: path, detail: Self.describe(error, in: source))
        } catch {
            throw .yamlSyntax(path: path, detail: "yaml: \(error)")
        }
        guard let root else { return nil }
        if case .scalar(let scalar) = root, scalar.style == .plain,
            ["", "~", "null", "Null", "NULL"].contains(scalar.string)
        {
            return nil
        }
        var decoder = ConfigFileDecoder()
        var file = decoder.decodeRoot(root)
        if !decoder.problems.isEmpty {
            throw .yamlType(path: path, problems: decoder.problems)
        }
        file.warnings = decoder.warnings
        file.sourcePath = path
        return file
    }

    /// Reads and parses a configuration file.
    /// - Returns: `nil` when the file is empty (see ``parse(_:path:)``).
    /// - Throws: ``ConfigurationError/fileUnreadable(path:reason:file:line:)`` when the file
    ///   cannot be opened, or a parse error.
    public static func load(path: String) throws(ConfigurationError) -> TunnelConfigFile? {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw .fileUnreadable(path: path, reason: "no such file or directory")
        }
        if isDirectory.boolValue {
            throw .yamlSyntax(path: path, detail: "read \(path): is a directory")
        }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw .fileUnreadable(path: path, reason: "permission denied")
        }
        return try parse(String(decoding: data, as: UTF8.self), path: path)
    }

    /// Writes the configuration back as YAML that ``parse(_:path:)`` reads to an equal value.
    /// Durations are written in Go notation (`1m30s`); strings are always quoted.
    public func yamlString() -> String {
        ConfigFileEncoder.encode(self)
    }

    private static func describe(_ error: YamlError, in text: String) -> String {
        switch error {
        case .scanner(_, let problem, let mark, _), .parser(_, let problem, let mark, _),
            .composer(_, let problem, let mark, _):
            return "yaml: line \(mark.line): \(problem)"
        case .duplicatedKeysInMapping(let duplicates, let context):
            let key = duplicates.first ?? ""
            let first = context.mark.line
            let second = Self.lineOfRepeatedKey(key, after: first, in: text) ?? first
            return "yaml: unmarshal errors:\n  line \(second): mapping key \"\(key)\" already defined at line \(first)"
        case .reader(let problem, _, _, _):
            return "yaml: \(problem)"
        default:
            return "yaml: \(error)"
        }
    }

    /// Yams reports only the first occurrence of a duplicated key; yaml.v3 names the second.
    private static func lineOfRepeatedKey(_ key: String, after line: Int, in text: String) -> Int? {
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        guard line >= 1, line <= lines.count else { return nil }
        let indent = lines[line - 1].prefix { $0 == " " || $0 == "-" }.count
        for index in line..<lines.count {
            let candidate = lines[index]
            let body = candidate.dropFirst(indent)
            let lead = candidate.prefix { $0 == " " || $0 == "-" }.count
            if lead == indent && (body.hasPrefix("\(key):") || body.hasPrefix("\"\(key)\":") || body.hasPrefix("'\(key)':")) {
                return index + 1
            }
        }
        return nil
    }
}
