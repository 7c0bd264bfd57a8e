public import Foundation

/// A real BIND9 `named` serving one zone on a loopback port, for tests of DNS-facing code (edge
/// discovery; RFC 2136 updates later). Stopped when released or by ``stop()``.
///
/// ```swift
/// let dns = try await BindServer(zone: "argotunnel.com", records: ["_v2-origintunneld._tcp IN SRV 1 1 7844 region1.v2"])
/// // ask 127.0.0.1:\(dns.port)
/// ```
public final class BindServer: @unchecked Sendable {
    /// The UDP and TCP port `named` listens on (127.0.0.1).
    public let port: Int
    /// The zone it serves.
    public let zone: String
    private let directory: URL
    private let process: PeerProcess

    /// Writes a configuration and a zone file holding `records` (zone-file lines relative to
    /// the zone origin, SOA and NS added), starts `named` in the foreground and waits until it
    /// answers. With `updateKey` (name, base64 HMAC-SHA256 secret) the zone takes RFC 2136
    /// updates signed with that key. Throws when BIND9 is not installed (`apt-get install bind9`).
    public init(zone: String, records: [String], updateKey: (name: String, secret: String)? = nil) async throws {
        guard let named = ["/usr/sbin/named", "/usr/bin/named"].first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
            throw PeerProcessError(message: "BIND9's named is not installed: run scripts/install-test-deps.sh (apt-get install bind9)")
        }
        self.zone = zone
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("bind-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        var lastError: any Error = PeerProcessError(message: "named did not start")
        // A free port can be taken between choosing and binding; try a few.
        for _ in 0..<5 {
            let port = Int.random(in: 20_000...60_000)
            let zoneFile = """
                $TTL 60
                @ IN SOA ns.\(zone). hostmaster.\(zone). 1 60 60 600 60
                @ IN NS ns.\(zone).
                ns IN A 127.0.0.1
                \(records.joined(separator: "\n"))

                """
            try zoneFile.write(to: directory.appendingPathComponent("zone.db"), atomically: true, encoding: .utf8)
            let config = """
                options {
                    directory "\(directory.path)";
                    pid-file "\(directory.path)/named.pid";
                    listen-on port \(port) { 127.0.0.1; };
                    listen-on-v6 { none; };
                    recursion no;
                    allow-query { any; };
                    dnssec-validation no;
                };
                \(updateKey.map { "key \"\($0.name)\" { algorithm hmac-sha256; secret \"\($0.secret)\"; };" } ?? "")
                zone "\(zone)" { type primary; file "\(directory.path)/zone.db"; \(updateKey.map { "allow-update { key \"\($0.name)\"; };" } ?? "") };

                """
            try config.write(to: directory.appendingPathComponent("named.conf"), atomically: true, encoding: .utf8)
            let process = try PeerProcess(named, ["-g", "-c", directory.appendingPathComponent("named.conf").path])
            do {
                _ = try await process.waitForLine(timeout: .seconds(20)) { $0.contains("all zones loaded") || $0.contains("exiting") }
                if process.isRunning, process.count(where: { $0.contains("all zones loaded") }) > 0 {
                    self.port = port
                    self.process = process
                    return
                }
                lastError = PeerProcessError(message: "named failed:\n\(process.outputLines.suffix(15).joined(separator: "\n"))")
            } catch {
                lastError = error
            }
            process.stop()
        }
        try? FileManager.default.removeItem(at: directory)
        throw lastError
    }

    /// Stops `named` and removes its files.
    public func stop() {
        process.stop()
        try? FileManager.default.removeItem(at: directory)
    }

    deinit { stop() }
}
