import Foundation
import Calibration
import Randomness

/// A reporting rule facing a shopper who rescans a lesion until the report reassures them
/// ("benign") or the policy maximum of M scans is reached.
public enum ShoppingRule: String, Sendable, Codable, CaseIterable {
    /// Each scan's calibrated probability is shown; the shopper stops at the first ≥ 1 − α.
    case firstReassuring = "first-reassuring"
    /// Only the last scan's probability is reported; the shopper stops once it is ≥ 1 − α. (For a
    /// shopper who stops when reassured this coincides with `first-reassuring`: throwing earlier
    /// scans away does not protect against shopping.)
    case lastScan = "last-scan"
    /// Countersign: "not malignant, at level α" only when the model-based e-process over every scan
    /// reaches 1/α.
    case countersign = "countersign"
    /// Countersign's model-free construction: running max of per-scan e-values reaches M/α.
    case countersignModelFree = "countersign-model-free"
    /// Plain product of per-scan likelihood ratios compared with 1/α (valid only for independent scans).
    case independentProduct = "independent-product"
    /// Mean of calibrated probabilities over every scan ≥ 1 − α.
    case pooledMean = "pooled-mean"
    /// Reference: one scan only, no rescanning.
    case singleScan = "single-scan"
    /// Countersign's tighter claim: the standardised mean evidence against a boundary at which the
    /// fitted null crosses within the M scans with probability ≤ α (`CalibratedBoundary`).
    case countersignCalibrated = "countersign-calibrated"
    /// Oracle, not a rule anyone can run: it knows ρ and takes all M scans, then the most powerful
    /// fixed-sample test at level α (the mean per-scan evidence against its exact null quantile).
    case oracleFixed = "oracle-fixed"

    /// The rules `audit simulate shopping` reports by default: the naive rules, Countersign's
    /// claims, and the oracle the tighter claim is measured against.
    public static let required: [ShoppingRule] = [.firstReassuring, .lastScan, .countersign, .countersignCalibrated, .oracleFixed]
}

public struct ShoppingSimulationConfiguration: Sendable, Equatable, Codable {
    public var rhos: [Double]
    /// Lesions simulated per class (malignant and benign) for each ρ.
    public var casesPerClass: Int
    public var maxScans: Int
    public var alpha: Double
    public var seed: UInt64
    public var separation: Double
    public var malignantPrevalence: Double
    /// Calibration lesions per class used to fit the dependence model, and scans per lesion.
    public var calibrationLesionsPerClass: Int
    public var calibrationScansPerLesion: Int
    public var rules: [ShoppingRule]
    /// Confidence of the upper limit on the null model's lesion variance (`nil`: point estimate).
    public var nullLesionVarianceConfidence: Double?
    /// Independent calibration sets per ρ: the lesions are split evenly between them, each group
    /// judged with the dependence model fitted on its own calibration set, so the rates average
    /// over calibration draws as well as lesions (the claims' level is a property of both).
    public var calibrationRefits: Int
    /// Null paths simulated to set each calibrated boundary.
    public var boundarySimulations: Int

    enum CodingKeys: String, CodingKey {
        case rhos, casesPerClass = "cases_per_class", maxScans = "max_scans", alpha, seed, separation
        case malignantPrevalence = "malignant_prevalence"
        case calibrationLesionsPerClass = "calibration_lesions_per_class"
        case calibrationScansPerLesion = "calibration_scans_per_lesion", rules
        case nullLesionVarianceConfidence = "null_lesion_variance_confidence"
        case calibrationRefits = "calibration_refits", boundarySimulations = "boundary_simulations"
    }

    public init(rhos: [Double], casesPerClass: Int, maxScans: Int, alpha: Double, seed: UInt64,
                separation: Double = 2, malignantPrevalence: Double = 0.5,
                calibrationLesionsPerClass: Int = 300, calibrationScansPerLesion: Int = 5,
                rules: [ShoppingRule] = ShoppingRule.required,
                nullLesionVarianceConfidence: Double? = ScanDependenceModel.defaultNullLesionVarianceConfidence,
                calibrationRefits: Int = 1, boundarySimulations: Int = CalibratedBoundary.defaultSimulations) {
        self.rhos = rhos
        self.casesPerClass = casesPerClass
        self.maxScans = maxScans
        self.alpha = alpha
        self.seed = seed
        self.separation = separation
        self.malignantPrevalence = malignantPrevalence
        self.calibrationLesionsPerClass = calibrationLesionsPerClass
        self.calibrationScansPerLesion = calibrationScansPerLesion
        self.rules = rules
        self.nullLesionVarianceConfidence = nullLesionVarianceConfidence
        self.calibrationRefits = calibrationRefits
        self.boundarySimulations = boundarySimulations
    }

    public func validate() throws {
        guard !rhos.isEmpty else {
            throw RepeatScanError.invalidParameter(name: "rho", value: "[]", reason: "give at least one ρ")
        }
        for r in rhos where !(r >= 0 && r < 1) {
            throw RepeatScanError.invalidParameter(name: "rho", value: "\(r)", reason: "must be in [0, 1)")
        }
        guard casesPerClass >= 1 else {
            throw RepeatScanError.invalidParameter(name: "cases", value: "\(casesPerClass)", reason: "must be ≥ 1")
        }
        guard maxScans >= 1 else {
            throw RepeatScanError.invalidParameter(name: "max-scans", value: "\(maxScans)", reason: "must be ≥ 1")
        }
        guard alpha > 0, alpha < 1 else {
            throw RepeatScanError.invalidParameter(name: "alpha", value: "\(alpha)", reason: "must be in (0, 1)")
        }
        guard calibrationLesionsPerClass >= 2, calibrationScansPerLesion >= 2 else {
            throw RepeatScanError.invalidParameter(
                name: "calibration", value: "\(calibrationLesionsPerClass)×\(calibrationScansPerLesion)",
                reason: "need ≥ 2 lesions per class with ≥ 2 scans each to fit the dependence model")
        }
        guard calibrationRefits >= 1, calibrationRefits <= casesPerClass else {
            throw RepeatScanError.invalidParameter(name: "calibration-refits", value: "\(calibrationRefits)",
                                                   reason: "must be between 1 and the cases per class")
        }
        guard !rules.isEmpty else {
            throw RepeatScanError.invalidParameter(name: "rules", value: "[]", reason: "give at least one rule")
        }
    }
}

/// One (ρ, rule) line of the shopping simulation.
public struct ShoppingResult: Sendable, Equatable, Codable {
    public var rho: Double
    public var rule: ShoppingRule
    /// Fraction of malignant lesions called benign.
    public var falseReassurance: Double
    public var falseReassuranceSE: Double
    /// With several calibration refits: SD of the per-refit false-reassurance rates / √refits, which
    /// also carries the variation between calibration sets (nil with one refit).
    public var falseReassuranceSEBetweenFits: Double?
    /// Fraction of benign lesions called benign.
    public var benignCleared: Double
    public var benignClearedSE: Double
    /// Mean scans per lesion over both classes, and per class.
    public var meanScans: Double
    public var meanScansMalignant: Double
    public var meanScansBenign: Double

    enum CodingKeys: String, CodingKey {
        case rho, rule, falseReassurance = "false_reassurance", falseReassuranceSE = "false_reassurance_se"
        case falseReassuranceSEBetweenFits = "false_reassurance_se_between_fits"
        case benignCleared = "benign_cleared", benignClearedSE = "benign_cleared_se"
        case meanScans = "mean_scans", meanScansMalignant = "mean_scans_malignant"
        case meanScansBenign = "mean_scans_benign"
    }
}

/// Provenance of the dependence model fitted for one ρ.
public struct ShoppingFit: Sendable, Equatable, Codable {
    public var rho: Double
    /// Which calibration refit (0-based) for this ρ.
    public var refit: Int
    /// The model fitted on simulated calibration lesions, against "malignant".
    public var model: RivalDependenceModel
    /// Within-lesion correlation of the null (malignant) model as used, i.e. with the lesion
    /// variance at its upper confidence limit.
    public var estimatedRho: Double
    /// The calibrated boundary fitted on this model (when a rule uses it).
    public var boundary: CalibratedBoundary?
    enum CodingKeys: String, CodingKey { case rho, refit, model, boundary, estimatedRho = "estimated_rho" }
}

public struct ShoppingReport: Sendable, Equatable, Codable {
    public var configuration: ShoppingSimulationConfiguration
    public var generativeModel: String
    public var results: [ShoppingResult]
    public var fits: [ShoppingFit]

    enum CodingKeys: String, CodingKey {
        case configuration, generativeModel = "generative_model", results, fits
    }
}

/// Where simulated lesions come from: each call returns the calibrated per-scan probabilities of
/// benign for `count` scans of one new lesion of class `label` (0 benign, 1 malignant). The default
/// is `ModelLesionSource` (this module's `LesionScanModel`); the CLI plugs in the Cohorts lesion
/// generator (`Pipeline.CohortLesionSource`), whose latent per-scan evidence follows the same model.
public protocol LesionScanSource {
    mutating func nextLesion(label: Int, count: Int, into buffer: inout [Double]) throws
}

/// Lesions drawn from `LesionScanModel` with the shared `Randomness.SeededGenerator`.
public struct ModelLesionSource: LesionScanSource {
    public let model: LesionScanModel
    public var generator: SeededGenerator

    public init(model: LesionScanModel, seed: UInt64) {
        self.model = model
        self.generator = SeededGenerator(seed: seed)
    }

    public mutating func nextLesion(label: Int, count: Int, into buffer: inout [Double]) throws {
        model.drawLesion(label: label, count: count, into: &buffer, using: &generator)
    }
}

/// Simulates a shopper who rescans until reassured, against each reporting rule, on lesions from
/// a `LesionScanSource` (by default `LesionScanModel`). Every rule sees the same simulated scans (common random numbers), so
/// differences between rules are not Monte-Carlo noise in the lesions.
public enum ShoppingSimulation {
    public static let generativeModelDescription =
        "latent per-scan score l = ±d/2 + b + e, lesion effect b ~ N(0, rho), scan noise e ~ N(0, 1 - rho); "
        + "calibrated per-scan q_benign = sigmoid(logit(pi_benign) + d*l); dependence model fitted per rho "
        + "on simulated calibration lesions with repeat scans"

    /// Seed of the lesion stream for the ρ at `index` (distinct streams per ρ).
    public static func streamSeed(_ seed: UInt64, index: Int) -> UInt64 {
        seed ^ (0xA076_1D64_78BD_642F &* (UInt64(index) &+ 1))
    }

    /// Runs with lesions from `LesionScanModel`.
    public static func run(_ config: ShoppingSimulationConfiguration) throws -> ShoppingReport {
        try run(config, generativeModel: generativeModelDescription) { model, seed in
            ModelLesionSource(model: model, seed: seed)
        }
    }

    /// Runs with lesions from `makeSource(model, seed)`, called once per ρ with that ρ's model
    /// parameters and stream seed; `generativeModel` describes the source for the report.
    public static func run(_ config: ShoppingSimulationConfiguration, generativeModel: String,
                           source makeSource: (LesionScanModel, UInt64) throws -> any LesionScanSource) throws
        -> ShoppingReport {
        try config.validate()
        var results: [ShoppingResult] = []
        var fits: [ShoppingFit] = []
        for (index, rho) in config.rhos.enumerated() {
            let model = try LesionScanModel(separation: config.separation, rho: rho,
                                            malignantPrevalence: config.malignantPrevalence)
            var source = try makeSource(model, streamSeed(config.seed, index: index))
            let (lines, fitted) = try runOne(config, model: model, source: &source)
            results.append(contentsOf: lines)
            fits.append(contentsOf: fitted)
        }
        return ShoppingReport(configuration: config, generativeModel: generativeModel,
                              results: results, fits: fits)
    }

    /// Outcome of one lesion under one rule.
    struct Outcome { var calledBenign: Bool; var scans: Int }

    static func runOne(_ config: ShoppingSimulationConfiguration, model: LesionScanModel,
                       source: inout any LesionScanSource) throws -> ([ShoppingResult], [ShoppingFit]) {
        let rho = model.rho
        let piM = model.malignantPrevalence
        let alpha = config.alpha, m = config.maxScans
        let reassuring = 1 - alpha
        let logThreshold = log(1 / alpha)
        let logModelFreeThreshold = log(Double(m) / alpha)
        let refits = config.calibrationRefits

        // called[r][label], scans[r][label]: totals; calledPerFit[r][fit]: malignant called benign.
        var called = [[Int]](repeating: [0, 0], count: config.rules.count)
        var scans = [[Int]](repeating: [0, 0], count: config.rules.count)
        var calledPerFit = [[Int]](repeating: [Int](repeating: 0, count: refits), count: config.rules.count)
        var lesionsPerFit = [Int](repeating: 0, count: refits)
        let needsBoundary = config.rules.contains(.countersignCalibrated)
        // The oracle: the true model's null distribution of the mean per-scan evidence over M scans.
        let truth = try model.trueDependenceModel(against: LesionScanModel.malignant)
        let oracleThreshold = truth.null.mean + normalQuantile(1 - alpha)
            * (truth.null.lesionVariance + truth.null.scanVariance / Double(m)).squareRoot()
        var fits: [ShoppingFit] = []
        var buffer: [Double] = []
        buffer.reserveCapacity(max(m, config.calibrationScansPerLesion))
        for f in 0..<refits {
            var calibration: [CalibrationLesion] = []
            for label in [LesionScanModel.benign, LesionScanModel.malignant] {
                for _ in 0..<config.calibrationLesionsPerClass {
                    try source.nextLesion(label: label, count: config.calibrationScansPerLesion, into: &buffer)
                    try checkLesion(buffer, count: config.calibrationScansPerLesion)
                    calibration.append(CalibrationLesion(label: label, scanProbabilities: buffer.map { [$0, 1 - $0] }))
                }
            }
            let dependence = try ScanDependenceModel.fit(calibration: calibration, prevalences: model.prevalences,
                                                          nullLesionVarianceConfidence: config.nullLesionVarianceConfidence)
            guard let rival = dependence.model(against: LesionScanModel.malignant) else {
                throw RepeatScanError.insufficientCalibrationData(what: "dependence model", reason: "no model for malignant")
            }
            // The tighter claim's own fit of the same calibration lesions: lesion variance at its upper 80% limit.
            var boundary: CalibratedBoundary?
            var boundaryModel: RivalDependenceModel?
            if needsBoundary {
                let m80 = try ScanDependenceModel.fit(calibration: calibration, prevalences: model.prevalences,
                                                      nullLesionVarianceConfidence: CalibratedBoundary.nullLesionVarianceConfidence)
                guard let fitted = m80.model(against: LesionScanModel.malignant) else {
                    throw RepeatScanError.insufficientCalibrationData(what: "dependence model", reason: "no model for malignant")
                }
                boundaryModel = fitted
                boundary = try CalibratedBoundary.fit(fitted, maxScans: m, alpha: alpha, simulations: config.boundarySimulations,
                                                      seed: config.seed &+ UInt64(f) &* 0x9E37_79B9 &+ UInt64((rho * 1000).rounded()))
            }
            fits.append(ShoppingFit(rho: rho, refit: f, model: rival, estimatedRho: rival.null.intraclassCorrelation, boundary: boundary))
            let limits = Limits(malignantPrevalence: piM, reassuring: reassuring, logThreshold: logThreshold,
                                logModelFreeThreshold: logModelFreeThreshold,
                                oracleMeanThreshold: oracleThreshold, boundary: boundary, boundaryNull: boundaryModel?.null)
            let groupSize = config.casesPerClass / refits + (f < config.casesPerClass % refits ? 1 : 0)
            lesionsPerFit[f] = groupSize
            for label in [LesionScanModel.benign, LesionScanModel.malignant] {
                for _ in 0..<groupSize {
                    try source.nextLesion(label: label, count: m, into: &buffer)
                    try checkLesion(buffer, count: m)
                    for (r, rule) in config.rules.enumerated() {
                        let o = play(rule, buffer, rival: rival, limits: limits)
                        if o.calledBenign {
                            called[r][label] += 1
                            if label == LesionScanModel.malignant { calledPerFit[r][f] += 1 }
                        }
                        scans[r][label] += o.scans
                    }
                }
            }
        }
        let n = Double(config.casesPerClass)
        func se(_ p: Double) -> Double { (p * (1 - p) / n).squareRoot() }
        var lines: [ShoppingResult] = []
        for (r, rule) in config.rules.enumerated() {
            let fr = Double(called[r][LesionScanModel.malignant]) / n
            let bc = Double(called[r][LesionScanModel.benign]) / n
            let sm = Double(scans[r][LesionScanModel.malignant]) / n
            let sb = Double(scans[r][LesionScanModel.benign]) / n
            var between: Double?
            if refits >= 2 {
                let rates = (0..<refits).map { Double(calledPerFit[r][$0]) / Double(max(1, lesionsPerFit[$0])) }
                let mean = rates.reduce(0, +) / Double(refits)
                let variance = rates.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(refits - 1)
                between = (variance / Double(refits)).squareRoot()
            }
            lines.append(ShoppingResult(rho: rho, rule: rule, falseReassurance: fr, falseReassuranceSE: se(fr),
                                        falseReassuranceSEBetweenFits: between,
                                        benignCleared: bc, benignClearedSE: se(bc), meanScans: (sm + sb) / 2,
                                        meanScansMalignant: sm, meanScansBenign: sb))
        }
        return (lines, fits)
    }

    static func checkLesion(_ buffer: [Double], count: Int) throws {
        guard buffer.count == count else {
            throw RepeatScanError.invalidParameter(name: "lesion source", value: "\(buffer.count) scans",
                                                   reason: "asked for \(count)")
        }
        for q in buffer where !(q >= 0 && q <= 1) {
            throw RepeatScanError.invalidParameter(name: "lesion source", value: "\(q)",
                                                   reason: "per-scan probability not in [0, 1]")
        }
    }

    /// What the rules compare with.
    struct Limits {
        var malignantPrevalence: Double
        var reassuring: Double
        var logThreshold: Double
        var logModelFreeThreshold: Double
        var oracleMeanThreshold: Double
        var boundary: CalibratedBoundary?
        var boundaryNull: RandomEffectParameters?
    }

    /// Plays one lesion's scans (benign probabilities, in order) under a rule. The shopper stops at
    /// the first reassuring report or after all scans.
    static func play(_ rule: ShoppingRule, _ qBenign: [Double], rival: RivalDependenceModel, limits: Limits) -> Outcome {
        let piM = limits.malignantPrevalence, reassuring = limits.reassuring
        let logThreshold = limits.logThreshold, logModelFreeThreshold = limits.logModelFreeThreshold
        switch rule {
        case .singleScan:
            return Outcome(calledBenign: qBenign[0] >= reassuring, scans: 1)
        case .firstReassuring:
            for (t, q) in qBenign.enumerated() where q >= reassuring {
                return Outcome(calledBenign: true, scans: t + 1)
            }
        case .lastScan:
            for t in qBenign.indices {
                let last = qBenign[t]          // only the latest scan is reported
                if last >= reassuring { return Outcome(calledBenign: true, scans: t + 1) }
            }
        case .pooledMean:
            var sum = 0.0
            for (t, q) in qBenign.enumerated() {
                sum += q
                if sum / Double(t + 1) >= reassuring { return Outcome(calledBenign: true, scans: t + 1) }
            }
        case .countersign:
            var lr = RandomEffectLikelihoodRatio(null: rival.null, alternative: rival.alternative)
            for (t, q) in qBenign.enumerated() {
                if lr.add(perScanLogEvidence(againstProbability: 1 - q, prevalence: piM)) >= logThreshold {
                    return Outcome(calledBenign: true, scans: t + 1)
                }
            }
        case .countersignCalibrated:
            guard let boundary = limits.boundary, let null = limits.boundaryNull else { break }
            var sum = 0.0
            for (t, q) in qBenign.enumerated() {
                sum += perScanLogEvidence(againstProbability: 1 - q, prevalence: piM)
                if boundary.crosses(sum: sum, count: t + 1, null: null) { return Outcome(calledBenign: true, scans: t + 1) }
            }
        case .oracleFixed:
            let mean = qBenign.map { perScanLogEvidence(againstProbability: 1 - $0, prevalence: piM) }.reduce(0, +) / Double(qBenign.count)
            return Outcome(calledBenign: mean >= limits.oracleMeanThreshold, scans: qBenign.count)
        case .countersignModelFree:
            var mx = RunningMaximumEValue()
            for (t, q) in qBenign.enumerated() {
                if mx.add(perScanLogEvidence(againstProbability: 1 - q, prevalence: piM)) >= logModelFreeThreshold {
                    return Outcome(calledBenign: true, scans: t + 1)
                }
            }
        case .independentProduct:
            var prod = IndependentProductEValue()
            for (t, q) in qBenign.enumerated() {
                if prod.add(perScanLogEvidence(againstProbability: 1 - q, prevalence: piM)) >= logThreshold {
                    return Outcome(calledBenign: true, scans: t + 1)
                }
            }
        }
        return Outcome(calledBenign: false, scans: qBenign.count)
    }
}
