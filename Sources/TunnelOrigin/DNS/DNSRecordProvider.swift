/// Where a tunnel's DNS records are kept: the control plane's own zones, or a DNS provider
/// elsewhere (an RFC 2136 server, Cloudflare's API) for zones hosted there. Async and
/// `Sendable`, for embedders that manage their own records.
public protocol DNSRecordProvider: Sendable {
    /// Points `name` at `target` with a CNAME (`ttl` seconds). Another A, AAAA or CNAME at the
    /// name is replaced only with `overwrite`; otherwise ``DNSRecordProviderError`` names it.
    func setCNAME(name: String, target: String, ttl: UInt32, overwrite: Bool) async throws -> DNSRecordChange
    /// Removes the CNAME at `name`; removing one that is not there is not an error.
    func removeCNAME(name: String) async throws
}

/// What ``DNSRecordProvider/setCNAME(name:target:ttl:overwrite:)`` did.
public enum DNSRecordChange: Sendable, Hashable {
    /// There was no record at the name.
    case created
    /// The CNAME already pointed at the target.
    case unchanged
    /// Another record was replaced: its type and content.
    case replaced(type: String, content: String)
}

/// A refusal or failure of a DNS provider; the ``description`` says what to do.
public struct DNSRecordProviderError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The kind of failure.
    public enum Kind: Hashable, Sendable {
        /// Another record owns the name and overwriting was not asked for.
        case recordExists
        /// The server refused (not authoritative, updates not allowed, bad key).
        case refused
        /// The answer's signature did not verify, or the server rejected ours.
        case authentication
        /// No answer, or one that makes no sense.
        case unreachable
    }

    /// The kind of failure.
    public let kind: Kind
    /// What went wrong and what to do.
    public let message: String

    /// Creates an error.
    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    public var description: String { message }

    /// Another A, AAAA or CNAME record owns `name`; `location` names where (a server), if not here.
    /// Starts with Cloudflare's sentence, which scripts match.
    public static func recordExists(_ name: String, type: String, content: String, at location: String? = nil) -> Self {
        Self(.recordExists, "An A, AAAA or CNAME record already exists with that host: \(name) \(type) \(content)\(location.map { " at \($0)" } ?? ""). Use --overwrite-dns (-f) to replace it.")
    }
}
