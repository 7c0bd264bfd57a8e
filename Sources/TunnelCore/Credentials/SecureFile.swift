import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Reading and writing secret files: written whole or not at all, with restrictive modes.
public enum SecureFile {
    /// Reads a whole file. A missing file or a directory is an error naming the path.
    public static func read(_ path: String) throws(CredentialsError) -> [UInt8] {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else {
            throw .unreadable(String(cString: strerror(errno)), path: path)
        }
        defer { close(descriptor) }
        guard isRegularFile(path) else {
            throw .unreadable("not a regular file", path: path)
        }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            let count = chunk.withUnsafeMutableBytes { systemRead(descriptor, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                throw .unreadable(String(cString: strerror(errno)), path: path)
            }
            if count == 0 { break }
            bytes.append(contentsOf: chunk[0..<count])
        }
        return bytes
    }

    /// Whether `path` is an existing regular file (following symlinks).
    public static func isRegularFile(_ path: String) -> Bool {
        // FileManager rather than stat(2): the C struct's owning module differs between
        // platforms, which trips MemberImportVisibility.
        var isDirectory: ObjCBool = false
        return FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) && !isDirectory.boolValue
    }

    /// Writes `bytes` to a new file at `path` with `mode`, atomically: the data goes to a
    /// temporary file in the same directory that is then linked into place, so readers never see
    /// a partial file. An existing file is never replaced (``CredentialsError/fileExists(path:file:line:)``).
    public static func writeNew(_ bytes: [UInt8], to path: String, mode: mode_t) throws(CredentialsError) {
        try write(bytes, to: path, mode: mode, replacing: false)
    }

    /// Writes `bytes` to `path` atomically with `mode`, replacing an existing file only when
    /// `replacing` is true.
    public static func write(_ bytes: [UInt8], to path: String, mode: mode_t, replacing: Bool) throws(CredentialsError) {
        let directory = path.contains("/") ? String(path[..<path.lastIndex(of: "/")!]) : "."
        let name = path.split(separator: "/").last.map(String.init) ?? path
        let temporary = "\(directory.isEmpty ? "/" : directory)/.\(name).\(UInt32.random(in: .min ... .max)).tmp"
        let descriptor = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode)
        guard descriptor >= 0 else {
            throw .writeFailed(String(cString: strerror(errno)), path: path)
        }
        var written = 0
        while written < bytes.count {
            let count = bytes[written...].withUnsafeBytes { systemWrite(descriptor, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                let reason = String(cString: strerror(errno))
                close(descriptor)
                unlink(temporary)
                throw .writeFailed(reason, path: path)
            }
            written += count
        }
        // The umask may have narrowed the mode; set it exactly.
        fchmod(descriptor, mode)
        guard fsync(descriptor) == 0 else {
            let reason = String(cString: strerror(errno))
            close(descriptor)
            unlink(temporary)
            throw .writeFailed(reason, path: path)
        }
        close(descriptor)
        defer { unlink(temporary) }
        if replacing {
            guard rename(temporary, path) == 0 else {
                throw .writeFailed(String(cString: strerror(errno)), path: path)
            }
        } else {
            // link(2) fails with EEXIST instead of replacing, which makes "never overwrite" atomic.
            guard link(temporary, path) == 0 else {
                if errno == EEXIST { throw .fileExists(path: path) }
                throw .writeFailed(String(cString: strerror(errno)), path: path)
            }
        }
    }

    /// Creates a directory (and missing parents) with `mode` if it does not exist.
    public static func makeDirectory(_ path: String, mode: mode_t = 0o700) throws(CredentialsError) {
        var current = path.hasPrefix("/") ? "" : "."
        for component in path.split(separator: "/") {
            current += "/" + component
            if mkdir(current, mode) != 0 && errno != EEXIST {
                throw .writeFailed(String(cString: strerror(errno)), path: current)
            }
        }
    }
}

private func systemRead(_ descriptor: Int32, _ buffer: UnsafeMutableRawPointer?, _ count: Int) -> Int {
    read(descriptor, buffer, count)
}

private func systemWrite(_ descriptor: Int32, _ buffer: UnsafeRawPointer?, _ count: Int) -> Int {
    write(descriptor, buffer, count)
}
