public import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import TunnelCore

/// The client side of the browser login (`tunnelctl login`), as cloudflared does it
/// (credentials.md §4): a random key, the sign-in URL carrying it in `callback`, and polls of
/// the store until the cert.pem arrives.
public struct LoginClient: Sendable {
    /// What one poll got.
    public enum PollResult: Sendable, Equatable {
        /// The cert.pem text.
        case certificate(String)
        /// Not approved yet (404, or 200 with an empty body): poll again.
        case waiting
        /// Refused for good (used, expired or malformed key; 5xx): the server's message.
        case refused(status: Int, message: String)
    }

    /// The sign-in page, e.g. `http://127.0.0.1:8787/argotunnel`.
    public let loginURL: String
    /// The store prefix, e.g. `http://127.0.0.1:8787/login-store/`.
    public let callbackURL: String
    /// The login key: URL-safe base64 (with padding) of 32 random bytes.
    public let key: String
    let userAgent: String
    let httpClient: HTTPClient

    /// A login against the control plane whose API base is `apiURL`
    /// (`http://HOST:PORT/client/v4`): the page and the store are on the same listener.
    public init(apiURL: String, loginURL: String? = nil, callbackURL: String? = nil, userAgent: String = "tunnelctl", httpClient: HTTPClient = .shared) {
        var origin = apiURL.hasSuffix("/") ? String(apiURL.dropLast()) : apiURL
        if origin.hasSuffix("/client/v4") { origin = String(origin.dropLast("/client/v4".count)) }
        self.loginURL = loginURL ?? origin + LoginWeb.pagePath
        var callback = callbackURL ?? origin + LoginWeb.storePath
        if !callback.hasSuffix("/") { callback += "/" }
        self.callbackURL = callback
        self.key = ControlPlane.randomSecret(bytes: 32, padded: true)
        self.userAgent = userAgent
        self.httpClient = httpClient
    }

    /// The URL to open: the login URL with `aud=` and `callback=<callbackURL><key>`, keys
    /// sorted, as cloudflared builds it.
    public var signInURL: String {
        loginURL + "?aud=&callback=" + ControlAPIClient.formEncode(callbackURL + key)
    }

    /// The code the sign-in page shows for this login.
    public var code: String { LoginWeb.code(forKey: key) }

    /// One poll of `<callbackURL><key>`, waiting up to `timeout` for the answer.
    public func poll(timeout: TimeAmount = .seconds(60)) async throws -> PollResult {
        var request = HTTPClientRequest(url: callbackURL + key)
        request.headers.add(name: "User-Agent", value: userAgent)
        let response = try await httpClient.execute(request, timeout: timeout)
        let body = try await response.body.collect(upTo: 1 << 20)
        let text = String(buffer: body)
        switch response.status.code {
        case 200: return text.isEmpty ? .waiting : .certificate(text)
        case 404: return .waiting
        default: return .refused(status: Int(response.status.code), message: text.trimmingCharacters(in: .whitespacesAndNewlines))
        }
    }
}
