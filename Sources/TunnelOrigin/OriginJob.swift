import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1

/// A request body of any async sequence type, consumed once.
struct OriginRequestBody: Sendable {
    let forEach: @Sendable (_ consume: (ByteBuffer) async throws -> Void) async throws -> Void

    init<Body: AsyncSequence & Sendable>(_ body: Body) where Body.Element == ByteBuffer {
        forEach = { consume in
            for try await chunk in body {
                try await consume(chunk)
            }
        }
    }
}

/// One request travelling to an origin connection, and its outcome travelling back.
final class OriginJob: Sendable {
    let head: HTTPRequestHead
    let body: OriginRequestBody?
    let writer: any OriginResponseWriter

    private struct State {
        var outcome: OriginExchangeOutcome?
        var waiter: CheckedContinuation<OriginExchangeOutcome, Never>?
        var channel: (any Channel)?
        var cancelled = false
        var bodyStarted = false
        var responseStarted = false
    }

    private let state = NIOLockedValueBox(State())

    init(head: HTTPRequestHead, body: OriginRequestBody?, writer: any OriginResponseWriter) {
        self.head = head
        self.body = body
        self.writer = writer
    }

    /// A fresh job for the same request, for a retry on another connection.
    func retried() -> OriginJob {
        OriginJob(head: head, body: body, writer: writer)
    }

    /// Nothing has been streamed either way, so the request can go to another connection.
    var isRetryable: Bool {
        state.withLockedValue { !$0.bodyStarted && !$0.responseStarted && !$0.cancelled }
    }

    func outcome() async -> OriginExchangeOutcome {
        await withCheckedContinuation { continuation in
            let ready: OriginExchangeOutcome? = state.withLockedValue { state in
                if let outcome = state.outcome { return outcome }
                state.waiter = continuation
                return nil
            }
            if let ready { continuation.resume(returning: ready) }
        }
    }

    func finish(_ outcome: OriginExchangeOutcome) {
        let waiter: CheckedContinuation<OriginExchangeOutcome, Never>? = state.withLockedValue { state in
            guard state.outcome == nil else { return nil }
            state.outcome = outcome
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume(returning: outcome)
    }

    func attach(_ channel: any Channel) {
        let cancelled = state.withLockedValue { state -> Bool in
            state.channel = channel
            return state.cancelled
        }
        if cancelled { channel.close(promise: nil) }
    }

    /// The caller went away: abort the exchange by closing its connection.
    func cancel() {
        let channel = state.withLockedValue { state -> (any Channel)? in
            state.cancelled = true
            return state.outcome == nil ? state.channel : nil
        }
        channel?.close(promise: nil)
        finish(.failedBeforeResponse(OriginError.cancelled))
    }

    private func markBodyStarted() {
        state.withLockedValue { $0.bodyStarted = true }
    }

    private func markResponseStarted() {
        state.withLockedValue { $0.responseStarted = true }
    }

    private var responseStarted: Bool {
        state.withLockedValue { $0.responseStarted }
    }

    /// Sends the request and streams the response. Returns whether the connection can be
    /// reused, or `nil` after a failure (the job is then finished with it). After a success the
    /// caller checks the connection back in first and then calls ``finish(_:)`` with
    /// `.completed`, so the next request already finds it idle.
    func run(
        responses: inout NIOAsyncChannelInboundStream<HTTPClientResponsePart>.AsyncIterator,
        outbound: NIOAsyncChannelOutboundWriter<HTTPClientRequestPart>,
        logger: Logger
    ) async -> Bool? {
        var keepAlive = head.isKeepAlive
        let bodyFinished = NIOLockedValueBox(false)
        do {
            if body == nil {
                // Nothing to stream: head and end go out together (one flush, one write(2)), and
                // the request is complete before the response is read.
                try await outbound.write(contentsOf: [.head(head), .end(nil)])
                bodyFinished.withLockedValue { $0 = true }
            } else {
                try await outbound.write(.head(head))
            }
            try await withThrowingTaskGroup(of: Void.self) { group in
                if let body = self.body {
                    group.addTask { [self] in
                        try await body.forEach { chunk in
                            markBodyStarted()
                            try await outbound.write(.body(.byteBuffer(chunk)))
                        }
                        try await outbound.write(.end(nil))
                        bodyFinished.withLockedValue { $0 = true }
                    }
                }
                reading: while true {
                    guard let part = try await responses.next() else {
                        throw OriginError.closedBeforeResponse
                    }
                    switch part {
                    case .head(let response):
                        // Interim responses (100 Continue, 103 Early Hints) are not forwarded.
                        if response.status.code < 200 && response.status != .switchingProtocols { continue }
                        keepAlive = keepAlive && response.isKeepAlive
                        markResponseStarted()
                        try await writer.writeHead(response)
                    case .body(let buffer):
                        try await writer.writeBody(buffer)
                    case .end(let trailers):
                        try await writer.writeEnd(trailers: trailers)
                        break reading
                    }
                }
                // The origin answered before reading the whole request body: stop sending it; the
                // connection cannot be reused then.
                if !bodyFinished.withLockedValue({ $0 }) {
                    group.cancelAll()
                    keepAlive = false
                } else {
                    try await group.waitForAll()
                }
            }
            return keepAlive && bodyFinished.withLockedValue { $0 }
        } catch {
            logger.debug("origin exchange failed", metadata: ["error": "\(error)", "path": "\(head.uri)"])
            finish(responseStarted ? .failedDuringResponse(error) : .failedBeforeResponse(error))
            return nil
        }
    }
}
