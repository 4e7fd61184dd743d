/// SplitMix64 (Steele, Lea & Flood 2014) as a generator in its own right: one 64-bit word of state,
/// each output `SeededGenerator.splitMix64(&state)`. For small fuzz and test streams whose recorded
/// cases or fixtures were made with plain SplitMix64; new code wants `SeededGenerator`.
public struct SplitMix64: RandomNumberGenerator, Codable, Equatable, Sendable {
    public var state: UInt64

    public init(state: UInt64) { self.state = state }

    @inlinable
    public mutating func next() -> UInt64 { SeededGenerator.splitMix64(&state) }
}
