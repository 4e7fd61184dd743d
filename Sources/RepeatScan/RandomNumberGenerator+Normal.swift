import Foundation

/// Draws used by the scan simulations, generic over any `RandomNumberGenerator` (tests and the
/// shopping simulation drive them with `Randomness.SeededGenerator`).
extension RandomNumberGenerator {
    /// Uniform in (0, 1), never exactly 0 (53 random bits).
    @inline(__always)
    mutating func openUniform() -> Double {
        (Double(next() >> 11) + 0.5) * 0x1.0p-53
    }

    /// Standard normal by the Box–Muller transform (one draw per call; simple and reproducible).
    @inline(__always)
    mutating func standardNormal() -> Double {
        let u1 = openUniform(), u2 = openUniform()
        return (-2 * log(u1)).squareRoot() * cos(2 * Double.pi * u2)
    }
}
