import Foundation

/// Exact (Clopper–Pearson) confidence bounds for a binomial proportion: the coverage a small month
/// can show is stated with the interval that never claims more than the counts support.
public struct BinomialInterval: Codable, Equatable, Sendable {
    public let successes: Int
    public let trials: Int
    public let lower: Double
    public let upper: Double
    public let level: Double

    /// Two-sided interval: each bound leaves (1 − level)/2 in its tail.
    public init(successes k: Int, trials n: Int, level: Double = 0.95) throws {
        guard n > 0 else { throw CalibrationError.empty(field: "trials") }
        guard k >= 0, k <= n else {
            throw CalibrationError.invalidParameter(name: "successes", value: "\(k)", reason: "must lie in [0, \(n)]")
        }
        guard level > 0, level < 1 else {
            throw CalibrationError.invalidParameter(name: "level", value: "\(level)", reason: "must lie in (0, 1)")
        }
        let tail = (1 - level) / 2
        successes = k; trials = n; self.level = level
        lower = k == 0 ? 0 : Self.bound(where: { 1 - Self.cdf(k - 1, n, $0) }, reaches: tail, increasing: true)
        upper = k == n ? 1 : Self.bound(where: { Self.cdf(k, n, $0) }, reaches: tail, increasing: false)
    }

    public var proportion: Double { Double(successes) / Double(trials) }

    /// One-sided upper bound: the p at which P(X ≤ k | p) = 1 − level.
    public static func upperBound(successes k: Int, trials n: Int, level: Double) -> Double {
        k >= n ? 1 : bound(where: { cdf(k, n, $0) }, reaches: 1 - level, increasing: false)
    }

    /// Bisection for the p at which a monotone tail probability equals `target`.
    static func bound(where tail: (Double) -> Double, reaches target: Double, increasing: Bool) -> Double {
        var lo = 0.0, hi = 1.0
        for _ in 0..<100 {
            let mid = (lo + hi) / 2
            if (tail(mid) < target) == increasing { lo = mid } else { hi = mid }
        }
        return (lo + hi) / 2
    }

    /// P(X ≤ k) for X ~ Binomial(n, p), summed in log space.
    static func cdf(_ k: Int, _ n: Int, _ p: Double) -> Double {
        if k < 0 { return 0 }
        if k >= n { return 1 }
        if p <= 0 { return 1 }
        if p >= 1 { return 0 }
        var total = 0.0
        let lgn: Double = lgamma(Double(n + 1))
        for i in 0...k {
            total += exp(lgn - lgamma(Double(i + 1)) - lgamma(Double(n - i + 1)) + Double(i) * log(p) + Double(n - i) * log1p(-p))
        }
        return min(total, 1)
    }
}
