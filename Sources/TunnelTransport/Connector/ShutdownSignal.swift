import Synchronization

/// A one-shot signal many tasks can wait for; firing it twice is harmless.
public final class ShutdownSignal: Sendable {
    private struct State {
        var fired = false
        var waiters: [CheckedContinuation<Void, Never>] = []
    }

    private let state = Mutex(State())

    /// Creates an unfired signal.
    public init() {}

    /// Whether it has fired.
    public var isFired: Bool { state.withLock { $0.fired } }

    /// Fires the signal, waking every waiter.
    public func fire() {
        let waiters = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            guard !state.fired else { return [] }
            state.fired = true
            defer { state.waiters = [] }
            return state.waiters
        }
        for waiter in waiters { waiter.resume() }
    }

    /// Returns once fired (or at once if it already was). Not cancellable by design: callers
    /// race it against other work in a task group.
    public func wait() async {
        await withCheckedContinuation { continuation in
            let fired = state.withLock { state -> Bool in
                if state.fired { return true }
                state.waiters.append(continuation)
                return false
            }
            if fired { continuation.resume() }
        }
    }
}
