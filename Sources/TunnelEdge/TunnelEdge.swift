// TunnelEdge
