import Foundation
import Calibration

/// A Gaussian shared-lesion-effect model for a per-scan statistic u (a per-scan log-evidence):
/// u_t = m + b + ε_t with lesion effect b ~ N(0, τ²) shared by every scan of a lesion and scan noise
/// ε_t ~ N(0, s²). Within-lesion correlation is ρ = τ² / (τ² + s²).
///
/// Correlated scans carry less information than their count; this model is what lets the
/// model-based e-process account for that, by integrating the lesion effect out exactly (the scans
/// of a lesion are jointly normal with compound-symmetric covariance s²I + τ²11ᵀ).
public struct RandomEffectParameters: Sendable, Equatable, Codable {
    public var mean: Double
    /// τ², variance of the shared lesion effect.
    public var lesionVariance: Double
    /// s², variance of the per-scan noise.
    public var scanVariance: Double
    /// Provenance: number of lesions and scans the fit used (0 when set by hand).
    public var lesionCount: Int
    public var scanCount: Int

    enum CodingKeys: String, CodingKey {
        case mean, lesionVariance = "lesion_variance", scanVariance = "scan_variance"
        case lesionCount = "lesion_count", scanCount = "scan_count"
    }

    public init(mean: Double, lesionVariance: Double, scanVariance: Double,
                lesionCount: Int = 0, scanCount: Int = 0) throws {
        guard mean.isFinite else {
            throw RepeatScanError.invalidParameter(name: "mean", value: "\(mean)", reason: "must be finite")
        }
        guard lesionVariance.isFinite, lesionVariance >= 0 else {
            throw RepeatScanError.invalidParameter(name: "lesionVariance", value: "\(lesionVariance)",
                                                   reason: "must be finite and ≥ 0")
        }
        guard scanVariance.isFinite, scanVariance > 0 else {
            throw RepeatScanError.invalidParameter(name: "scanVariance", value: "\(scanVariance)",
                                                   reason: "must be finite and > 0")
        }
        self.mean = mean
        self.lesionVariance = lesionVariance
        self.scanVariance = scanVariance
        self.lesionCount = lesionCount
        self.scanCount = scanCount
    }

    /// Within-lesion correlation ρ = τ² / (τ² + s²).
    public var intraclassCorrelation: Double { lesionVariance / (lesionVariance + scanVariance) }

    /// Fits by one-way random-effects ANOVA (method of moments, unbalanced form): s² is the pooled
    /// within-lesion variance, τ² = max(0, (MSB − MSW) / n₀). Needs at least two lesions and at least
    /// one lesion with two or more scans.
    ///
    /// With `lesionVarianceConfidence` (e.g. 0.95) τ² is replaced by its one-sided upper confidence
    /// limit, from (a − 1)·MSB / (s² + n₀τ²) ~ χ²(a − 1) (exact for balanced designs; chi-square
    /// quantile by Wilson–Hilferty). A null model that overstates the lesion effect makes the
    /// likelihood ratio conservative; one that understates it lets correlated scans look like
    /// fresh evidence, so the claims' level should not rest on a lucky point estimate.
    public static func fit(lesions: [[Double]], what: String = "random-effect model",
                           lesionVarianceConfidence: Double? = nil) throws
        -> RandomEffectParameters {
        let groups = lesions.filter { !$0.isEmpty }
        guard groups.count >= 2 else {
            throw RepeatScanError.insufficientCalibrationData(
                what: what, reason: "need at least 2 lesions with scans, found \(groups.count)")
        }
        for g in groups {
            for v in g where !v.isFinite {
                throw RepeatScanError.insufficientCalibrationData(what: what, reason: "non-finite value \(v)")
            }
        }
        let n = groups.reduce(0) { $0 + $1.count }
        let withinDF = n - groups.count
        guard withinDF > 0 else {
            throw RepeatScanError.insufficientCalibrationData(
                what: what, reason: "need at least one lesion with 2 or more scans")
        }
        let grand = groups.reduce(0.0) { $0 + $1.reduce(0, +) } / Double(n)
        var ssw = 0.0, ssb = 0.0, sumNi2 = 0.0
        for g in groups {
            let ni = Double(g.count)
            let mi = g.reduce(0, +) / ni
            for v in g { ssw += (v - mi) * (v - mi) }
            ssb += ni * (mi - grand) * (mi - grand)
            sumNi2 += ni * ni
        }
        let msw = ssw / Double(withinDF)
        let a = Double(groups.count)
        let msb = ssb / (a - 1)
        let n0 = (Double(n) - sumNi2 / Double(n)) / (a - 1)
        var tau2 = max(0, (msb - msw) / n0)
        if let confidence = lesionVarianceConfidence {
            guard confidence > 0.5, confidence < 1 else {
                throw RepeatScanError.invalidParameter(name: "lesionVarianceConfidence", value: "\(confidence)",
                                                       reason: "must be in (0.5, 1)")
            }
            let df = a - 1
            let lowerQuantile = chiSquareQuantile(1 - confidence, degreesOfFreedom: df)
            tau2 = max(tau2, (df * msb / lowerQuantile - msw) / n0)
        }
        guard msw > 0 else {
            throw RepeatScanError.insufficientCalibrationData(
                what: what, reason: "scans within a lesion show no variation (within-lesion variance 0)")
        }
        return try RandomEffectParameters(mean: grand, lesionVariance: tau2, scanVariance: msw,
                                          lesionCount: groups.count, scanCount: n)
    }

    /// Log marginal density of n scans' statistics with the lesion effect integrated out, from the
    /// sufficient statistics Σu and Σu².
    public func logMarginalLikelihood(sum s1: Double, sumOfSquares s2: Double, count n: Int) -> Double {
        guard n > 0 else { return 0 }
        let nd = Double(n)
        let sr = s1 - nd * mean                               // Σ r,  r = u − m
        let sr2 = s2 - 2 * mean * s1 + nd * mean * mean        // Σ r²
        let s2v = scanVariance, t2 = lesionVariance
        let denom = s2v + nd * t2
        let logDet = (nd - 1) * log(s2v) + log(denom)
        let quad = (sr2 - t2 * sr * sr / denom) / s2v
        return -0.5 * (nd * log(2 * Double.pi) + logDet + quad)
    }

    /// Log marginal density of a sequence of statistics.
    public func logMarginalLikelihood(_ values: [Double]) -> Double {
        var s1 = 0.0, s2 = 0.0
        for v in values { s1 += v; s2 += v * v }
        return logMarginalLikelihood(sum: s1, sumOfSquares: s2, count: values.count)
    }
}

/// Chi-square quantile by the Wilson–Hilferty cube-root approximation (good to a few parts in a
/// thousand for ten or more degrees of freedom).
func chiSquareQuantile(_ p: Double, degreesOfFreedom k: Double) -> Double {
    let h = 2 / (9 * k)
    let base = 1 - h + normalQuantile(p) * h.squareRoot()
    return max(1e-12, k * base * base * base)
}
