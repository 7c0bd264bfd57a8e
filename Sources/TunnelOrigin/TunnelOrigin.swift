// TunnelOrigin
