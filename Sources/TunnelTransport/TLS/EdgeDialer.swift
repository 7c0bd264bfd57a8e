public import NIOCore
import NIOPosix
public import NIOSSL

/// Dials a tunnel edge the way cloudflared does (edge-protocol.md 1.4): TCP, then TLS with
/// SNI `h2.cftunnel.com`, **no ALPN**, the edge chain verified against the given CA pool for
/// that server name; then HTTP/2 in the server role (``EdgeConnection``).
public enum EdgeDialer {
    /// How to reach and verify the edge.
    public struct Configuration: Sendable {
        /// SNI and the name the edge certificate must carry (DNS SAN). Default `h2.cftunnel.com`.
        public var serverName: String
        /// CAs the edge chain must verify against (cloudflared `--cacert`: only these, no system pool).
        public var trustRoots: [NIOSSLCertificate]
        /// Trust the system's root pool too, with ``trustRoots`` added to it: what cloudflared
        /// does without `--cacert` (with ``CloudflareEdgeRoots``). Default `false`.
        public var trustSystemRoots: Bool
        /// TCP connect timeout. Default 15 s.
        public var connectTimeout: TimeAmount
        /// TLS handshake timeout, counted after the TCP connect. Default 15 s.
        public var handshakeTimeout: TimeAmount
        /// HTTP/2 parameters.
        public var connection: EdgeConnection.Configuration

        /// A configuration trusting `trustRoots`; other fields default as documented.
        public init(
            trustRoots: [NIOSSLCertificate],
            trustSystemRoots: Bool = false,
            serverName: String = "h2.cftunnel.com",
            connectTimeout: TimeAmount = .seconds(15),
            handshakeTimeout: TimeAmount = .seconds(15),
            connection: EdgeConnection.Configuration = .init()
        ) {
            self.trustRoots = trustRoots
            self.trustSystemRoots = trustSystemRoots
            self.serverName = serverName
            self.connectTimeout = connectTimeout
            self.handshakeTimeout = handshakeTimeout
            self.connection = connection
        }
    }

    /// Connects and returns once the TLS handshake succeeded and HTTP/2 is set up; then call
    /// ``EdgeConnection/run(controlStreamHandler:streamHandler:)``.
    ///
    /// Throws ``TunnelTLSError`` for TLS problems (`.untrustedCertificate` for a wrong CA,
    /// `.serverNameMismatch` for a certificate without the server name) and NIO's socket
    /// errors for TCP problems.
    public static func connect(
        host: String,
        port: Int,
        configuration: Configuration,
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton
    ) async throws -> EdgeConnection {
        var tls = TLSConfiguration.makeClientConfiguration()
        if configuration.trustSystemRoots {
            tls.trustRoots = .default
            tls.additionalTrustRoots = [.certificates(configuration.trustRoots)]
        } else {
            tls.trustRoots = .certificates(configuration.trustRoots)
        }
        tls.certificateVerification = .fullVerification
        tls.minimumTLSVersion = .tlsv12
        tls.applicationProtocols = []  // cloudflared sends no ALPN extension
        let context = try NIOSSLContext(configuration: tls)
        let serverName = configuration.serverName

        let (handshake, connection) = try await ClientBootstrap(group: eventLoopGroup)
            .connectTimeout(configuration.connectTimeout)
            .channelOption(.socketOption(.so_keepalive), value: 1)
            .connect(host: host, port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    let promise = channel.eventLoop.makePromise(of: Void.self)
                    do {
                        let sync = channel.pipeline.syncOperations
                        try sync.addHandler(NIOSSLClientHandler(context: context, serverHostname: serverName))
                        try sync.addHandler(
                            TLSHandshakeObserver(promise: promise, serverName: serverName, timeout: configuration.handshakeTimeout))
                        let connection = try EdgeConnection.configure(on: channel, configuration: configuration.connection)
                        return (promise.futureResult, connection)
                    } catch {
                        // The channel closed while being set up (the edge hung up at once).
                        promise.fail(error)
                        throw error
                    }
                }
            }
        do {
            try await handshake.get()
        } catch {
            await connection.close()
            throw error
        }
        return connection
    }

    /// Loads the CA pool from a PEM file (every certificate in it).
    public static func trustRoots(pemFile path: String) throws -> [NIOSSLCertificate] {
        let certificates: [NIOSSLCertificate]
        do {
            certificates = try NIOSSLCertificate.fromPEMFile(path)
        } catch {
            throw TunnelTLSError.noCertificates(source: "file \(path)", detail: "\(error)")
        }
        guard !certificates.isEmpty else { throw TunnelTLSError.noCertificates(source: "file \(path)") }
        return certificates
    }

    /// Loads the CA pool from PEM text.
    public static func trustRoots(pem: String) throws -> [NIOSSLCertificate] {
        let certificates: [NIOSSLCertificate]
        do {
            certificates = try NIOSSLCertificate.fromPEMBytes(Array(pem.utf8))
        } catch {
            throw TunnelTLSError.noCertificates(source: "PEM text", detail: "\(error)")
        }
        guard !certificates.isEmpty else { throw TunnelTLSError.noCertificates(source: "PEM text") }
        return certificates
    }
}
