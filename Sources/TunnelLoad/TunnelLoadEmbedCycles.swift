import ArgumentParser
import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import TunnelCore
import TunnelTesting

/// `tunnel-load embed-cycles`: `withTestTunnel` (edge, connector with 4 connections, in-process
/// origin, one request) many times in a row in this process, with its open file descriptors
/// and threads counted before and after: in a process of its own, nothing else moves them.
struct TunnelLoadEmbedCycles: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "embed-cycles",
        abstract: "Start and tear down a whole test tunnel N times; print descriptors, threads and timings as JSON.")

    @Option(help: "How many cycles after the warm-up one.")
    var count = 100

    @Option(help: "Connections per tunnel.")
    var connections = 4

    func run() async throws {
        // The first cycle creates the process-wide event loops and thread pools.
        _ = try await Self.cycle(connections: connections)
        let descriptorsBefore = Self.entries("/proc/self/fd")
        let threadsBefore = Self.entries("/proc/self/task")
        let clock = ContinuousClock()
        let started = clock.now
        var failures = 0
        var ports: [Int] = []
        for _ in 0..<count {
            let (status, port) = try await Self.cycle(connections: connections)
            if status != 200 { failures += 1 }
            ports.append(port)
        }
        let elapsed = clock.now - started
        // Every visitor port of the last cycles can be bound again: the listeners are closed.
        var rebound = 0
        for port in ports.suffix(10) {
            if let channel = try? await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .serverChannelOption(.socketOption(.so_reuseaddr), value: 1).bind(host: "127.0.0.1", port: port).get() {
                rebound += 1
                try? await channel.close()
            }
        }
        let seconds = elapsed.timeInterval
        let report: [String: Any] = [
            "cycles": count, "failed_requests": failures, "seconds": seconds, "ms_per_cycle": seconds * 1000 / Double(max(count, 1)),
            "descriptors_before": descriptorsBefore, "descriptors_after": Self.entries("/proc/self/fd"),
            "threads_before": threadsBefore, "threads_after": Self.entries("/proc/self/task"),
            "ports_checked": min(10, ports.count), "ports_rebound": rebound,
        ]
        print(String(decoding: try JSONSerialization.data(withJSONObject: report, options: [.sortedKeys]), as: UTF8.self))
    }

    /// One tunnel, one request; its status and visitor port.
    static func cycle(connections: Int) async throws -> (Int, Int) {
        try await withTestTunnel(origin: .respond { _ in TestOriginResponse(body: "ok") }, connections: connections) { tunnel throws -> (Int, Int) in
            let response = try await tunnel.client.get("/")
            return (Int(response.status.code), Int(tunnel.url.split(separator: ":").last ?? "") ?? 0)
        }
    }

    static func entries(_ directory: String) -> Int {
        (try? FileManager.default.contentsOfDirectory(atPath: directory).count) ?? -1
    }
}
