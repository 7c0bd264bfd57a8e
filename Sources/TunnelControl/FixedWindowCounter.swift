import Synchronization

/// Counts events per key in fixed windows (a window starts with its key's first event):
/// the per-token API rate limit and the failed sign-ins per user name.
final class FixedWindowCounter: Sendable {
    /// How long a window lasts.
    let window: Duration
    private let windows = Mutex<[String: (start: ContinuousClock.Instant, count: Int)]>([:])

    init(window: Duration) { self.window = window }

    /// Counts one event of `key`; returns what is left of the window when the count is now
    /// over `limit`, `nil` while within it.
    func add(_ key: String, limit: Int) -> Duration? {
        let now = ContinuousClock.now
        return windows.withLock { windows in
            var entry = windows[key] ?? (now, 0)
            if now - entry.start >= window { entry = (now, 0) }
            entry.count += 1
            windows[key] = entry
            // Old windows go once there are many keys, so the table stays bounded.
            if windows.count > 10_000 { windows = windows.filter { now - $0.value.start < window } }
            return entry.count > limit ? window - (now - entry.start) : nil
        }
    }

    /// What is left of `key`'s window when it has reached `limit` already (without counting),
    /// `nil` otherwise.
    func reached(_ key: String, limit: Int) -> Duration? {
        let now = ContinuousClock.now
        return windows.withLock { windows in
            guard let entry = windows[key], now - entry.start < window, entry.count >= limit else { return nil }
            return window - (now - entry.start)
        }
    }

    /// Forgets `key`'s window.
    func reset(_ key: String) {
        _ = windows.withLock { $0.removeValue(forKey: key) }
    }

    /// Whole seconds to wait, rounded up, at least 1 (`Retry-After`).
    static func retryAfter(_ wait: Duration) -> Int {
        max(1, Int(wait.components.seconds) + (wait.components.attoseconds > 0 ? 1 : 0))
    }
}
