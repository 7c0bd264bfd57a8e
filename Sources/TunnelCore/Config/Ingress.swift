/// A validated, ordered set of ingress rules with a precompiled matcher.
///
/// Build it with ``init(rules:defaults:)`` (cloudflared's `validateIngress` checks, in its order
/// and with its messages), then call ``matchingRuleIndex(host:path:)`` for each request.
public struct Ingress: Sendable {
    /// The rules, in configuration order. The last one matches everything.
    public let rules: [IngressRule]
    private let index: IngressIndex

    /// Validates rules as written and compiles them.
    ///
    /// Per rule the checks run in cloudflared's order: service, `access`, hostname (port, wildcard
    /// position, catch-all placement), path regex. The first failure is thrown.
    /// - Parameters:
    ///   - rules: The `ingress` list.
    ///   - defaults: The top-level `originRequest` block.
    /// - Throws: ``ConfigurationError``; its ``ConfigurationError/ruleIndex`` is 0-based.
    public init(rules: [IngressRuleConfig], defaults: OriginRequestOptions = OriginRequestOptions()) throws(ConfigurationError) {
        guard !rules.isEmpty else { throw .noIngressRules() }
        let base = OriginRequestConfiguration().applying(defaults)
        var validated: [IngressRule] = []
        validated.reserveCapacity(rules.count)
        for (position, rule) in rules.enumerated() {
            let effective = base.applying(rule.originRequest)
            let service = try IngressService.parse(
                rule.service, ruleIndex: position, bastionMode: effective.bastionMode,
                ipRules: rule.originRequest.ipRules ?? [])
            if let access = rule.originRequest.access, access.required, access.teamName.isEmpty, !access.audTags.isEmpty {
                throw .accessTeamNameBlank(ruleIndex: position)
            }
            try Self.validateHostname(rule, position: position, count: rules.count)
            var path: PathPattern?
            if !rule.path.isEmpty {
                do {
                    path = try PathPattern(goPattern: rule.path)
                } catch {
                    throw .invalidPathRegex(ruleIndex: position, path: rule.path, reason: error.message)
                }
            }
            validated.append(
                IngressRule(
                    hostname: rule.hostname, path: path, service: service, originRequest: effective,
                    ruleOptions: rule.originRequest))
        }
        self.init(validatedRules: validated)
    }

    /// Builds the matcher over rules that are already valid. The last rule should be a catch-all;
    /// if none matches, ``matchingRuleIndex(host:path:)`` still returns the last index.
    public init(validatedRules: [IngressRule]) {
        precondition(!validatedRules.isEmpty, "an ingress needs at least one rule")
        rules = validatedRules
        index = IngressIndex(validatedRules)
    }

    /// Validates the ingress of a configuration file.
    public init(configuration file: TunnelConfigFile) throws(ConfigurationError) {
        try self.init(rules: file.ingress, defaults: file.originRequest)
    }

    /// What cloudflared does with no rules and no single-origin flag: answer 503 to everything.
    public static let serviceUnavailable = Ingress(validatedRules: [
        IngressRule(hostname: "", path: nil, service: .httpStatus(503))
    ])

    private static func validateHostname(_ rule: IngressRuleConfig, position: Int, count: Int) throws(ConfigurationError) {
        let hostname = rule.hostname
        if goSplitHostPort(Substring(hostname)) != nil {
            throw .hostnameContainsPort(ruleIndex: position, hostname: hostname)
        }
        if let star = hostname.lastIndex(of: "*"), star != hostname.startIndex {
            throw .badWildcard(ruleIndex: position, hostname: hostname)
        }
        let isCatchAll = (hostname.isEmpty || hostname == "*") && rule.path.isEmpty
        let isLast = position == count - 1
        if isLast && !isCatchAll { throw .lastRuleNotCatchAll(ruleIndex: position, hostname: hostname) }
        if !isLast && isCatchAll { throw .ruleMatchesEverything(ruleIndex: position, hostname: hostname) }
    }

    /// The index of the first rule matching a request (cloudflared `FindMatchingRule`).
    ///
    /// - Parameters:
    ///   - host: The request host; a `:port` suffix (and IPv6 brackets with a port) is ignored.
    ///     Compared case-insensitively, with internationalised names in punycode.
    ///   - path: The request path without the query string.
    /// - Returns: A 0-based rule index; the last rule when nothing else matches.
    public func matchingRuleIndex(host: String, path: String) -> Int {
        index.match(host: Self.comparableHost(host), path: Substring(path)) ?? rules.count - 1
    }

    /// The host without port; non-ASCII names normalised (ASCII case is folded by the index).
    private static func comparableHost(_ host: String) -> Substring {
        var hasColon = false
        var isASCII = true
        for byte in host.utf8 {
            if byte == UInt8(ascii: ":") { hasColon = true }
            if byte >= 0x80 { isASCII = false }
        }
        let bare = hasColon ? (goSplitHostPort(Substring(host)) ?? Substring(host)) : Substring(host)
        return isASCII ? bare : HostNormalizer.normalize(bare)
    }

    /// The first matching rule (see ``matchingRuleIndex(host:path:)``).
    public func matchingRule(host: String, path: String) -> IngressRule {
        rules[matchingRuleIndex(host: host, path: path)]
    }

    /// Reference implementation: tries every rule in order. Same answers as
    /// ``matchingRuleIndex(host:path:)``, without the index; for tests and benchmarks.
    public func matchingRuleIndexByScanning(host: String, path: String) -> Int {
        let bare = goSplitHostPort(Substring(host)) ?? Substring(host)
        return index.scan(host: HostNormalizer.normalize(bare), path: Substring(path)) ?? rules.count - 1
    }

    /// Splits an `ingress rule` argument into the host and path cloudflared matches on.
    ///
    /// - Throws: ``IngressTestURLError`` with cloudflared's message (`<arg> is not a valid URL`,
    ///   `<arg> doesn't have a hostname, consider adding a scheme`).
    public static func testRequest(forURL argument: String) throws(IngressTestURLError) -> (host: String, path: String) {
        let url: GoURL
        do {
            url = try GoURL.parse(argument)
        } catch {
            throw IngressTestURLError(message: "\(argument) is not a valid URL")
        }
        if url.hostname.isEmpty && url.scheme.isEmpty {
            throw IngressTestURLError(message: "\(argument) doesn't have a hostname, consider adding a scheme")
        }
        return (url.hostname, url.path)
    }
}

/// A rejected `ingress rule` argument; ``description`` is cloudflared's message.
public struct IngressTestURLError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The message.
    public let message: String
    /// The message.
    public var description: String { message }
}

/// Host lookup tables over the rules, so matching looks at the few rules whose hostname can match
/// instead of all of them, while keeping "first rule in file order wins".
///
/// Hosts are hashed from the last byte backwards (FNV-1a, ASCII lowercased on the fly), so one
/// pass over the request host yields the hash of the whole host (exact rules) and of every
/// `.suffix` (wildcard rules) without allocating. Candidates are confirmed by comparing bytes.
struct IngressIndex: Sendable {
    private struct Entry: Sendable {
        var key: [UInt8]
        var rules: [Int]
    }

    /// Normalised rule hostnames, by rule index.
    let normalizedHostnames: [String]
    private var exact: [UInt64: [Entry]] = [:]
    /// Keyed by the suffix a wildcard requires, including the dot (`.example.com`).
    private var wildcard: [UInt64: [Entry]] = [:]
    /// `hasWildcardOfLength[n]`: some wildcard suffix is `n` bytes long.
    private var hasWildcardOfLength = [Bool](repeating: false, count: 256)
    private var anyHost: [Int] = []
    private let paths: [PathPattern?]

    init(_ rules: [IngressRule]) {
        normalizedHostnames = rules.map { HostNormalizer.normalizeRuleHostname($0.hostname) }
        paths = rules.map(\.path)
        for (position, hostname) in normalizedHostnames.enumerated() {
            if hostname.isEmpty || hostname == "*" {
                anyHost.append(position)
            } else if hostname.hasPrefix("*.") {
                let suffix = Array(hostname.utf8.dropFirst())
                Self.insert(suffix, position, into: &wildcard)
                if suffix.count < hasWildcardOfLength.count { hasWildcardOfLength[suffix.count] = true }
            } else {
                Self.insert(Array(hostname.utf8), position, into: &exact)
            }
        }
    }

    private static func insert(_ key: [UInt8], _ rule: Int, into table: inout [UInt64: [Entry]]) {
        var hash = offsetBasis
        for byte in key.reversed() { hash = step(hash, byte) }
        if let slot = table[hash]?.firstIndex(where: { $0.key == key }) {
            table[hash]![slot].rules.append(rule)
        } else {
            table[hash, default: []].append(Entry(key: key, rules: [rule]))
        }
    }

    private static let offsetBasis: UInt64 = 0xcbf2_9ce4_8422_2325

    @inline(__always)
    private static func step(_ hash: UInt64, _ byte: UInt8) -> UInt64 {
        (hash ^ UInt64(byte)) &* 0x100_0000_01b3
    }

    @inline(__always)
    private static func lower(_ byte: UInt8) -> UInt8 {
        byte &- 0x41 < 26 ? byte | 0x20 : byte
    }

    /// Rule-by-rule reference matcher over a normalised host.
    func scan(host: Substring, path: Substring) -> Int? {
        let hostBytes = host.utf8
        for position in normalizedHostnames.indices {
            let rule = normalizedHostnames[position].utf8
            let hostMatches: Bool
            if rule.isEmpty || rule.elementsEqual("*".utf8) {
                hostMatches = true
            } else if rule.starts(with: "*.".utf8) {
                hostMatches = hostBytes.reversed().starts(with: rule.dropFirst().reversed())
            } else {
                hostMatches = hostBytes.elementsEqual(rule)
            }
            if hostMatches && (paths[position]?.matches(path) ?? true) { return position }
        }
        return nil
    }

    /// Matches a host that is lowercase ASCII already or that only needs ASCII lowercasing.
    func match(host: Substring, path: Substring) -> Int? {
        var best = Int.max
        func scan(_ candidates: [Int]) {
            for candidate in candidates {
                if candidate >= best { return }
                if paths[candidate]?.matches(path) ?? true {
                    best = candidate
                    return
                }
            }
        }
        func lookup(_ table: [UInt64: [Entry]], _ hash: UInt64, _ bytes: Substring.UTF8View.SubSequence) {
            guard let entries = table[hash] else { return }
            for entry in entries where entry.key.count == bytes.count
                && zip(entry.key, bytes).allSatisfy({ $0 == Self.lower($1) })
            {
                scan(entry.rules)
            }
        }
        let utf8 = host.utf8
        var hash = Self.offsetBasis
        var length = 0
        var position = utf8.endIndex
        let checkWildcards = !wildcard.isEmpty
        while position != utf8.startIndex {
            position = utf8.index(before: position)
            let byte = Self.lower(utf8[position])
            hash = Self.step(hash, byte)
            length += 1
            if checkWildcards && byte == UInt8(ascii: "."), length < hasWildcardOfLength.count, hasWildcardOfLength[length] {
                lookup(wildcard, hash, utf8[position...])
            }
        }
        lookup(exact, hash, utf8[...])
        scan(anyHost)
        return best == .max ? nil : best
    }
}
