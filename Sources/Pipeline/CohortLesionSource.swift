import Cohorts
import Foundation
import Randomness
import RepeatScan

/// Lesions from the Cohorts lesion generator, as calibrated per-scan probabilities of benign. The
/// cohort's malignant logit for a scan with latent evidence z is logit π_malignant + d·z, so
/// q_benign = σ(logit π_benign − d·z). Lesions are generated in seeded chunks of one class and one
/// scan count (no measurement noise or artefacts: the latent evidence is used directly).
/// Lives here because Pipeline is the module that knows both Cohorts and RepeatScan; used by
/// `audit simulate shopping` and RepeatScan's tests.
public struct CohortLesionSource: LesionScanSource {
    public static let description =
        "Cohorts.LesionCohort (lesion cohort generator): latent per-scan evidence z = mu_class + u + e, "
        + "u ~ N(0, rho), e ~ N(0, 1 - rho), mu = -d/2 benign, +d/2 malignant; calibrated per-scan "
        + "q_malignant = sigmoid(logit(pi_malignant) + d*z); dependence model fitted per rho on generated "
        + "calibration lesions with repeat scans"

    public let model: LesionScanModel
    public let seed: UInt64
    /// Lesions generated per chunk; part of the stream: a different chunk gives different lesions.
    public let chunk: Int
    private var queues: [String: [[Double]]] = [:]
    private var chunksDrawn: [String: UInt64] = [:]

    public init(model: LesionScanModel, seed: UInt64, chunk: Int = 2000) {
        self.model = model
        self.seed = seed
        self.chunk = chunk
    }

    public mutating func nextLesion(label: Int, count: Int, into buffer: inout [Double]) throws {
        let key = "\(label)/\(count)"
        if queues[key, default: []].isEmpty {
            let n = chunksDrawn[key, default: 0]
            chunksDrawn[key] = n + 1
            var state = seed ^ (UInt64(label) << 56) ^ (UInt64(count) << 40) ^ n
            let chunkSeed = SeededGenerator.splitMix64(&state)
            let p = LesionParameters(study: "shopping", cases: chunk,
                                     malignantPrevalence: label == LesionScanModel.malignant ? 1 : 0,
                                     rho: model.rho, separation: model.separation, measurementNoise: 0,
                                     minScans: count, maxScans: count, artefactRate: 0, lesionsPerPatient: 1)
            let cohort = try LesionCohort.generate(p, seed: chunkSeed)
            let priorLogit = log((1 - model.malignantPrevalence) / model.malignantPrevalence)
            queues[key] = try cohort.cases.map { c in
                try c.scans.map { s in
                    guard let z = s.latentEvidence else {
                        throw PipelineError.unreadableScan(caseId: c.id, scan: s.index,
                                                           reason: "the lesion cohort gave it no latent evidence")
                    }
                    return 1 / (1 + exp(-(priorLogit - model.separation * z)))
                }
            }
        }
        buffer = queues[key]?.popLast() ?? []
    }
}
