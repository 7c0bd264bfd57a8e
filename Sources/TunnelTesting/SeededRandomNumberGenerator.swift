#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// A seeded random number generator (SplitMix64), so a test's random inputs can be replayed
/// from the seed it logged.
///
/// ```swift
/// var random = SeededRandomNumberGenerator.logged("chunking")   // prints the seed
/// let size = Int.random(in: 1...100, using: &random)
/// ```
public struct SeededRandomNumberGenerator: RandomNumberGenerator, Sendable {
    private var state: UInt64
    /// The seed it started from.
    public let seed: UInt64

    /// A generator starting from `seed`.
    public init(seed: UInt64) {
        self.seed = seed
        self.state = seed
    }

    /// A generator seeded from `TUNNEL_TEST_SEED` when set, else at random; prints the seed with
    /// `name` so that a failure can be replayed.
    public static func logged(_ name: String) -> SeededRandomNumberGenerator {
        let seed = ProcessInfo.processInfo.environment["TUNNEL_TEST_SEED"].flatMap(UInt64.init) ?? UInt64.random(in: 1...UInt64.max)
        print("\(name): random seed \(seed) (replay with TUNNEL_TEST_SEED=\(seed))")
        return SeededRandomNumberGenerator(seed: seed)
    }

    /// The next 64 random bits.
    public mutating func next() -> UInt64 {
        self.state &+= 0x9e37_79b9_7f4a_7c15
        var z = self.state
        z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
        z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
        return z ^ (z >> 31)
    }
}
