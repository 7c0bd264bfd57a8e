import TunnelTransport

/// libFuzzer entry point: frames the input, decodes every message as an RPC message and as the registration
/// schema types, and deep-copies everything reachable. Errors are expected; traps and sanitizer reports are bugs.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    // Small limits keep each input fast while still exercising the limit checks.
    let limits = CapnpReaderLimits(traversalLimitWords: 1 << 16, nestingLimit: 32, maxSegments: 64, maxMessageWords: 1 << 16)
    var decoder = CapnpFrameDecoder(limits: limits)
    decoder.append(bytes)
    while let message = try? decoder.next() {
        exercise(message, limits: limits)
    }
    // The same bytes as one unframed segment, so the fuzzer can mutate pointers directly.
    let words = size / 8 * 8
    if words > 0, let message = try? CapnpMessage(segments: [Array(bytes[0..<words])]) {
        exercise(message, limits: limits)
    }
    return 0
}

func exercise(_ message: CapnpMessage, limits: CapnpReaderLimits) {
    if let root = try? message.rootPointer(limits: limits) {
        var builder = CapnpMessageBuilder()
        let holder = builder.initRoot(dataWords: 0, pointers: 1)
        try? builder.copy(root, in: holder, pointer: 0)
    }
    _ = try? RegisterConnectionParams(capnpMessage: message, limits: limits)
    _ = try? RegisterConnectionResults(capnpMessage: message, limits: limits)
    _ = try? LegacyRegisterTunnelParams(capnpMessage: message, limits: limits)
    _ = try? LegacyResult<LegacyTunnelRegistration>(capnpMessage: message, limits: limits)
    guard let rpc = try? RPCMessage(decoding: message, limits: limits) else { return }
    _ = try? RPCMessage.unimplemented(echoing: message, limits: limits)
    switch rpc {
    case .call(let call):
        _ = try? call.params.content.decode(RegisterConnectionParams.self, limits: limits)
        _ = try? call.params.content.decode(UpdateLocalConfigurationParams.self, limits: limits)
    case .return(let ret):
        if case .results(let payload) = ret.result {
            _ = try? payload.content.decode(RegisterConnectionResults.self, limits: limits)
        }
    default:
        break
    }
    _ = try? rpc.encode()
}
