public import NIOCore
import Synchronization

/// One Cap'n Proto RPC connection (level 0/1 subset) over any byte stream.
///
/// The session plays both roles: it answers the peer's `Bootstrap` and calls with its own bootstrap capability
/// (edge side), and it sends bootstrap requests and calls and awaits their returns (connector side). Calls may be
/// pipelined on the promise of a bootstrap question, as cloudflared does.
///
/// Feed it inbound bytes and give it a writer, then run it for as long as the stream lives:
///
/// ```swift
/// let session = RPCSession(bootstrap: myRegistrationServer) { bytes in try await outbound.write(bytes) }
/// let end = try await session.run(inbound: inboundByteBuffers)
/// ```
///
/// The writer is called with one complete framed message at a time, never concurrently, in send order.
/// ``run(inbound:)`` returns when the inbound stream ends, the peer aborts, or ``shutdown(reason:)`` was called;
/// cancelling the task running it also ends it.
public final class RPCSession: Sendable {
    /// Writes one framed message to the peer.
    public typealias Writer = @Sendable (ByteBuffer) async throws -> Void

    /// Session limits and options.
    public struct Configuration: Sendable {
        /// Limits for decoding inbound messages. Default: reference implementation limits.
        public var readerLimits: CapnpReaderLimits
        /// Maximum unanswered calls from the peer before the session is aborted. Default: 256.
        public var maxOutstandingAnswers: Int

        /// Creates a configuration.
        public init(readerLimits: CapnpReaderLimits = .init(), maxOutstandingAnswers: Int = 256) {
            self.readerLimits = readerLimits
            self.maxOutstandingAnswers = maxOutstandingAnswers
        }
    }

    let configuration: Configuration
    let bootstrapCapability: (any RPCCapability)?
    private let writer: Writer
    private let outbound: AsyncStream<ByteBuffer>
    private let outboundContinuation: AsyncStream<ByteBuffer>.Continuation
    let state: Mutex<RPCSessionState>

    /// Creates a session.
    /// - Parameters:
    ///   - bootstrap: The capability answered to the peer's `Bootstrap`; `nil` answers with an exception.
    ///   - configuration: Limits.
    ///   - writer: Called with each outgoing framed message.
    public init(bootstrap: (any RPCCapability)? = nil, configuration: Configuration = .init(), writer: @escaping Writer) {
        self.bootstrapCapability = bootstrap
        self.configuration = configuration
        self.writer = writer
        (self.outbound, self.outboundContinuation) = AsyncStream.makeStream(of: ByteBuffer.self)
        self.state = Mutex(RPCSessionState())
    }

    // MARK: - Running

    private enum Finished: Sendable {
        case reader
        case writer
    }

    /// Runs the session: reads and handles inbound messages, writes outbound ones.
    ///
    /// - Returns: Why the session ended. Pending calls fail with ``RPCError/sessionClosed(_:file:line:)``.
    /// - Throws: ``RPCError/protocolViolation(_:file:line:)`` (after sending `Abort`) for undecodable input, or the
    ///   writer's error.
    public func run<Inbound: AsyncSequence & Sendable>(inbound: Inbound) async throws -> RPCSessionEnd
    where Inbound.Element == ByteBuffer {
        let result: Result<Void, any Error>
        do {
            try await withThrowingTaskGroup(of: Finished.self) { group in
                group.addTask {
                    try await self.readLoop(inbound)
                    return .reader
                }
                group.addTask {
                    for await bytes in self.outbound {
                        try await self.writer(bytes)
                    }
                    return .writer
                }
                switch try await group.next()! {
                case .reader:
                    // Flush what is queued (for example Returns or our Abort), then stop.
                    self.outboundContinuation.finish()
                    _ = try await group.next()
                case .writer:
                    group.cancelAll()
                }
            }
            result = .success(())
        } catch {
            result = .failure(error)
        }
        self.outboundContinuation.finish()
        let (end, waiters) = self.state.withLock { $0.close(default: .endOfStream) }
        for waiter in waiters {
            waiter.resume(throwing: RPCError.sessionClosed("\(end)"))
        }
        try result.get()
        return end
    }

    private func readLoop<Inbound: AsyncSequence & Sendable>(_ inbound: Inbound) async throws where Inbound.Element == ByteBuffer {
        var decoder = CapnpFrameDecoder(limits: self.configuration.readerLimits)
        try await withThrowingTaskGroup(of: Void.self) { calls in
            for try await bytes in inbound {
                decoder.append(bytes)
                while true {
                    let message: CapnpMessage?
                    do {
                        message = try decoder.next()
                    } catch {
                        try self.protocolViolationFromHandler("bad frame: \(error)")
                    }
                    guard let message else { break }
                    for job in try self.handle(message) {
                        calls.addTask { await self.perform(job) }
                    }
                    if self.state.withLock({ $0.end != nil }) {
                        calls.cancelAll()
                        return
                    }
                }
            }
            self.state.withLock { state in
                if state.end == nil { state.end = .endOfStream }
            }
            calls.cancelAll()
        }
    }

    // MARK: - Sending

    /// Encodes and queues a message; encoding errors of our own messages are programming errors surfaced to callers.
    @discardableResult
    func send(_ message: RPCMessage) -> Bool {
        guard let framed = try? message.framed() else { return false }
        if case .terminated = self.outboundContinuation.yield(framed) { return false }
        return true
    }

    func finishOutbound() {
        self.outboundContinuation.finish()
    }

    func send(framed message: CapnpMessage) {
        self.outboundContinuation.yield(message.framed())
    }

    // MARK: - Client side

    /// Asks the peer for its bootstrap capability. The returned promise can be called at once (pipelining).
    public func bootstrap() throws -> RPCRemoteCapability {
        try self.state.withLock { state in
            guard state.end == nil else { throw RPCError.sessionClosed("bootstrap after the session ended") }
            let question = state.allocateQuestion(.bootstrap)
            state.bootstrapGeneration += 1
            let generation = state.bootstrapGeneration
            state.bootstraps[generation] = .pending(question: question)
            state.bootstrapByQuestion[question] = generation
            self.send(.bootstrap(questionID: question))
            return RPCRemoteCapability(reference: .bootstrap(question: question, generation: generation))
        }
    }

    /// Calls a method on a remote capability and waits for its results.
    ///
    /// - Throws: ``RPCException`` if the peer answered with an exception, ``RPCError`` if the session ended,
    ///   `CancellationError` if the calling task was cancelled (a `Finish` is then sent for the question).
    public func call(
        _ capability: RPCRemoteCapability, interfaceID: UInt64, methodID: UInt16, params: any CapnpStructEncodable & Sendable
    ) async throws -> RPCPayload {
        let question: UInt32 = try self.state.withLock { state in
            guard state.end == nil else { throw RPCError.sessionClosed("call after the session ended") }
            let target: RPCMessageTarget
            switch capability.reference {
            case .imported(let id):
                target = .importedCap(id)
            case .bootstrap(_, let generation):
                switch state.bootstraps[generation] {
                case .pending(let question)?: target = .promisedAnswer(RPCPromisedAnswer(questionID: question))
                case .resolved(let id)?: target = .importedCap(id)
                case .failed(let error)?: throw error
                case nil: throw RPCError.sessionClosed("bootstrap capability was released")
                }
            }
            let question = state.allocateQuestion(.call(nil))
            let call = RPCCall(
                questionID: question, target: target, interfaceID: interfaceID, methodID: methodID,
                params: RPCPayload(content: .value(params), capTable: []))
            let framed: ByteBuffer
            do {
                framed = try RPCMessage.call(call).framed()
            } catch {
                state.releaseQuestion(question)
                throw error
            }
            self.outboundContinuation.yield(framed)
            return question
        }
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<RPCPayload, any Error>) in
                let immediate: Result<RPCPayload, any Error>? = self.state.withLock { state in
                    state.attach(continuation, to: question)
                }
                if let immediate { continuation.resume(with: immediate) }
            }
        } onCancel: {
            let waiter: CheckedContinuation<RPCPayload, any Error>?? = self.state.withLock { state in
                let (waiter, sendFinish) = state.cancelQuestion(question)
                if sendFinish { self.send(.finish(questionID: question, releaseResultCaps: true)) }
                return waiter
            }
            if let waiter = waiter ?? nil { waiter.resume(throwing: CancellationError()) }
        }
    }

    /// Resolves a bootstrap promise into the imported capability once its `Return` arrived (for inspection).
    public func resolvedImport(of capability: RPCRemoteCapability) -> UInt32? {
        switch capability.reference {
        case .imported(let id): return id
        case .bootstrap(_, let generation):
            return self.state.withLock { state in
                if case .resolved(let id)? = state.bootstraps[generation] { return id }
                return nil
            }
        }
    }

    /// Ends the session like cloudflared's library: `Release` for every import still held, then
    /// `Abort(reason)`, then the writer is drained and ``run(inbound:)`` returns ``RPCSessionEnd/localShutdown``.
    public func shutdown(reason: String = "rpc: shutdown") {
        let waiters: [CheckedContinuation<RPCPayload, any Error>] = self.state.withLock { state in
            guard state.end == nil else { return [] }
            for (id, count) in state.imports.sorted(by: { $0.key < $1.key }) {
                self.send(.release(id: id, referenceCount: count))
            }
            state.imports.removeAll()
            self.send(.abort(RPCException(reason: reason, type: .failed)))
            return state.close(default: .localShutdown).waiters
        }
        self.outboundContinuation.finish()
        for waiter in waiters {
            waiter.resume(throwing: RPCError.sessionClosed("local shutdown"))
        }
    }
}
