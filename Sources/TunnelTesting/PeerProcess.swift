public import Foundation
import Synchronization

/// A helper program (a Python test peer, curl, ...) run for a test: its output lines can be
/// awaited, and it is stopped (SIGTERM, then SIGKILL) by ``stop()`` or when released.
public final class PeerProcess: @unchecked Sendable {
    private let process = Process()
    private let stdinPipe = Pipe()
    private let buffer = LineBuffer()
    /// The command line, for messages.
    public let commandLine: String

    /// The Python interpreter for test peers: `TUNNEL_TEST_PYTHON`, else `.venv/bin/python3`
    /// under `packageRoot`, else `python3` from `PATH`.
    public static func python(packageRoot: URL) -> String {
        if let override = ProcessInfo.processInfo.environment["TUNNEL_TEST_PYTHON"], !override.isEmpty { return override }
        let venv = packageRoot.appendingPathComponent(".venv/bin/python3").path
        return FileManager.default.isExecutableFile(atPath: venv) ? venv : "python3"
    }

    /// The shared reference peers (`edge_peer.py`, `connector_peer.py`, `tunnel.capnp`):
    /// `TUNNEL_PEERS_DIR`, else `../shared/peers` beside the package root.
    public static func peersDirectory(packageRoot: URL) -> URL {
        if let override = ProcessInfo.processInfo.environment["TUNNEL_PEERS_DIR"], !override.isEmpty {
            return URL(fileURLWithPath: override)
        }
        return packageRoot.deletingLastPathComponent().appendingPathComponent("shared/peers")
    }

    /// Starts `executable` (a path, or a name looked up in `PATH`) with `arguments`.
    public init(_ executable: String, _ arguments: [String], environment: [String: String] = [:], currentDirectory: URL? = nil) throws {
        commandLine = ([executable] + arguments).joined(separator: " ")
        if executable.contains("/") {
            process.executableURL = URL(fileURLWithPath: executable)
            process.arguments = arguments
        } else {
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            process.arguments = [executable] + arguments
        }
        var env = ProcessInfo.processInfo.environment
        env["PYTHONUNBUFFERED"] = "1"
        for (key, value) in environment { env[key] = value }
        process.environment = env
        if let currentDirectory { process.currentDirectoryURL = currentDirectory }
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        process.standardInput = stdinPipe
        pipe.fileHandleForReading.readabilityHandler = { [buffer] handle in
            let data = handle.availableData
            guard !data.isEmpty else {
                handle.readabilityHandler = nil
                buffer.finish()
                return
            }
            buffer.append(data)
        }
        try process.run()
    }

    deinit {
        stop()
    }

    /// Every complete output line so far (stdout and stderr interleaved).
    public var outputLines: [String] { buffer.lines }

    /// Whether the process is still running.
    public var isRunning: Bool { process.isRunning }

    /// The exit status, once it exited.
    public var exitStatus: Int32? { process.isRunning ? nil : process.terminationStatus }

    /// Waits until an output line satisfies `predicate` and returns it; throws after `timeout`
    /// or when the process exits first.
    @discardableResult
    public func waitForLine(timeout: Duration = .seconds(20), where predicate: (String) -> Bool) async throws -> String {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if let line = outputLines.first(where: predicate) { return line }
            if !process.isRunning {
                try await Task.sleep(for: .milliseconds(50))
                if let line = outputLines.first(where: predicate) { return line }
                throw PeerProcessError(message: "\(commandLine) exited with status \(process.terminationStatus) before the expected output. Output:\n\(outputLines.suffix(30).joined(separator: "\n"))")
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        throw PeerProcessError(message: "timed out waiting for output from \(commandLine). Output:\n\(outputLines.suffix(30).joined(separator: "\n"))")
    }

    /// Number of output lines that satisfy `predicate`.
    public func count(where predicate: (String) -> Bool) -> Int {
        outputLines.filter(predicate).count
    }

    /// Sends a signal (SIGTERM by default).
    public func signal(_ signal: Int32 = SIGTERM) {
        if process.isRunning { kill(process.processIdentifier, signal) }
    }

    /// Waits for the process to exit, up to `timeout`; returns its status or `nil`. After an
    /// exit it also waits (up to 2 s) until the output pipe reached its end, so ``outputLines``
    /// then holds everything the process wrote, including a last line without a newline.
    public func waitForExit(timeout: Duration = .seconds(10)) async -> Int32? {
        let deadline = ContinuousClock.now + timeout
        while process.isRunning && ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(20))
        }
        guard !process.isRunning else { return nil }
        let outputDeadline = ContinuousClock.now + .seconds(2)
        while !buffer.isFinished && ContinuousClock.now < outputDeadline {
            try? await Task.sleep(for: .milliseconds(5))
        }
        return process.terminationStatus
    }

    /// Stops the process: closes its stdin, SIGTERM, then SIGKILL after 0.5 s. It blocks the
    /// calling thread (it runs from `defer` and `deinit`), so the waits are short: a test that
    /// needs a graceful exit sends ``signal(_:)`` and awaits ``waitForExit(timeout:)`` instead.
    public func stop() {
        try? stdinPipe.fileHandleForWriting.close()
        guard process.isRunning else { return }
        kill(process.processIdentifier, SIGTERM)
        let deadline = Date().addingTimeInterval(0.5)
        while process.isRunning && Date() < deadline { usleep(5_000) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        // Poll instead of waitUntilExit(), which can block forever on Linux when the exit was
        // already reaped.
        let killDeadline = Date().addingTimeInterval(1)
        while process.isRunning && Date() < killDeadline { usleep(5_000) }
    }
}

/// A peer process did not behave as the test expected.
public struct PeerProcessError: Error, CustomStringConvertible {
    /// What happened, with the tail of the output.
    public let message: String

    /// Creates an error.
    public init(message: String) { self.message = message }

    public var description: String { message }
}

/// Splits a process's output into lines as it arrives.
private final class LineBuffer: Sendable {
    private let state = Mutex<(pending: Data, lines: [String], finished: Bool)>((Data(), [], false))

    func append(_ data: Data) {
        state.withLock { state in
            state.pending.append(data)
            while let newline = state.pending.firstIndex(of: UInt8(ascii: "\n")) {
                state.lines.append(String(decoding: state.pending[state.pending.startIndex..<newline], as: UTF8.self))
                state.pending.removeSubrange(state.pending.startIndex...newline)
            }
        }
    }

    /// The pipe reached its end: a last line without a newline becomes a line.
    func finish() {
        state.withLock { state in
            if !state.pending.isEmpty {
                state.lines.append(String(decoding: state.pending, as: UTF8.self))
                state.pending.removeAll()
            }
            state.finished = true
        }
    }

    var isFinished: Bool { state.withLock { $0.finished } }

    var lines: [String] { state.withLock { $0.lines } }
}
