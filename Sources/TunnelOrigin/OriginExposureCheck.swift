import Foundation
public import NIOCore
import NIOPosix
public import TunnelCore

/// Whether the origins behind a tunnel also answer from outside it: connects to each local
/// origin's port (and 80/443) on the machine's non-loopback addresses. A port that accepts is a
/// way around the tunnel (and its access policies); the fix is to bind the origin to 127.0.0.1
/// or to block the port.
public enum OriginExposureCheck {
    /// One address and port to try, with the ingress services that use the port.
    public struct Target: Hashable, Sendable {
        /// The address, an IP literal.
        public var address: String
        /// The port.
        public var port: Int
        /// The origins using the port (`http://localhost:8080`), empty for 80/443 checked anyway.
        public var services: [String]

        /// `192.0.2.10:8080` or `[2001:db8::1]:8080`.
        public var endpoint: String { address.contains(":") ? "[\(address)]:\(port)" : "\(address):\(port)" }

        /// Creates a target.
        public init(address: String, port: Int, services: [String]) {
            self.address = address
            self.port = port
            self.services = services
        }
    }

    /// What a connection attempt found.
    public enum State: String, Hashable, Sendable {
        /// It accepted: reachable without the tunnel.
        case open
        /// It refused.
        case closed
        /// No answer within the timeout (dropped by a firewall).
        case filtered
    }

    /// A target and what was found.
    public struct Finding: Hashable, Sendable {
        /// What was tried.
        public var target: Target
        /// What happened.
        public var state: State
    }

    /// The origins of `ingress` that run on this machine, with the port each uses, and those
    /// that run elsewhere (not checked here).
    public static func localOrigins(_ ingress: Ingress) -> (local: [(service: String, port: Int)], remote: [String]) {
        var local: [(String, Int)] = []
        var remote: [String] = []
        for rule in ingress.rules {
            let host: String
            let port: Int
            switch rule.service {
            case .http(_, let scheme, let ruleHost, let rulePort):
                host = ruleHost
                port = rulePort ?? (scheme == "https" || scheme == "wss" ? 443 : 80)
            case .tcpOverWebSocket(_, let ruleHost, let rulePort):
                guard let rulePort else { continue }
                host = ruleHost
                port = rulePort
            default:
                continue
            }
            let service = rule.service.description
            if isLocal(host) {
                if !local.contains(where: { $0.0 == service && $0.1 == port }) { local.append((service, port)) }
            } else if !remote.contains(service) {
                remote.append(service)
            }
        }
        return (local, remote)
    }

    /// Whether an origin host is this machine.
    static func isLocal(_ host: String) -> Bool {
        let host = host.lowercased().trimmingCharacters(in: CharacterSet(charactersIn: "[]"))
        return host == "localhost" || host.hasSuffix(".localhost") || host.hasPrefix("127.") || host == "::1" || host == "0.0.0.0" || host == "::"
    }

    /// The machine's addresses other than loopback and IPv6 link-local ones.
    public static func nonLoopbackAddresses() throws -> [String] {
        var addresses: [String] = []
        for device in try System.enumerateDevices() {
            guard let ip = device.address?.ipAddress, device.address?.protocol == .inet || device.address?.protocol == .inet6 else { continue }
            let lowered = ip.lowercased()
            if lowered.hasPrefix("127.") || lowered == "::1" || lowered.hasPrefix("fe80:") { continue }
            if !addresses.contains(ip) { addresses.append(ip) }
        }
        return addresses
    }

    /// Every address with every local origin port, plus `alwaysCheck` ports (80 and 443).
    public static func targets(ingress: Ingress, addresses: [String], alwaysCheck: [Int] = [80, 443]) -> [Target] {
        let origins = localOrigins(ingress).local
        var ports: [Int] = []
        for port in origins.map(\.port) + alwaysCheck where !ports.contains(port) { ports.append(port) }
        return addresses.flatMap { address in
            ports.map { port in Target(address: address, port: port, services: origins.filter { $0.port == port }.map(\.service)) }
        }
    }

    /// Tries every target at once, each for at most `timeout`.
    public static func probe(_ targets: [Target], timeout: TimeAmount = .seconds(2)) async -> [Finding] {
        await withTaskGroup(of: (Int, State).self) { group in
            for (index, target) in targets.enumerated() {
                group.addTask { (index, await probe(target, timeout: timeout)) }
            }
            var states = [State](repeating: .filtered, count: targets.count)
            for await (index, state) in group { states[index] = state }
            return zip(targets, states).map { Finding(target: $0, state: $1) }
        }
    }

    static func probe(_ target: Target, timeout: TimeAmount) async -> State {
        do {
            let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .connectTimeout(timeout)
                .connect(host: target.address, port: target.port).get()
            try? await channel.close()
            return .open
        } catch let error as ChannelError {
            if case .connectTimeout = error { return .filtered }
            return .closed
        } catch {
            return .closed
        }
    }
}
