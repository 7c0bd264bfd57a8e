import Foundation
import Logging
import TunnelCore

/// Writes cloudflared-style console lines to standard error, one per event:
/// `2026-11-26T15:04:05Z INF Registered tunnel connection connIndex=0 connection=… protocol=http2`
/// (UTC timestamp, `DBG`/`INF`/`WRN`/`ERR`/`FTL`, message, metadata as sorted `key=value`), or
/// with `--log-format json` one JSON object per line with zerolog's keys (`level`, `time`,
/// `message`, then the metadata), as cloudflared's `--output json` writes them.
struct ConsoleLogHandler: LogHandler {
    /// How lines look.
    enum Format: String, CaseIterable, Sendable {
        case text
        case json
    }

    var logLevel: Logger.Level
    var metadata: Logger.Metadata = [:]
    var metadataProvider: Logger.MetadataProvider?
    let format: Format

    init(label: String, level: Logger.Level, format: Format = ConsoleLogHandler.environmentFormat, metadataProvider: Logger.MetadataProvider? = nil) {
        self.logLevel = level
        self.format = format
        self.metadataProvider = metadataProvider
    }

    /// `TUNNEL_LOG_FORMAT`, for the lines written before the flags are read.
    static var environmentFormat: Format {
        ProcessInfo.processInfo.environment["TUNNEL_LOG_FORMAT"].flatMap { Format(rawValue: $0.lowercased()) } ?? .text
    }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        var merged = metadata
        if let provided = metadataProvider?.get() { merged.merge(provided) { $1 } }
        if let extra = event.metadata { merged.merge(extra) { $1 } }
        if format == .json {
            FileHandle.standardError.write(Data(Self.jsonLine(level: event.level, message: event.message.description, metadata: merged).utf8))
            return
        }
        var line = Self.timestamp(Date()) + " " + Self.abbreviation(event.level) + " " + event.message.description
        for key in merged.keys.sorted() {
            line += " \(key)=\(Self.format(merged[key]!))"
        }
        line += "\n"
        FileHandle.standardError.write(Data(line.utf8))
    }

    /// One JSON object and a newline: `level`, `time`, `message`, then the metadata sorted.
    static func jsonLine(level: Logger.Level, message: String, metadata: Logger.Metadata, date: Date = Date()) -> String {
        let name: String
        switch level {
        case .trace, .debug: name = "debug"
        case .info, .notice: name = "info"
        case .warning: name = "warn"
        case .error: name = "error"
        case .critical: name = "fatal"
        }
        var fields = [("level", name), ("time", timestamp(date)), ("message", message)]
        for key in metadata.keys.sorted() where !["level", "time", "message"].contains(key) {
            fields.append((key, format(metadata[key]!, quoted: false)))
        }
        return GoJSON.object(fields) + "\n"
    }

    /// `DBG`, `INF`, `WRN`, `ERR` or `FTL`.
    static func abbreviation(_ level: Logger.Level) -> String {
        switch level {
        case .trace, .debug: "DBG"
        case .info, .notice: "INF"
        case .warning: "WRN"
        case .error: "ERR"
        case .critical: "FTL"
        }
    }

    /// Parses `--loglevel` as cloudflared does: debug, info, warn, error, fatal (and a few aliases).
    static func level(named name: String) -> Logger.Level? {
        switch name.lowercased() {
        case "trace": .trace
        case "debug": .debug
        case "info": .info
        case "warn", "warning": .warning
        case "error": .error
        case "fatal", "panic": .critical
        default: nil
        }
    }

    private static func format(_ value: Logger.Metadata.Value, quoted: Bool = true) -> String {
        let text: String
        switch value {
        case .string(let s): text = s
        case .stringConvertible(let s): text = s.description
        case .array(let items): text = "[" + items.map { format($0) }.joined(separator: " ") + "]"
        case .dictionary(let fields): text = "{" + fields.keys.sorted().map { "\($0)=\(format(fields[$0]!))" }.joined(separator: " ") + "}"
        }
        guard quoted else { return text }
        return text.contains(" ") || text.isEmpty ? String(reflecting: text) : text
    }

    private static func timestamp(_ date: Date) -> String {
        var time = time_t(date.timeIntervalSince1970)
        var parts = tm()
        gmtime_r(&time, &parts)
        return String(
            format: "%04d-%02d-%02dT%02d:%02d:%02dZ",
            Int(parts.tm_year) + 1900, Int(parts.tm_mon) + 1, Int(parts.tm_mday),
            Int(parts.tm_hour), Int(parts.tm_min), Int(parts.tm_sec))
    }
}
