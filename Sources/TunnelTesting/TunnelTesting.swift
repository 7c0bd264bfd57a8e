// TunnelTesting
