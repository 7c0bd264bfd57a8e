/// The RPC tables of one session (questions, answers, exports, imports), mutated only under the session's lock.
struct RPCSessionState: ~Copyable {
    typealias Waiter = CheckedContinuation<RPCPayload, any Error>

    enum Question {
        case bootstrap
        /// A call; the continuation is `nil` until the caller starts waiting.
        case call(Waiter?)
        /// The return arrived before the caller started waiting.
        case completed(Result<RPCPayload, any Error>)
        /// The caller gave up and sent `Finish`; the id stays reserved until the `Return` arrives.
        case canceled
    }

    enum Bootstrap {
        case pending(question: UInt32)
        case resolved(UInt32)
        case failed(any Error)
    }

    struct Answer {
        enum Kind {
            case bootstrap(UInt32)
            case call
        }

        var kind: Kind
        var returned: Bool
        var finished = false
    }

    struct Export {
        let capability: any RPCCapability
        var references: UInt32
    }

    var questions: [UInt32: Question] = [:]
    private var freeQuestionIDs: [UInt32] = []
    private var nextQuestionID: UInt32 = 0
    var bootstraps: [UInt64: Bootstrap] = [:]
    var bootstrapByQuestion: [UInt32: UInt64] = [:]
    var bootstrapGeneration: UInt64 = 0
    var answers: [UInt32: Answer] = [:]
    var exports: [UInt32: Export] = [:]
    private var bootstrapExportID: UInt32?
    private var nextExportID: UInt32 = 0
    /// Imported capability id → reference count.
    var imports: [UInt32: UInt32] = [:]
    var end: RPCSessionEnd?

    init() {}

    // MARK: Questions

    /// Allocates a question id like cloudflared's library: lowest fresh id, or the most recently freed one.
    mutating func allocateQuestion(_ question: Question) -> UInt32 {
        let id: UInt32
        if let reused = self.freeQuestionIDs.popLast() {
            id = reused
        } else {
            id = self.nextQuestionID
            self.nextQuestionID += 1
        }
        self.questions[id] = question
        return id
    }

    mutating func releaseQuestion(_ id: UInt32) {
        guard self.questions.removeValue(forKey: id) != nil else { return }
        self.freeQuestionIDs.append(id)
    }

    /// Registers the caller's continuation; returns a result to deliver at once if the question already ended.
    mutating func attach(_ waiter: Waiter, to id: UInt32) -> Result<RPCPayload, any Error>? {
        switch self.questions[id] {
        case .call(nil)?:
            if let end = self.end {
                self.releaseQuestion(id)
                return .failure(RPCError.sessionClosed("\(end)"))
            }
            self.questions[id] = .call(waiter)
            return nil
        case .completed(let result)?:
            self.releaseQuestion(id)
            return result
        case .canceled?:
            return .failure(CancellationError())
        default:
            return .failure(RPCError.sessionClosed("question \(id) is gone"))
        }
    }

    /// Marks a question canceled; returns its waiter (if any) and whether a `Finish` must be sent.
    mutating func cancelQuestion(_ id: UInt32) -> (Waiter??, Bool) {
        guard case .call(let waiter)? = self.questions[id], self.end == nil else { return (nil, false) }
        self.questions[id] = .canceled
        return (.some(waiter), true)
    }

    mutating func failQuestion(_ id: UInt32, _ error: any Error) -> [(Waiter, Result<RPCPayload, any Error>)] {
        switch self.questions[id] {
        case .call(let waiter?)?:
            self.releaseQuestion(id)
            return [(waiter, .failure(error))]
        case .call(nil)?:
            self.questions[id] = .completed(.failure(error))
        case .bootstrap?:
            self.resolveBootstrap(question: id, .failed(error))
            self.releaseQuestion(id)
        case .canceled?, .completed?:
            self.releaseQuestion(id)
        case nil:
            break
        }
        return []
    }

    private mutating func resolveBootstrap(question: UInt32, _ resolution: Bootstrap) {
        if let generation = self.bootstrapByQuestion.removeValue(forKey: question) {
            self.bootstraps[generation] = resolution
        }
    }

    /// Handles a `Return` for one of our questions.
    mutating func handleReturn(_ ret: RPCReturn, session: RPCSession, original: CapnpMessage) -> [(Waiter, Result<RPCPayload, any Error>)] {
        let id = ret.answerID
        guard let question = self.questions[id] else { return [] }
        let outcome: Result<RPCPayload, any Error>
        switch ret.result {
        case .results(let payload):
            session.send(.finish(questionID: id, releaseResultCaps: false))
            outcome = .success(payload)
        case .exception(let exception):
            session.send(.finish(questionID: id, releaseResultCaps: true))
            outcome = .failure(exception)
        case .canceled:
            outcome = .failure(RPCException(reason: "rpc: call canceled", type: .failed))
        default:
            if let echo = try? RPCMessage.unimplemented(echoing: original, limits: session.configuration.readerLimits) {
                session.send(framed: echo)
            }
            outcome = .failure(RPCException(reason: "rpc: unsupported return kind", type: .unimplemented))
        }
        switch question {
        case .bootstrap:
            self.resolveBootstrap(question: id, self.bootstrapResolution(outcome))
            self.releaseQuestion(id)
            return []
        case .call(let waiter?):
            self.releaseQuestion(id)
            return [(waiter, outcome)]
        case .call(nil):
            self.questions[id] = .completed(outcome)
            return []
        case .canceled, .completed:
            self.releaseQuestion(id)
            return []
        }
    }

    private mutating func bootstrapResolution(_ outcome: Result<RPCPayload, any Error>) -> Bootstrap {
        switch outcome {
        case .failure(let error):
            return .failed(error)
        case .success(let payload):
            guard case .capability(let index) = payload.content, let table = payload.capTable, Int(index) < table.count else {
                return .failed(RPCError.bootstrapFailed("content is not a capability"))
            }
            switch table[Int(index)] {
            case .senderHosted(let id), .senderPromise(let id):
                self.imports[id, default: 0] += 1
                return .resolved(id)
            default:
                return .failed(RPCError.bootstrapFailed("unsupported capability descriptor \(table[Int(index)])"))
            }
        }
    }

    // MARK: Exports

    mutating func exportBootstrap(_ capability: any RPCCapability) -> UInt32 {
        if let id = self.bootstrapExportID, self.exports[id] != nil {
            self.exports[id]!.references += 1
            return id
        }
        let id = self.nextExportID
        self.nextExportID += 1
        self.exports[id] = Export(capability: capability, references: 1)
        self.bootstrapExportID = id
        return id
    }

    mutating func releaseExport(_ id: UInt32, count: UInt32) {
        guard let export = self.exports[id] else { return }
        if export.references <= count {
            self.exports[id] = nil
        } else {
            self.exports[id]!.references -= count
        }
    }

    func resolveTarget(_ target: RPCMessageTarget) -> Result<any RPCCapability, RPCException> {
        switch target {
        case .importedCap(let id):
            guard let export = self.exports[id] else {
                return .failure(RPCException(reason: "rpc: target not found (import \(id))"))
            }
            return .success(export.capability)
        case .promisedAnswer(let promise):
            guard case .bootstrap(let exportID)? = self.answers[promise.questionID]?.kind,
                promise.transform.allSatisfy({ $0 == .noop }),
                let export = self.exports[exportID]
            else {
                return .failure(RPCException(reason: "rpc: target not found (promised answer \(promise.questionID))"))
            }
            return .success(export.capability)
        }
    }

    // MARK: End

    /// Marks the session ended and returns every waiting caller.
    mutating func close(default end: RPCSessionEnd) -> (end: RPCSessionEnd, waiters: [Waiter]) {
        if self.end == nil { self.end = end }
        var waiters: [Waiter] = []
        for (id, question) in self.questions {
            if case .call(let waiter?) = question {
                waiters.append(waiter)
                self.questions[id] = .completed(.failure(RPCError.sessionClosed("\(self.end!)")))
            }
        }
        for (generation, bootstrap) in self.bootstraps {
            if case .pending = bootstrap {
                self.bootstraps[generation] = .failed(RPCError.sessionClosed("\(self.end!)"))
            }
        }
        return (self.end!, waiters)
    }
}
