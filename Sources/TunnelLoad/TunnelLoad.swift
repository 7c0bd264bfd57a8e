import ArgumentParser
import Foundation
import Logging
import NIOCore
import NIOSSL
import TunnelControl
import TunnelCore
import TunnelOrigin
import TunnelTransport

/// `tunnel-load`: load and endurance runs that need a process of their own, each printing one
/// JSON line of measurements on standard output.
@main
struct TunnelLoad: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tunnel-load",
        abstract: "Load and endurance runs against real edges and tunnels; each prints its measurements as JSON.",
        subcommands: [TunnelLoadScale.self, TunnelLoadEmbedCycles.self],
        defaultSubcommand: TunnelLoadScale.self)
}

/// `tunnel-load scale` (the default): many tunnels against one edge, for the scale benchmark and
/// the test of the running-tunnel limit. Creates tunnels through the control-plane API, runs one
/// in-process connector per tunnel, and prints one JSON line of measurements on standard output.
struct TunnelLoadScale: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "scale",
        abstract: "Create N tunnels through the API and connect them all to an edge; print timings as JSON.",
        discussion: """
            Steps, each timed: create --tunnels tunnels (API create latency), connect them with \
            --connections connections each and wait until all registered, list them all through \
            the API (--list-rounds times), then start --extra more tunnels and count how many the \
            edge refused for good (the running-tunnel limit). With --hold it stays connected until \
            standard input closes (to measure the edge meanwhile), then shuts every connector down.
            """)

    @Option(name: .customLong("api-url"), help: "The control-plane API base, e.g. http://127.0.0.1:8787/client/v4.")
    var apiURL: String

    @Option(help: "cert.pem with the account's API token.")
    var origincert: String

    @Option(help: "The edge's connector address host:port.")
    var edge: String

    @Option(help: "PEM CA the edge certificate chains to.")
    var cacert: String

    @Option(help: "Tunnels to create and connect.")
    var tunnels = 100

    @Option(help: "Connections per tunnel.")
    var connections = 1

    @Option(help: "Tunnels started after the first ones registered; each should be refused at the limit.")
    var extra = 0

    @Option(name: .customLong("list-rounds"), help: "How many times to list all tunnels through the API.")
    var listRounds = 5

    @Option(name: .customLong("name-prefix"), help: "Prefix of the created tunnels' names.")
    var namePrefix = "load-"

    @Flag(help: "Stay connected until standard input closes.")
    var hold = false

    func run() async throws {
        var logger = Logger(label: "tunnel-load")
        logger.logLevel = .error
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = .error
            return handler
        }
        FileDescriptorLimit.raiseToHardLimit()
        let certificate = try OriginCertificate(pemEncoded: String(decoding: try SecureFile.read(origincert), as: UTF8.self), path: origincert)
        let client = ControlAPIClient(baseURL: apiURL, token: certificate.apiToken, accountID: certificate.accountID, zoneID: certificate.zoneID, userAgent: "tunnel-load")
        guard let edgeAddress = EdgeAddress(edge) else { throw ValidationError("--edge \(edge) is not host:port") }
        let roots = try NIOSSLCertificate.fromPEMFile(cacert)
        let clock = ContinuousClock()
        var report: [String: Any] = ["tunnels": tunnels, "connections_per_tunnel": connections]

        // 1. Create.
        var credentials: [TunnelCredentials] = []
        var createLatencies: [Duration] = []
        let createStart = clock.now
        for index in 0..<(tunnels + extra) {
            let secret = TunnelSecret.random()
            let started = clock.now
            let created = try await client.createTunnel(name: "\(namePrefix)\(index)-\(UUID().uuidString.prefix(8).lowercased())", secret: secret)
            createLatencies.append(clock.now - started)
            credentials.append(TunnelCredentials(accountTag: certificate.accountID, tunnelSecret: secret, tunnelID: UUID(tunnelIDString: created.id)))
            if (index + 1) % 250 == 0 { FileHandle.standardError.write(Data("created \(index + 1) tunnels\n".utf8)) }
        }
        report["create_total_s"] = seconds(clock.now - createStart)
        report["create_ms"] = summary(createLatencies)

        // 2. Connect.
        func connector(_ credentials: TunnelCredentials) -> TunnelConnector {
            TunnelConnector(
                configuration: TunnelConnectorConfiguration(
                    credentials: credentials, edgeAddresses: Array(repeating: edgeAddress, count: connections), edgeTrustRoots: roots,
                    haConnections: connections, retries: 1, gracePeriod: .seconds(2)),
                proxy: OriginProxy(ingress: try! Ingress(rules: [IngressRuleConfig(service: "hello_world")]), client: OriginHTTPClient()),
                logger: logger)
        }
        let main = credentials.prefix(tunnels).map(connector)
        let connectStart = clock.now
        try await withThrowingTaskGroup(of: Void.self) { group in
            for connector in main { group.addTask { try await connector.run() } }
            var registered = 0
            for (index, connector) in main.enumerated() {
                var count = 0
                for await event in connector.events {
                    if case .registered = event { count += 1 }
                    if count == connections { break }
                    if case .stopped(let failure) = event { throw ValidationError("tunnel \(index) stopped: \(failure ?? "")") }
                }
                registered += count
                if (index + 1) % 250 == 0 { FileHandle.standardError.write(Data("registered \(index + 1) tunnels\n".utf8)) }
            }
            report["registered_connections"] = registered
            report["register_all_s"] = seconds(clock.now - connectStart)

            // 3. List everything through the API.
            var listLatencies: [Duration] = []
            for _ in 0..<listRounds {
                let started = clock.now
                let listed = try await client.listTunnels(TunnelFilter(isDeleted: false, namePrefix: namePrefix), perPage: 1000)
                listLatencies.append(clock.now - started)
                report["listed"] = listed.count
            }
            report["list_all_ms"] = summary(listLatencies)
            // Creates with everything stored and connected.
            var laterCreates: [Duration] = []
            for index in 0..<min(100, tunnels) {
                let started = clock.now
                let created = try await client.createTunnel(name: "\(namePrefix)after-\(index)-\(UUID().uuidString.prefix(8).lowercased())", secret: .random())
                laterCreates.append(clock.now - started)
                try await client.deleteTunnel(id: UUID(tunnelIDString: created.id)!, cascade: true)
            }
            report["create_when_full_ms"] = summary(laterCreates)

            // 4. The tunnels beyond the limit.
            var refused: [String] = []
            var accepted = 0
            for extraCredentials in credentials.dropFirst(tunnels) {
                let extraConnector = connector(extraCredentials)
                let running = Task { try await extraConnector.run() }
                var outcome: String?
                for await event in extraConnector.events {
                    switch event {
                    case .registered: outcome = ""
                    case .connectionFailed(_, let reason, nil): outcome = reason
                    case .stopped(let failure): outcome = failure ?? ""
                    default: break
                    }
                    if outcome != nil { break }
                }
                extraConnector.shutdown()
                _ = try? await running.value
                if let outcome, !outcome.isEmpty { refused.append(outcome) } else { accepted += 1 }
            }
            report["extra_accepted"] = accepted
            report["extra_refused"] = refused.count
            report["extra_refusal"] = refused.first ?? ""

            if hold {
                FileHandle.standardOutput.write(try JSONSerialization.data(withJSONObject: report, options: [.sortedKeys]) + Data("\n".utf8))
                report = [:]
                // Until standard input closes.
                _ = try? FileHandle.standardInput.readToEnd()
            }
            for connector in main { connector.shutdown() }
            try await group.waitForAll()
        }
        if !report.isEmpty {
            print(String(decoding: try JSONSerialization.data(withJSONObject: report, options: [.sortedKeys]), as: UTF8.self))
        }
    }

    func seconds(_ duration: Duration) -> Double {
        duration.timeInterval.rounded(toPlaces: 3)
    }

    func summary(_ durations: [Duration]) -> [String: Double] {
        let sorted = durations.map { seconds($0) * 1000 }.sorted()
        guard !sorted.isEmpty else { return [:] }
        func percentile(_ p: Double) -> Double { sorted[min(sorted.count - 1, Int(Double(sorted.count) * p))].rounded(toPlaces: 3) }
        return ["p50": percentile(0.5), "p99": percentile(0.99), "max": sorted.last!.rounded(toPlaces: 3)]
    }
}

extension Double {
    func rounded(toPlaces places: Int) -> Double {
        let factor = pow(10, Double(places))
        return (self * factor).rounded() / factor
    }
}
