import Calibration
import Foundation
import Randomness

/// How the scanner picks the configuration of each repeat scan in `ScanAdvisorSimulation`.
public enum ConfigurationChoice: String, Sendable, Codable, CaseIterable {
    /// The cohort's fixed order: scan t under configuration t mod K.
    case fixedOrder = "fixed-order"
    /// `NextScanAdvisor`: from the scans already counted only.
    case advised = "advised"
    /// Not valid, kept to show that the check can fail: every configuration is scanned, and the
    /// scan that looks most reassuring is the one counted (the choice looks at the current result).
    case peeking = "peeking"
}

public struct ScanAdvisorSimulationConfiguration: Sendable, Equatable, Codable {
    public var rhos: [Double]
    public var casesPerClass: Int
    public var maxScans: Int
    public var alpha: Double
    public var seed: UInt64
    /// Configuration names and their standardised separations d_k.
    public var configurations: [String]
    public var separations: [Double]
    public var malignantPrevalence: Double
    public var calibrationLesionsPerClass: Int
    /// Scans per calibration lesion, taken in the fixed order.
    public var calibrationScansPerLesion: Int
    public var calibrationRefits: Int
    public var boundarySimulations: Int
    public var choices: [ConfigurationChoice]

    enum CodingKeys: String, CodingKey {
        case rhos, casesPerClass = "cases_per_class", maxScans = "max_scans", alpha, seed, configurations, separations
        case malignantPrevalence = "malignant_prevalence", calibrationLesionsPerClass = "calibration_lesions_per_class"
        case calibrationScansPerLesion = "calibration_scans_per_lesion", calibrationRefits = "calibration_refits"
        case boundarySimulations = "boundary_simulations", choices
    }

    /// Four illumination settings of increasing diagnostic value (the simulation's defaults).
    public static let defaultConfigurations = ["white cross-polarised", "white parallel-polarised", "narrow-band 405/470 nm",
                                               "near-infrared 660/850 nm"]
    public static let defaultSeparations = [1.0, 1.5, 2.0, 2.5]

    public init(rhos: [Double], casesPerClass: Int, maxScans: Int, alpha: Double, seed: UInt64,
                configurations: [String] = defaultConfigurations, separations: [Double] = defaultSeparations,
                malignantPrevalence: Double = 0.5, calibrationLesionsPerClass: Int = 300, calibrationScansPerLesion: Int = 8,
                calibrationRefits: Int = 5, boundarySimulations: Int = CalibratedBoundary.defaultSimulations,
                choices: [ConfigurationChoice] = ConfigurationChoice.allCases) {
        self.rhos = rhos; self.casesPerClass = casesPerClass; self.maxScans = maxScans; self.alpha = alpha; self.seed = seed
        self.configurations = configurations; self.separations = separations; self.malignantPrevalence = malignantPrevalence
        self.calibrationLesionsPerClass = calibrationLesionsPerClass; self.calibrationScansPerLesion = calibrationScansPerLesion
        self.calibrationRefits = calibrationRefits; self.boundarySimulations = boundarySimulations; self.choices = choices
    }

    public func validate() throws {
        func bad(_ name: String, _ value: String, _ reason: String) -> RepeatScanError {
            .invalidParameter(name: name, value: value, reason: reason)
        }
        guard !rhos.isEmpty, rhos.allSatisfy({ $0 >= 0 && $0 < 1 }) else { throw bad("rho", "\(rhos)", "give values in [0, 1)") }
        guard casesPerClass >= 1 else { throw bad("cases", "\(casesPerClass)", "must be ≥ 1") }
        guard maxScans >= 1 else { throw bad("max-scans", "\(maxScans)", "must be ≥ 1") }
        guard alpha > 0, alpha < 1 else { throw bad("alpha", "\(alpha)", "must be in (0, 1)") }
        guard !configurations.isEmpty, configurations.count == separations.count else {
            throw bad("separations", "\(separations)", "one per configuration (\(configurations.count))")
        }
        guard separations.allSatisfy({ $0 > 0 && $0.isFinite }) else { throw bad("separations", "\(separations)", "each must be > 0") }
        guard malignantPrevalence > 0, malignantPrevalence < 1 else { throw bad("prevalence", "\(malignantPrevalence)", "must be in (0, 1)") }
        guard calibrationLesionsPerClass >= 2, calibrationScansPerLesion >= 2 else {
            throw bad("calibration", "\(calibrationLesionsPerClass)×\(calibrationScansPerLesion)", "need ≥ 2 lesions per class with ≥ 2 scans")
        }
        guard calibrationRefits >= 1, calibrationRefits <= casesPerClass else {
            throw bad("calibration-refits", "\(calibrationRefits)", "must be between 1 and the cases per class")
        }
        guard !choices.isEmpty else { throw bad("choices", "[]", "give at least one") }
    }
}

/// One (ρ, choice) line.
public struct ScanAdvisorResult: Sendable, Equatable, Codable {
    public var rho: Double
    public var choice: ConfigurationChoice
    /// Malignant lesions called "not malignant".
    public var falseReassurance: Double
    public var falseReassuranceSE: Double
    public var benignCleared: Double
    public var benignClearedSE: Double
    /// Mean scans until a cleared benign lesion was cleared, and its SE.
    public var meanScansToClear: Double?
    public var meanScansToClearSE: Double?
    /// Mean scans per benign lesion (cleared or stopped at M) and per malignant lesion.
    public var meanScansBenign: Double
    public var meanScansMalignant: Double
    /// Share of all scans taken under each configuration.
    public var configurationShare: [Double]
    /// On the benign lesions that both this choice and the fixed order clear (the same lesions and
    /// scan noise): mean scans to clear under this choice and under the fixed order, and how many.
    public var pairedScansToClear: Double?
    public var pairedFixedOrderScansToClear: Double?
    public var pairedLesions: Int

    enum CodingKeys: String, CodingKey {
        case rho, choice, falseReassurance = "false_reassurance", falseReassuranceSE = "false_reassurance_se"
        case benignCleared = "benign_cleared", benignClearedSE = "benign_cleared_se"
        case meanScansToClear = "mean_scans_to_clear", meanScansToClearSE = "mean_scans_to_clear_se"
        case meanScansBenign = "mean_scans_benign", meanScansMalignant = "mean_scans_malignant"
        case configurationShare = "configuration_share", pairedScansToClear = "paired_scans_to_clear"
        case pairedFixedOrderScansToClear = "paired_fixed_order_scans_to_clear", pairedLesions = "paired_lesions"
    }

    /// 1 − (this choice's / the fixed order's) mean scans to clear, on the lesions both clear.
    public var pairedReduction: Double? {
        guard let a = pairedScansToClear, let f = pairedFixedOrderScansToClear, f > 0 else { return nil }
        return 1 - a / f
    }

    /// 1 − (this choice's / the fixed order's) mean scans per benign lesion (cleared or stopped at M).
    public func benignScanReduction(against fixed: ScanAdvisorResult) -> Double? {
        fixed.meanScansBenign > 0 ? 1 - meanScansBenign / fixed.meanScansBenign : nil
    }
}

public struct ScanAdvisorReport: Sendable, Equatable, Codable {
    public var configuration: ScanAdvisorSimulationConfiguration
    public var generativeModel: String
    public var results: [ScanAdvisorResult]
    /// The configuration evidence fitted on the first calibration set of each ρ.
    public var evidence: [ScanConfigurationEvidence]
    enum CodingKeys: String, CodingKey { case configuration, generativeModel = "generative_model", results, evidence }

    public func result(rho: Double, choice: ConfigurationChoice) -> ScanAdvisorResult? {
        results.first { $0.rho == rho && $0.choice == choice }
    }
}

/// A shopper rescans each lesion until "not malignant" is established at level α (the calibrated
/// boundary over standardised evidence) or M scans were taken; the configuration of each scan is
/// chosen by the fixed order, the advisor, or a peeking rule. Every choice sees the same lesions and
/// the same scan noise per (scan, configuration) (common random numbers).
public enum ScanAdvisorSimulation {
    public static let generativeModelDescription =
        "per scan under configuration k: latent score l = ±d_k/2 + b + e, lesion effect b ~ N(0, rho) shared by all "
        + "configurations, scan noise e ~ N(0, 1 - rho); calibrated q_benign = sigmoid(logit(pi_benign) + d_k*l); "
        + "configuration evidence fitted per rho on calibration lesions scanned in the fixed order"

    public static func run(_ config: ScanAdvisorSimulationConfiguration) throws -> ScanAdvisorReport {
        try config.validate()
        var results: [ScanAdvisorResult] = []
        var evidence: [ScanConfigurationEvidence] = []
        for (index, rho) in config.rhos.enumerated() {
            var rng = SeededGenerator(seed: ShoppingSimulation.streamSeed(config.seed, index: index))
            let (lines, fitted) = try runOne(config, rho: rho, rng: &rng)
            results.append(contentsOf: lines)
            evidence.append(fitted)
        }
        return ScanAdvisorReport(configuration: config, generativeModel: generativeModelDescription,
                                 results: results, evidence: evidence)
    }

    static func runOne(_ config: ScanAdvisorSimulationConfiguration, rho: Double, rng: inout SeededGenerator) throws
        -> ([ScanAdvisorResult], ScanConfigurationEvidence) {
        let k = config.configurations.count, m = config.maxScans
        let models = try config.separations.map {
            try LesionScanModel(separation: $0, rho: rho, malignantPrevalence: config.malignantPrevalence)
        }
        let prevalences = models[0].prevalences
        let benign = LesionScanModel.benign, malignant = LesionScanModel.malignant
        // Configuration c is the lesion model with separation d_c (the lesion effect is shared).
        func probabilities(label: Int, lesionEffect b: Double, noise e: Double, configuration c: Int) -> [Double] {
            let q = models[c].benignProbability(label: label, lesionEffect: b, noise: e)
            return [q, 1 - q]
        }
        let choices = config.choices
        var called = [[Int]](repeating: [0, 0], count: choices.count)
        var scans = [[Int]](repeating: [0, 0], count: choices.count)
        var clearScans = [[Double]](repeating: [], count: choices.count)
        var byConfiguration = [[Int]](repeating: [Int](repeating: 0, count: k), count: choices.count)
        let fixedIndex = choices.firstIndex(of: .fixedOrder)
        var paired = [(own: Int, fixed: Int, count: Int)](repeating: (0, 0, 0), count: choices.count)
        var clearedAt = [Int?](repeating: nil, count: choices.count)
        var firstEvidence: ScanConfigurationEvidence?
        var noise = [Double](repeating: 0, count: m * k)
        for f in 0..<config.calibrationRefits {
            var calibration: [ConfiguredCalibrationLesion] = []
            for label in [benign, malignant] {
                for _ in 0..<config.calibrationLesionsPerClass {
                    let b = models[0].drawLesionEffect(using: &rng)
                    let cfgs = (0..<config.calibrationScansPerLesion).map { $0 % k }
                    calibration.append(ConfiguredCalibrationLesion(
                        label: label, scanProbabilities: cfgs.map { probabilities(label: label, lesionEffect: b, noise: rng.standardNormal(), configuration: $0) },
                        configurations: cfgs))
                }
            }
            let evidence = try ScanConfigurationEvidence.fit(calibration: calibration, names: config.configurations,
                                                             prevalences: prevalences)
            if firstEvidence == nil { firstEvidence = evidence }
            guard let rival = evidence.standardisedDependence.model(against: malignant) else {
                throw RepeatScanError.insufficientCalibrationData(what: "standardised dependence model", reason: "no model for malignant")
            }
            let boundary = try CalibratedBoundary.fit(rival, maxScans: m, alpha: config.alpha, simulations: config.boundarySimulations,
                                                      seed: config.seed &+ UInt64(f) &* 0x9E37_79B9 &+ UInt64((rho * 1000).rounded()))
            let advisor = NextScanAdvisor(evidence: evidence)
            let group = config.casesPerClass / config.calibrationRefits + (f < config.casesPerClass % config.calibrationRefits ? 1 : 0)
            for label in [benign, malignant] {
                for _ in 0..<group {
                    let b = models[0].drawLesionEffect(using: &rng)
                    for i in noise.indices { noise[i] = rng.standardNormal() }
                    for (r, choice) in choices.enumerated() {
                        var sum = 0.0, taken: [[Double]] = [], cleared = false
                        for t in 0..<m {
                            var cfg: Int
                            switch choice {
                            case .fixedOrder: cfg = t % k
                            case .advised: cfg = advisor.advise(after: taken).configuration
                            case .peeking:
                                cfg = 0
                                var best = -Double.infinity
                                for c in 0..<k {
                                    let w = evidence.standardisedEvidence(
                                        probabilities: probabilities(label: label, lesionEffect: b, noise: noise[t * k + c], configuration: c),
                                        configuration: c, rival: malignant)
                                    if w > best { best = w; cfg = c }
                                }
                            }
                            let p = probabilities(label: label, lesionEffect: b, noise: noise[t * k + cfg], configuration: cfg)
                            taken.append(p)
                            byConfiguration[r][cfg] += 1
                            sum += evidence.standardisedEvidence(probabilities: p, configuration: cfg, rival: malignant)
                            if boundary.crosses(sum: sum, count: t + 1, null: rival.null) { cleared = true; break }
                        }
                        scans[r][label] += taken.count
                        clearedAt[r] = cleared ? taken.count : nil
                        if cleared {
                            called[r][label] += 1
                            if label == benign { clearScans[r].append(Double(taken.count)) }
                        }
                    }
                    if label == benign, let fi = fixedIndex, let f = clearedAt[fi] {
                        for r in choices.indices { if let own = clearedAt[r] { paired[r].own += own; paired[r].fixed += f; paired[r].count += 1 } }
                    }
                }
            }
        }
        let n = Double(config.casesPerClass)
        func se(_ p: Double) -> Double { (p * (1 - p) / n).squareRoot() }
        var lines: [ScanAdvisorResult] = []
        for (r, choice) in choices.enumerated() {
            let fr = Double(called[r][malignant]) / n, bc = Double(called[r][benign]) / n
            let cs = clearScans[r]
            let mean: Double? = cs.isEmpty ? nil : cs.reduce(0, +) / Double(cs.count)
            var meanSE: Double?
            if let mean, cs.count >= 2 {
                meanSE = (cs.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(cs.count - 1) / Double(cs.count)).squareRoot()
            }
            let total = Double(byConfiguration[r].reduce(0, +))
            lines.append(ScanAdvisorResult(
                rho: rho, choice: choice, falseReassurance: fr, falseReassuranceSE: se(fr), benignCleared: bc, benignClearedSE: se(bc),
                meanScansToClear: mean, meanScansToClearSE: meanSE,
                meanScansBenign: Double(scans[r][benign]) / n, meanScansMalignant: Double(scans[r][malignant]) / n,
                configurationShare: byConfiguration[r].map { Double($0) / max(1, total) },
                pairedScansToClear: paired[r].count > 0 ? Double(paired[r].own) / Double(paired[r].count) : nil,
                pairedFixedOrderScansToClear: paired[r].count > 0 ? Double(paired[r].fixed) / Double(paired[r].count) : nil,
                pairedLesions: paired[r].count))
        }
        guard let fitted = firstEvidence else {
            throw RepeatScanError.insufficientCalibrationData(what: "scan configurations", reason: "no calibration set was fitted")
        }
        return (lines, fitted)
    }
}
