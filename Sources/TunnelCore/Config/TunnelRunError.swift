/// Why `tunnel run` cannot start: bad or missing input. The ``description`` says what to do next.
/// Two errors are equal when they have the same code.
public struct TunnelRunError: Error, Hashable, Sendable, CustomStringConvertible {
    enum Code: Hashable, Sendable {
        case invalidToken(String)
        case tokenFileUnreadable(String)
        case missingTunnelReference
        case tunnelNameNeedsAPI(String)
        case credentials(CredentialsError)
        case configuration(ConfigurationError)
        case unreadableCACert(path: String, reason: String)
        case invalidEdge(String)
        case unsupportedProtocol(String)
        case regionWithTokenEndpoint
        case invalidEdgeIPVersion(String)
        case invalidNumber(flag: String, value: Int)
        case invalidMetricsAddress(String)
    }

    let code: Code
    /// Where the error was raised in this library, for bug reports.
    public let location: String

    init(_ code: Code, file: String, line: Int) {
        self.code = code
        self.location = "\(file):\(line)"
    }

    public static func == (lhs: Self, rhs: Self) -> Bool { lhs.code == rhs.code }
    public func hash(into hasher: inout Hasher) { hasher.combine(code) }

    /// The token does not decode; `reason` says why.
    public static func invalidToken(_ reason: String, file: String = #fileID, line: Int = #line) -> Self { .init(.invalidToken(reason), file: file, line: line) }
    /// `--token-file` cannot be read.
    public static func tokenFileUnreadable(_ reason: String, file: String = #fileID, line: Int = #line) -> Self { .init(.tokenFileUnreadable(reason), file: file, line: line) }
    /// No tunnel given: no argument, no config `tunnel:`, no token, no credentials with an ID.
    public static func missingTunnelReference(file: String = #fileID, line: Int = #line) -> Self { .init(.missingTunnelReference, file: file, line: line) }
    /// A tunnel name (not a UUID) that only the API could resolve.
    public static func tunnelNameNeedsAPI(_ name: String, file: String = #fileID, line: Int = #line) -> Self { .init(.tunnelNameNeedsAPI(name), file: file, line: line) }
    /// A credentials file could not be found or read.
    public static func credentials(_ error: CredentialsError, file: String = #fileID, line: Int = #line) -> Self { .init(.credentials(error), file: file, line: line) }
    /// The configuration (file, flags, environment) is invalid.
    public static func configuration(_ error: ConfigurationError, file: String = #fileID, line: Int = #line) -> Self { .init(.configuration(error), file: file, line: line) }
    /// `--cacert` cannot be read as PEM certificates.
    public static func unreadableCACert(path: String, reason: String, file: String = #fileID, line: Int = #line) -> Self { .init(.unreadableCACert(path: path, reason: reason), file: file, line: line) }
    /// An `--edge` value that is not `host:port`.
    public static func invalidEdge(_ value: String, file: String = #fileID, line: Int = #line) -> Self { .init(.invalidEdge(value), file: file, line: line) }
    /// `--protocol` other than `http2` / `auto`.
    public static func unsupportedProtocol(_ value: String, file: String = #fileID, line: Int = #line) -> Self { .init(.unsupportedProtocol(value), file: file, line: line) }
    /// `--edge-ip-version` other than `4`, `6` or `auto`.
    public static func invalidEdgeIPVersion(_ value: String, file: String = #fileID, line: Int = #line) -> Self { .init(.invalidEdgeIPVersion(value), file: file, line: line) }
    /// `--region` together with a token or credentials that carry an endpoint.
    public static func regionWithTokenEndpoint(file: String = #fileID, line: Int = #line) -> Self { .init(.regionWithTokenEndpoint, file: file, line: line) }
    /// A `--metrics` value that is not `host:port`.
    public static func invalidMetricsAddress(_ value: String, file: String = #fileID, line: Int = #line) -> Self { .init(.invalidMetricsAddress(value), file: file, line: line) }
    /// A count flag out of range.
    public static func invalidNumber(flag: String, value: Int, file: String = #fileID, line: Int = #line) -> Self { .init(.invalidNumber(flag: flag, value: value), file: file, line: line) }

    public var description: String {
        switch code {
        case .invalidToken(let reason):
            return "Provided Tunnel token is not valid. \(reason)"
        case .tokenFileUnreadable(let reason):
            return "Failed to read token file: \(reason)"
        case .missingTunnelReference:
            return "\"tunnelctl tunnel run\" requires the ID or name of the tunnel to run as the last command line argument or in the configuration file (tunnel:), or a --token."
        case .tunnelNameNeedsAPI(let name):
            return "\(String(reflecting: name)) is not a tunnel UUID, and resolving tunnel names needs the API, which tunnel run does not call. Pass the tunnel UUID, or --credentials-file with a credentials file that holds the TunnelID, or --token."
        case .credentials(let error):
            return error.description
        case .configuration(let error):
            return error.description
        case .unreadableCACert(let path, let reason):
            return "cannot load the edge CA certificates from --cacert \(path): \(reason). Pass a PEM file holding one or more CERTIFICATE blocks."
        case .invalidEdgeIPVersion(let value):
            return "invalid --edge-ip-version \(String(reflecting: value)): use 4, 6 or auto."
        case .invalidEdge(let value):
            return "invalid --edge \(String(reflecting: value)): expected host:port, e.g. 127.0.0.1:7844 or [::1]:7844."
        case .unsupportedProtocol(let value):
            return "--protocol \(value) is not supported: tunnelctl speaks http2 only. Use --protocol http2 (or leave it at auto)."
        case .regionWithTokenEndpoint:
            return "region provided with a token that has an endpoint. Remove --region (env TUNNEL_REGION)."
        case .invalidMetricsAddress(let value):
            return "invalid --metrics \(String(reflecting: value)): expected host:port, e.g. localhost:20241 or 127.0.0.1:0 (0 picks a free port)."
        case .invalidNumber(let flag, let value):
            return "--\(flag) must be at least 1, got \(value)."
        }
    }
}
