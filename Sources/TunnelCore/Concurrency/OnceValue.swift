import Synchronization

/// A value that becomes known once, or fails once, awaited by any number of callers: the
/// address a listener bound, which callers ask for before or after the bind happened.
public final class OnceValue<Value: Sendable>: Sendable {
    private let state = Mutex<(result: Result<Value, any Error>?, waiters: [CheckedContinuation<Value, any Error>])>((nil, []))

    /// Creates an unknown value.
    public init() {}

    /// Sets the value and wakes the waiters; later calls (and ``fail(_:)``) are ignored.
    public func succeed(_ value: Value) {
        resolve(.success(value))
    }

    /// Fails the value and wakes the waiters with `error`; later calls are ignored.
    public func fail(_ error: any Error) {
        resolve(.failure(error))
    }

    /// The value, once known; throws the error it failed with.
    public func wait() async throws -> Value {
        try await withCheckedThrowingContinuation { continuation in
            let known = state.withLock { state in
                if state.result == nil { state.waiters.append(continuation) }
                return state.result
            }
            if let known { continuation.resume(with: known) }
        }
    }

    private func resolve(_ result: Result<Value, any Error>) {
        let waiters = state.withLock { state -> [CheckedContinuation<Value, any Error>] in
            guard state.result == nil else { return [] }
            state.result = result
            defer { state.waiters = [] }
            return state.waiters
        }
        for waiter in waiters { waiter.resume(with: result) }
    }
}
