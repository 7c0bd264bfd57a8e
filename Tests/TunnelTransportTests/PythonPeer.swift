import Foundation
import Synchronization

/// A Python helper script from `Interop/`, run with the test Python (env `TUNNEL_TEST_PYTHON`, else the package's
/// `.venv/bin/python3`, else `python3`). It is killed when the test ends.
final class PythonPeer: Sendable {
    static let interopDirectory = CaptureFixtures.testsDirectory.appendingPathComponent("Interop")

    static let python: String = {
        if let explicit = ProcessInfo.processInfo.environment["TUNNEL_TEST_PYTHON"], !explicit.isEmpty { return explicit }
        let venv = CaptureFixtures.testsDirectory.deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent(".venv/bin/python3").path
        return FileManager.default.isExecutableFile(atPath: venv) ? venv : "/usr/bin/env"
    }()

    /// Whether Python with pycapnp is available (interop tests are skipped otherwise).
    static let available: Bool = {
        guard let peer = try? PythonPeer(arguments: ["-c", "import capnp"]) else { return false }
        return (try? peer.waitForExit(timeout: 20)) == 0
    }()

    private let process: Process
    private let stdinPipe = Pipe()
    private let output = LockedBytes()
    private let errors = LockedBytes()

    final class LockedBytes: Sendable {
        private let bytes = Mutex<[UInt8]>([])
        func append(_ data: Data) { self.bytes.withLock { $0 += data } }
        var value: [UInt8] { self.bytes.withLock { $0 } }
    }

    init(script: String? = nil, arguments: [String] = [], stdin: [UInt8]? = nil) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Self.python)
        var args = Self.python == "/usr/bin/env" ? ["python3"] : []
        if let script { args.append(Self.interopDirectory.appendingPathComponent(script).path) }
        process.arguments = args + arguments
        process.currentDirectoryURL = Self.interopDirectory
        let stdoutPipe = Pipe()
        let stderrPipe = Pipe()
        process.standardOutput = stdoutPipe
        process.standardError = stderrPipe
        process.standardInput = self.stdinPipe
        self.process = process
        stdoutPipe.fileHandleForReading.readabilityHandler = { [output] handle in
            let data = handle.availableData
            output.append(data)
        }
        stderrPipe.fileHandleForReading.readabilityHandler = { [errors] handle in
            let data = handle.availableData
            errors.append(data)
        }
        try process.run()
        if let stdin {
            self.stdinPipe.fileHandleForWriting.write(Data(stdin))
            try self.stdinPipe.fileHandleForWriting.close()
        }
    }

    deinit {
        self.kill()
    }

    var standardOutput: String { String(decoding: self.output.value, as: UTF8.self) }
    var standardError: String { String(decoding: self.errors.value, as: UTF8.self) }
    var lines: [String] { self.standardOutput.split(separator: "\n").map(String.init) }

    /// Waits until a stdout line starts with `prefix`.
    func waitForLine(prefix: String, timeout: Double = 20) async throws -> String {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if let line = self.lines.first(where: { $0.hasPrefix(prefix) }) { return line }
            guard self.process.isRunning else { break }
            try await Task.sleep(for: .milliseconds(20))
        }
        if let line = self.lines.first(where: { $0.hasPrefix(prefix) }) { return line }
        throw PeerError(message: "no line '\(prefix)' from python; stdout: \(self.standardOutput) stderr: \(self.standardError)")
    }

    /// Waits for the process to exit and returns its status.
    @discardableResult
    func waitForExit(timeout: Double = 30) throws -> Int32 {
        let deadline = Date().addingTimeInterval(timeout)
        while self.process.isRunning {
            guard Date() < deadline else {
                self.kill()
                throw PeerError(message: "python timed out; stderr: \(self.standardError)")
            }
            Thread.sleep(forTimeInterval: 0.02)
        }
        Thread.sleep(forTimeInterval: 0.05)  // let the readability handlers drain
        return self.process.terminationStatus
    }

    /// Async variant of ``waitForExit(timeout:)``.
    func exit(timeout: Double = 30) async throws -> Int32 {
        let deadline = Date().addingTimeInterval(timeout)
        while self.process.isRunning {
            guard Date() < deadline else {
                self.kill()
                throw PeerError(message: "python timed out; stderr: \(self.standardError)")
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        try await Task.sleep(for: .milliseconds(50))
        return self.process.terminationStatus
    }

    func closeStandardInput() {
        try? self.stdinPipe.fileHandleForWriting.close()
    }

    /// Terminates the process (SIGTERM, then SIGKILL after 2 s) without blocking on a run loop.
    func kill() {
        guard self.process.isRunning else { return }
        self.process.terminate()
        for _ in 0..<100 where self.process.isRunning {
            Thread.sleep(forTimeInterval: 0.02)
        }
        if self.process.isRunning {
            _ = Foundation.kill(self.process.processIdentifier, SIGKILL)
        }
    }

    struct PeerError: Error, CustomStringConvertible {
        let message: String
        var description: String { self.message }
    }
}
