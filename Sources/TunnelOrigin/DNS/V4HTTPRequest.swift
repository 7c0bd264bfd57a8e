public import AsyncHTTPClient
public import Foundation
import NIOCore
public import NIOHTTP1
public import TunnelCore

/// One bearer-authenticated JSON request to a Cloudflare-v4-style API, the way both the
/// control-plane client and ``CloudflareDNSProvider`` send them: the status and the whole body.
public struct V4HTTPRequest: Sendable {
    /// The method.
    public var method: HTTPMethod
    /// The full URL, query included.
    public var url: String
    /// The bearer token.
    public var token: RedactedString
    /// `Accept` (cloudflared sends `application/json;version=1`).
    public var accept: String
    /// `User-Agent`, when set.
    public var userAgent: String?
    /// A JSON body; `Content-Type: application/json` is sent only with one.
    public var body: Data?

    /// Creates a request.
    public init(method: HTTPMethod, url: String, token: RedactedString, accept: String = "application/json", userAgent: String? = nil, body: Data? = nil) {
        self.method = method
        self.url = url
        self.token = token
        self.accept = accept
        self.userAgent = userAgent
        self.body = body
    }

    /// Sends it with a 15 s deadline; returns the status, the `Retry-After` header and the body
    /// (at most `maxBodyBytes`). Transport failures throw as they come.
    public func send(with client: HTTPClient, maxBodyBytes: Int = 16 * 1024 * 1024) async throws -> (status: HTTPResponseStatus, retryAfter: String?, body: Data) {
        var request = HTTPClientRequest(url: url)
        request.method = method
        if let userAgent { request.headers.add(name: "User-Agent", value: userAgent) }
        request.headers.add(name: "Authorization", value: "Bearer \(token.value)")
        request.headers.add(name: "Accept", value: accept)
        if let body {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(bytes: body))
        }
        let response = try await client.execute(request, timeout: .seconds(15))
        let bytes = try await response.body.collect(upTo: maxBodyBytes)
        return (response.status, response.headers.first(name: "Retry-After"), Data(bytes.readableBytesView))
    }
}
