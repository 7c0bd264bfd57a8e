public import CoreMetrics
import Synchronization

/// The counters of one series that differ by a label value (a status code, an error kind),
/// created on first use and then cached: the value is recorded on every request, the factory
/// lookup is done once per value.
package final class CounterFamily<Key: Hashable & Sendable>: Sendable {
    private let label: String
    private let factory: any MetricsFactory
    private let dimensions: @Sendable (Key) -> [(String, String)]
    private let counters = Mutex<[Key: Counter]>([:])

    /// A family of `label` on `factory`; `dimensions` gives a value's labels.
    package init(label: String, factory: any MetricsFactory, dimensions: @escaping @Sendable (Key) -> [(String, String)]) {
        self.label = label
        self.factory = factory
        self.dimensions = dimensions
    }

    /// Increments the counter for `key`.
    package func increment(_ key: Key) {
        let counter = counters.withLock { counters in
            if let counter = counters[key] { return counter }
            let counter = Counter(label: label, dimensions: dimensions(key), factory: factory)
            counters[key] = counter
            return counter
        }
        counter.increment()
    }
}
