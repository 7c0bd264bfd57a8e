import Foundation
import Logging
import TunnelControl
import TunnelCore

/// A temporary state directory with a real SQLite file, removed afterwards.
struct TemporaryStore {
    let directory: URL
    var path: String { SQLControlStore.sqlitePath(stateDirectory: directory.path) }

    init() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("control-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    func open(migratingTo version: Int? = nil) async throws -> SQLControlStore {
        var logger = Logger(label: "test.store")
        logger.logLevel = .warning
        return try await SQLControlStore.openSQLite(path: path, migratingTo: version, logger: logger)
    }

    func remove() {
        try? FileManager.default.removeItem(at: directory)
    }

    /// Opens the store, runs `body` with a control plane over it, closes and removes it.
    static func withControlPlane<T: Sendable>(_ body: (ControlPlane, SQLControlStore) async throws -> T) async throws -> T {
        let temporary = try TemporaryStore()
        defer { temporary.remove() }
        let store = try await temporary.open()
        var logger = Logger(label: "test.control")
        logger.logLevel = .warning
        do {
            let value = try await body(ControlPlane(store: store, logger: logger), store)
            try await store.close()
            return value
        } catch {
            try? await store.close()
            throw error
        }
    }
}

/// A seeded generator, so a failing random input can be replayed from the logged seed.
struct SeededGenerator: RandomNumberGenerator {
    private var state: UInt64

    init(seed: UInt64) { state = seed == 0 ? 0x9E37_79B9_7F4A_7C15 : seed }

    mutating func next() -> UInt64 {
        // xorshift64*
        state ^= state >> 12
        state ^= state << 25
        state ^= state >> 27
        return state &* 2_685_821_657_736_338_717
    }

    static func logged(_ name: String) -> SeededGenerator {
        let seed = ProcessInfo.processInfo.environment["TUNNEL_TEST_SEED"].flatMap(UInt64.init) ?? UInt64.random(in: 1...UInt64.max)
        print("\(name): random seed \(seed) (replay with TUNNEL_TEST_SEED=\(seed))")
        return SeededGenerator(seed: seed)
    }
}
