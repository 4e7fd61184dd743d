import Calibration
import Foundation
import Randomness

/// A tighter "not malignant" claim over a case's repeat scans that stays valid under optional
/// stopping. The statistic after t scans is the standardised mean per-scan evidence under the fitted
/// null model, Z_t = (ū_t − μ₀) / √(τ₀² + s₀²/t); a claim needs Z_t ≥ C·(M/t)^shape for some t ≤ M,
/// the policy's maximum. C is set by a seeded Monte Carlo under the fitted null: the smallest C at
/// which the chance of ever crossing within the M scans is ≤ α, with 99% confidence over the
/// simulation. Ville's boundary 1/α on the likelihood ratio holds for any horizon and so is loose for
/// M scans (the ratio overshoots and rarely crosses late); this one spends the whole α over exactly
/// the scans a policy allows — shape 0.5 (O'Brien–Fleming) spends little early and most at the last
/// scan, which is what brings it near the best fixed-M test. Whenever the shopper stops, a claim
/// needs the path to have crossed, which happens with probability ≤ α under the null; a scan beyond
/// M cannot earn a claim.
public struct CalibratedBoundary: Sendable, Equatable, Codable {
    /// C, on the Z scale.
    public let constant: Double
    public let shape: Double
    public let maxScans: Int
    public let alpha: Double
    public let simulations: Int
    public let seed: UInt64
    /// Fraction of simulated null paths that cross (the estimate the 99% margin keeps below α).
    public let simulatedCrossing: Double

    enum CodingKeys: String, CodingKey {
        case constant, shape, maxScans = "max_scans", alpha, simulations, seed, simulatedCrossing = "simulated_crossing"
    }

    public static let defaultSimulations = 20_000
    public static let defaultShape = 0.5
    /// The null model's lesion variance is taken at this upper confidence limit when the boundary's
    /// dependence model is fitted (the shopping simulation checks the level holds over calibration draws).
    public static let nullLesionVarianceConfidence = 0.8

    /// Z_t for the running sum of per-scan evidence over t scans.
    public static func standardizedMean(sum: Double, count t: Int, null: RandomEffectParameters) -> Double {
        (sum / Double(t) - null.mean) / (null.lesionVariance + null.scanVariance / Double(t)).squareRoot()
    }

    /// The boundary at scan t (1-based).
    public func boundary(atScan t: Int) -> Double { constant * pow(Double(maxScans) / Double(t), shape) }

    /// Whether the statistic Z_t after t scans establishes the claim (never past M scans).
    public func crosses(statistic z: Double, count t: Int) -> Bool { t <= maxScans && z >= boundary(atScan: t) }

    /// Whether the running sum of evidence after t scans establishes the claim.
    public func crosses(sum: Double, count t: Int, null: RandomEffectParameters) -> Bool {
        crosses(statistic: Self.standardizedMean(sum: sum, count: t, null: null), count: t)
    }

    public static func fit(_ model: RivalDependenceModel, maxScans m: Int, alpha: Double, shape: Double = defaultShape,
                           simulations n: Int = defaultSimulations, seed: UInt64) throws -> CalibratedBoundary {
        guard m >= 1 else { throw RepeatScanError.invalidParameter(name: "maxScans", value: "\(m)", reason: "must be ≥ 1") }
        guard alpha > 0, alpha < 1 else { throw RepeatScanError.invalidParameter(name: "alpha", value: "\(alpha)", reason: "must lie in (0, 1)") }
        guard shape >= 0, shape <= 2 else { throw RepeatScanError.invalidParameter(name: "shape", value: "\(shape)", reason: "must lie in [0, 2]") }
        let fewest = Int((20 / alpha).rounded(.up))
        guard n >= fewest else {
            throw RepeatScanError.invalidParameter(name: "simulations", value: "\(n)", reason: "need at least \(fewest) for α = \(alpha)")
        }
        var rng = SeededGenerator(seed: seed)
        let null = model.null
        let tau = null.lesionVariance.squareRoot(), s = null.scanVariance.squareRoot()
        // Per simulated null path, the smallest C it would cross: the maximum over t of Z_t / (M/t)^shape.
        var needed = [Double](repeating: 0, count: n)
        for i in 0..<n {
            let b = tau * rng.standardNormal()
            var sum = 0.0, best = -Double.infinity
            for t in 1...m {
                sum += null.mean + b + s * rng.standardNormal()
                best = max(best, standardizedMean(sum: sum, count: t, null: null) / pow(Double(m) / Double(t), shape))
            }
            needed[i] = best
        }
        needed.sort(by: >)
        // Allowed crossings k: the expected αn less 2.33 binomial SDs, so the true crossing chance
        // exceeds α with at most 1% probability over the simulation; C sits just above the (k+1)-th largest.
        let expected = alpha * Double(n)
        let k = max(0, Int((expected - normalQuantile(0.99) * (expected * (1 - alpha)).squareRoot()).rounded(.down)))
        let c = needed[k].nextUp
        return CalibratedBoundary(constant: c, shape: shape, maxScans: m, alpha: alpha, simulations: n, seed: seed,
                                  simulatedCrossing: Double(needed.prefix { $0 >= c }.count) / Double(n))
    }
}

/// What a policy with `claim_construction: calibrated-boundary` needs, fitted once per run: the
/// dependence model fitted on the calibration cases with repeat scans (null lesion variance at its
/// upper 80% limit) and, per rival class, the boundary for the policy's α and M. When the
/// calibration scans name their scanner configurations, the model and boundaries are those of the
/// evidence standardised per configuration (`ScanConfigurationEvidence`), so the claim stays valid
/// when the next configuration is chosen from the scans already taken.
public struct CalibratedClaimModel: Sendable, Equatable, Codable {
    public struct Rival: Sendable, Equatable, Codable {
        public var model: RivalDependenceModel
        public var boundary: CalibratedBoundary
    }
    public var rivals: [Rival]
    /// Per-configuration evidence the claims standardise with (nil: scans pooled as they are).
    public var configurations: ScanConfigurationEvidence?

    /// Fits from calibration lesions; the boundary of rival j is simulated with seed `seed + j`.
    /// With `configured` lesions (every calibration scan's configuration known) the fit is on
    /// standardised evidence.
    public static func fit(calibration: [CalibrationLesion], prevalences: [Double], alpha: Double, maxScans: Int,
                           configured: (lesions: [ConfiguredCalibrationLesion], names: [String])? = nil,
                           simulations: Int = CalibratedBoundary.defaultSimulations, seed: UInt64) throws -> CalibratedClaimModel {
        var evidence: ScanConfigurationEvidence?
        let dependence: ScanDependenceModel
        if let configured {
            let e = try ScanConfigurationEvidence.fit(calibration: configured.lesions, names: configured.names, prevalences: prevalences)
            evidence = e
            dependence = e.standardisedDependence
        } else {
            dependence = try ScanDependenceModel.fit(calibration: calibration, prevalences: prevalences,
                                                     nullLesionVarianceConfidence: CalibratedBoundary.nullLesionVarianceConfidence)
        }
        return CalibratedClaimModel(rivals: try dependence.rivals.map { m in
            Rival(model: m, boundary: try CalibratedBoundary.fit(m, maxScans: maxScans, alpha: alpha, simulations: simulations,
                                                                 seed: seed &+ UInt64(m.rival)))
        }, configurations: evidence)
    }

    public func rival(_ j: Int) -> Rival? { rivals.first { $0.model.rival == j } }
}
