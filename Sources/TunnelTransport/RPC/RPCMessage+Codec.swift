public import NIOCore

extension RPCMessage {
    /// Decodes an RPC message from the root of `message`.
    public init(decoding message: CapnpMessage, limits: CapnpReaderLimits = .init()) throws {
        try self.init(reading: try message.root(limits: limits))
    }

    /// Decodes an RPC message from a `Message` struct.
    public init(reading reader: CapnpStructReader) throws {
        let which: UInt16 = reader.read(at: 0)
        guard let kind = Kind(rawValue: which) else {
            self = .other(kind: which)
            return
        }
        switch kind {
        case .unimplemented:
            let inner = try? reader.readStruct(0).map { try RPCMessage(reading: $0) }
            self = .unimplemented(inner ?? nil)
        case .abort:
            self = .abort(try RPCException(reading: try reader.readStruct(0) ?? .empty(reader.context)))
        case .call:
            self = .call(try RPCCall(reading: try Self.body(reader, "call")))
        case .return:
            self = .return(try RPCReturn(reading: try Self.body(reader, "return")))
        case .finish:
            let body = try Self.body(reader, "finish")
            self = .finish(questionID: body.read(at: 0), releaseResultCaps: body.readBool(bit: 32, default: true))
        case .release:
            let body = try Self.body(reader, "release")
            self = .release(id: body.read(at: 0), referenceCount: body.read(at: 4))
        case .bootstrap:
            self = .bootstrap(questionID: try Self.body(reader, "bootstrap").read(at: 0))
        case .resolve, .obsoleteSave, .obsoleteDelete, .provide, .accept, .join, .disembargo:
            self = .other(kind: which)
        }
    }

    private static func body(_ reader: CapnpStructReader, _ name: String) throws -> CapnpStructReader {
        guard let body = try reader.readStruct(0) else {
            throw CapnpError.unexpectedPointerKind("Message.\(name) is null")
        }
        return body
    }

    /// Kind of this message (the `Message` union discriminant).
    public var kind: UInt16 {
        switch self {
        case .unimplemented: Kind.unimplemented.rawValue
        case .abort: Kind.abort.rawValue
        case .call: Kind.call.rawValue
        case .return: Kind.return.rawValue
        case .finish: Kind.finish.rawValue
        case .release: Kind.release.rawValue
        case .bootstrap: Kind.bootstrap.rawValue
        case .other(let kind): kind
        }
    }

    /// Encodes the message as a single-segment Cap'n Proto message, laid out like cloudflared's library does.
    public func encode() throws -> CapnpMessage {
        var builder = CapnpMessageBuilder()
        let root = builder.initRoot(dataWords: 1, pointers: 1)
        try self.encode(to: &builder, as: root)
        return builder.message
    }

    /// Encodes the message with stream framing, ready to write.
    public func framed(allocator: ByteBufferAllocator = ByteBufferAllocator()) throws -> ByteBuffer {
        try self.encode().framed(allocator: allocator)
    }

    /// Writes this message into an allocated `Message` struct (1 data word, 1 pointer).
    public func encode(to builder: inout CapnpMessageBuilder, as message: CapnpStructBuilder) throws {
        builder.write(self.kind, at: 0, in: message)
        switch self {
        case .unimplemented(let inner):
            if let inner {
                let body = builder.initStruct(in: message, pointer: 0, dataWords: 1, pointers: 1)
                try inner.encode(to: &builder, as: body)
            }
        case .abort(let exception):
            try exception.encode(into: &builder, in: message, pointer: 0)
        case .call(let call):
            try call.encode(to: &builder, as: builder.initStruct(in: message, pointer: 0, dataWords: 3, pointers: 3))
        case .return(let ret):
            try ret.encode(to: &builder, as: builder.initStruct(in: message, pointer: 0, dataWords: 2, pointers: 1))
        case .finish(let questionID, let releaseResultCaps):
            let body = builder.initStruct(in: message, pointer: 0, dataWords: 1, pointers: 0)
            builder.write(questionID, at: 0, in: body)
            builder.writeBool(releaseResultCaps, bit: 32, in: body, default: true)
        case .release(let id, let referenceCount):
            let body = builder.initStruct(in: message, pointer: 0, dataWords: 1, pointers: 0)
            builder.write(id, at: 0, in: body)
            builder.write(referenceCount, at: 4, in: body)
        case .bootstrap(let questionID):
            let body = builder.initStruct(in: message, pointer: 0, dataWords: 1, pointers: 1)
            builder.write(questionID, at: 0, in: body)
        case .other:
            break
        }
    }

    /// An `Unimplemented` message echoing `original` verbatim (deep copy of its root).
    public static func unimplemented(echoing original: CapnpMessage, limits: CapnpReaderLimits = .init()) throws -> CapnpMessage {
        var builder = CapnpMessageBuilder(capacityWords: original.storage.count / 8 + 2)
        let root = builder.initRoot(dataWords: 1, pointers: 1)
        builder.write(Kind.unimplemented.rawValue, at: 0, in: root)
        try builder.copy(try original.rootPointer(limits: limits), in: root, pointer: 0)
        return builder.message
    }
}

extension RPCException {
    /// Decodes an `Exception` struct (either the (1,1) or the newer (1,2) layout).
    public init(reading reader: CapnpStructReader) throws {
        self.reason = try reader.readText(0) ?? ""
        self.type = ExceptionType(rawValue: reader.read(at: 4))
        self.trace = try reader.readText(1)
    }

    func encode(into builder: inout CapnpMessageBuilder, in parent: CapnpStructBuilder, pointer: Int) throws {
        let body = builder.initStruct(in: parent, pointer: pointer, dataWords: 1, pointers: self.trace == nil ? 1 : 2)
        builder.write(self.type.rawValue, at: 4, in: body)
        try builder.writeText(self.reason, in: body, pointer: 0)
        if let trace = self.trace {
            try builder.writeText(trace, in: body, pointer: 1)
        }
    }
}

extension RPCPromisedAnswer {
    init(reading reader: CapnpStructReader) throws {
        self.questionID = reader.read(at: 0)
        self.transform = []
        if let list = try reader.readList(0) {
            self.transform.reserveCapacity(list.count)
            for index in 0..<list.count {
                let op = try list.readStruct(at: index)
                switch op.read(UInt16.self, at: 0) {
                case 0: self.transform.append(.noop)
                case 1: self.transform.append(.getPointerField(op.read(at: 2)))
                case let which: throw CapnpError.unknownUnionDiscriminant("PromisedAnswer.Op which = \(which)")
                }
            }
        }
    }

    func encode(to builder: inout CapnpMessageBuilder, as target: CapnpStructBuilder) throws {
        builder.write(self.questionID, at: 0, in: target)
        let list = try builder.initCompositeList(in: target, pointer: 0, count: self.transform.count, dataWords: 1, pointers: 0)
        for (index, op) in self.transform.enumerated() {
            switch op {
            case .noop:
                break
            case .getPointerField(let field):
                builder.write(UInt16(1), at: 0, in: list.element(index))
                builder.write(field, at: 2, in: list.element(index))
            }
        }
    }
}

extension RPCMessageTarget {
    init(reading reader: CapnpStructReader) throws {
        switch reader.read(UInt16.self, at: 4) {
        case 0:
            self = .importedCap(reader.read(at: 0))
        case 1:
            self = .promisedAnswer(try RPCPromisedAnswer(reading: try reader.readStruct(0) ?? .empty(reader.context)))
        case let which:
            throw CapnpError.unknownUnionDiscriminant("MessageTarget which = \(which)")
        }
    }

    func encode(to builder: inout CapnpMessageBuilder, as target: CapnpStructBuilder) throws {
        switch self {
        case .importedCap(let id):
            builder.write(id, at: 0, in: target)
        case .promisedAnswer(let answer):
            builder.write(UInt16(1), at: 4, in: target)
            try answer.encode(to: &builder, as: builder.initStruct(in: target, pointer: 0, dataWords: 1, pointers: 1))
        }
    }
}

extension RPCCapDescriptor {
    init(reading reader: CapnpStructReader) throws {
        let id: UInt32 = reader.read(at: 4)
        switch reader.read(UInt16.self, at: 0) {
        case 0: self = .none
        case 1: self = .senderHosted(id)
        case 2: self = .senderPromise(id)
        case 3: self = .receiverHosted(id)
        case 4: self = .receiverAnswer(try RPCPromisedAnswer(reading: try reader.readStruct(0) ?? .empty(reader.context)))
        case let which: self = .unsupported(which)
        }
    }

    func encode(to builder: inout CapnpMessageBuilder, as target: CapnpStructBuilder) throws {
        switch self {
        case .none:
            break
        case .senderHosted(let id):
            builder.write(UInt16(1), at: 0, in: target)
            builder.write(id, at: 4, in: target)
        case .senderPromise(let id):
            builder.write(UInt16(2), at: 0, in: target)
            builder.write(id, at: 4, in: target)
        case .receiverHosted(let id):
            builder.write(UInt16(3), at: 0, in: target)
            builder.write(id, at: 4, in: target)
        case .receiverAnswer(let answer):
            builder.write(UInt16(4), at: 0, in: target)
            try answer.encode(to: &builder, as: builder.initStruct(in: target, pointer: 0, dataWords: 1, pointers: 1))
        case .unsupported(let which):
            builder.write(which, at: 0, in: target)
        }
    }
}

extension RPCPayload {
    init(reading reader: CapnpStructReader) throws {
        switch try reader.readPointer(0) {
        case .null: self.content = .null
        case .capability(let index): self.content = .capability(index)
        case .struct, .list: self.content = .received(reader.pointerReference(0)!)
        }
        if let list = try reader.readList(1) {
            var table: [RPCCapDescriptor] = []
            table.reserveCapacity(list.count)
            for index in 0..<list.count {
                table.append(try RPCCapDescriptor(reading: try list.readStruct(at: index)))
            }
            self.capTable = table
        } else {
            self.capTable = nil
        }
    }

    func encode(to builder: inout CapnpMessageBuilder, as target: CapnpStructBuilder) throws {
        switch self.content {
        case .null:
            break
        case .capability(let index):
            builder.writeCapability(index, in: target, pointer: 0)
        case .value(let value):
            try builder.encode(value, in: target, pointer: 0)
        case .received(let pointer):
            try builder.copy(try pointer.read(), in: target, pointer: 0)
        }
        if let capTable = self.capTable {
            let list = try builder.initCompositeList(in: target, pointer: 1, count: capTable.count, dataWords: 1, pointers: 1)
            for (index, descriptor) in capTable.enumerated() {
                try descriptor.encode(to: &builder, as: list.element(index))
            }
        }
    }
}

extension RPCCall {
    init(reading reader: CapnpStructReader) throws {
        self.questionID = reader.read(at: 0)
        self.methodID = reader.read(at: 4)
        self.sendResultsTo = reader.read(at: 6)
        self.interfaceID = reader.read(at: 8)
        self.allowThirdPartyTailCall = reader.readBool(bit: 128)
        guard let target = try reader.readStruct(0) else {
            throw CapnpError.unexpectedPointerKind("Call.target is null")
        }
        self.target = try RPCMessageTarget(reading: target)
        self.params = try RPCPayload(reading: try reader.readStruct(1) ?? .empty(reader.context))
    }

    func encode(to builder: inout CapnpMessageBuilder, as target: CapnpStructBuilder) throws {
        builder.write(self.questionID, at: 0, in: target)
        builder.write(self.methodID, at: 4, in: target)
        builder.write(self.sendResultsTo, at: 6, in: target)
        builder.write(self.interfaceID, at: 8, in: target)
        builder.writeBool(self.allowThirdPartyTailCall, bit: 128, in: target)
        try self.target.encode(to: &builder, as: builder.initStruct(in: target, pointer: 0, dataWords: 1, pointers: 1))
        try self.params.encode(to: &builder, as: builder.initStruct(in: target, pointer: 1, dataWords: 0, pointers: 2))
    }
}

extension RPCReturn {
    init(reading reader: CapnpStructReader) throws {
        self.answerID = reader.read(at: 0)
        self.releaseParamCaps = reader.readBool(bit: 32, default: true)
        self.noFinishNeeded = reader.readBool(bit: 33)
        let which: UInt16 = reader.read(at: 6)
        switch which {
        case 0: self.result = .results(try RPCPayload(reading: try reader.readStruct(0) ?? .empty(reader.context)))
        case 1: self.result = .exception(try RPCException(reading: try reader.readStruct(0) ?? .empty(reader.context)))
        case 2: self.result = .canceled
        case 3: self.result = .resultsSentElsewhere
        case 4: self.result = .takeFromOtherQuestion(reader.read(at: 8))
        case 5: self.result = .acceptFromThirdParty
        default: self.result = .unknown(which)
        }
    }

    func encode(to builder: inout CapnpMessageBuilder, as target: CapnpStructBuilder) throws {
        builder.write(self.answerID, at: 0, in: target)
        builder.writeBool(self.releaseParamCaps, bit: 32, in: target, default: true)
        builder.writeBool(self.noFinishNeeded, bit: 33, in: target)
        switch self.result {
        case .results(let payload):
            try payload.encode(to: &builder, as: builder.initStruct(in: target, pointer: 0, dataWords: 0, pointers: 2))
        case .exception(let exception):
            builder.write(UInt16(1), at: 6, in: target)
            try exception.encode(into: &builder, in: target, pointer: 0)
        case .canceled:
            builder.write(UInt16(2), at: 6, in: target)
        case .resultsSentElsewhere:
            builder.write(UInt16(3), at: 6, in: target)
        case .takeFromOtherQuestion(let question):
            builder.write(UInt16(4), at: 6, in: target)
            builder.write(question, at: 8, in: target)
        case .acceptFromThirdParty:
            builder.write(UInt16(5), at: 6, in: target)
        case .unknown(let which):
            builder.write(which, at: 6, in: target)
        }
    }
}
