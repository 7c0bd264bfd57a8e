public import CoreMetrics
import TunnelTransport

/// The edge's metrics, through swift-metrics (any backend; `tunnelctl edge serve --metrics`
/// serves them in Prometheus text).
///
/// | Series | Type | Meaning |
/// |---|---|---|
/// | `tunnel_edge_connector_connections` | gauge | registered connector connections now |
/// | `tunnel_edge_registrations_total{result}` | counter | `registered` or `refused` |
/// | `tunnel_edge_visitor_requests_total{status_code}` | counter | responses to visitors, by status |
/// | `tunnel_edge_visitor_requests_in_flight` | gauge | visitor requests being served |
public final class EdgeMetrics: Sendable {
    private let connections: Meter
    private let registered: Counter
    private let refused: Counter
    private let inFlight: Meter
    private let responsesByCode: CounterFamily<Int>

    /// Creates the metrics on `factory` (default: the `MetricsSystem` one).
    public init(factory: any MetricsFactory = MetricsSystem.factory) {
        connections = Meter(label: "tunnel_edge_connector_connections", factory: factory)
        registered = Counter(label: "tunnel_edge_registrations_total", dimensions: [("result", "registered")], factory: factory)
        refused = Counter(label: "tunnel_edge_registrations_total", dimensions: [("result", "refused")], factory: factory)
        inFlight = Meter(label: "tunnel_edge_visitor_requests_in_flight", factory: factory)
        responsesByCode = CounterFamily(label: "tunnel_edge_visitor_requests_total", factory: factory) { [("status_code", "\($0)")] }
        connections.set(0)
        inFlight.set(0)
    }

    func connectionRegistered() {
        registered.increment()
        connections.increment()
    }

    func connectionEnded() {
        connections.decrement()
    }

    func registrationRefused() {
        refused.increment()
    }

    func requestStarted() {
        inFlight.increment()
    }

    func requestEnded() {
        inFlight.decrement()
    }

    func recordResponse(status: Int) {
        responsesByCode.increment(status)
    }
}
