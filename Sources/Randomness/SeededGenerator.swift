import Foundation

/// Deterministic random numbers: xoshiro256** (Blackman & Vigna) with its state filled by
/// SplitMix64 from a 64-bit seed, as the authors recommend. The same seed gives the same stream on
/// every platform and toolchain — unlike the standard library's `random(in:)` helpers, whose
/// algorithms are not guaranteed — so every draw uses only `next()` and the helpers below.
/// One generator for every module (cohorts, calibration, repeat scans, training), so a seed means
/// the same stream everywhere. `Codable` (keys `s0`…`s3`) so that stateful monitors can persist it.
public struct SeededGenerator: RandomNumberGenerator, Codable, Equatable, Sendable {
    // Internal and `@usableFromInline` (not private) so the helpers can be `@inlinable`: training
    // and simulation draw inside hot loops in other modules, where a call per draw would cost.
    @usableFromInline var s0: UInt64, s1: UInt64, s2: UInt64, s3: UInt64

    public init(seed: UInt64) {
        var sm = seed
        s0 = SeededGenerator.splitMix64(&sm)
        s1 = SeededGenerator.splitMix64(&sm)
        s2 = SeededGenerator.splitMix64(&sm)
        s3 = SeededGenerator.splitMix64(&sm)
    }

    /// SplitMix64 step (Steele, Lea & Flood 2014): advances `state` and returns the next output.
    @inlinable
    public static func splitMix64(_ state: inout UInt64) -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    @inlinable @inline(__always)
    static func rotl(_ x: UInt64, _ k: UInt64) -> UInt64 { (x << k) | (x >> (64 - k)) }

    @inlinable @inline(__always)
    public mutating func next() -> UInt64 {
        let result = SeededGenerator.rotl(s1 &* 5, 7) &* 9
        let t = s1 << 17
        s2 ^= s0; s3 ^= s1; s1 ^= s2; s0 ^= s3
        s2 ^= t
        s3 = SeededGenerator.rotl(s3, 45)
        return result
    }

    // MARK: Doubles

    /// Uniform in [0, 1) with 53 random bits.
    @inlinable
    public mutating func nextUniform() -> Double { Double(next() >> 11) * 0x1.0p-53 }

    /// Standard normal (Box–Muller; one pair of uniforms per draw, so the stream position depends
    /// only on the number of calls).
    @inlinable
    public mutating func nextGaussian() -> Double {
        let u1 = 1 - nextUniform()  // (0, 1]: log is finite
        let u2 = nextUniform()
        return (-2 * log(u1)).squareRoot() * cos(2 * Double.pi * u2)
    }

    @inlinable
    public mutating func nextGaussian(mean: Double, standardDeviation: Double) -> Double {
        mean + standardDeviation * nextGaussian()
    }

    /// True with probability p.
    @inlinable
    public mutating func nextBernoulli(_ p: Double) -> Bool { nextUniform() < p }

    // MARK: Floats

    /// Uniform in [0, 1) with 24 bits of precision (exactly representable as Float).
    @inlinable
    public mutating func nextUnitFloat() -> Float { Float(next() >> 40) * (1.0 / 16_777_216.0) }

    /// Uniform in [low, high) as Float (weight initialisation).
    @inlinable
    public mutating func uniform(_ low: Float, _ high: Float) -> Float { low + (high - low) * nextUnitFloat() }

    // MARK: Integers

    /// Uniform integer in 0..<n (Lemire's multiply-and-reject, unbiased). n must be positive.
    @inlinable
    public mutating func nextInt(below n: Int) -> Int {
        precondition(n > 0, "nextInt(below:) needs a positive bound")
        let bound = UInt64(n)
        var m = next().multipliedFullWidth(by: bound)
        if m.low < bound {
            let threshold = (0 &- bound) % bound
            while m.low < threshold { m = next().multipliedFullWidth(by: bound) }
        }
        return Int(m.high)
    }

    /// Uniform integer in a closed range.
    @inlinable
    public mutating func nextInt(in range: ClosedRange<Int>) -> Int {
        range.lowerBound + nextInt(below: range.upperBound - range.lowerBound + 1)
    }

    /// Uniform integer in `0..<bound` (bound > 0) by the standard library's
    /// `next(upperBound:)` (Calibration's bootstrap resampling streams are fixed by it).
    @inlinable
    public mutating func nextIndex(below bound: Int) -> Int {
        Int(next(upperBound: UInt64(bound)))
    }

    // MARK: Shuffles

    /// Fisher–Yates shuffle drawing with `nextInt(below:)` (unbiased).
    @inlinable
    public mutating func shuffle<T>(_ array: inout [T]) {
        guard array.count > 1 else { return }
        for i in stride(from: array.count - 1, to: 0, by: -1) {
            array.swapAt(i, nextInt(below: i + 1))
        }
    }

    /// Fisher–Yates shuffle drawing with `next() % (i + 1)` (a bias below 2⁻⁵⁰ for any array that
    /// fits in memory). Kept beside `shuffle(_:)` because Recurrent's training order — and so its
    /// trained weights — is fixed by this exact stream.
    @inlinable
    public mutating func shuffleByRemainder<T>(_ array: inout [T]) {
        guard array.count > 1 else { return }
        for i in stride(from: array.count - 1, to: 0, by: -1) {
            let j = Int(next() % UInt64(i + 1))
            array.swapAt(i, j)
        }
    }
}
