#if canImport(FoundationEssentials)
public import FoundationEssentials
#else
public import Foundation
#endif

/// A POSIX (ustar) tar archive of regular files, built in memory: what `tunnelctl tunnel diag`
/// writes. Every tar reads it (`tar -tf`, Python's `tarfile`).
public struct TarArchive: Sendable {
    private var bytes: [UInt8] = []

    /// An empty archive.
    public init() {}

    /// Adds a file (mode 0644). `name` is at most 100 bytes of ASCII.
    public mutating func add(_ name: String, contents: [UInt8], modified: Date = Date()) {
        var header = [UInt8](repeating: 0, count: 512)
        func put(_ text: String, at offset: Int, width: Int) {
            for (index, byte) in text.utf8.prefix(width).enumerated() { header[offset + index] = byte }
        }
        func octal(_ value: Int, width: Int) -> String {
            let digits = String(value, radix: 8)
            return String(repeating: "0", count: max(0, width - 1 - digits.count)) + digits
        }
        put(String(name.prefix(100)), at: 0, width: 100)
        put(octal(0o644, width: 8), at: 100, width: 7)
        put(octal(0, width: 8), at: 108, width: 7)
        put(octal(0, width: 8), at: 116, width: 7)
        put(octal(contents.count, width: 12), at: 124, width: 11)
        put(octal(max(0, Int(modified.timeIntervalSince1970)), width: 12), at: 136, width: 11)
        put("        ", at: 148, width: 8)
        header[156] = UInt8(ascii: "0")
        put("ustar", at: 257, width: 6)
        put("00", at: 263, width: 2)
        put("tunnelctl", at: 265, width: 32)
        put("tunnelctl", at: 297, width: 32)
        let checksum = header.reduce(0) { $0 + Int($1) }
        put(octal(checksum, width: 7), at: 148, width: 6)
        header[154] = 0
        header[155] = UInt8(ascii: " ")
        bytes += header
        bytes += contents
        bytes += [UInt8](repeating: 0, count: (512 - contents.count % 512) % 512)
    }

    /// Adds a text file.
    public mutating func add(_ name: String, text: String, modified: Date = Date()) {
        add(name, contents: Array(text.utf8), modified: modified)
    }

    /// The archive's bytes, with the two zero blocks that end it.
    public var encoded: [UInt8] {
        bytes + [UInt8](repeating: 0, count: 1024)
    }
}
