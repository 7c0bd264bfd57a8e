public import CoreMetrics
import Synchronization

/// The connector's metrics, under cloudflared's Prometheus names (edge-protocol.md 9) so
/// dashboards and alerts written for cloudflared keep working.
///
/// They go to any swift-metrics backend: the default is the process-wide `MetricsSystem`
/// factory; `tunnelctl` passes a `PrometheusMetricsFactory` whose registry its metrics server
/// serves.
///
/// ```swift
/// let registry = PrometheusCollectorRegistry()
/// let metrics = ConnectorMetrics(factory: PrometheusMetricsFactory(registry: registry))
/// let connector = TunnelConnector(configuration: configuration, proxy: proxy, metrics: metrics)
/// ```
public final class ConnectorMetrics: Sendable {
    /// Requests proxied (HTTP, WebSocket and TCP): `cloudflared_tunnel_total_requests`.
    private let totalRequests: Counter
    /// Requests in flight: `cloudflared_tunnel_concurrent_requests_per_tunnel`.
    private let concurrentRequests: Meter
    /// Proxy errors (origin unreachable or broken mid-response): `cloudflared_tunnel_request_errors`.
    private let requestErrors: Counter
    /// Registered connections: `cloudflared_tunnel_ha_connections`.
    private let haConnections: Meter
    /// Raw TCP streams open now and in total: `cloudflared_tcp_active_sessions`, `cloudflared_tcp_total_sessions`.
    private let tcpActiveSessions: Meter
    private let tcpTotalSessions: Counter
    /// Successful registrations: `cloudflared_tunnel_tunnel_register_success{rpcName}`.
    private let registerSuccess: Counter
    private let factory: any MetricsFactory
    private let responsesByCode: CounterFamily<Int>
    private let registerFailures: CounterFamily<String>
    private let locations = Mutex<[Int: Gauge]>([:])

    /// Creates the metrics on `factory` (default: the `MetricsSystem` one).
    public init(factory: any MetricsFactory = MetricsSystem.factory) {
        self.factory = factory
        totalRequests = Counter(label: "cloudflared_tunnel_total_requests", factory: factory)
        concurrentRequests = Meter(label: "cloudflared_tunnel_concurrent_requests_per_tunnel", factory: factory)
        requestErrors = Counter(label: "cloudflared_tunnel_request_errors", factory: factory)
        haConnections = Meter(label: "cloudflared_tunnel_ha_connections", factory: factory)
        tcpActiveSessions = Meter(label: "cloudflared_tcp_active_sessions", factory: factory)
        tcpTotalSessions = Counter(label: "cloudflared_tcp_total_sessions", factory: factory)
        registerSuccess = Counter(label: "cloudflared_tunnel_tunnel_register_success", dimensions: [("rpcName", "registerConnection")], factory: factory)
        responsesByCode = CounterFamily(label: "cloudflared_tunnel_response_by_code", factory: factory) { [("status_code", "\($0)")] }
        registerFailures = CounterFamily(label: "cloudflared_tunnel_tunnel_register_fail", factory: factory) { [("error", $0), ("rpcName", "registerConnection")] }
        haConnections.set(0)
        concurrentRequests.set(0)
        tcpActiveSessions.set(0)
    }

    /// A proxied stream (HTTP, WebSocket or TCP) started.
    public func streamStarted(tcp: Bool) {
        totalRequests.increment()
        concurrentRequests.increment()
        if tcp {
            tcpTotalSessions.increment()
            tcpActiveSessions.increment()
        }
    }

    /// A proxied stream ended.
    public func streamEnded(tcp: Bool) {
        concurrentRequests.decrement()
        if tcp { tcpActiveSessions.decrement() }
    }

    /// The origin could not be reached or broke off mid-response.
    public func recordRequestError() {
        requestErrors.increment()
    }

    /// Connection `index` registered at `location`.
    func connectionRegistered(connIndex index: Int, location: String) {
        haConnections.increment()
        registerSuccess.increment()
        recordLocation(connIndex: index, location: location)
    }

    /// Registered connection `index` ended.
    func connectionEnded(connIndex index: Int) {
        haConnections.decrement()
        recordLocation(connIndex: index, location: nil)
    }

    /// A response sent for a proxied request: `cloudflared_tunnel_response_by_code{status_code}`.
    public func recordResponse(status: Int) {
        responsesByCode.increment(status)
    }

    /// A registration the edge refused: `cloudflared_tunnel_tunnel_register_fail{error,rpcName}`,
    /// `error` being `dup_edge_conn` or `server_error` as in cloudflared.
    func recordRegisterFailure(duplicate: Bool) {
        registerFailures.increment(duplicate ? "dup_edge_conn" : "server_error")
    }

    /// Connection `index` is registered at `location` (1) or no longer there (0):
    /// `cloudflared_tunnel_server_locations{connection_id,edge_location}`.
    private func recordLocation(connIndex index: Int, location: String?) {
        locations.withLock { gauges in
            gauges[index]?.record(0)
            guard let location else { return }
            let gauge = Gauge(label: "cloudflared_tunnel_server_locations", dimensions: [("connection_id", "\(index)"), ("edge_location", location)], factory: factory)
            gauge.record(1)
            gauges[index] = gauge
        }
    }
}
