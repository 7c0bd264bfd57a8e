public import NIOHPACK

/// The response HEADERS of a proxied stream (edge-protocol.md 7.2), in both directions:
/// the connector builds one and writes ``headers``; the edge parses received fields with
/// ``init(headers:limits:)``.
public struct TunnelResponseHead: Sendable {
    /// HTTP status (cloudflared rewrites an origin 101 to 200).
    public var status: Int
    /// The origin's headers, carried serialized in `cf-cloudflared-response-headers`;
    /// `nil` when the field is absent (Go-generated answers, control and configuration streams).
    public var userHeaders: [SerializedHeaderField]?
    /// `cf-cloudflared-response-meta`; `nil` when absent.
    public var meta: ResponseMeta?
    /// Other plain HTTP/2 fields (`content-length`, `content-type`, `date`, tracing, …),
    /// without `:status` and the two fields above.
    public var fields: HPACKHeaders

    /// A response head.
    public init(
        status: Int,
        userHeaders: [SerializedHeaderField]? = nil,
        meta: ResponseMeta? = nil,
        fields: HPACKHeaders = [:]
    ) {
        self.status = status
        self.userHeaders = userHeaders
        self.meta = meta
        self.fields = fields
    }

    /// An answer from the origin: `meta {"src":"origin"}` and the serialized user headers.
    public static func origin(status: Int, headers: [SerializedHeaderField], fields: HPACKHeaders = [:]) -> Self {
        Self(status: status, userHeaders: headers, meta: .origin, fields: fields)
    }

    /// The connector's own failure answer: 502, `{"src":"cloudflared"}`, `content-length: 0`.
    public static func connectorError(flowRateLimited: Bool = false) -> Self {
        Self(
            status: 502, meta: flowRateLimited ? .flowRateLimited : .cloudflared,
            fields: ["content-length": "0"])
    }

    /// The HTTP/2 field list: `:status`, the serialized headers, the meta, then ``fields``.
    public var headers: HPACKHeaders {
        var out = HPACKHeaders()
        out.reserveCapacity(self.fields.count + 3)
        out.add(name: ":status", value: String(self.status))
        if let userHeaders = self.userHeaders {
            // Large and unique per response: keep it out of the HPACK dynamic table.
            out.add(name: TunnelHeaderName.responseHeaders, value: SerializedHeaders.encode(userHeaders), indexing: .nonIndexable)
        }
        if let meta = self.meta {
            out.add(name: TunnelHeaderName.responseMeta, value: meta.headerValue)
        }
        out.add(contentsOf: self.fields)
        return out
    }

    /// Parses received response fields.
    public init(headers: HPACKHeaders, limits: SerializedHeaders.Limits = .init()) throws(TunnelResponseHeadError) {
        guard let statusText = headers.first(name: ":status"), let status = Int(statusText), (100...999).contains(status)
        else { throw TunnelResponseHeadError(reason: .missingStatus) }
        var userHeaders: [SerializedHeaderField]?
        var meta: ResponseMeta?
        var fields = HPACKHeaders()
        for (name, value, indexing) in headers {
            switch name {
            case ":status":
                continue
            case TunnelHeaderName.responseHeaders where userHeaders == nil:
                do {
                    userHeaders = try SerializedHeaders.decode(value, limits: limits)
                } catch {
                    throw TunnelResponseHeadError(reason: .serializedHeaders(error))
                }
            case TunnelHeaderName.responseMeta where meta == nil:
                do {
                    meta = try ResponseMeta(headerValue: value)
                } catch {
                    throw TunnelResponseHeadError(reason: .meta(error))
                }
            default:
                fields.add(name: name, value: value, indexing: indexing)
            }
        }
        self.init(status: status, userHeaders: userHeaders, meta: meta, fields: fields)
    }
}

/// Received response fields could not be parsed into a ``TunnelResponseHead``.
public struct TunnelResponseHeadError: Error, Hashable, CustomStringConvertible {
    enum Reason: Hashable {
        case missingStatus
        case serializedHeaders(SerializedHeadersError)
        case meta(ResponseMetaError)
    }

    let reason: Reason

    /// The underlying serialized-header error, if that was the cause.
    public var serializedHeadersError: SerializedHeadersError? {
        if case .serializedHeaders(let error) = self.reason { return error }
        return nil
    }

    /// What went wrong and what to do next.
    public var description: String {
        switch self.reason {
        case .missingStatus: "response has no valid :status; answer the visitor 502"
        case .serializedHeaders(let error): "\(error); answer the visitor 502"
        case .meta(let error): "\(error)"
        }
    }
}
