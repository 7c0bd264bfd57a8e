// Settings of the control plane that edge.yml sets: kept here, below the control plane, so that
// the edge's configuration file produces them directly (TunnelControl uses them as they are).

/// How logins and the origin certificates they issue behave.
public struct LoginSettings: Sendable, Hashable {
    /// How long an issued origin certificate is valid, in days. Default 3653 (10 years with their leap days).
    public var certificateValidityDays: Int
    /// How long a poll (`GET /login-store/{key}`) is held waiting for the approval before it
    /// is answered 404. Default 50 s: cloudflared's client gives up on one request after 60 s.
    public var pollHold: Duration
    /// How long after the sign-in page was first opened a login may still be approved and
    /// collected. Default 10 minutes.
    public var lifetime: Duration
    /// How long a browser stays signed in. Default 15 minutes.
    public var sessionLifetime: Duration
    /// The bcrypt cost of new password hashes (log2 rounds). Default 12.
    public var passwordCost: UInt8
    /// Failed sign-ins per user name per 15 minutes before sign-in is refused with 429. Default 5.
    public var signInAttempts: Int

    /// Creates settings; every value has the default above.
    public init(certificateValidityDays: Int = 3653, pollHold: Duration = .seconds(50), lifetime: Duration = .seconds(600), sessionLifetime: Duration = .seconds(900), passwordCost: UInt8 = 12, signInAttempts: Int = 5) {
        self.certificateValidityDays = certificateValidityDays
        self.pollHold = pollHold
        self.lifetime = lifetime
        self.sessionLifetime = sessionLifetime
        self.passwordCost = passwordCost
        self.signInAttempts = signInAttempts
    }
}

/// Quick tunnels: anonymous, short-lived tunnels that `tunnelctl tunnel --url URL` and
/// `cloudflared tunnel --quick-service http://EDGE --url URL` ask for with `POST /tunnel`
/// (management-api.md A7, edge-protocol.md §10).
public struct QuickTunnelSettings: Sendable, Hashable {
    /// The domain of quick hostnames (`<four words>.<domain>`). Default `quick.localhost`:
    /// `*.localhost` resolves to the loopback address, so a local edge's quick tunnels open in
    /// a browser or curl as they are.
    public var domain: String
    /// Quick tunnels one source address may hold at once. Default 10.
    public var perAddress: Int
    /// How long a quick tunnel lives at most. Default 24 h.
    public var lifetime: Duration
    /// How long a quick tunnel waits for its connector's first connection. Default 5 minutes.
    public var connectWithin: Duration
    /// How long a quick tunnel whose connections were lost (not unregistered) waits for them
    /// to come back. Default 30 s. A connector that unregisters takes its tunnel with it at once.
    public var reconnectWithin: Duration

    /// Creates settings; every value has the default above.
    public init(domain: String = "quick.localhost", perAddress: Int = 10, lifetime: Duration = .seconds(86_400), connectWithin: Duration = .seconds(300), reconnectWithin: Duration = .seconds(30)) {
        self.domain = domain.lowercased()
        self.perAddress = perAddress
        self.lifetime = lifetime
        self.connectWithin = connectWithin
        self.reconnectWithin = reconnectWithin
    }
}

