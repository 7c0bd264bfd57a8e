import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import TunnelCore
import TunnelEdge

/// The login flow's web side, on the control plane's API listener:
///
/// - `GET /argotunnel?aud=&callback=<store>/<key>`: the sign-in page, then the zone picker;
/// - `POST /argotunnel/sign-in`, `/argotunnel/approve`, `/argotunnel/download`: its forms;
/// - `GET /login-store/<key>`: the long poll of `tunnelctl login` (credentials.md §4.1), 200
///   with the PEM once, 404 while waiting, 410 for a used or expired key, 400 for a bad one.
public enum LoginWeb {
    /// The sign-in page's path (cloudflared's `--loginURL` points here).
    public static let pagePath = "/argotunnel"
    /// The poll store's path prefix (the login URL's `callback` is this plus the key).
    public static let storePath = "/login-store/"
    static let cookieName = "tunnel_login"
    static let maxFormBytes = 16384

    /// Whether the login side serves `path`.
    static func handles(_ path: String) -> Bool {
        path == pagePath || path.hasPrefix(pagePath + "/") || path.hasPrefix(storePath)
    }

    /// The short code both the terminal and the page show for a key, so that the user can tell
    /// that the page belongs to their own `tunnelctl login`.
    public static func code(forKey key: String) -> String {
        let hex = ControlPlane.digest(key).uppercased()
        return String(hex.prefix(4)) + "-" + String(hex.dropFirst(4).prefix(4))
    }

    /// The key at the end of a callback URL.
    static func key(fromCallback callback: String) -> String {
        String(callback.split(separator: "/", omittingEmptySubsequences: false).last ?? "")
    }

    static func routes(controlPlane: ControlPlane) -> some HTTPResponder<ControlRequestContext> {
        let router = Router(context: ControlRequestContext.self)
        let handlers = LoginHandlers(controlPlane: controlPlane)
        router.get(RouterPath(pagePath)) { request, _ in try await handlers.page(request) }
        router.post(RouterPath(pagePath + "/sign-in")) { request, _ in try await handlers.signIn(request) }
        router.post(RouterPath(pagePath + "/approve")) { request, _ in try await handlers.approve(request) }
        router.post(RouterPath(pagePath + "/download")) { request, _ in try await handlers.download(request) }
        router.get(RouterPath(storePath + ":key")) { _, context in try await handlers.poll(key: context.parameters.get("key") ?? "") }
        return LoginErrorResponder(inner: router.buildResponder(), logger: controlPlane.logger)
    }

    /// An HTML page with the headers every login page carries: no caching, no framing, no
    /// script, and no referrer (the URL holds the login key).
    static func html(_ text: String, status: HTTPResponse.Status = .ok) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = "text/html; charset=utf-8"
        headers[.cacheControl] = "no-store"
        headers[.contentSecurityPolicy] = "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
        headers[HTTPField.Name("X-Frame-Options")!] = "DENY"
        headers[HTTPField.Name("Referrer-Policy")!] = "no-referrer"
        headers[HTTPField.Name("X-Content-Type-Options")!] = "nosniff"
        return Response(status: status, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(string: text)))
    }

    static func text(_ text: String, status: HTTPResponse.Status, contentType: String = "text/plain; charset=utf-8") -> Response {
        var headers = HTTPFields()
        headers[.contentType] = contentType
        headers[.cacheControl] = "no-store"
        headers[HTTPField.Name("X-Content-Type-Options")!] = "nosniff"
        return Response(status: status, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(string: text)))
    }
}

/// Sends login paths to the login routes and everything else to the v4 API.
struct LoginDispatchResponder<API: HTTPResponder, Login: HTTPResponder>: HTTPResponder
where API.Context == ControlRequestContext, Login.Context == ControlRequestContext {
    let api: API
    let login: Login

    func respond(to request: Request, context: ControlRequestContext) async throws -> Response {
        if LoginWeb.handles(request.uri.path) {
            return try await login.respond(to: request, context: context)
        }
        return try await api.respond(to: request, context: context)
    }
}

/// Login failures as pages (or plain text for the poll), with the status of the error.
struct LoginErrorResponder<Inner: HTTPResponder>: HTTPResponder where Inner.Context == ControlRequestContext {
    let inner: Inner
    let logger: Logger

    func respond(to request: Request, context: ControlRequestContext) async throws -> Response {
        let isPoll = request.uri.path.hasPrefix(LoginWeb.storePath)
        func render(_ status: Int, _ title: String, _ message: String) -> Response {
            let status = HTTPResponse.Status(code: status)
            if isPoll { return LoginWeb.text(message + "\n", status: status) }
            return LoginWeb.html(LoginPages.problem(title: title, message: message), status: status)
        }
        do {
            let response = try await inner.respond(to: request, context: context)
            if response.status == .notFound, response.headers[.contentType] == nil {
                return render(404, "Not found", "There is no such page; open the link that `tunnelctl login` printed.")
            }
            return response
        } catch let error as ControlPlaneError {
            if error.httpStatus >= 500 { logger.error("login request failed", metadata: ["path": "\(request.uri.path)", "error": "\(error)"]) }
            var response = render(error.httpStatus, "Cannot sign in", error.message)
            if let retryAfter = error.retryAfter { response.headers[.retryAfter] = "\(retryAfter)" }
            return response
        } catch let error as HTTPError {
            return render(Int(error.status.code), "Cannot sign in", error.body ?? "The request was not understood.")
        } catch {
            logger.error("login request failed", metadata: ["path": "\(request.uri.path)", "error": "\(error)"])
            return render(500, "Something went wrong", "The control plane failed; try again, and tell the edge administrator if it persists.")
        }
    }
}

/// The handlers of the login pages and the poll.
struct LoginHandlers: Sendable {
    let controlPlane: ControlPlane

    /// The key of a callback, checked and recorded (first visit starts its lifetime).
    func begin(callback: String?) async throws -> (callback: String, key: String) {
        guard let callback, !callback.isEmpty, callback.utf8.count <= 2048 else { throw ControlPlaneError.loginKeyInvalid() }
        let key = LoginWeb.key(fromCallback: callback)
        try await controlPlane.beginLogin(key: key)
        return (callback, key)
    }

    func page(_ request: Request) async throws -> Response {
        let (callback, key) = try await begin(callback: QueryParameters(request.uri.query)["callback"])
        guard let session = controlPlane.session(cookie: request.cookies[LoginWeb.cookieName]?.value) else {
            return LoginWeb.html(LoginPages.signIn(callback: callback, code: LoginWeb.code(forKey: key)))
        }
        return try await zonePicker(session: session, callback: callback, key: key)
    }

    func zonePicker(session: BrowserSession, callback: String, key: String) async throws -> Response {
        let account = try await controlPlane.store.account(idOrName: session.user.accountID)
        let zones = try await controlPlane.store.zones(accountID: session.user.accountID)
        return LoginWeb.html(LoginPages.pickZone(
            user: session.user, accountName: account?.name ?? session.user.accountID, zones: zones,
            callback: callback, code: LoginWeb.code(forKey: key), csrf: session.csrf))
    }

    func form(_ request: Request) async throws -> QueryParameters {
        var request = request
        let contentType = request.headers[.contentType]?.lowercased() ?? ""
        guard contentType.hasPrefix("application/x-www-form-urlencoded") else {
            throw ControlPlaneError.invalidRequest("expected a form (application/x-www-form-urlencoded)")
        }
        let body: ByteBuffer
        do {
            body = try await request.collectBody(upTo: LoginWeb.maxFormBytes)
        } catch is NIOTooManyBytesError {
            throw ControlPlaneError.bodyTooLarge(limit: LoginWeb.maxFormBytes)
        }
        return QueryParameters(String(buffer: body))
    }

    func signIn(_ request: Request) async throws -> Response {
        let form = try await form(request)
        let (callback, key) = try await begin(callback: form["callback"])
        let name = form["user"] ?? ""
        let user: User
        do {
            user = try await controlPlane.signIn(name: name, password: form["password"] ?? "")
        } catch let error as ControlPlaneError where error.httpStatus == 401 || error.httpStatus == 429 {
            var response = LoginWeb.html(
                LoginPages.signIn(callback: callback, code: LoginWeb.code(forKey: key), error: error.message, user: String(name.prefix(64))),
                status: HTTPResponse.Status(code: error.httpStatus))
            if let retryAfter = error.retryAfter { response.headers[.retryAfter] = "\(retryAfter)" }
            return response
        }
        let (cookie, _) = controlPlane.startSession(for: user)
        var headers = HTTPFields()
        headers[.location] = LoginWeb.pagePath + "?aud=&callback=" + ControlAPIClient.formEncode(callback)
        headers[.cacheControl] = "no-store"
        var response = Response(status: .seeOther, headers: headers)
        response.setCookie(Cookie(
            name: LoginWeb.cookieName, value: cookie, maxAge: Int(controlPlane.loginSettings.sessionLifetime.components.seconds),
            path: LoginWeb.pagePath, httpOnly: true, sameSite: .strict))
        return response
    }

    /// The signed-in session of a form, with its CSRF token checked.
    func session(_ request: Request, form: QueryParameters) throws -> BrowserSession {
        guard let session = controlPlane.session(cookie: request.cookies[LoginWeb.cookieName]?.value) else {
            throw ControlPlaneError.signInFailed()
        }
        guard let csrf = form["csrf"], csrf == session.csrf else {
            throw ControlPlaneError.invalidRequest("This form expired or came from another page; open the link that `tunnelctl login` printed again.")
        }
        return session
    }

    func approve(_ request: Request) async throws -> Response {
        let form = try await form(request)
        let (callback, key) = try await begin(callback: form["callback"])
        let session: BrowserSession
        do {
            session = try self.session(request, form: form)
        } catch let error as ControlPlaneError where error.httpStatus == 401 {
            return LoginWeb.html(LoginPages.signIn(callback: callback, code: LoginWeb.code(forKey: key), error: "Your session ended; sign in again."), status: .unauthorized)
        }
        guard let zoneID = form["zone"], !zoneID.isEmpty else { throw ControlPlaneError.invalidRequest("Pick a zone.") }
        let record = try await controlPlane.approveLogin(key: key, user: session.user, zoneID: zoneID)
        let zone = try await controlPlane.store.zone(id: record.zoneID)
        return LoginWeb.html(LoginPages.approved(zone: zone?.name ?? record.zoneID, certificateID: record.id, callback: callback, csrf: session.csrf))
    }

    func download(_ request: Request) async throws -> Response {
        let form = try await form(request)
        guard let callback = form["callback"] else { throw ControlPlaneError.loginKeyInvalid() }
        _ = try self.session(request, form: form)
        let pem = try await controlPlane.downloadLogin(key: LoginWeb.key(fromCallback: callback))
        var response = LoginWeb.text(pem, status: .ok, contentType: "application/x-pem-file")
        response.headers[.contentDisposition] = #"attachment; filename="cert.pem""#
        return response
    }

    func poll(key: String) async throws -> Response {
        let pem = try await controlPlane.pollLogin(key: key)
        return LoginWeb.text(pem, status: .ok, contentType: "application/x-pem-file")
    }
}
