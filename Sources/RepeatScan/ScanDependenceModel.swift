import Foundation

/// A calibration case with repeat scans: its verified class and the calibrated per-scan
/// probabilities of each of its scans, in acquisition order.
public struct CalibrationLesion: Sendable, Equatable {
    public var label: Int
    public var scanProbabilities: [[Double]]
    public init(label: Int, scanProbabilities: [[Double]]) {
        self.label = label
        self.scanProbabilities = scanProbabilities
    }
}

/// The within-lesion dependence model for tests against one rival class j: the per-scan
/// log-evidence u = log[(1 − q_j)/(1 − π_j)] − log[q_j/π_j] follows a shared-lesion-effect model
/// under "class j" (the null) and under "not class j" (the alternative).
///
/// Only the null model matters for validity: any fixed alternative density gives a likelihood
/// ratio that is a martingale under the null. The alternative only decides how fast evidence grows.
public struct RivalDependenceModel: Sendable, Equatable, Codable {
    public var rival: Int
    public var null: RandomEffectParameters
    public var alternative: RandomEffectParameters

    public init(rival: Int, null: RandomEffectParameters, alternative: RandomEffectParameters) {
        self.rival = rival
        self.null = null
        self.alternative = alternative
    }
}

/// Dependence models for every rival class, fitted on calibration cases with repeat scans.
public struct ScanDependenceModel: Sendable, Equatable, Codable {
    /// Class prevalences π the per-scan probabilities are calibrated against.
    public var prevalences: [Double]
    public var rivals: [RivalDependenceModel]

    public init(prevalences: [Double], rivals: [RivalDependenceModel]) throws {
        try ScanDependenceModel.validatePrevalences(prevalences)
        self.prevalences = prevalences
        self.rivals = rivals
    }

    public func model(against rival: Int) -> RivalDependenceModel? {
        rivals.first { $0.rival == rival }
    }

    static func validatePrevalences(_ p: [Double]) throws {
        do { try ScanObservation.validateDistribution(p, scanID: "prevalences") } catch {
            throw RepeatScanError.invalidParameter(name: "prevalences", value: "\(p)", reason: "\(error)")
        }
        for v in p where v <= 0 || v >= 1 {
            throw RepeatScanError.invalidParameter(name: "prevalences", value: "\(p)",
                                                   reason: "each prevalence must lie strictly between 0 and 1")
        }
    }

    /// Default confidence of the upper limit used for the null models' lesion variance.
    public static let defaultNullLesionVarianceConfidence = 0.95

    /// Fits null and alternative random-effect models for each class that has calibration lesions
    /// of its own and of other classes. The null models' lesion variance is taken at its upper
    /// confidence limit (`nullLesionVarianceConfidence`; `nil` for the point estimate), so that
    /// estimation error in the within-lesion correlation does not erode the claims' level.
    public static func fit(calibration: [CalibrationLesion], prevalences: [Double],
                           nullLesionVarianceConfidence: Double? = defaultNullLesionVarianceConfidence) throws
        -> ScanDependenceModel {
        try validatePrevalences(prevalences)
        let c = prevalences.count
        for (i, lesion) in calibration.enumerated() {
            guard lesion.label >= 0, lesion.label < c else {
                throw RepeatScanError.invalidParameter(name: "calibration[\(i)].label", value: "\(lesion.label)",
                                                       reason: "must be in 0..<\(c)")
            }
            for (t, p) in lesion.scanProbabilities.enumerated() {
                guard p.count == c else {
                    throw RepeatScanError.classCountMismatch(scanID: "calibration[\(i)].scan[\(t)]",
                                                             expected: c, found: p.count)
                }
                try ScanObservation.validateDistribution(p, scanID: "calibration[\(i)].scan[\(t)]")
            }
        }
        var rivals: [RivalDependenceModel] = []
        for j in 0..<c {
            var nullGroups: [[Double]] = [], altGroups: [[Double]] = []
            for lesion in calibration {
                let u = lesion.scanProbabilities.map {
                    perScanLogEvidence(againstProbability: $0[j], prevalence: prevalences[j])
                }
                if lesion.label == j { nullGroups.append(u) } else { altGroups.append(u) }
            }
            let null = try RandomEffectParameters.fit(lesions: nullGroups,
                                                      what: "dependence model for class \(j)",
                                                      lesionVarianceConfidence: nullLesionVarianceConfidence)
            let alt = try RandomEffectParameters.fit(lesions: altGroups,
                                                     what: "dependence model for classes other than \(j)")
            rivals.append(RivalDependenceModel(rival: j, null: null, alternative: alt))
        }
        return try ScanDependenceModel(prevalences: prevalences, rivals: rivals)
    }

    /// Pooled within-lesion correlation of per-scan evidence, averaged over the null models
    /// weighted by their lesion counts (used for the design effect 1 + (K − 1)ρ).
    public var intraclassCorrelation: Double {
        var num = 0.0, den = 0.0
        for r in rivals {
            let w = Double(max(1, r.null.lesionCount))
            num += w * r.null.intraclassCorrelation
            den += w
        }
        return den > 0 ? num / den : 0
    }
}
