import Foundation

/// Generative model of calibrated per-scan probabilities for repeat scans of a lesion, with a shared
/// lesion effect. Two classes: 0 = benign, 1 = malignant.
///
/// A scan of a lesion of class y has a latent score ℓ_t = μ_y + b + ε_t with μ_benign = +d/2,
/// μ_malignant = −d/2, lesion effect b ~ N(0, ρ) shared by all scans of the lesion, and scan noise
/// ε_t ~ N(0, 1 − ρ). Marginally ℓ_t | y ~ N(μ_y, 1), so the per-scan probability
///
///     q_benign = σ(logit π_benign + d · ℓ_t)
///
/// is exactly calibrated for a single scan (d·ℓ is the single-scan log likelihood ratio), while
/// scans of one lesion are correlated with correlation ρ. This is the model a shopper plays
/// against: every new scan looks like fresh evidence, but only its ε is new.
public struct LesionScanModel: Sendable, Equatable, Codable {
    /// Standardised separation d between the class means of the latent per-scan score.
    public var separation: Double
    /// Within-lesion correlation ρ of the latent score.
    public var rho: Double
    /// Prevalence of malignant lesions that per-scan probabilities are calibrated against.
    public var malignantPrevalence: Double

    public static let benign = 0
    public static let malignant = 1

    enum CodingKeys: String, CodingKey {
        case separation, rho, malignantPrevalence = "malignant_prevalence"
    }

    public init(separation: Double, rho: Double, malignantPrevalence: Double) throws {
        guard separation.isFinite, separation > 0 else {
            throw RepeatScanError.invalidParameter(name: "separation", value: "\(separation)", reason: "must be > 0")
        }
        guard rho.isFinite, rho >= 0, rho < 1 else {
            throw RepeatScanError.invalidParameter(name: "rho", value: "\(rho)", reason: "must be in [0, 1)")
        }
        guard malignantPrevalence > 0, malignantPrevalence < 1 else {
            throw RepeatScanError.invalidParameter(name: "malignantPrevalence", value: "\(malignantPrevalence)",
                                                   reason: "must be in (0, 1)")
        }
        self.separation = separation
        self.rho = rho
        self.malignantPrevalence = malignantPrevalence
    }

    /// Class prevalences [benign, malignant].
    public var prevalences: [Double] { [1 - malignantPrevalence, malignantPrevalence] }

    /// Draws a lesion's shared effect b ~ N(0, ρ).
    @inline(__always)
    public func drawLesionEffect<G: RandomNumberGenerator>(using rng: inout G) -> Double {
        rho.squareRoot() * rng.standardNormal()
    }

    /// Draws one scan's calibrated probability of benign for a lesion of class `label` with effect b.
    @inline(__always)
    public func drawBenignProbability<G: RandomNumberGenerator>(label: Int, lesionEffect b: Double,
                                                               using rng: inout G) -> Double {
        benignProbability(label: label, lesionEffect: b, noise: rng.standardNormal())
    }

    /// The calibrated probability of benign of one scan whose standard-normal scan noise is `e`.
    @inline(__always)
    public func benignProbability(label: Int, lesionEffect b: Double, noise e: Double) -> Double {
        let mu = label == LesionScanModel.benign ? separation / 2 : -separation / 2
        let latent = mu + b + (1 - rho).squareRoot() * e
        let logit = log((1 - malignantPrevalence) / malignantPrevalence) + separation * latent
        return 1 / (1 + exp(-logit))
    }

    /// Fills `buffer` with the benign probabilities of `count` scans of one new lesion.
    public func drawLesion<G: RandomNumberGenerator>(label: Int, count: Int, into buffer: inout [Double],
                                                    using rng: inout G) {
        let b = drawLesionEffect(using: &rng)
        buffer.removeAll(keepingCapacity: true)
        for _ in 0..<count { buffer.append(drawBenignProbability(label: label, lesionEffect: b, using: &rng)) }
    }

    /// Calibration cases with repeat scans drawn from the model ([benign, malignant] probabilities).
    public func calibrationLesions<G: RandomNumberGenerator>(perClass: Int, scansPerLesion: Int,
                                                            using rng: inout G) -> [CalibrationLesion] {
        var out: [CalibrationLesion] = []
        out.reserveCapacity(2 * perClass)
        var buffer: [Double] = []
        for label in [LesionScanModel.benign, LesionScanModel.malignant] {
            for _ in 0..<perClass {
                drawLesion(label: label, count: scansPerLesion, into: &buffer, using: &rng)
                out.append(CalibrationLesion(label: label, scanProbabilities: buffer.map { [$0, 1 - $0] }))
            }
        }
        return out
    }

    /// The model's true dependence model against `rival` in terms of the per-scan evidence
    /// u = logit q_benign − logit π_benign = d·ℓ (for checks that do not involve fitting).
    public func trueDependenceModel(against rival: Int) throws -> RivalDependenceModel {
        let d = separation
        func params(_ label: Int) throws -> RandomEffectParameters {
            let sign: Double = label == LesionScanModel.benign ? 1 : -1
            // u = d·ℓ for rival = malignant; u = −d·ℓ for rival = benign.
            let orient: Double = rival == LesionScanModel.malignant ? 1 : -1
            return try RandomEffectParameters(mean: orient * sign * d * d / 2, lesionVariance: d * d * rho,
                                              scanVariance: d * d * (1 - rho))
        }
        let other = rival == LesionScanModel.malignant ? LesionScanModel.benign : LesionScanModel.malignant
        return RivalDependenceModel(rival: rival, null: try params(rival), alternative: try params(other))
    }
}
