import TunnelOrigin

/// A refusal or failure of the control plane, with the HTTP status and Cloudflare v4 error code
/// it is answered with.
///
/// The ``description`` says what is wrong and what to do next. Two errors are equal when they
/// have the same code and message, wherever they were thrown.
public struct ControlPlaneError: Error, Hashable, Sendable, CustomStringConvertible {
    enum Code: Hashable, Sendable {
        case unauthenticated
        case wrongAccount
        case invalidRequest
        case tunnelNotFound
        case invalidObjectIdentifier
        case noRoute
        case methodNotAllowed
        case nameTaken
        case bodyTooLarge
        case tunnelHasConnections
        case tunnelDeleted
        case accountNotFound
        case accountExists
        case zoneTaken
        case tokenNotFound
        case hostnameOutsideZones
        case recordExists
        case providerFailed
        case recordNotFound
        case rateLimited
        case storage
        case tokenRolled
        case userExists
        case userNotFound
        case signInFailed
        case loginKeyInvalid
        case loginUsed
        case loginExpired
        case loginWaiting
        case originCertificateNotFound
        case zoneNotFound
        case quickTunnelsOff
        case quickTunnelLimit
    }

    let code: Code

    /// What went wrong and what to do next.
    public let message: String

    /// Where the error was raised in this library, for bug reports.
    public let location: String

    /// For 429: seconds until the client may try again (the `Retry-After` header).
    public let retryAfter: Int?

    init(_ code: Code, _ message: String, retryAfter: Int? = nil, file: String = #fileID, line: UInt = #line) {
        self.code = code
        self.message = message
        self.retryAfter = retryAfter
        self.location = "\(file):\(line)"
    }

    public static func == (lhs: ControlPlaneError, rhs: ControlPlaneError) -> Bool {
        lhs.code == rhs.code && lhs.message == rhs.message
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(code)
        hasher.combine(message)
    }

    public var description: String { message }

    /// The HTTP status the API answers with.
    public var httpStatus: Int {
        switch code {
        case .unauthenticated, .tokenRolled, .signInFailed: 401
        case .wrongAccount: 403
        case .loginKeyInvalid: 400
        case .userNotFound, .loginWaiting, .originCertificateNotFound, .zoneNotFound: 404
        case .userExists: 409
        case .loginUsed, .loginExpired: 410
        case .quickTunnelsOff: 404
        case .quickTunnelLimit: 429
        case .invalidRequest, .tunnelHasConnections, .tunnelDeleted, .hostnameOutsideZones, .recordExists: 400
        case .tunnelNotFound, .invalidObjectIdentifier, .noRoute, .accountNotFound, .tokenNotFound: 404
        case .methodNotAllowed: 405
        case .nameTaken, .accountExists, .zoneTaken: 409
        case .providerFailed: 424
        case .recordNotFound: 404
        case .rateLimited: 429
        case .bodyTooLarge: 413
        case .storage: 500
        }
    }

    /// The numeric code in the v4 `errors` array (Docs/control-plane.md lists them).
    public var apiCode: Int {
        switch code {
        case .unauthenticated, .wrongAccount: 10000
        case .tokenRolled: 10001
        case .signInFailed: 10002
        case .loginKeyInvalid: 1001
        case .userExists: 1031
        case .userNotFound, .originCertificateNotFound, .zoneNotFound: 1030
        case .loginWaiting: 1040
        case .loginUsed: 1041
        case .loginExpired: 1042
        case .quickTunnelsOff: 1060
        case .quickTunnelLimit: 1062
        case .invalidRequest: 1001
        case .tunnelNotFound: 1002
        case .bodyTooLarge: 1004
        case .nameTaken: 1013
        case .tunnelHasConnections: 1022
        case .tunnelDeleted: 1023
        case .accountNotFound, .tokenNotFound: 1030
        case .accountExists, .zoneTaken: 1031
        case .recordExists: 1003
        case .hostnameOutsideZones: 1050
        case .providerFailed: 1061
        case .recordNotFound: 81044
        case .rateLimited: 971
        case .noRoute: 7000
        case .methodNotAllowed: 7001
        case .invalidObjectIdentifier: 7003
        case .storage: 1000
        }
    }

    /// The request carried no API token, or one that is unknown or revoked.
    public static func unauthenticated(file: String = #fileID, line: UInt = #line) -> Self {
        Self(.unauthenticated, "Authentication error", file: file, line: line)
    }

    /// The token belongs to another account than the one in the path.
    public static func wrongAccount(file: String = #fileID, line: UInt = #line) -> Self {
        Self(.wrongAccount, "Authentication error", file: file, line: line)
    }

    /// The request is malformed: `problem` says how.
    public static func invalidRequest(_ problem: String, file: String = #fileID, line: UInt = #line) -> Self {
        Self(.invalidRequest, problem, file: file, line: line)
    }

    /// No tunnel with this ID in the account.
    public static func tunnelNotFound(_ id: String, file: String = #fileID, line: UInt = #line) -> Self {
        Self(.tunnelNotFound, "Tunnel not found: no tunnel with ID \(id) in this account", file: file, line: line)
    }

    /// A path segment that must be an identifier is not one.
    public static func invalidObjectIdentifier(_ path: String, file: String = #fileID, line: UInt = #line) -> Self {
        Self(.invalidObjectIdentifier, "Could not route to \(path), perhaps your object identifier is invalid?", file: file, line: line)
    }

    /// No endpoint at this path.
    public static func noRoute(file: String = #fileID, line: UInt = #line) -> Self {
        Self(.noRoute, "No route for that URI", file: file, line: line)
    }

    /// The path exists but not with this method.
    public static func methodNotAllowed(file: String = #fileID, line: UInt = #line) -> Self {
        Self(.methodNotAllowed, "Method not allowed for this URI", file: file, line: line)
    }

    /// A live tunnel of the account already has this name.
    public static func nameTaken(_ name: String, file: String = #fileID, line: UInt = #line) -> Self {
        Self(.nameTaken, "You already have a tunnel named \(name); pick another name or delete that tunnel first", file: file, line: line)
    }

    /// The request body is over the limit.
    public static func bodyTooLarge(limit: Int, file: String = #fileID, line: UInt = #line) -> Self {
        Self(.bodyTooLarge, "Request body too large: the limit is \(limit) bytes", file: file, line: line)
    }

    /// Deleting a tunnel that still has live connections, without `cascade`.
    public static func tunnelHasConnections(_ id: String, file: String = #fileID, line: UInt = #line) -> Self {
        Self(.tunnelHasConnections, "Tunnel \(id) has active connections; stop its connectors first or delete with cascade (tunnel delete -f)", file: file, line: line)
    }

    /// The tunnel was deleted: no token, no connections.
    public static func tunnelDeleted(_ id: String, file: String = #fileID, line: UInt = #line) -> Self {
        Self(.tunnelDeleted, "Tunnel \(id) has been deleted", file: file, line: line)
    }

    /// No account with this name or ID.
    public static func accountNotFound(_ account: String, file: String = #fileID, line: UInt = #line) -> Self {
        Self(.accountNotFound, "No account \(account); list them with `tunnelctl edge account list`", file: file, line: line)
    }

    /// An account with this name exists already.
    public static func accountExists(_ name: String, file: String = #fileID, line: UInt = #line) -> Self {
        Self(.accountExists, "An account named \(name) exists already; list them with `tunnelctl edge account list`", file: file, line: line)
    }

    /// Another account holds this zone.
    public static func zoneTaken(_ zone: String, file: String = #fileID, line: UInt = #line) -> Self {
        Self(.zoneTaken, "The zone \(zone) belongs to another account already", file: file, line: line)
    }

    /// No API token with this ID.
    public static func tokenNotFound(_ id: String, file: String = #fileID, line: UInt = #line) -> Self {
        Self(.tokenNotFound, "No API token \(id); the tokens of an account are listed by `tunnelctl edge token list`", file: file, line: line)
    }

    /// A route for a hostname that no zone of the account holds.
    public static func hostnameOutsideZones(_ host: String, zones: [String], file: String = #fileID, line: UInt = #line) -> Self {
        Self(.hostnameOutsideZones, "\(host) is not in a zone of this account (\(zones.joined(separator: ", "))); route a hostname under one of them", file: file, line: line)
    }

    /// Another record owns the name and `overwrite_existing` was not set.
    public static func recordExists(_ host: String, type: String, content: String, file: String = #fileID, line: UInt = #line) -> Self {
        recordExistsAtProvider(DNSRecordProviderError.recordExists(host, type: type, content: content).message, file: file, line: line)
    }

    /// Another record owns the name at the zone's DNS provider.
    public static func recordExistsAtProvider(_ message: String, file: String = #fileID, line: UInt = #line) -> Self {
        Self(.recordExists, message, file: file, line: line)
    }

    /// The DNS provider of a zone hosted elsewhere failed (unreachable, refused, bad key).
    public static func providerFailed(_ zone: String, _ problem: String, file: String = #fileID, line: UInt = #line) -> Self {
        Self(.providerFailed, "The DNS provider of \(zone) did not take the record: \(problem)", file: file, line: line)
    }

    /// No DNS record with this ID in the zone.
    public static func recordNotFound(_ id: String, file: String = #fileID, line: UInt = #line) -> Self {
        Self(.recordNotFound, "Record not found: no DNS record \(id) in this zone", file: file, line: line)
    }

    /// Too many requests with one token.
    public static func rateLimited(retryAfter: Int, file: String = #fileID, line: UInt = #line) -> Self {
        Self(.rateLimited, "Please wait and consider throttling your request speed (retry after \(retryAfter) s)", retryAfter: retryAfter, file: file, line: line)
    }

    /// The API token was rolled or revoked (the user was removed or their token rolled, the
    /// service token rolled, the origin certificate revoked): a new login gets a new one.
    public static func tokenRolled(file: String = #fileID, line: UInt = #line) -> Self {
        Self(.tokenRolled, "The API token was rolled or revoked; run `tunnelctl login` to get a new cert.pem", file: file, line: line)
    }

    /// A present user has this name.
    public static func userExists(_ name: String, file: String = #fileID, line: UInt = #line) -> Self {
        Self(.userExists, "A user named \(name) exists already; list them with `tunnelctl edge user list`", file: file, line: line)
    }

    /// No present user with this name.
    public static func userNotFound(_ name: String, file: String = #fileID, line: UInt = #line) -> Self {
        Self(.userNotFound, "No user \(name); list them with `tunnelctl edge user list`", file: file, line: line)
    }

    /// Wrong user name or password (the two are not told apart).
    public static func signInFailed(file: String = #fileID, line: UInt = #line) -> Self {
        Self(.signInFailed, "Wrong user name or password", file: file, line: line)
    }

    /// The login key is not what `tunnelctl login` makes (URL-safe base64 of 32 bytes).
    public static func loginKeyInvalid(file: String = #fileID, line: UInt = #line) -> Self {
        Self(.loginKeyInvalid, "This is not a login link: the callback must end in the 44-character key that `tunnelctl login` prints; run `tunnelctl login` again", file: file, line: line)
    }

    /// The cert.pem of this login key was handed out already.
    public static func loginUsed(file: String = #fileID, line: UInt = #line) -> Self {
        Self(.loginUsed, "This login was used already: its cert.pem was downloaded once and is not kept; run `tunnelctl login` again for another", file: file, line: line)
    }

    /// The login key is older than the login lifetime.
    public static func loginExpired(file: String = #fileID, line: UInt = #line) -> Self {
        Self(.loginExpired, "This login expired before it was approved; run `tunnelctl login` again", file: file, line: line)
    }

    /// No cert.pem for this login key yet (the poll's "not yet").
    public static func loginWaiting(file: String = #fileID, line: UInt = #line) -> Self {
        Self(.loginWaiting, "No approved login for this key yet: sign in on the login page and approve, then poll again", file: file, line: line)
    }

    /// No origin certificate with this ID in the account.
    public static func originCertificateNotFound(_ id: String, file: String = #fileID, line: UInt = #line) -> Self {
        Self(.originCertificateNotFound, "No origin certificate \(id) in this account; list them with `tunnelctl edge origin-cert list`", file: file, line: line)
    }

    /// No zone with this ID or name in the account.
    public static func zoneNotFound(_ zone: String, file: String = #fileID, line: UInt = #line) -> Self {
        Self(.zoneNotFound, "No zone \(zone) in this account; the account's zones are listed by `tunnelctl edge zone list`", file: file, line: line)
    }

    /// This edge hands out no quick tunnels.
    public static func quickTunnelsOff(file: String = #fileID, line: UInt = #line) -> Self {
        Self(.quickTunnelsOff, "This edge has quick tunnels turned off (edge.yml quickTunnels); create a named tunnel with `tunnelctl tunnel create`", file: file, line: line)
    }

    /// The source address holds as many quick tunnels as it may.
    public static func quickTunnelLimit(_ limit: Int, file: String = #fileID, line: UInt = #line) -> Self {
        Self(.quickTunnelLimit, "This address already has \(limit) quick tunnels, the most it may hold; stop one, or create a named tunnel with `tunnelctl tunnel create`", file: file, line: line)
    }

    /// The store failed (disk full, file unreadable, corrupt database).
    public static func storage(_ problem: String, file: String = #fileID, line: UInt = #line) -> Self {
        Self(.storage, "The control-plane store failed: \(problem)", file: file, line: line)
    }
}
