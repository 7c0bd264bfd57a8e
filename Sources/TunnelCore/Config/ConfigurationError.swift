/// An error found while reading, decoding, resolving or validating a tunnel configuration.
///
/// ``description`` is cloudflared's own message text wherever cloudflared has one, so scripts and
/// users see the same words; ``ruleIndex`` and ``offendingValue`` say which ingress rule and which
/// value caused it. Two errors are equal when they have the same kind, rule and value.
public struct ConfigurationError: Error, Hashable, Sendable, CustomStringConvertible {
    private enum Code: Hashable, Sendable {
        case fileUnreadable
        case yamlSyntax
        case yamlType
        case noConfigurationFile
        case noIngressRules
        case invalidDuration
        case flagType
        case environmentValue
        case invalidStatusCodeSyntax
        case invalidStatusCode
        case invalidIPRule
        case unparsableServiceURL
        case serviceMissingSchemeOrHost
        case serviceHasPath
        case accessTeamNameBlank
        case hostnameContainsPort
        case badWildcard
        case lastRuleNotCatchAll
        case ruleMatchesEverything
        case invalidPathRegex
        case urlWithIngressRules
        case unsupportedURLScheme
        case invalidSettingValue
    }

    private let code: Code
    private let message: String
    /// The 0-based index of the ingress rule at fault, when the error concerns one rule.
    public let ruleIndex: Int?
    /// The value that was rejected (a hostname, service, path, key or file path), when there is one.
    public let offendingValue: String?
    /// Where in the source the error was raised (`#fileID:#line`), for bug reports.
    public let location: String

    private init(
        _ code: Code, _ message: String, rule: Int? = nil, value: String? = nil,
        file: String, line: Int
    ) {
        self.code = code
        self.message = message
        self.ruleIndex = rule
        self.offendingValue = value
        self.location = "\(file):\(line)"
    }

    /// The message, in cloudflared's words where it has them.
    public var description: String { message }

    public static func == (lhs: Self, rhs: Self) -> Bool {
        lhs.code == rhs.code && lhs.ruleIndex == rhs.ruleIndex && lhs.offendingValue == rhs.offendingValue
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(code)
        hasher.combine(ruleIndex)
        hasher.combine(offendingValue)
    }

    // MARK: Reading the file

    /// The configuration file could not be read; `reason` is the operating system's message.
    public static func fileUnreadable(
        path: String, reason: String, file: String = #fileID, line: Int = #line
    ) -> Self {
        Self(.fileUnreadable, "open \(path): \(reason)", value: path, file: file, line: line)
    }

    /// The YAML could not be parsed (syntax error, duplicate key).
    public static func yamlSyntax(
        path: String, detail: String, file: String = #fileID, line: Int = #line
    ) -> Self {
        Self(
            .yamlSyntax, "error parsing YAML in config file at \(path): \(detail)", value: path,
            file: file, line: line)
    }

    /// A typed field (`ingress`, `originRequest`, `warp-routing`) held a value of the wrong type.
    /// `problems` are yaml.v3-style lines such as ``line 3: cannot unmarshal !!str `5` into int``.
    public static func yamlType(
        path: String, problems: [String], file: String = #fileID, line: Int = #line
    ) -> Self {
        let detail = (["yaml: unmarshal errors:"] + problems.map { "  " + $0 }).joined(separator: "\n")
        return Self(
            .yamlType, "error parsing YAML in config file at \(path): \(detail)", value: path,
            file: file, line: line)
    }

    /// `ingress validate` was run with neither a configuration file nor `--json`.
    public static func noConfigurationFile(file: String = #fileID, line: Int = #line) -> Self {
        Self(
            .noConfigurationFile,
            "No configuration file was found. Please create one, or use the --config flag to specify its filepath. You can use the help command to learn more about configuration files",
            file: file, line: line)
    }

    /// There are no ingress rules to validate or match against.
    public static func noIngressRules(file: String = #fileID, line: Int = #line) -> Self {
        Self(.noIngressRules, "The config file doesn't contain any ingress rules", file: file, line: line)
    }

    /// A duration string is not in Go's format; `reason` is Go's `time: …` message.
    public static func invalidDuration(
        _ text: String, reason: String, file: String = #fileID, line: Int = #line
    ) -> Self {
        Self(.invalidDuration, reason, value: text, file: file, line: line)
    }

    // MARK: Flag keys and environment variables

    /// A top-level key naming a flag held the wrong YAML type, e.g. `expected string found int for edge-ip-version`.
    public static func flagType(
        key: String, expected: String, found: String, file: String = #fileID, line: Int = #line
    ) -> Self {
        Self(.flagType, "expected \(expected) found \(found) for \(key)", value: key, file: file, line: line)
    }

    /// An environment variable could not be parsed as the flag's type.
    public static func environmentValue(
        _ value: String, kind: String, variable: String, flag: String, reason: String,
        file: String = #fileID, line: Int = #line
    ) -> Self {
        Self(
            .environmentValue,
            "could not parse \(goQuote(value)) as \(kind) value from env var \(variable) for flag \(flag): \(reason)"
                .replacingBoolWording(kind: kind, value: value, flag: flag, reason: reason),
            value: variable, file: file, line: line)
    }

    /// A resolved setting has a value cloudflared rejects (`unknown protocol …`, `invalid value for edge-ip-version: …`).
    public static func invalidSettingValue(
        key: String, message: String, file: String = #fileID, line: Int = #line
    ) -> Self {
        Self(.invalidSettingValue, message, value: key, file: file, line: line)
    }

    // MARK: Ingress validation (messages from cloudflared `ingress/ingress.go`)

    /// `http_status:` is followed by something that is not an integer.
    public static func invalidStatusCodeSyntax(
        ruleIndex: Int, text: String, file: String = #fileID, line: Int = #line
    ) -> Self {
        Self(
            .invalidStatusCodeSyntax,
            "invalid HTTP status code: strconv.Atoi: parsing \(goQuote(text)): invalid syntax",
            rule: ruleIndex, value: text, file: file, line: line)
    }

    /// `http_status:` code outside 100…999.
    public static func invalidStatusCode(
        ruleIndex: Int, code: Int, file: String = #fileID, line: Int = #line
    ) -> Self {
        Self(.invalidStatusCode, "invalid HTTP status code: \(code)", rule: ruleIndex, value: String(code), file: file, line: line)
    }

    /// An `ipRules` entry of a `socks-proxy` rule is malformed.
    public static func invalidIPRule(
        ruleIndex: Int, reason: String, value: String, file: String = #fileID, line: Int = #line
    ) -> Self {
        Self(
            .invalidIPRule, "unable to create ip rule for socks-proxy: \(reason)", rule: ruleIndex,
            value: value, file: file, line: line)
    }

    /// The service URL does not parse; `reason` is Go's `net/url` message.
    public static func unparsableServiceURL(
        ruleIndex: Int, service: String, reason: String, file: String = #fileID, line: Int = #line
    ) -> Self {
        Self(
            .unparsableServiceURL, "parse \(goQuote(service)): \(reason)", rule: ruleIndex, value: service,
            file: file, line: line)
    }

    /// The service has no scheme or no host (this includes an empty service).
    public static func serviceMissingSchemeOrHost(
        ruleIndex: Int, service: String, file: String = #fileID, line: Int = #line
    ) -> Self {
        Self(
            .serviceMissingSchemeOrHost,
            "\(service) is an invalid address, please make sure it has a scheme and a hostname",
            rule: ruleIndex, value: service, file: file, line: line)
    }

    /// The service URL has a path, which cloudflared does not support.
    public static func serviceHasPath(
        ruleIndex: Int, service: String, file: String = #fileID, line: Int = #line
    ) -> Self {
        Self(
            .serviceHasPath,
            "\(service) is an invalid address, ingress rules don't support proxying to a different path on the origin service. The path will be the same as the eyeball request's path",
            rule: ruleIndex, value: service, file: file, line: line)
    }

    /// `access.required` is set with audience tags but no team name.
    public static func accessTeamNameBlank(
        ruleIndex: Int, file: String = #fileID, line: Int = #line
    ) -> Self {
        Self(
            .accessTeamNameBlank, "access.TeamName cannot be blank when access.audTags are present",
            rule: ruleIndex, file: file, line: line)
    }

    /// The rule hostname has a port.
    public static func hostnameContainsPort(
        ruleIndex: Int, hostname: String, file: String = #fileID, line: Int = #line
    ) -> Self {
        Self(.hostnameContainsPort, "Hostname cannot contain a port", rule: ruleIndex, value: hostname, file: file, line: line)
    }

    /// The rule hostname has a `*` anywhere but as the first character.
    public static func badWildcard(
        ruleIndex: Int, hostname: String, file: String = #fileID, line: Int = #line
    ) -> Self {
        Self(
            .badWildcard,
            "Hostname patterns can have at most one wildcard character (\"*\") and it can only be used for subdomains, e.g. \"*.example.com\"",
            rule: ruleIndex, value: hostname, file: file, line: line)
    }

    /// The last rule has a hostname or path, so some requests would match no rule.
    public static func lastRuleNotCatchAll(
        ruleIndex: Int, hostname: String, file: String = #fileID, line: Int = #line
    ) -> Self {
        Self(
            .lastRuleNotCatchAll,
            "The last ingress rule must match all URLs (i.e. it should not have a hostname or path filter)",
            rule: ruleIndex, value: hostname, file: file, line: line)
    }

    /// A rule before the last matches every request, so the rules after it are unreachable.
    public static func ruleMatchesEverything(
        ruleIndex: Int, hostname: String, file: String = #fileID, line: Int = #line
    ) -> Self {
        Self(
            .ruleMatchesEverything,
            "Rule #\(ruleIndex + 1) is matching the hostname '\(hostname)', but this will match every hostname, meaning the rules which follow it will never be triggered.",
            rule: ruleIndex, value: hostname, file: file, line: line)
    }

    /// The rule path is not a valid (RE2) regular expression; `reason` is Go's `regexp` message.
    public static func invalidPathRegex(
        ruleIndex: Int, path: String, reason: String, file: String = #fileID, line: Int = #line
    ) -> Self {
        Self(
            .invalidPathRegex, "Rule #\(ruleIndex + 1) has an invalid regex: \(reason)", rule: ruleIndex,
            value: path, file: file, line: line)
    }

    /// `--url` (or `TUNNEL_URL`) was given together with ingress rules.
    public static func urlWithIngressRules(file: String = #fileID, line: Int = #line) -> Self {
        Self(
            .urlWithIngressRules,
            "You can't set the --url flag (or $TUNNEL_URL) when using multiple-origin ingress rules",
            value: "url", file: file, line: line)
    }

    /// `--url` has a scheme tunnels cannot proxy.
    public static func unsupportedURLScheme(
        _ scheme: String, file: String = #fileID, line: Int = #line
    ) -> Self {
        Self(
            .unsupportedURLScheme, "Currently Cloudflare Tunnel does not support \(scheme) protocol.",
            value: scheme, file: file, line: line)
    }
}

extension String {
    /// urfave/cli words bool env errors differently from the other kinds.
    fileprivate func replacingBoolWording(kind: String, value: String, flag: String, reason: String) -> String {
        kind == "bool" ? "could not parse \(goQuote(value)) as bool value for flag \(flag): \(reason)" : self
    }
}
