import Foundation

/// Pooling of a case's scans into one probability vector.
///
/// The default is the plain mean of calibrated per-scan probabilities: it never claims more than the
/// scans support, but it is not itself calibrated for K scans. `PooledRecalibrator` fits the pooled
/// probability on calibration cases with the same number of scans.
public enum ScanPooling {
    /// Mean of the calibrated probabilities of every scan.
    public static func meanProbabilities(_ scans: [ScanObservation]) throws -> [Double] {
        guard let first = scans.first else { throw RepeatScanError.noScans(caseID: "?") }
        let c = first.probabilities.count
        var mean = [Double](repeating: 0, count: c)
        for s in scans {
            try s.validate(classCount: c)
            for k in 0..<c { mean[k] += s.probabilities[k] }
        }
        let n = Double(scans.count)
        return mean.map { $0 / n }
    }
}

/// How much a case's scans disagree with each other. Disagreement is a policy input
/// (disagreement → review) and is shown in the report next to the pooled probability.
public struct ScanDisagreement: Sendable, Equatable, Codable {
    /// Arg-max class of each scan, in scan order.
    public var topClassPerScan: [Int]
    /// Number of consecutive scan pairs whose arg-max classes differ.
    public var classFlips: Int
    /// Number of distinct arg-max classes among the scans.
    public var distinctTopClasses: Int
    /// Per-class minimum and maximum per-scan probability.
    public var perClassMinimum: [Double]
    public var perClassMaximum: [Double]
    /// Per-class max − min.
    public var perClassSpread: [Double]
    /// Largest per-class spread.
    public var maximumSpread: Double
    /// Per-class standard deviation over scans (0 for one scan).
    public var perClassStandardDeviation: [Double]
    /// Indices of scans marked out of distribution by retrieval.
    public var outOfDistributionScans: [Int]
    /// Whether any scan carried an out-of-distribution mark at all (`false` = retrieval never ran).
    public var outOfDistributionAvailable: Bool

    enum CodingKeys: String, CodingKey {
        case topClassPerScan = "top_class_per_scan", classFlips = "class_flips"
        case distinctTopClasses = "distinct_top_classes", perClassMinimum = "per_class_minimum"
        case perClassMaximum = "per_class_maximum", perClassSpread = "per_class_spread"
        case maximumSpread = "maximum_spread", perClassStandardDeviation = "per_class_standard_deviation"
        case outOfDistributionScans = "out_of_distribution_scans"
        case outOfDistributionAvailable = "out_of_distribution_available"
    }

    public init(scans: [ScanObservation]) throws {
        guard let first = scans.first else { throw RepeatScanError.noScans(caseID: "?") }
        let c = first.probabilities.count
        var lo = [Double](repeating: .infinity, count: c)
        var hi = [Double](repeating: -.infinity, count: c)
        var sum = [Double](repeating: 0, count: c)
        var sumSq = [Double](repeating: 0, count: c)
        var top: [Int] = []
        var ood: [Int] = []
        var oodAvailable = false
        for (i, s) in scans.enumerated() {
            try s.validate(classCount: c)
            var best = 0
            for k in 0..<c {
                let v = s.probabilities[k]
                lo[k] = min(lo[k], v); hi[k] = max(hi[k], v)
                sum[k] += v; sumSq[k] += v * v
                if v > s.probabilities[best] { best = k }
            }
            top.append(best)
            if let mark = s.outOfDistribution {
                oodAvailable = true
                if mark { ood.append(i) }
            }
        }
        let n = Double(scans.count)
        topClassPerScan = top
        classFlips = zip(top, top.dropFirst()).filter { $0 != $1 }.count
        distinctTopClasses = Set(top).count
        perClassMinimum = lo
        perClassMaximum = hi
        perClassSpread = zip(hi, lo).map { $0 - $1 }
        maximumSpread = perClassSpread.max() ?? 0
        perClassStandardDeviation = (0..<c).map { k in
            guard scans.count > 1 else { return 0 }
            let m = sum[k] / n
            return sqrt(max(0, (sumSq[k] - n * m * m) / (n - 1)))
        }
        outOfDistributionScans = ood
        outOfDistributionAvailable = oodAvailable
    }
}
