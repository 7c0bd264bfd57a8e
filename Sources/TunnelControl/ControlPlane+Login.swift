import Foundation
import HummingbirdBcrypt
import Logging
import SwiftASN1
import X509
import NIOPosix
import Synchronization
public import TunnelCore
public import TunnelEdge

/// A signed-in browser: who, and the token its forms must carry.
struct BrowserSession: Sendable {
    var user: User
    var csrf: String
    var expires: ContinuousClock.Instant
}

/// The control plane's in-memory login state.
struct LoginState: Sendable {
    /// A poll waiting for an approval; `done` marks one that timed out or was woken before
    /// it registered.
    enum Waiter: Sendable {
        case waiting(CheckedContinuation<Void, Never>)
        case done
    }

    var ca: OriginCA?
    var settings = LoginSettings()
    var waiters: [String: [UUID: Waiter]] = [:]
    /// Keyed by the SHA-256 of the cookie value.
    var sessions: [String: BrowserSession] = [:]
}

/// A cert.pem as issued by a login: the PEM text (private key, origin certificate, token
/// block) and the record of its certificate.
public struct IssuedCertificatePEM: Sendable {
    /// The file's text, as `tunnelctl login` writes it.
    public var pem: String
    /// The stored record (ID, zone, token).
    public var record: OriginCertificateRecord
}

extension ControlPlane {
    // MARK: Settings

    /// Sets the origin CA and the login settings. Without a CA, the first login generates one
    /// in memory (fine for tests and embedding; `tunnelctl edge serve` keeps it in the state
    /// directory).
    public func configureLogin(ca: OriginCA?, settings: LoginSettings = LoginSettings()) {
        loginState.withLock {
            $0.ca = ca
            $0.settings = settings
        }
    }

    /// The login settings in force.
    public var loginSettings: LoginSettings { loginState.withLock { $0.settings } }

    func originCA() throws -> OriginCA {
        if let ca = loginState.withLock({ $0.ca }) { return ca }
        let generated = try OriginCA.generate()
        return loginState.withLock { state in
            if let ca = state.ca { return ca }
            state.ca = generated
            return generated
        }
    }

    // MARK: Users

    /// Adds a user to an account with a random password, returned once.
    public func addUser(accountIDOrName: String, name: String, actor: String = "admin") async throws -> (user: User, password: RedactedString) {
        guard let account = try await store.account(idOrName: accountIDOrName) else { throw ControlPlaneError.accountNotFound(accountIDOrName) }
        guard !name.isEmpty, name.count <= 64, name.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "-_.@".contains($0)) }) else {
            throw ControlPlaneError.invalidRequest("user name \(String(reflecting: name)) must be 1-64 letters, digits, '-', '_', '.' or '@'")
        }
        let password = Self.randomSecret(bytes: 15)
        let hash = try await Self.hashPassword(password, cost: loginSettings.passwordCost)
        let user = User(id: Self.randomTag(), accountID: account.id, name: name, createdAt: Date())
        try await store.insertUser(user, passwordHash: hash)
        try await store.appendAudit(AuditEvent(accountID: account.id, at: user.createdAt, action: .userAdded, actor: actor, metadata: ["user_id": user.id, "name": name]))
        logger.info("user added", metadata: ["account": "\(account.id)", "user": "\(name)"])
        return (user, RedactedString(password))
    }

    /// Removes a user: they cannot sign in, and every token their logins got is rolled.
    public func removeUser(name: String, actor: String = "admin") async throws -> User {
        guard let found = try await store.user(name: name) else { throw ControlPlaneError.userNotFound(name) }
        guard let user = try await store.removeUser(id: found.user.id, at: Date()) else { throw ControlPlaneError.userNotFound(name) }
        try await store.appendAudit(AuditEvent(accountID: user.accountID, at: user.removedAt ?? Date(), action: .userRemoved, actor: actor, metadata: ["user_id": user.id, "name": name]))
        loginState.withLock { state in state.sessions = state.sessions.filter { $0.value.user.id != user.id } }
        logger.info("user removed", metadata: ["account": "\(user.accountID)", "user": "\(name)"])
        return user
    }

    /// The users of an account.
    public func users(accountIDOrName: String) async throws -> [User] {
        guard let account = try await store.account(idOrName: accountIDOrName) else { throw ControlPlaneError.accountNotFound(accountIDOrName) }
        return try await store.users(accountID: account.id)
    }

    /// Rolls a user's API tokens: every cert.pem their logins got stops working; the next
    /// login issues a new one. Returns the rolled tokens.
    public func rollUserToken(name: String, actor: String = "admin") async throws -> [APITokenRecord] {
        guard let user = try await store.user(name: name)?.user else { throw ControlPlaneError.userNotFound(name) }
        let rolled = try await store.revokeTokens(accountID: user.accountID, name: nil, userID: user.id, at: Date(), reason: "rolled")
        try await store.appendAudit(AuditEvent(
            accountID: user.accountID, at: Date(), action: .tokenRolled, actor: actor,
            metadata: ["user_id": user.id, "name": name, "tokens": rolled.map(\.id).joined(separator: ",")]))
        logger.info("user tokens rolled", metadata: ["account": "\(user.accountID)", "user": "\(name)", "count": "\(rolled.count)"])
        return rolled
    }

    /// Rolls a service token: revokes every token named `name` that is not a user's (the
    /// service token and those of the cert.pem files it logged in for), and issues a new one.
    public func rollServiceToken(accountIDOrName: String, name: String, actor: String = "admin") async throws -> (token: IssuedToken, rolled: [APITokenRecord]) {
        guard let account = try await store.account(idOrName: accountIDOrName) else { throw ControlPlaneError.accountNotFound(accountIDOrName) }
        let rolled = try await store.revokeTokens(accountID: account.id, name: name, userID: nil, at: Date(), reason: "rolled")
        guard !rolled.isEmpty else { throw ControlPlaneError.tokenNotFound(name) }
        let token = try await mintToken(accountID: account.id, name: name, userID: nil, actor: actor)
        try await store.appendAudit(AuditEvent(
            accountID: account.id, at: Date(), action: .tokenRolled, actor: actor,
            metadata: ["name": name, "tokens": rolled.map(\.id).joined(separator: ","), "new_token_id": token.record.id]))
        return (token, rolled)
    }

    // MARK: Sign-in

    /// Checks a user's password (bcrypt, off the event loops). Unknown users cost the same
    /// time as known ones; failures per name are limited (``LoginSettings/signInAttempts``).
    public func signIn(name: String, password: String) async throws -> User {
        let attempts = loginSettings.signInAttempts
        let key = name.lowercased()
        if let wait = signInFailures.reached(key, limit: attempts) {
            throw ControlPlaneError.rateLimited(retryAfter: FixedWindowCounter.retryAfter(wait))
        }
        let found = name.count <= 64 && password.utf8.count <= 256 ? try await store.user(name: name) : nil
        let hash = found?.passwordHash ?? Self.unknownUserHash
        let matches = try await NIOThreadPool.singleton.runIfActive { Bcrypt.verify(password, hash: hash) }
        guard matches, let user = found?.user else {
            _ = signInFailures.add(key, limit: attempts)
            logger.notice("sign-in refused", metadata: ["user": "\(name.prefix(64))"])
            throw ControlPlaneError.signInFailed()
        }
        signInFailures.reset(key)
        return user
    }

    /// A hash that no password matches in practice, verified for unknown names so that their
    /// answer takes as long as a wrong password.
    static let unknownUserHash = Bcrypt.hash(randomSecret(bytes: 24), cost: 12)

    static func hashPassword(_ password: String, cost: UInt8) async throws -> String {
        try await NIOThreadPool.singleton.runIfActive { Bcrypt.hash(password, cost: cost) }
    }

    /// Starts a browser session for a signed-in user; returns the cookie value.
    func startSession(for user: User) -> (cookie: String, session: BrowserSession) {
        let cookie = Self.randomSecret(bytes: 32)
        let session = BrowserSession(user: user, csrf: Self.randomSecret(bytes: 24), expires: .now + loginSettings.sessionLifetime)
        loginState.withLock { state in
            let now = ContinuousClock.now
            if state.sessions.count > 10_000 { state.sessions = state.sessions.filter { $0.value.expires > now } }
            state.sessions[Self.digest(cookie)] = session
        }
        return (cookie, session)
    }

    /// The live session of a cookie value.
    func session(cookie: String?) -> BrowserSession? {
        guard let cookie, !cookie.isEmpty, cookie.count < 128 else { return nil }
        let digest = Self.digest(cookie)
        return loginState.withLock { state in
            guard let session = state.sessions[digest] else { return nil }
            guard session.expires > .now else {
                state.sessions.removeValue(forKey: digest)
                return nil
            }
            return session
        }
    }

    // MARK: Origin certificates

    /// Issues a cert.pem for a zone of an account: a new API token for the same user or
    /// service as `issuer`, an origin certificate for the zone and `*.zone` with its key, and the
    /// token block, in the layout cloudflared reads (credentials.md §1).
    public func issueCertificatePEM(accountID: String, zoneID: String, userID: String?, name: String, actor: String) async throws -> IssuedCertificatePEM {
        let zone = try await ownedZone(zoneID, accountID: accountID)
        let token = try await mintToken(accountID: accountID, name: name, userID: userID, actor: actor)
        let (certificate, key) = try originCA().issue(zone: zone.name, validityDays: loginSettings.certificateValidityDays)
        let record = OriginCertificateRecord(
            id: OriginCA.id(of: certificate), accountID: accountID, zoneID: zone.id, tokenID: token.record.id,
            issuedTo: userID == nil ? "service:\(name)" : "user:\(name)", hostnames: [zone.name, "*." + zone.name],
            certificatePEM: try certificate.serializeAsPEM().pemString, createdAt: Date(), expiresAt: certificate.notValidAfter)
        try await store.insertOriginCertificate(record)
        try await store.appendAudit(AuditEvent(
            accountID: accountID, at: record.createdAt, action: .originCertificateIssued, actor: actor,
            metadata: ["certificate_id": record.id, "zone": zone.name, "issued_to": record.issuedTo, "token_id": token.record.id]))
        let bundle = OriginCertificate(zoneID: zone.id, accountID: accountID, apiToken: token.value, certificate: certificate, privateKey: key)
        return IssuedCertificatePEM(pem: try bundle.pemEncoded(includeLegacyBlocks: true), record: record)
    }

    /// The cert.pem for a zone, for the bearer of `token` (the non-interactive login of a
    /// service or a user who has a token): the new token acts for the same user or service.
    public func issueCertificatePEM(for token: APITokenRecord, zoneID: String) async throws -> IssuedCertificatePEM {
        try await issueCertificatePEM(accountID: token.accountID, zoneID: zoneID, userID: token.userID, name: token.name, actor: "token:\(token.id)")
    }

    /// An account's origin certificates, of one zone when given.
    public func originCertificates(accountID: String, zoneID: String? = nil) async throws -> [OriginCertificateRecord] {
        try await store.originCertificates(accountID: accountID, zoneID: zoneID)
    }

    /// Revokes an origin certificate and the API token of its cert.pem. With `accountID`, only
    /// a certificate of that account.
    public func revokeOriginCertificate(id: String, accountID: String? = nil, actor: String = "admin") async throws -> OriginCertificateRecord {
        let id = id.lowercased()
        guard let existing = try await store.originCertificate(id: id), accountID == nil || existing.accountID == accountID else {
            throw ControlPlaneError.originCertificateNotFound(id)
        }
        guard let record = try await store.revokeOriginCertificate(id: id, at: Date()) else { throw ControlPlaneError.originCertificateNotFound(id) }
        if existing.revokedAt == nil {
            try await store.appendAudit(AuditEvent(
                accountID: record.accountID, at: record.revokedAt ?? Date(), action: .originCertificateRevoked, actor: actor,
                metadata: ["certificate_id": record.id, "token_id": record.tokenID, "issued_to": record.issuedTo]))
            logger.info("origin certificate revoked", metadata: ["account": "\(record.accountID)", "certificate": "\(record.id)"])
        }
        return record
    }

    // MARK: The login flow

    /// The SHA-256 of a login key, after checking it is what `tunnelctl login` (and
    /// cloudflared) make: URL-safe base64, with padding, of 32 bytes.
    static func loginKeyDigest(_ key: String) throws -> String {
        guard key.utf8.count == 44, key.hasSuffix("="), !key.dropLast().contains("="),
              key.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "-_=".contains($0)) }),
              let bytes = Data(base64Encoded: key.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")), bytes.count == 32
        else { throw ControlPlaneError.loginKeyInvalid() }
        return digest(key)
    }

    /// Records that the sign-in page was opened for `key` (the first time starts its
    /// lifetime); refuses used and expired keys.
    @discardableResult
    public func beginLogin(key: String) async throws -> LoginRequest {
        let digest = try Self.loginKeyDigest(key)
        let now = Date()
        // Used and expired keys are remembered for a day, so that a replay is told what happened.
        _ = try await store.purgeLogins(before: now.addingTimeInterval(-86_400))
        let request = try await store.beginLogin(LoginRequest(
            keyDigest: digest, state: .pending, createdAt: now, expiresAt: now.addingTimeInterval(loginSettings.lifetime.timeInterval)))
        if request.state == .consumed { throw ControlPlaneError.loginUsed() }
        if request.expiresAt <= now { throw ControlPlaneError.loginExpired() }
        return request
    }

    /// Approves the login of `key` for a zone of the signed-in user's account: issues the
    /// cert.pem and wakes the poll waiting for it.
    func approveLogin(key: String, user: User, zoneID: String) async throws -> OriginCertificateRecord {
        let digest = try Self.loginKeyDigest(key)
        try await checkLoginOpen(digest)
        let issued = try await issueCertificatePEM(accountID: user.accountID, zoneID: zoneID, userID: user.id, name: user.name, actor: "user:\(user.name)")
        guard try await store.approveLogin(keyDigest: digest, pem: issued.pem, now: Date()) else {
            // Approved twice at once, or expired meanwhile: nothing may stay issued.
            _ = try await store.revokeOriginCertificate(id: issued.record.id, at: Date())
            try await checkLoginOpen(digest)
            throw ControlPlaneError.loginUsed()
        }
        try await store.appendAudit(AuditEvent(
            accountID: user.accountID, at: Date(), action: .login, actor: "user:\(user.name)",
            metadata: ["user_id": user.id, "zone_id": zoneID, "certificate_id": issued.record.id]))
        logger.info("login approved", metadata: ["account": "\(user.accountID)", "user": "\(user.name)", "certificate": "\(issued.record.id)"])
        wakePolls(keyDigest: digest)
        return issued.record
    }

    /// Throws unless the login of `digest` is pending and unexpired.
    private func checkLoginOpen(_ digest: String) async throws {
        guard let request = try await store.loginRequest(keyDigest: digest) else { throw ControlPlaneError.loginKeyInvalid() }
        switch request.state {
        case .consumed, .approved: throw ControlPlaneError.loginUsed()
        case .pending where request.expiresAt <= Date(): throw ControlPlaneError.loginExpired()
        case .pending: return
        }
    }

    /// Takes the approved cert.pem of `key` at once (the page's download link), or throws.
    func downloadLogin(key: String) async throws -> String {
        let digest = try Self.loginKeyDigest(key)
        if let pem = try await store.consumeLogin(keyDigest: digest, now: Date()) { return pem }
        try await checkLoginOpen(digest)
        throw ControlPlaneError.loginWaiting()
    }

    /// The poll of `tunnelctl login` (`GET /login-store/{key}`): the cert.pem once it is
    /// approved, handed out once; held up to ``LoginSettings/pollHold`` before
    /// ``ControlPlaneError/loginWaiting(file:line:)``; used or expired keys are refused at once.
    public func pollLogin(key: String) async throws -> String {
        let digest = try Self.loginKeyDigest(key)
        let deadline = ContinuousClock.now + loginSettings.pollHold
        while true {
            if let pem = try await store.consumeLogin(keyDigest: digest, now: Date()) { return pem }
            if let request = try await store.loginRequest(keyDigest: digest) {
                if request.state == .consumed { throw ControlPlaneError.loginUsed() }
                if request.expiresAt <= Date() { throw ControlPlaneError.loginExpired() }
            }
            let remaining = deadline - .now
            guard remaining > .zero else { throw ControlPlaneError.loginWaiting() }
            // Woken by an approval on this node; the store is read again every few seconds
            // for approvals on another node sharing the database.
            await waitForApproval(keyDigest: digest, timeout: min(remaining, .seconds(5)))
        }
    }

    private func waitForApproval(keyDigest: String, timeout: Duration) async {
        let id = UUID()
        await withTaskGroup(of: Void.self) { group in
            group.addTask { [self] in
                await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                    let resumeNow = self.loginState.withLock { state -> Bool in
                        if case .done = state.waiters[keyDigest]?[id] { return true }
                        state.waiters[keyDigest, default: [:]][id] = .waiting(continuation)
                        return false
                    }
                    if resumeNow { continuation.resume() }
                }
            }
            group.addTask { try? await Task.sleep(for: timeout) }
            await group.next()
            group.cancelAll()
            let continuation = loginState.withLock { state -> CheckedContinuation<Void, Never>? in
                if case .waiting(let continuation) = state.waiters[keyDigest]?[id] {
                    state.waiters[keyDigest]?[id] = .done
                    return continuation
                }
                state.waiters[keyDigest, default: [:]][id] = .done
                return nil
            }
            continuation?.resume()
        }
        loginState.withLock { state in
            state.waiters[keyDigest]?.removeValue(forKey: id)
            if state.waiters[keyDigest]?.isEmpty == true { state.waiters.removeValue(forKey: keyDigest) }
        }
    }

    private func wakePolls(keyDigest: String) {
        let continuations = loginState.withLock { state -> [CheckedContinuation<Void, Never>] in
            var woken: [CheckedContinuation<Void, Never>] = []
            for (id, waiter) in state.waiters[keyDigest] ?? [:] {
                if case .waiting(let continuation) = waiter { woken.append(continuation) }
                state.waiters[keyDigest]?[id] = .done
            }
            return woken
        }
        for continuation in continuations { continuation.resume() }
    }
}
