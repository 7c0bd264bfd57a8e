import Synchronization

/// Work the read loop hands to a child task: running a call on a local capability.
struct RPCCallJob: Sendable {
    let answerID: UInt32
    let capability: any RPCCapability
    let interfaceID: UInt64
    let methodID: UInt16
    let params: RPCPayload
}

extension RPCSession {
    /// Handles one inbound message under the lock; returns calls to run concurrently.
    func handle(_ message: CapnpMessage) throws -> [RPCCallJob] {
        let decoded: RPCMessage
        do {
            decoded = try RPCMessage(decoding: message, limits: self.configuration.readerLimits)
        } catch {
            try self.protocolViolationFromHandler("undecodable message: \(error)")
        }
        var resumes: [(CheckedContinuation<RPCPayload, any Error>, Result<RPCPayload, any Error>)] = []
        var jobs: [RPCCallJob] = []
        var violation: String?
        self.state.withLock { state in
            guard state.end == nil else { return }
            switch decoded {
            case .bootstrap(let question):
                guard state.answers[question] == nil else {
                    violation = "duplicate question \(question)"
                    return
                }
                guard let capability = self.bootstrapCapability else {
                    self.send(.return(RPCReturn(answerID: question, result: .exception(RPCException(reason: "rpc: no bootstrap interface")))))
                    state.answers[question] = RPCSessionState.Answer(kind: .call, returned: true)
                    return
                }
                let export = state.exportBootstrap(capability)
                state.answers[question] = RPCSessionState.Answer(kind: .bootstrap(export), returned: true)
                self.send(.return(RPCReturn(
                    answerID: question, result: .results(RPCPayload(content: .capability(0), capTable: [.senderHosted(export)])))))

            case .call(let call):
                guard state.answers[call.questionID] == nil else {
                    violation = "duplicate question \(call.questionID)"
                    return
                }
                guard state.answers.count < self.configuration.maxOutstandingAnswers else {
                    violation = "more than \(self.configuration.maxOutstandingAnswers) outstanding questions"
                    return
                }
                state.answers[call.questionID] = RPCSessionState.Answer(kind: .call, returned: false)
                guard call.sendResultsTo == 0 else {
                    self.send(.return(RPCReturn(answerID: call.questionID, result: .exception(RPCException(
                        reason: "rpc: sendResultsTo other than caller is not supported", type: .unimplemented)))))
                    state.answers[call.questionID]?.returned = true
                    return
                }
                switch state.resolveTarget(call.target) {
                case .success(let capability):
                    jobs.append(RPCCallJob(
                        answerID: call.questionID, capability: capability, interfaceID: call.interfaceID,
                        methodID: call.methodID, params: call.params))
                case .failure(let exception):
                    self.send(.return(RPCReturn(answerID: call.questionID, result: .exception(exception))))
                    state.answers[call.questionID]?.returned = true
                }

            case .finish(let question, let releaseResultCaps):
                guard let answer = state.answers[question] else { return }
                if case .bootstrap(let export) = answer.kind, releaseResultCaps {
                    state.releaseExport(export, count: 1)
                }
                if answer.returned {
                    state.answers[question] = nil
                } else {
                    state.answers[question]?.finished = true
                }

            case .release(let id, let count):
                state.releaseExport(id, count: count)

            case .abort(let exception):
                state.end = .remoteAbort(exception)
                resumes = state.close(default: .remoteAbort(exception)).waiters.map {
                    ($0, .failure(RPCError.sessionClosed("peer aborted: \(exception.reason)")))
                }

            case .return(let ret):
                resumes = state.handleReturn(ret, session: self, original: message)

            case .unimplemented(let inner):
                switch inner {
                case .call(let call)?:
                    resumes = state.failQuestion(call.questionID, RPCException(reason: "rpc: peer does not implement calls", type: .unimplemented))
                case .bootstrap(let question)?:
                    resumes = state.failQuestion(question, RPCException(reason: "rpc: peer does not implement bootstrap", type: .unimplemented))
                default:
                    break
                }

            case .other:
                if let echo = try? RPCMessage.unimplemented(echoing: message, limits: self.configuration.readerLimits) {
                    self.send(framed: echo)
                }
            }
        }
        for (continuation, result) in resumes {
            continuation.resume(with: result)
        }
        if let violation {
            try self.protocolViolationFromHandler(violation)
        }
        return jobs
    }

    func protocolViolationFromHandler(_ detail: String) throws -> Never {
        self.send(.abort(RPCException(reason: "rpc: protocol violation: \(detail)")))
        let waiters = self.state.withLock { $0.close(default: .localShutdown).waiters }
        self.finishOutbound()
        for waiter in waiters {
            waiter.resume(throwing: RPCError.sessionClosed("protocol violation"))
        }
        throw RPCError.protocolViolation(detail)
    }

    /// Runs one call on its capability and queues the `Return`.
    func perform(_ job: RPCCallJob) async {
        var result: RPCReturn.Result
        do {
            let content = try await job.capability.handleCall(interfaceID: job.interfaceID, methodID: job.methodID, params: job.params)
            result = .results(RPCPayload(content: content, capTable: nil))
        } catch let exception as RPCException {
            result = .exception(exception)
        } catch is CancellationError {
            result = .canceled
        } catch {
            result = .exception(RPCException(reason: "\(error)", type: .failed))
        }
        self.state.withLock { state in
            guard state.end == nil else { return }
            if !self.send(.return(RPCReturn(answerID: job.answerID, result: result))) {
                self.send(.return(RPCReturn(answerID: job.answerID, result: .exception(RPCException(reason: "rpc: results could not be encoded")))))
            }
            if state.answers[job.answerID]?.finished == true {
                state.answers[job.answerID] = nil
            } else {
                state.answers[job.answerID]?.returned = true
            }
        }
    }
}
