/// Limits that bound the work a Cap'n Proto reader does on untrusted input.
///
/// The defaults follow the reference implementation and cloudflared's Go library.
public struct CapnpReaderLimits: Sendable, Hashable {
    /// Words the reader may visit while following pointers in one message; each dereference of a struct
    /// or list is charged its size, so many pointers to the same large object cannot amplify work.
    /// Default: 8 Mi words (64 MiB).
    public var traversalLimitWords: Int
    /// Maximum depth of nested structs and lists. Default: 64.
    public var nestingLimit: Int
    /// Maximum number of segments in one framed message. Default: 512.
    public var maxSegments: Int
    /// Maximum total size of one framed message in words. Default: 8 Mi words (64 MiB).
    public var maxMessageWords: Int

    /// Creates limits; every parameter defaults to the reference implementation's value.
    public init(
        traversalLimitWords: Int = 8 * 1024 * 1024,
        nestingLimit: Int = 64,
        maxSegments: Int = 512,
        maxMessageWords: Int = 8 * 1024 * 1024
    ) {
        self.traversalLimitWords = traversalLimitWords
        self.nestingLimit = nestingLimit
        self.maxSegments = maxSegments
        self.maxMessageWords = maxMessageWords
    }
}
