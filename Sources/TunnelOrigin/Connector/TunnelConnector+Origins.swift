public import Logging
public import TunnelTransport

extension TunnelConnector {
    /// Creates a connector serving streams from `proxy` (through an ``OriginStreamHandler``),
    /// recording into `metrics` (default: the process-wide `MetricsSystem` backend). Origins see
    /// the connector's ID as `Cf-Warp-Tag-Id`.
    ///
    /// ```swift
    /// let proxy = OriginProxy(ingress: ingress, client: OriginHTTPClient())
    /// let connector = TunnelConnector(configuration: configuration, proxy: proxy)
    /// try await connector.run()   // or add it to a ServiceGroup
    /// ```
    public convenience init(
        configuration: TunnelConnectorConfiguration, proxy: OriginProxy, metrics: ConnectorMetrics = ConnectorMetrics(),
        logger: Logger = Logger(label: "tunnel.connector")
    ) {
        var proxy = proxy
        proxy.connectorID = configuration.connectorID
        self.init(
            configuration: configuration, streamHandler: OriginStreamHandler(proxy: proxy, metrics: metrics, logger: logger), metrics: metrics,
            logger: logger)
    }
}
