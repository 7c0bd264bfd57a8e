/// One PEM block as Go's `encoding/pem` sees it: a type label, optional headers and a body.
public struct PEMBlock: Hashable, Sendable {
    /// The label between `-----BEGIN ` and `-----`, e.g. `ARGO TUNNEL TOKEN`.
    public var type: String
    /// `Key: Value` header lines before the body (rare; kept for completeness).
    public var headers: [String: String]
    /// The base64-decoded body.
    public var bytes: [UInt8]

    /// Creates a block.
    public init(type: String, headers: [String: String] = [:], bytes: [UInt8]) {
        self.type = type
        self.headers = headers
        self.bytes = bytes
    }

    /// The block in PEM text form: body wrapped at 64 columns, ending with a newline.
    public var pemEncoded: String {
        var out = "-----BEGIN \(type)-----\n"
        for (key, value) in headers.sorted(by: { $0.key < $1.key }) {
            out += "\(key): \(value)\n"
        }
        if !headers.isEmpty { out += "\n" }
        let body = Base64.encode(bytes)
        var index = body.startIndex
        while index < body.endIndex {
            let end = body.index(index, offsetBy: 64, limitedBy: body.endIndex) ?? body.endIndex
            out += body[index..<end] + "\n"
            index = end
        }
        out += "-----END \(type)-----\n"
        return out
    }
}

/// Finds PEM blocks in text with the rules cloudflared's Go PEM decoder uses.
///
/// We do not use `PEMDocument.parseMultiple` here because cloudflared accepts files that it
/// rejects: any body line length, text between blocks, and malformed blocks (mismatched END
/// label, bad base64), which Go skips silently before resuming at the next `-----BEGIN` line.
/// Certificates and keys found this way are still parsed by swift-certificates.
public struct PEMBlockScanner: Sendable {
    /// A block that Go would have skipped, and why; we surface these as diagnostics.
    public struct SkippedBlock: Hashable, Sendable {
        /// The label of the skipped block.
        public var type: String
        /// Why it was skipped.
        public var reason: String
    }

    private var lines: [Substring]
    private var position = 0

    /// Blocks skipped so far.
    public private(set) var skipped: [SkippedBlock] = []

    /// Creates a scanner over PEM text; CRLF and LF line endings are both accepted.
    public init(_ text: String) {
        // "\r\n" is a single Character in Swift, so it is matched as a separator of its own.
        self.lines = text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" })
    }

    /// Scans every block in `text`.
    public static func blocks(in text: String) -> (blocks: [PEMBlock], skipped: [SkippedBlock]) {
        var scanner = PEMBlockScanner(text)
        var result: [PEMBlock] = []
        while let block = scanner.next() {
            result.append(block)
        }
        return (result, scanner.skipped)
    }

    /// The next well-formed block, or `nil` at the end of the text.
    public mutating func next() -> PEMBlock? {
        while position < lines.count {
            let line = lines[position]
            position += 1
            guard let type = Self.label(of: line, prefix: "-----BEGIN ") else { continue }
            if let block = readBlock(type: type) {
                return block
            }
        }
        return nil
    }

    private mutating func readBlock(type: String) -> PEMBlock? {
        let bodyStart = position
        var headers: [String: String] = [:]
        var body = ""
        var index = bodyStart
        var inHeaders = true
        while index < lines.count {
            let line = lines[index]
            if let endType = Self.label(of: line, prefix: "-----END ") {
                guard endType == type else {
                    skipped.append(.init(type: type, reason: "END label \(endType) does not match"))
                    return nil
                }
                let trimmed = body.filter { !$0.isWhitespace }
                guard let bytes = Base64.decode(trimmed) else {
                    skipped.append(.init(type: type, reason: "body is not valid base64"))
                    return nil
                }
                position = index + 1
                return PEMBlock(type: type, headers: headers, bytes: bytes)
            }
            if line.hasPrefix("-----BEGIN ") {
                skipped.append(.init(type: type, reason: "no END line"))
                return nil
            }
            // Like Go, lines with a colon right after BEGIN are headers (base64 has no colon).
            if inHeaders, let colon = line.firstIndex(of: ":") {
                let key = line[..<colon].trimmingASCIIWhitespace()
                headers[key] = line[line.index(after: colon)...].trimmingASCIIWhitespace()
                index += 1
                continue
            }
            inHeaders = false
            body += line
            index += 1
        }
        skipped.append(.init(type: type, reason: "no END line"))
        return nil
    }

    private static func label(of line: Substring, prefix: String) -> String? {
        let trimmed = line.trimmingTrailingASCIIWhitespace()
        guard trimmed.hasPrefix(prefix), trimmed.hasSuffix("-----"), trimmed.count >= prefix.count + 5 else {
            return nil
        }
        return String(trimmed.dropFirst(prefix.count).dropLast(5))
    }
}

extension StringProtocol {
    func trimmingTrailingASCIIWhitespace() -> SubSequence {
        var end = endIndex
        while end > startIndex, let previous = self[..<end].last, previous == " " || previous == "\t" || previous == "\r" {
            end = index(before: end)
        }
        return self[startIndex..<end]
    }

    func trimmingASCIIWhitespace() -> String {
        let trailingTrimmed = trimmingTrailingASCIIWhitespace()
        return String(trailingTrimmed.drop(while: { $0 == " " || $0 == "\t" }))
    }
}
