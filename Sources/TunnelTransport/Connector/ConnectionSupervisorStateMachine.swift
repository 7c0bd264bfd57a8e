/// Decides when each of a connector's HA connections dials, waits and gives up, with
/// cloudflared's schedule (edge-protocol spec §1.3). Pure: events in, actions out, no I/O.
///
/// - Connection 0 starts alone; once it has registered, 1 starts at once and each further
///   index one `registrationInterval` after the previous start.
/// - A failed connection retries after a uniformly random wait in `[0, 2^n s)`, `n` the number
///   of consecutive failures capped at `retries`; the counter resets on registration and is sent
///   as `numPreviousAttempts`.
/// - Dial failures move the slot to the next edge address.
/// - A permanent failure (a deleted or revoked tunnel, bad credentials) stops everything, and so
///   does a non-retryable failure of connection 0 before it ever registered.
public struct ConnectionSupervisorStateMachine: Sendable {
    /// What went wrong with a connection.
    public enum Failure: Hashable, Sendable {
        /// TCP or TLS could not be established: retry on another edge address.
        case dial(String)
        /// The connection broke or the edge asked to retry: retry on the same address.
        case retryable(String)
        /// The edge refused for good (unknown, deleted or revoked tunnel): stop, no retries.
        case permanent(String)
    }

    /// What the driver must do next.
    public enum Action: Hashable, Sendable {
        /// Connect slot `connIndex` to `edgeAddresses[addressIndex]` and register with
        /// `previousAttempts` as `numPreviousAttempts`.
        case dial(connIndex: Int, addressIndex: Int, previousAttempts: Int)
        /// Call ``retryTimerFired(connIndex:)`` after `delay`.
        case scheduleRetry(connIndex: Int, delay: Duration, upTo: Duration)
        /// Call ``startTimerFired(connIndex:)`` after `delay` (staggered HA start).
        case scheduleStart(connIndex: Int, delay: Duration)
        /// Stop every connection and exit with this reason (`nil`: clean shutdown).
        case stop(failure: String?)
    }

    private enum Slot: Hashable, Sendable {
        case notStarted
        case connecting
        case registered
        case waiting
        case stopped
    }

    /// Number of HA connections actually run (capped to the number of edge addresses).
    public let connectionCount: Int
    /// Retry doublings cap (`--retries`, default 5: at most 32 s).
    public let retries: Int
    /// Delay between staggered starts of indexes ≥ 2 (1 s as cloudflared).
    public let registrationInterval: Duration

    private let addressCount: Int
    private var slots: [Slot]
    private var failures: [Int]
    private var addressOf: [Int]
    private var everRegistered = false
    private var stopping = false

    /// Creates the state machine for `haConnections` connections over `edgeAddressCount`
    /// addresses; as cloudflared, it never runs more connections than addresses.
    public init(haConnections: Int = 4, edgeAddressCount: Int, retries: Int = 5, registrationInterval: Duration = .seconds(1)) {
        precondition(edgeAddressCount > 0, "at least one edge address")
        connectionCount = max(1, min(haConnections, edgeAddressCount))
        addressCount = edgeAddressCount
        self.retries = max(0, retries)
        self.registrationInterval = registrationInterval
        slots = Array(repeating: .notStarted, count: connectionCount)
        failures = Array(repeating: 0, count: connectionCount)
        addressOf = Array(0..<connectionCount)
    }

    /// Whether the requested HA count was reduced for lack of addresses (cloudflared logs
    /// "You requested N HA connections but I can give you at most M.").
    public static func cappedMessage(requested: Int, addresses: Int) -> String? {
        requested > addresses ? "You requested \(requested) HA connections but I can give you at most \(addresses)." : nil
    }

    /// Starts connection 0.
    public mutating func start() -> [Action] {
        guard slots[0] == .notStarted else { return [] }
        return [dial(0)]
    }

    /// A connection registered with the edge.
    public mutating func registered(connIndex: Int) -> [Action] {
        guard !stopping, slots.indices.contains(connIndex), slots[connIndex] == .connecting else { return [] }
        slots[connIndex] = .registered
        failures[connIndex] = 0
        guard connIndex == 0, !everRegistered else {
            everRegistered = true
            return []
        }
        everRegistered = true
        var actions: [Action] = []
        for index in 1..<connectionCount {
            if index == 1 {
                actions.append(dial(1))
            } else {
                actions.append(.scheduleStart(connIndex: index, delay: registrationInterval * (index - 1)))
            }
        }
        return actions
    }

    /// A staggered start is due.
    public mutating func startTimerFired(connIndex: Int) -> [Action] {
        guard !stopping, slots.indices.contains(connIndex), slots[connIndex] == .notStarted else { return [] }
        return [dial(connIndex)]
    }

    /// A connection failed or ended. `randomFraction` in `[0, 1)` draws the jitter.
    public mutating func failed(connIndex: Int, _ failure: Failure, randomFraction: Double) -> [Action] {
        guard !stopping, slots.indices.contains(connIndex), slots[connIndex] == .connecting || slots[connIndex] == .registered else {
            return []
        }
        switch failure {
        case .permanent(let reason):
            return stop(reason)
        case .dial:
            // Move to an address no other slot uses, when there is one.
            if addressCount > connectionCount {
                addressOf[connIndex] = nextFreeAddress(after: (addressOf[connIndex] + 1) % addressCount, for: connIndex)
            }
        case .retryable:
            break
        }
        failures[connIndex] += 1
        slots[connIndex] = .waiting
        let exponent = min(failures[connIndex], retries)
        let ceiling = Duration.seconds(1 << exponent)
        let delay = ceiling * max(0, min(randomFraction, 0.999_999))
        return [.scheduleRetry(connIndex: connIndex, delay: delay, upTo: ceiling)]
    }

    /// A retry wait is over.
    public mutating func retryTimerFired(connIndex: Int) -> [Action] {
        guard !stopping, slots.indices.contains(connIndex), slots[connIndex] == .waiting else { return [] }
        return [dial(connIndex)]
    }

    /// Graceful shutdown requested.
    public mutating func shutdown() -> [Action] {
        guard !stopping else { return [] }
        return stop(nil)
    }

    /// The retry counter of a slot (what goes out as `numPreviousAttempts`).
    public func previousAttempts(connIndex: Int) -> Int {
        failures[connIndex]
    }

    /// Slots currently registered.
    public var registeredCount: Int {
        slots.filter { $0 == .registered }.count
    }

    private mutating func dial(_ index: Int) -> Action {
        slots[index] = .connecting
        return .dial(connIndex: index, addressIndex: addressOf[index], previousAttempts: failures[index])
    }

    private mutating func stop(_ reason: String?) -> [Action] {
        stopping = true
        slots = slots.map { _ in .stopped }
        return [.stop(failure: reason)]
    }

    private func nextFreeAddress(after start: Int, for index: Int) -> Int {
        let used = Set(addressOf.enumerated().filter { $0.offset != index }.map(\.element))
        var candidate = start
        for _ in 0..<addressCount {
            if !used.contains(candidate) { return candidate }
            candidate = (candidate + 1) % addressCount
        }
        return start
    }
}
