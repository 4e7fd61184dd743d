import Foundation
import Randomness

/// What to do when a class has too few calibration cases for α in class-conditional calibration.
public enum SmallClassPolicy: String, Codable, Sendable {
    /// Give the class an infinite threshold (always in the set) and record a warning.
    case includeAlways
    /// Throw `CalibrationError.tooFewCalibrationCases`.
    case refuse
}

/// Where randomised scores get their uniform draws: from a seeded generator, or given explicitly
/// (one per case) so that another implementation's draws can be replayed.
public enum UniformSource: Sendable {
    case seeded(UInt64)
    case given([Double])

    func draws(count: Int, field: String) throws -> [Double] {
        switch self {
        case .seeded(let seed):
            var rng = SeededGenerator(seed: seed)
            return (0..<count).map { _ in rng.nextUniform() }
        case .given(let u):
            try InputValidation.uniforms(u, count: count, field: field)
            return u
        }
    }
}

/// Split conformal classifier, marginal or class-conditional (Mondrian, Vovk 2003): thresholds are
/// the k-th smallest calibration score, k = ⌈(n+1)(1−α)⌉, over all calibration cases or over those of
/// each class; the set is {y : s(x, y, u) ≤ q̂_y}. Codable so the fitted thresholds and the sorted
/// calibration scores (for p-values) can be stored.
public struct SplitConformalPredictor: Codable, Equatable, Sendable {
    public let score: ConformityScore
    public let alpha: Double
    public let classConditional: Bool
    public let classCount: Int
    public let calibrationCount: Int
    /// Calibration cases per true class.
    public let classCalibrationCounts: [Int]
    /// q̂ used for each candidate label (all equal when marginal; +∞ when too few cases).
    public let thresholds: [Double]
    /// Sorted calibration scores of the true labels: one list when marginal, one per class when
    /// class-conditional.
    public let sortedCalibrationScores: [[Double]]
    public let guarantees: [CoverageGuarantee]
    public let warnings: [ConformalWarning]

    /// Calibrates on probabilities and labels of a calibration split disjoint from training.
    public static func calibrate(probabilities p: [[Double]], labels: [Int], score: ConformityScore, alpha: Double,
                                 classConditional: Bool = false, smallClassPolicy: SmallClassPolicy = .includeAlways,
                                 uniforms: UniformSource = .seeded(0)) throws -> SplitConformalPredictor {
        let k = try InputValidation.probabilities(p)
        try InputValidation.labels(labels, rowCount: p.count, classCount: k)
        try InputValidation.alpha(alpha)
        try score.validate()
        let u = score.isRandomized ? try uniforms.draws(count: p.count, field: "calibration uniforms")
                                   : Array(repeating: 1.0, count: p.count)
        let s = p.indices.map { score.score(probabilities: p[$0], label: labels[$0], u: u[$0]) }
        var counts = Array(repeating: 0, count: k)
        for y in labels { counts[y] += 1 }
        let needed = SplitConformal.minimumCalibrationCount(alpha: alpha)

        var thresholds: [Double], sorted: [[Double]], guarantees: [CoverageGuarantee] = [], warnings: [ConformalWarning] = []
        if classConditional {
            sorted = (0..<k).map { c in labels.indices.filter { labels[$0] == c }.map { s[$0] }.sorted() }
            thresholds = []
            for c in 0..<k {
                let n = sorted[c].count
                let r = SplitConformal.rank(calibrationCount: n, alpha: alpha)
                if r > n {
                    if smallClassPolicy == .refuse {
                        throw CalibrationError.tooFewCalibrationCases(classLabel: c, count: n, alpha: alpha, required: needed)
                    }
                    warnings.append(ConformalWarning(classLabel: c, calibrationCount: n, requiredCount: needed, alpha: alpha))
                    thresholds.append(.infinity)
                    guarantees.append(CoverageGuarantee(scope: .classConditional(label: c), alpha: alpha, calibrationCount: n, rank: nil))
                } else {
                    thresholds.append(sorted[c][r - 1])
                    guarantees.append(CoverageGuarantee(scope: .classConditional(label: c), alpha: alpha, calibrationCount: n, rank: r))
                }
            }
        } else {
            let all = s.sorted()
            sorted = [all]
            let n = all.count
            let r = SplitConformal.rank(calibrationCount: n, alpha: alpha)
            if r > n {
                if smallClassPolicy == .refuse {
                    throw CalibrationError.tooFewCalibrationCases(classLabel: -1, count: n, alpha: alpha, required: needed)
                }
                warnings.append(ConformalWarning(classLabel: nil, calibrationCount: n, requiredCount: needed, alpha: alpha))
                thresholds = Array(repeating: .infinity, count: k)
                guarantees.append(CoverageGuarantee(scope: .marginal, alpha: alpha, calibrationCount: n, rank: nil))
            } else {
                thresholds = Array(repeating: all[r - 1], count: k)
                guarantees.append(CoverageGuarantee(scope: .marginal, alpha: alpha, calibrationCount: n, rank: r))
            }
        }
        return SplitConformalPredictor(score: score, alpha: alpha, classConditional: classConditional, classCount: k,
                                       calibrationCount: p.count, classCalibrationCounts: counts, thresholds: thresholds,
                                       sortedCalibrationScores: sorted, guarantees: guarantees, warnings: warnings)
    }

    /// The marginal threshold (nil when class-conditional).
    public var marginalThreshold: Double? { classConditional ? nil : thresholds.first }

    private enum CodingKeys: String, CodingKey {
        case score, alpha, classConditional, classCount, calibrationCount, classCalibrationCounts, thresholds
        case sortedCalibrationScores, guarantees, warnings
    }

    init(score: ConformityScore, alpha: Double, classConditional: Bool, classCount: Int, calibrationCount: Int,
         classCalibrationCounts: [Int], thresholds: [Double], sortedCalibrationScores: [[Double]],
         guarantees: [CoverageGuarantee], warnings: [ConformalWarning]) {
        self.score = score; self.alpha = alpha; self.classConditional = classConditional; self.classCount = classCount
        self.calibrationCount = calibrationCount; self.classCalibrationCounts = classCalibrationCounts
        self.thresholds = thresholds; self.sortedCalibrationScores = sortedCalibrationScores
        self.guarantees = guarantees; self.warnings = warnings
    }

    /// Thresholds are stored as numbers with `null` for +∞ (a label that is always in the set), so any
    /// JSON decoder reads them.
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(score: try c.decode(ConformityScore.self, forKey: .score),
                  alpha: try c.decode(Double.self, forKey: .alpha),
                  classConditional: try c.decode(Bool.self, forKey: .classConditional),
                  classCount: try c.decode(Int.self, forKey: .classCount),
                  calibrationCount: try c.decode(Int.self, forKey: .calibrationCount),
                  classCalibrationCounts: try c.decode([Int].self, forKey: .classCalibrationCounts),
                  thresholds: try c.decode([Double?].self, forKey: .thresholds).map { $0 ?? .infinity },
                  sortedCalibrationScores: try c.decode([[Double]].self, forKey: .sortedCalibrationScores),
                  guarantees: try c.decode([CoverageGuarantee].self, forKey: .guarantees),
                  warnings: try c.decode([ConformalWarning].self, forKey: .warnings))
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(score, forKey: .score)
        try c.encode(alpha, forKey: .alpha)
        try c.encode(classConditional, forKey: .classConditional)
        try c.encode(classCount, forKey: .classCount)
        try c.encode(calibrationCount, forKey: .calibrationCount)
        try c.encode(classCalibrationCounts, forKey: .classCalibrationCounts)
        try c.encode(thresholds.map { $0 == .infinity ? nil : $0 }, forKey: .thresholds)
        try c.encode(sortedCalibrationScores, forKey: .sortedCalibrationScores)
        try c.encode(guarantees, forKey: .guarantees)
        try c.encode(warnings, forKey: .warnings)
    }

    /// Prediction sets (label indices, ascending) for each case. Randomised scores draw one uniform per case.
    public func predictionSets(probabilities p: [[Double]], uniforms: UniformSource = .seeded(1)) throws -> [[Int]] {
        let k = try InputValidation.probabilities(p)
        if k != classCount { throw CalibrationError.classCountMismatch(fitted: classCount, given: k) }
        let u = score.isRandomized ? try uniforms.draws(count: p.count, field: "test uniforms")
                                   : Array(repeating: 1.0, count: p.count)
        return p.indices.map { i in
            let s = score.scores(probabilities: p[i], u: u[i])
            return (0..<k).filter { s[$0] <= thresholds[$0] }
        }
    }

    /// Conformal p-value of every candidate label: (#{s_i ≥ s} + 1)/(n + 1) against the calibration
    /// scores (of that label's class when class-conditional), or in smoothed form
    /// (#{s_i > s} + θ·(#{s_i = s} + 1))/(n + 1) with θ uniform. Test scores use `uniforms` when the
    /// score is randomised; `thetas` (one row of K per case) drive the smoothing.
    public func pValues(probabilities p: [[Double]], uniforms: UniformSource = .seeded(1),
                        smoothing: PValueSmoothing = .none) throws -> [[Double]] {
        let k = try InputValidation.probabilities(p)
        if k != classCount { throw CalibrationError.classCountMismatch(fitted: classCount, given: k) }
        let u = score.isRandomized ? try uniforms.draws(count: p.count, field: "test uniforms")
                                   : Array(repeating: 1.0, count: p.count)
        let thetas = try smoothing.thetas(rows: p.count, columns: k)
        return p.indices.map { i in
            let s = score.scores(probabilities: p[i], u: u[i])
            return (0..<k).map { c in
                let bag = classConditional ? sortedCalibrationScores[c] : sortedCalibrationScores[0]
                return ConformalPValue.value(score: s[c], sortedCalibrationScores: bag, theta: thetas?[i][c])
            }
        }
    }
}

/// Whether p-values are smoothed, and where the smoothing draws θ come from.
public enum PValueSmoothing: Sendable {
    case none
    case seeded(UInt64)
    /// θ for each case and label, e.g. replayed from another implementation.
    case given([[Double]])

    func thetas(rows: Int, columns: Int) throws -> [[Double]]? {
        switch self {
        case .none: return nil
        case .seeded(let seed):
            var rng = SeededGenerator(seed: seed)
            return (0..<rows).map { _ in (0..<columns).map { _ in rng.nextUniform() } }
        case .given(let t):
            if t.count != rows { throw CalibrationError.countMismatch(field: "thetas", expected: rows, found: t.count) }
            for (i, row) in t.enumerated() {
                if row.count != columns { throw CalibrationError.raggedRow(field: "thetas", row: i, expected: columns, found: row.count) }
                for (j, v) in row.enumerated() where !(v >= 0 && v <= 1) {
                    throw CalibrationError.notAProbability(field: "thetas", row: i, column: j, value: v)
                }
            }
            return t
        }
    }
}

public enum ConformalPValue {
    /// p-value of `score` against ascending calibration scores; non-smoothed when theta is nil.
    public static func value(score s: Double, sortedCalibrationScores bag: [Double], theta: Double?) -> Double {
        let n = bag.count
        let firstGE = lowerBound(bag, s)      // first index with bag[i] >= s
        let firstGT = upperBound(bag, s)      // first index with bag[i] > s
        let greaterOrEqual = n - firstGE, greater = n - firstGT
        if let theta {
            return (Double(greater) + theta * Double(greaterOrEqual - greater + 1)) / Double(n + 1)
        }
        return Double(greaterOrEqual + 1) / Double(n + 1)
    }

    static func lowerBound(_ a: [Double], _ v: Double) -> Int {
        var lo = 0, hi = a.count
        while lo < hi { let m = (lo + hi) / 2; if a[m] < v { lo = m + 1 } else { hi = m } }
        return lo
    }

    static func upperBound(_ a: [Double], _ v: Double) -> Int {
        var lo = 0, hi = a.count
        while lo < hi { let m = (lo + hi) / 2; if a[m] <= v { lo = m + 1 } else { hi = m } }
        return lo
    }
}
