import Foundation
import NIOCore
import NIOHTTP2
import Testing
import TunnelTransport

/// The connector side against an independent HTTP/2 edge written with Python's `h2`
/// (`Peers/h2_edge_peer.py`): SETTINGS and the connection WINDOW_UPDATE as the peer saw
/// them, the control-stream answer, and one proxied POST with serialized headers and trailers.
@Suite(.timeLimit(.minutes(1)))
struct PythonH2PeerTests {
    static var python: String {
        if let configured = ProcessInfo.processInfo.environment["TUNNEL_TEST_PYTHON"] { return configured }
        let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let venv = packageRoot.appendingPathComponent(".venv/bin/python3").path
        return FileManager.default.isExecutableFile(atPath: venv) ? venv : "/usr/bin/env"
    }

    static var pythonArguments: [String] { python == "/usr/bin/env" ? ["python3"] : [] }

    static func hasH2() -> Bool {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: python)
        process.arguments = pythonArguments + ["-c", "import h2"]
        process.standardError = FileHandle.nullDevice
        guard (try? process.run()) != nil else { return false }
        process.waitUntilExit()
        return process.terminationStatus == 0
    }

    @Test(.enabled(if: PythonH2PeerTests.hasH2()))
    func connectorSideAgainstPythonH2Edge() async throws {
        let pki = try TestPKI()
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("h2peer-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let cert = directory.appendingPathComponent("edge.pem")
        let key = directory.appendingPathComponent("edge.key")
        try pki.leafPEM.write(to: cert, atomically: true, encoding: .utf8)
        try pki.leafKeyPEM.write(to: key, atomically: true, encoding: .utf8)
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Peers/h2_edge_peer.py")

        let process = Process()
        process.executableURL = URL(fileURLWithPath: Self.python)
        process.arguments = Self.pythonArguments + [script.path, "--cert", cert.path, "--key", key.path]
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        defer { if process.isRunning { process.terminate() } }

        // The peer prints `PORT <n>` at once (a short blocking read is fine in a test).
        var firstLine = Data()
        while !firstLine.contains(UInt8(ascii: "\n")) {
            let chunk = output.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            firstLine.append(chunk)
        }
        let portLine = String(decoding: firstLine, as: UTF8.self).split(separator: "\n").first ?? ""
        let port = try #require(Int(portLine.split(separator: " ").last ?? ""))

        let connection = try await EdgeDialer.connect(
            host: "127.0.0.1", port: port, configuration: .init(trustRoots: [pki.caCertificate]))
        async let served: Void = connection.run(
            controlStreamHandler: { stream in
                for try await chunk in stream.inbound {
                    var reply = ByteBuffer(string: "echo:")
                    reply.writeImmutableBuffer(chunk)
                    try await stream.outbound.write(reply)
                }
            },
            streamHandler: TestOriginHandler()
        )
        // The peer closes the connection when done, which ends `run`; then it prints its summary.
        try await served
        let rest = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        let summaryLine = try #require(rest.split(separator: "\n").last.map(String.init))

        let summary = try #require(try JSONSerialization.jsonObject(with: Data(summaryLine.utf8)) as? [String: Any])
        let settings = try #require(summary["settings"] as? [String: Int])
        #expect(settings == ["5": 1_048_576, "3": 250, "6": 1_048_896, "1": 4096, "4": 1_048_576, "9": 1])
        #expect(summary["connection_window_increment"] as? Int == 983_041)
        let heads = try #require(summary["heads"] as? [String: [[String]]])
        #expect(heads["1"]?.first == [":status", "200"])
        #expect(heads["1"]?.contains(["content-type", "application/octet-stream"]) == true)
        #expect(heads["3"]?.contains(["cf-cloudflared-response-meta", #"{"src":"origin"}"#]) == true)
        let bodies = try #require(summary["bodies"] as? [String: String])
        #expect(bodies["1"] == "echo:bootstrap-bytes")
        #expect(bodies["3"] == "payload-from-python")
        let decoded = try #require(summary["decoded"] as? [[String]])
        #expect(decoded.first == ["Content-Type", "application/octet-stream"])
        #expect(decoded.last == ["X-Latin1", "\u{E9}t\u{E9}"])
        let trailers = try #require(summary["trailers"] as? [String: [[String]]])
        #expect(trailers["3"]?.contains(["grpc-status", "0"]) == true)
    }
}
