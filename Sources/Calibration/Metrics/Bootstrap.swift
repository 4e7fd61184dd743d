import Foundation
import Randomness

/// A percentile bootstrap interval, with what is needed to reproduce it.
public struct ConfidenceInterval: Codable, Equatable, Sendable {
    public let lower: Double
    public let upper: Double
    /// Nominal coverage, e.g. 0.95.
    public let level: Double
    public let replicates: Int
    public let seed: UInt64
}

public enum Bootstrap {
    /// Percentile bootstrap: `replicates` resamples of n case indices with replacement (seeded), the
    /// statistic on each, and the (1−level)/2 and (1+level)/2 quantiles (linear interpolation, as
    /// numpy's default) of the replicate values.
    public static func percentileInterval(count n: Int, replicates: Int = 1000, level: Double = 0.95, seed: UInt64,
                                          statistic: ([Int]) -> Double) throws -> ConfidenceInterval {
        guard n > 0 else { throw CalibrationError.empty(field: "bootstrap sample") }
        guard replicates >= 2 else {
            throw CalibrationError.invalidParameter(name: "replicates", value: "\(replicates)", reason: "at least 2 needed")
        }
        guard level > 0 && level < 1 else {
            throw CalibrationError.invalidParameter(name: "level", value: "\(level)", reason: "must lie in (0, 1)")
        }
        var rng = SeededGenerator(seed: seed)
        var values: [Double] = []
        values.reserveCapacity(replicates)
        var idx = Array(repeating: 0, count: n)
        for _ in 0..<replicates {
            for i in 0..<n { idx[i] = rng.nextIndex(below: n) }
            values.append(statistic(idx))
        }
        values.sort()
        return ConfidenceInterval(lower: quantile(sorted: values, (1 - level) / 2),
                                  upper: quantile(sorted: values, (1 + level) / 2),
                                  level: level, replicates: replicates, seed: seed)
    }

    /// Linear-interpolation quantile of sorted values (numpy `method="linear"`).
    public static func quantile(sorted v: [Double], _ q: Double) -> Double {
        guard !v.isEmpty else { return .nan }
        let h = Double(v.count - 1) * q
        let lo = Int(h.rounded(.down)), hi = min(lo + 1, v.count - 1)
        return v[lo] + (h - Double(lo)) * (v[hi] - v[lo])
    }
}

/// The ECE that a perfectly calibrated model would show at the same sample size and confidences:
/// outcomes are drawn as Bernoulli(confidence) (seeded) and binned with the same scheme. An observed
/// ECE near this floor is indistinguishable from sampling noise; at n = 1000 it is about 0.03.
public struct ECENoiseFloor: Codable, Equatable, Sendable {
    /// Mean simulated ECE.
    public let mean: Double
    /// 95th percentile of the simulated ECE: an observed ECE above it is unlikely under perfect calibration.
    public let percentile95: Double
    public let simulations: Int
    public let seed: UInt64
    public let scheme: BinningScheme
    public let sampleCount: Int

    public init(confidences: [Double], scheme: BinningScheme = .standard, simulations: Int = 500, seed: UInt64) throws {
        try scheme.validate()
        guard !confidences.isEmpty else { throw CalibrationError.empty(field: "confidences") }
        guard simulations >= 1 else {
            throw CalibrationError.invalidParameter(name: "simulations", value: "\(simulations)", reason: "at least 1 needed")
        }
        for (i, c) in confidences.enumerated() where !(c >= 0 && c <= 1) {
            throw CalibrationError.notAProbability(field: "confidences", row: i, column: 0, value: c)
        }
        let assignment = scheme.assign(confidences)
        var rng = SeededGenerator(seed: seed)
        var values: [Double] = []
        var outcomes = Array(repeating: false, count: confidences.count)
        for _ in 0..<simulations {
            for i in confidences.indices { outcomes[i] = rng.nextUniform() < confidences[i] }
            values.append(CalibrationErrorEstimate(confidences: confidences, outcomes: outcomes, assignment: assignment,
                                                   scheme: scheme, target: .topLabel).ece)
        }
        mean = values.reduce(0, +) / Double(simulations)
        values.sort()
        percentile95 = Bootstrap.quantile(sorted: values, 0.95)
        self.simulations = simulations
        self.seed = seed
        self.scheme = scheme
        self.sampleCount = confidences.count
    }
}
