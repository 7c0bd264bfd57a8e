import Foundation
import Testing
import TunnelTesting

/// `withTestTunnel` 100 times in a row, in a process of its own (`tunnel-load embed-cycles`):
/// descriptors and threads are process-wide, and this test process runs other suites at once.
@Suite("withTestTunnel, 100 in a row")
struct EmbedCyclesTests {
    @Test("100 in a row: file descriptors, threads and the ports come back to where they started")
    func hundredInARow() async throws {
        let load = try PeerProcess(TunnelctlProcess.executableURL.deletingLastPathComponent().appendingPathComponent("tunnel-load").path, ["embed-cycles", "--count", "100"])
        #expect(await load.waitForExit(timeout: .seconds(300)) == 0, "\(load.outputLines.suffix(10).joined(separator: "\n"))")
        let report = try #require(try JSONSerialization.jsonObject(with: Data((load.outputLines.last { $0.hasPrefix("{") } ?? "").utf8)) as? [String: Any])
        let number = { (key: String) in (report[key] as? NSNumber)?.intValue ?? -1 }
        #expect(number("cycles") == 100 && number("failed_requests") == 0, "\(report)")
        #expect(number("descriptors_after") <= number("descriptors_before") + 2, "\(report)")
        // The task pool may add a thread on demand; a leak would add one per cycle.
        #expect(number("threads_after") <= number("threads_before") + 2, "\(report)")
        #expect(number("ports_rebound") == number("ports_checked") && number("ports_checked") == 10, "\(report)")
    }
}
