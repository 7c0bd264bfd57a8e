public import Hummingbird
public import Logging
public import NIOCore
public import ServiceLifecycle
import TunnelCore

/// The control plane's API listener as a `Service`: Hummingbird over HTTP/1.1.
///
/// ```swift
/// let server = ControlAPIServer(controlPlane: controlPlane, host: "127.0.0.1", port: 0)
/// async let running: Void = server.run()
/// let address = try await server.listeningAddress()
/// ```
public final class ControlAPIServer: Service, Sendable {
    let controlPlane: ControlPlane
    let host: String
    let port: Int
    let maxBodyBytes: Int
    let rateLimit: ControlAPI.RateLimit?
    let logger: Logger
    private let bound = OnceValue<SocketAddress>()

    /// Creates the listener; `port` 0 picks a free one. Request bodies over `maxBodyBytes`
    /// (default 64 KiB) are answered 413.
    public init(controlPlane: ControlPlane, host: String = "127.0.0.1", port: Int = 8787, maxBodyBytes: Int = 65536, rateLimit: ControlAPI.RateLimit? = ControlAPI.RateLimit(requests: 12000, window: .seconds(300)), logger: Logger = Logger(label: "tunnel.control.api")) {
        self.rateLimit = rateLimit
        self.controlPlane = controlPlane
        self.host = host
        self.port = port
        self.maxBodyBytes = maxBodyBytes
        self.logger = logger
    }

    /// Waits until the listener is bound and returns its address; throws if binding failed.
    public func listeningAddress() async throws -> SocketAddress {
        try await bound.wait()
    }

    /// Serves until graceful shutdown.
    public func run() async throws {
        // Hummingbird's own start-up and per-request lines stay quiet: the caller prints the
        // address, and API failures are logged by the control plane.
        var frameworkLogger = logger
        if frameworkLogger.logLevel < .warning { frameworkLogger.logLevel = .warning }
        let application = Application(
            responder: ControlAPI.responder(controlPlane: controlPlane, maxBodyBytes: maxBodyBytes, rateLimit: rateLimit),
            configuration: ApplicationConfiguration(address: .hostname(host, port: port), serverName: nil),
            onServerRunning: { [bound] channel in
                if let address = channel.localAddress { bound.succeed(address) }
            },
            logger: frameworkLogger)
        do {
            try await application.run()
        } catch {
            bound.fail(error)
            throw error
        }
    }
}
