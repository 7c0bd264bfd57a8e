public import NIOCore
import NIOPosix
public import NIOSSL

/// Accepts connector connections on the edge: TCP + TLS server (no ALPN required,
/// edge-protocol.md 12.3), then HTTP/2 in the client role (``ConnectorConnection``).
///
/// ```swift
/// let listener = try await ConnectorListener.bind(host: "127.0.0.1", port: 7844, configuration: config)
/// try await listener.executeThenClose { connections in
///     try await withThrowingDiscardingTaskGroup { group in
///         for try await connection in connections {
///             group.addTask { try? await connection.run { control in /* RPC server */ } }
///         }
///     }
/// }
/// ```
public enum ConnectorListener {
    /// TLS identity and HTTP/2 parameters of the listener.
    public struct Configuration: Sendable {
        /// The edge's certificate chain, leaf first (leaf SAN `h2.cftunnel.com`).
        public var certificateChain: [NIOSSLCertificate]
        /// The leaf's private key.
        public var privateKey: NIOSSLPrivateKey
        /// HTTP/2 parameters of each accepted connection.
        public var connection: ConnectorConnection.Configuration
        /// TLS handshake timeout per accepted connection. Default 15 s.
        public var handshakeTimeout: TimeAmount
        /// Listen backlog. Default 256.
        public var backlog: Int32

        /// A configuration from an identity; other fields default as documented.
        public init(
            certificateChain: [NIOSSLCertificate],
            privateKey: NIOSSLPrivateKey,
            connection: ConnectorConnection.Configuration = .init(),
            handshakeTimeout: TimeAmount = .seconds(15),
            backlog: Int32 = 256
        ) {
            self.certificateChain = certificateChain
            self.privateKey = privateKey
            self.connection = connection
            self.handshakeTimeout = handshakeTimeout
            self.backlog = backlog
        }

        /// A configuration from PEM text of the chain and the key.
        public init(certificateChainPEM: String, privateKeyPEM: String) throws {
            let chain: [NIOSSLCertificate]
            do {
                chain = try NIOSSLCertificate.fromPEMBytes(Array(certificateChainPEM.utf8))
            } catch {
                throw TunnelTLSError.noCertificates(source: "certificate PEM", detail: "\(error)")
            }
            guard !chain.isEmpty else { throw TunnelTLSError.noCertificates(source: "certificate PEM") }
            let key: NIOSSLPrivateKey
            do {
                key = try NIOSSLPrivateKey(bytes: Array(privateKeyPEM.utf8), format: .pem)
            } catch {
                throw TunnelTLSError.unreadableKey(source: "private key PEM", detail: "\(error)")
            }
            self.init(certificateChain: chain, privateKey: key)
        }

        /// A configuration from PEM files of the chain and the key.
        public init(certificateChainFile: String, privateKeyFile: String) throws {
            let chain: [NIOSSLCertificate]
            do {
                chain = try NIOSSLCertificate.fromPEMFile(certificateChainFile)
            } catch {
                throw TunnelTLSError.noCertificates(source: "file \(certificateChainFile)", detail: "\(error)")
            }
            guard !chain.isEmpty else { throw TunnelTLSError.noCertificates(source: "file \(certificateChainFile)") }
            let key: NIOSSLPrivateKey
            do {
                key = try NIOSSLPrivateKey(file: privateKeyFile, format: .pem)
            } catch {
                throw TunnelTLSError.unreadableKey(source: "file \(privateKeyFile)", detail: "\(error)")
            }
            self.init(certificateChain: chain, privateKey: key)
        }
    }

    /// Binds the listener (port 0 picks an ephemeral port; read it from
    /// `channel.localAddress`). Each accepted connection is yielded already configured;
    /// its TLS handshake completes asynchronously (a failed handshake closes it, and its
    /// ``ConnectorConnection/run(_:)`` then fails).
    public static func bind(
        host: String,
        port: Int,
        configuration: Configuration,
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton
    ) async throws -> NIOAsyncChannel<ConnectorConnection, Never> {
        var tls = TLSConfiguration.makeServerConfiguration(
            certificateChain: configuration.certificateChain.map { .certificate($0) },
            privateKey: .privateKey(configuration.privateKey)
        )
        tls.minimumTLSVersion = .tlsv12
        tls.applicationProtocols = []
        let context = try NIOSSLContext(configuration: tls)
        return try await ServerBootstrap(group: eventLoopGroup)
            .serverChannelOption(.backlog, value: configuration.backlog)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.so_keepalive), value: 1)
            .bind(host: host, port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    let sync = channel.pipeline.syncOperations
                    try sync.addHandler(NIOSSLServerHandler(context: context))
                    let promise = channel.eventLoop.makePromise(of: Void.self)
                    do {
                        try sync.addHandler(
                            TLSHandshakeObserver(promise: promise, serverName: "connector", timeout: configuration.handshakeTimeout))
                    } catch {
                        promise.fail(error)
                        throw error
                    }
                    promise.futureResult.whenFailure { _ in channel.close(promise: nil) }
                    return try ConnectorConnection.configure(on: channel, configuration: configuration.connection)
                }
            }
    }
}
