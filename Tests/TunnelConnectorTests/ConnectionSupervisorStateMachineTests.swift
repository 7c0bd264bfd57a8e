import Testing
import TunnelTransport

@Suite("HA supervisor state machine")
struct ConnectionSupervisorStateMachineTests {
    typealias Machine = ConnectionSupervisorStateMachine

    @Test("connection 0 starts alone; after it registers 1 starts at once, 2 and 3 staggered by 1 s")
    func startupOrder() {
        var machine = Machine(haConnections: 4, edgeAddressCount: 4)
        #expect(machine.start() == [.dial(connIndex: 0, addressIndex: 0, previousAttempts: 0)])
        #expect(machine.registered(connIndex: 0) == [
            .dial(connIndex: 1, addressIndex: 1, previousAttempts: 0),
            .scheduleStart(connIndex: 2, delay: .seconds(1)),
            .scheduleStart(connIndex: 3, delay: .seconds(2)),
        ])
        #expect(machine.startTimerFired(connIndex: 2) == [.dial(connIndex: 2, addressIndex: 2, previousAttempts: 0)])
        #expect(machine.startTimerFired(connIndex: 2) == [])
        _ = machine.registered(connIndex: 1)
        _ = machine.registered(connIndex: 2)
        #expect(machine.registeredCount == 3)
    }

    @Test("HA count is capped to the number of edge addresses")
    func capped() {
        let machine = Machine(haConnections: 4, edgeAddressCount: 1)
        #expect(machine.connectionCount == 1)
        #expect(Machine.cappedMessage(requested: 4, addresses: 1) == "You requested 4 HA connections but I can give you at most 1.")
        #expect(Machine.cappedMessage(requested: 4, addresses: 4) == nil)
    }

    @Test("backoff doubles up to 2^retries seconds, with jitter, and resets after registering")
    func backoff() {
        var machine = Machine(haConnections: 1, edgeAddressCount: 1, retries: 3)
        _ = machine.start()
        var ceilings: [Duration] = []
        for _ in 0..<5 {
            let actions = machine.failed(connIndex: 0, .retryable("lost"), randomFraction: 0.5)
            guard case .scheduleRetry(0, let delay, let upTo)? = actions.first else {
                Issue.record("expected a retry, got \(actions)")
                return
            }
            #expect(delay == upTo / 2)
            ceilings.append(upTo)
            #expect(machine.retryTimerFired(connIndex: 0) == [.dial(connIndex: 0, addressIndex: 0, previousAttempts: machine.previousAttempts(connIndex: 0))])
        }
        #expect(ceilings == [.seconds(2), .seconds(4), .seconds(8), .seconds(8), .seconds(8)])
        #expect(machine.previousAttempts(connIndex: 0) == 5)
        _ = machine.registered(connIndex: 0)
        #expect(machine.previousAttempts(connIndex: 0) == 0)
    }

    @Test("dial failures rotate to an unused edge address")
    func rotation() {
        var machine = Machine(haConnections: 2, edgeAddressCount: 4)
        _ = machine.start()
        _ = machine.registered(connIndex: 0)
        _ = machine.failed(connIndex: 1, .dial("refused"), randomFraction: 0)
        #expect(machine.retryTimerFired(connIndex: 1) == [.dial(connIndex: 1, addressIndex: 2, previousAttempts: 1)])
        _ = machine.failed(connIndex: 1, .dial("refused"), randomFraction: 0)
        #expect(machine.retryTimerFired(connIndex: 1) == [.dial(connIndex: 1, addressIndex: 3, previousAttempts: 2)])
        _ = machine.failed(connIndex: 1, .dial("refused"), randomFraction: 0)
        // Address 0 belongs to connection 0, so it wraps to 1.
        #expect(machine.retryTimerFired(connIndex: 1) == [.dial(connIndex: 1, addressIndex: 1, previousAttempts: 3)])
    }

    @Test("a revoked tunnel stops everything, with no retry")
    func permanent() {
        var machine = Machine(haConnections: 4, edgeAddressCount: 4)
        _ = machine.start()
        _ = machine.registered(connIndex: 0)
        #expect(machine.failed(connIndex: 1, .permanent("tunnel deleted"), randomFraction: 0.3) == [.stop(failure: "tunnel deleted")])
        #expect(machine.failed(connIndex: 0, .retryable("lost"), randomFraction: 0.3) == [])
        #expect(machine.retryTimerFired(connIndex: 1) == [])
    }

    @Test("shutdown stops once and ignores later events")
    func shutdown() {
        var machine = Machine(haConnections: 2, edgeAddressCount: 2)
        _ = machine.start()
        #expect(machine.shutdown() == [.stop(failure: nil)])
        #expect(machine.shutdown() == [])
        #expect(machine.registered(connIndex: 0) == [])
    }
}
