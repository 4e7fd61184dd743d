import Foundation

/// Pooled probability for a case with K scans, recalibrated for K: correlated scans carry less
/// information than their count (design effect 1 + (K − 1)ρ), so the pooled log-evidence is
///
///     log p_c ∝ log π_c + β_K · mean_t log(q_tc / π_c)
///
/// With conditionally independent calibrated scans β_K = K (Bayes' rule); with a shared lesion
/// effect of correlation ρ, β_K = K / (1 + (K − 1)ρ). β_K is either fitted by maximum likelihood on
/// calibration cases with exactly K scans (a temperature per K) or, where no such cases exist, set
/// from the estimated ρ.
public struct PooledRecalibrator: Sendable, Equatable, Codable {
    public enum Source: String, Sendable, Codable {
        /// β_K fitted by maximum likelihood on calibration cases with exactly K scans.
        case fittedOnScanCount = "fitted-per-scan-count"
        /// β_K = K / (1 + (K − 1)ρ) from the estimated within-lesion correlation.
        case designEffect = "design-effect"
    }

    public struct Multiplier: Sendable, Equatable, Codable {
        public var scanCount: Int
        public var beta: Double
        public var source: Source
        /// Calibration cases used (0 for the design-effect rule).
        public var calibrationCases: Int
        enum CodingKeys: String, CodingKey {
            case scanCount = "scan_count", beta, source, calibrationCases = "calibration_cases"
        }
    }

    public var prevalences: [Double]
    /// Estimated within-lesion correlation ρ of per-scan evidence.
    public var intraclassCorrelation: Double
    /// Fitted multipliers per scan count.
    public var fitted: [Multiplier]

    enum CodingKeys: String, CodingKey {
        case prevalences, intraclassCorrelation = "intraclass_correlation", fitted
    }

    /// Design-effect-only recalibrator for a known or separately estimated ρ.
    public init(prevalences: [Double], intraclassCorrelation rho: Double) throws {
        try ScanDependenceModel.validatePrevalences(prevalences)
        guard rho.isFinite, rho >= 0, rho <= 1 else {
            throw RepeatScanError.invalidParameter(name: "intraclassCorrelation", value: "\(rho)",
                                                   reason: "must be in [0, 1]")
        }
        self.prevalences = prevalences
        self.intraclassCorrelation = rho
        self.fitted = []
    }

    /// Fits β_K for every K present among the calibration cases (K ≥ 1) and estimates ρ from them.
    /// A scan count needs at least `minimumCases` calibration cases to get its own fit.
    public static func fit(calibration: [CalibrationLesion], prevalences: [Double],
                           minimumCases: Int = 20) throws -> PooledRecalibrator {
        let dependence = try ScanDependenceModel.fit(calibration: calibration, prevalences: prevalences,
                                                      nullLesionVarianceConfidence: nil)
        var result = try PooledRecalibrator(prevalences: prevalences,
                                            intraclassCorrelation: min(1, max(0, dependence.intraclassCorrelation)))
        let byK = Dictionary(grouping: calibration, by: { $0.scanProbabilities.count })
        for k in byK.keys.sorted() where k >= 1 {
            guard let cases = byK[k], cases.count >= minimumCases else { continue }
            let beta = try fitBeta(cases: cases, prevalences: prevalences, scanCount: k)
            result.fitted.append(Multiplier(scanCount: k, beta: beta, source: .fittedOnScanCount,
                                            calibrationCases: cases.count))
        }
        return result
    }

    /// Multiplier for K scans: fitted if calibration cases with K scans existed, else design effect.
    public func multiplier(forScanCount k: Int) -> Multiplier {
        if let m = fitted.first(where: { $0.scanCount == k }) { return m }
        let beta = Double(k) / (1 + Double(k - 1) * intraclassCorrelation)
        return Multiplier(scanCount: k, beta: beta, source: .designEffect, calibrationCases: 0)
    }

    /// Pooled, recalibrated class probabilities of a case's scans.
    public func pooledProbabilities(_ scanProbabilities: [[Double]]) throws -> [Double] {
        guard !scanProbabilities.isEmpty else { throw RepeatScanError.noScans(caseID: "?") }
        for (t, p) in scanProbabilities.enumerated() {
            guard p.count == prevalences.count else {
                throw RepeatScanError.classCountMismatch(scanID: "scan[\(t)]", expected: prevalences.count,
                                                         found: p.count)
            }
            try ScanObservation.validateDistribution(p, scanID: "scan[\(t)]")
        }
        let beta = multiplier(forScanCount: scanProbabilities.count).beta
        return PooledRecalibrator.pooled(PooledRecalibrator.meanLogRatios(scanProbabilities, prevalences), prevalences, beta)
    }

    static func meanLogRatios(_ scans: [[Double]], _ pi: [Double]) -> [Double] {
        var g = [Double](repeating: 0, count: pi.count)
        for p in scans { for c in 0..<pi.count { g[c] += log(clampProbability(p[c]) / pi[c]) } }
        return g.map { $0 / Double(scans.count) }
    }

    static func pooled(_ g: [Double], _ pi: [Double], _ beta: Double) -> [Double] {
        let z = (0..<pi.count).map { log(pi[$0]) + beta * g[$0] }
        let m = z.max() ?? 0
        let e = z.map { exp($0 - m) }
        let s = e.reduce(0, +)
        return e.map { $0 / s }
    }

    /// Maximum-likelihood β ≥ 0: the negative log-likelihood is convex in β, so bisection on its
    /// derivative Σ_i (E_p[g_i] − g_{i,y_i}) finds the minimum.
    static func fitBeta(cases: [CalibrationLesion], prevalences pi: [Double], scanCount k: Int) throws -> Double {
        let data = cases.map { (meanLogRatios($0.scanProbabilities, pi), $0.label) }
        func derivative(_ beta: Double) -> Double {
            var d = 0.0
            for (g, y) in data {
                let p = pooled(g, pi, beta)
                var expected = 0.0
                for c in 0..<pi.count { expected += p[c] * g[c] }
                d += expected - g[y]
            }
            return d
        }
        var lo = 0.0, hi = max(4.0, 4 * Double(k))
        if derivative(lo) >= 0 { return 0 }
        var expansions = 0
        while derivative(hi) < 0 {
            hi *= 2
            expansions += 1
            if expansions > 30 {
                throw RepeatScanError.insufficientCalibrationData(
                    what: "pooled recalibration for \(k) scans",
                    reason: "calibration cases are perfectly separated; β is unbounded")
            }
        }
        for _ in 0..<200 {
            let mid = 0.5 * (lo + hi)
            if derivative(mid) < 0 { lo = mid } else { hi = mid }
            if hi - lo < 1e-10 * max(1, hi) { break }
        }
        return 0.5 * (lo + hi)
    }
}
