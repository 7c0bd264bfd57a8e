import Crypto
import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import SwiftASN1
import TunnelOrigin
import X509

/// The Python test origins (Peers/origin_server.py), started for one test and stopped after it.
final class OriginServers: @unchecked Sendable {
    let process = Process()
    private let stdin = Pipe()
    let http: Int
    let https: Int?
    let ws: Int
    let tcp: Int
    let unix: String?

    static var python: String {
        if let override = ProcessInfo.processInfo.environment["TUNNEL_TEST_PYTHON"] { return override }
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let venv = root.appendingPathComponent(".venv/bin/python3").path
        return FileManager.default.isExecutableFile(atPath: venv) ? venv : "/usr/bin/env"
    }

    init(arguments: [String] = []) throws {
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Peers/origin_server.py").path
        let python = Self.python
        process.executableURL = URL(fileURLWithPath: python)
        process.arguments = (python == "/usr/bin/env" ? ["python3"] : []) + [script] + arguments
        let stdout = Pipe()
        process.standardOutput = stdout
        process.standardInput = stdin
        try process.run()
        var line = Data()
        let handle = stdout.fileHandleForReading
        while true {
            let byte = handle.readData(ofLength: 1)
            if byte.isEmpty || byte == Data("\n".utf8) { break }
            line.append(byte)
        }
        guard let info = try JSONSerialization.jsonObject(with: line) as? [String: Any], let http = info["http"] as? Int else {
            process.terminate()
            throw TestFailure("origin_server.py did not start (run scripts/install-test-deps.sh for its Python packages)")
        }
        self.http = http
        self.https = info["https"] as? Int
        self.ws = info["ws"] as? Int ?? 0
        self.tcp = info["tcp"] as? Int ?? 0
        self.unix = info["unix"] as? String
    }

    deinit {
        try? stdin.fileHandleForWriting.close()
        process.terminate()
        process.waitUntilExit()
    }
}

struct TestFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Collects what an origin exchange writes, with arrival times of each body part.
final class CollectingWriter: OriginResponseWriter, @unchecked Sendable {
    private let lock = NIOLock()
    private var _head: HTTPResponseHead?
    private var _body = ByteBuffer()
    private var _arrivals: [(ContinuousClock.Instant, ByteBuffer)] = []
    private var _ended = false
    private var _trailers: HTTPHeaders?

    func writeHead(_ head: HTTPResponseHead) async throws {
        lock.withLock { _head = head }
    }

    func writeBody(_ buffer: ByteBuffer) async throws {
        lock.withLock {
            var copy = buffer
            _body.writeBuffer(&copy)
            _arrivals.append((.now, buffer))
        }
    }

    func writeEnd(trailers: HTTPHeaders?) async throws {
        lock.withLock {
            _ended = true
            _trailers = trailers
        }
    }

    var head: HTTPResponseHead? { lock.withLock { _head } }
    var body: ByteBuffer { lock.withLock { _body } }
    var bodyString: String { String(buffer: body) }
    var ended: Bool { lock.withLock { _ended } }
    var arrivals: [(ContinuousClock.Instant, ByteBuffer)] { lock.withLock { _arrivals } }
    var status: Int? { head.map { Int($0.status.code) } }
}

/// An async sequence over buffers given up front, optionally with a pause before each.
struct Chunks: AsyncSequence, Sendable {
    typealias Element = ByteBuffer
    let buffers: [ByteBuffer]

    init(_ buffers: [ByteBuffer]) { self.buffers = buffers }
    init(_ bytes: [UInt8], chunkSize: Int) {
        buffers = stride(from: 0, to: bytes.count, by: chunkSize).map { ByteBuffer(bytes: bytes[$0..<Swift.min($0 + chunkSize, bytes.count)]) }
    }

    struct AsyncIterator: AsyncIteratorProtocol {
        var index = 0
        let buffers: [ByteBuffer]
        mutating func next() async throws -> ByteBuffer? {
            guard index < buffers.count else { return nil }
            defer { index += 1 }
            return buffers[index]
        }
    }

    func makeAsyncIterator() -> AsyncIterator { AsyncIterator(buffers: buffers) }
}

/// The test origin's deterministic body: byte i is i % 251.
func pattern(_ count: Int) -> [UInt8] {
    (0..<count).map { UInt8($0 % 251) }
}

func sha256Hex(_ bytes: some Sequence<UInt8>) -> String {
    SHA256.hash(data: Array(bytes)).map { String(format: "%02x", $0) }.joined()
}

func request(_ uri: String, method: HTTPMethod = .GET, host: String = "app.test", headers: [(String, String)] = []) -> HTTPRequestHead {
    var head = HTTPRequestHead(version: .http1_1, method: method, uri: uri)
    head.headers.add(name: "Host", value: host)
    for (name, value) in headers { head.headers.add(name: name, value: value) }
    return head
}

/// A test CA and a leaf for 127.0.0.1 / localhost, written as PEM files.
struct TestPKI {
    let directory: URL
    let caPath: String
    let certPath: String
    let keyPath: String

    init() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("origin-pki-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let caKey = P256.Signing.PrivateKey()
        let caName = try DistinguishedName { CommonName("swift-tunnel test CA") }
        let now = Date()
        let ca = try Certificate(
            version: .v3, serialNumber: .init(), publicKey: .init(caKey.publicKey),
            notValidBefore: now.addingTimeInterval(-3600), notValidAfter: now.addingTimeInterval(86400),
            issuer: caName, subject: caName, signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.isCertificateAuthority(maxPathLength: nil))
                KeyUsage(keyCertSign: true)
            },
            issuerPrivateKey: .init(caKey))
        let leafKey = P256.Signing.PrivateKey()
        let leaf = try Certificate(
            version: .v3, serialNumber: .init(), publicKey: .init(leafKey.publicKey),
            notValidBefore: now.addingTimeInterval(-3600), notValidAfter: now.addingTimeInterval(86400),
            issuer: caName, subject: try DistinguishedName { CommonName("localhost") }, signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                SubjectAlternativeNames([.dnsName("localhost"), .ipAddress(ASN1OctetString(contentBytes: [127, 0, 0, 1]))])
                try ExtendedKeyUsage([.serverAuth])
            },
            issuerPrivateKey: .init(caKey))
        caPath = directory.appendingPathComponent("ca.pem").path
        certPath = directory.appendingPathComponent("origin.pem").path
        keyPath = directory.appendingPathComponent("origin.key").path
        try ca.serializeAsPEM().pemString.write(toFile: caPath, atomically: true, encoding: .utf8)
        try leaf.serializeAsPEM().pemString.write(toFile: certPath, atomically: true, encoding: .utf8)
        try leafKey.pemRepresentation.write(toFile: keyPath, atomically: true, encoding: .utf8)
    }

    func remove() {
        try? FileManager.default.removeItem(at: directory)
    }
}
