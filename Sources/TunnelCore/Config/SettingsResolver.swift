/// Where an effective setting came from.
public enum SettingSource: Sendable, Hashable {
    /// Given on the command line.
    case commandLine
    /// Taken from the named environment variable.
    case environment(String)
    /// Taken from config.yml.
    case configFile
    /// The built-in default.
    case defaultValue
}

/// An effective setting: the value and where it came from.
public struct ResolvedSetting: Sendable, Hashable {
    /// The value.
    public var value: SettingValue
    /// Its origin.
    public var source: SettingSource

    /// Creates a resolved setting.
    public init(value: SettingValue, source: SettingSource) {
        self.value = value
        self.source = source
    }

    /// Whether cloudflared would report the flag as set (`IsSet`): anything but the default.
    public var isSet: Bool { source != .defaultValue }
}

/// Computes effective settings from the command line, the environment and config.yml with
/// cloudflared's precedence (urfave/cli altsrc): command line > environment > file > default.
///
/// Pure: no process state is read. Rules (spec config.md §2):
/// - a config value applies only if the flag is not on the command line and **none** of its
///   environment variables is present, even set to the empty string;
/// - only non-zero config values apply (`true`, non-empty strings and lists, numbers and
///   durations > 0);
/// - an empty environment variable counts as "set" for string flags only; for the other kinds it
///   just blocks the config value.
public struct SettingsResolver: Sendable {
    /// The known flags, by name.
    public let definitions: [String: SettingDefinition]

    /// Creates a resolver over a flag catalogue (default: ``SettingDefinition/tunnelRun``).
    public init(definitions: [SettingDefinition] = SettingDefinition.tunnelRun) {
        self.definitions = Dictionary(definitions.map { ($0.name, $0) }, uniquingKeysWith: { $1 })
    }

    /// Resolves every known flag.
    ///
    /// - Parameters:
    ///   - commandLine: Values given as flags, by long name (only flags the user actually typed).
    ///   - environment: The process environment.
    ///   - file: The parsed config.yml, if any.
    /// - Returns: The effective settings.
    /// - Throws: ``ConfigurationError`` for a config value of the wrong type or an unparsable
    ///   environment value, with cloudflared's wording.
    public func resolve(
        commandLine: [String: SettingValue], environment: [String: String], file: TunnelConfigFile?
    ) throws(ConfigurationError) -> ResolvedSettings {
        var values: [String: ResolvedSetting] = [:]
        for definition in definitions.values.sorted(by: { $0.name < $1.name }) {
            if let value = commandLine[definition.name] {
                values[definition.name] = ResolvedSetting(value: value, source: .commandLine)
                continue
            }
            if let variable = definition.environmentVariables.first(where: { environment[$0] != nil }) {
                let text = environment[variable]!
                if let value = try Self.parseEnvironment(text, variable: variable, definition: definition) {
                    values[definition.name] = ResolvedSetting(value: value, source: .environment(variable))
                } else if let fallback = definition.defaultValue {
                    values[definition.name] = ResolvedSetting(value: fallback, source: .defaultValue)
                }
                continue
            }
            if definition.readsConfigFile, let raw = file?.flagValues[definition.name],
                let value = try Self.parseConfigValue(raw, definition: definition)
            {
                values[definition.name] = ResolvedSetting(value: value, source: .configFile)
                continue
            }
            if let fallback = definition.defaultValue {
                values[definition.name] = ResolvedSetting(value: fallback, source: .defaultValue)
            }
        }
        return ResolvedSettings(values: values, file: file)
    }

    static func parseEnvironment(
        _ text: String, variable: String, definition: SettingDefinition
    ) throws(ConfigurationError) -> SettingValue? {
        switch definition.kind {
        case .string:
            return .string(text)
        case .bool:
            if text.isEmpty { return nil }
            if ["1", "t", "T", "TRUE", "true", "True"].contains(text) { return .bool(true) }
            if ["0", "f", "F", "FALSE", "false", "False"].contains(text) { return .bool(false) }
            throw .environmentValue(
                text, kind: "bool", variable: variable, flag: definition.name,
                reason: "strconv.ParseBool: parsing \(goQuote(text)): invalid syntax")
        case .int:
            if text.isEmpty { return nil }
            guard let value = ConfigFileDecoder.parseInt(text) else {
                throw .environmentValue(
                    text, kind: "int", variable: variable, flag: definition.name,
                    reason: "strconv.ParseInt: parsing \(goQuote(text)): invalid syntax")
            }
            return .int(value)
        case .duration:
            if text.isEmpty { return nil }
            do {
                return .duration(try GoDuration.parse(text))
            } catch {
                throw .environmentValue(text, kind: "duration", variable: variable, flag: definition.name, reason: error.description)
            }
        case .stringList:
            if text.isEmpty { return nil }
            return .stringList(text.split(separator: ",").map { String($0).trimmedOfBlanks() })
        }
    }

    /// The applied value of a config key, or `nil` when it is a zero value (no effect).
    static func parseConfigValue(_ raw: ConfigValue, definition: SettingDefinition) throws(ConfigurationError) -> SettingValue? {
        let mismatch = ConfigurationError.flagType(key: definition.name, expected: definition.kind.goName, found: raw.goTypeName)
        switch (definition.kind, raw) {
        case (.string, .string(let text)):
            return text.isEmpty ? nil : .string(text)
        case (.int, .int(let value)):
            return value > 0 ? .int(value) : nil
        case (.bool, .bool(let value)):
            return value ? .bool(true) : nil
        case (.duration, .string(let text)):
            let duration = try GoDuration.parse(text)
            return duration > .zero ? .duration(duration) : nil
        case (.stringList, .list(let items)):
            var strings: [String] = []
            for item in items {
                guard case .string(let text) = item else {
                    // cloudflared prints the index's type here, so it always says `int`.
                    throw .invalidSettingValue(
                        key: definition.name, message: "expected string, found int for \(Self.goFormat(item))")
                }
                strings.append(text)
            }
            return strings.isEmpty ? nil : .stringList(strings)
        default:
            throw mismatch
        }
    }

    private static func goFormat(_ value: ConfigValue) -> String {
        switch value {
        case .null: "<nil>"
        case .bool(let b): String(b)
        case .int(let i): String(i)
        case .float(let d): String(d)
        case .string(let s): s
        case .list(let items): "[" + items.map(goFormat).joined(separator: " ") + "]"
        case .map(let fields): "map[" + fields.keys.sorted().map { "\($0):\(goFormat(fields[$0]!))" }.joined(separator: " ") + "]"
        }
    }
}

extension String {
    fileprivate func trimmedOfBlanks() -> String {
        String(drop(while: { $0 == " " || $0 == "\t" }).reversed().drop(while: { $0 == " " || $0 == "\t" }).reversed())
    }
}
