import Calibration
import Foundation

extension CalibrateJob {
    /// The JSON document of `audit calibrate --json` (also stored as the calibrator's metrics).
    public struct Report: Encodable {
        public struct Interval: Encodable { public var lower: Double; public var upper: Double; public var level: Double; public var replicates: Int }
        public struct Bin: Encodable {
            public var lower: Double, upper: Double, count: Int, meanConfidence: Double, accuracy: Double
            enum CodingKeys: String, CodingKey { case lower, upper, count, accuracy, meanConfidence = "mean_confidence" }
        }

        public var modelId: String
        public var study: String
        public var calibrationSplit: String
        public var method: String
        public var calibrator: AnyCalibrator
        public var calibrationN: Int
        public var calibratorFitN: Int
        public var conformalN: Int
        public var conformalDisjointFromCalibrator: Bool
        public var calibrationSha256: String
        public var metricsSplit: String
        public var metricsN: Int
        public var bins: Int
        public var binning: String
        public var eceBefore: Double, eceAfter: Double
        public var eceBeforeCI: Interval, eceAfterCI: Interval
        public var eceNoiseFloor: Double, eceNoiseFloorP95: Double, eceNoiseFloorSimulations: Int
        public var mceBefore: Double, mceAfter: Double
        public var classwiseEceBefore: Double, classwiseEceAfter: Double
        public var nllBefore: Double, nllAfter: Double
        public var brierBefore: Double, brierAfter: Double
        public var accuracyBefore: Double, accuracyAfter: Double
        public var reliabilityBefore: [Bin], reliabilityAfter: [Bin]
        public var temperature: Double?
        public var alpha: Double
        public var score: String
        public var scoreDescription: String
        public var classConditional: Bool
        /// Marginal: one number; class-conditional: class label → threshold (null = infinite: always in the set).
        public var thresholds: Thresholds
        public var guarantees: [String]
        public var warnings: [String]
        public var evaluateSplit: String?
        public var coverage: Double?
        public var coverageSE: Double?
        public var coveragePerClass: [String: Double?]?
        public var evaluationCountPerClass: [String: Int]?
        public var meanSetSize: Double?
        public var setSizeHistogram: [Int]?
        public var emptySetFraction: Double?
        public var seed: UInt64
        public var calibratorId: Int64?
        public var auditSeq: Int?
        /// The model against the model-free baseline on the cases of `metricsSplit` (nil: not compared).
        public var baseline: BaselineComparison?

        public enum Thresholds: Encodable {
            case marginal(Double?)
            case perClass([String: Double?])
            public func encode(to encoder: Encoder) throws {
                var c = encoder.singleValueContainer()
                switch self {
                case .marginal(let v): try c.encode(v)
                case .perClass(let m): try c.encode(m)
                }
            }
        }

        enum CodingKeys: String, CodingKey {
            case modelId = "model_id", study, calibrationSplit = "calibration_split", method, calibrator
            case calibrationN = "calibration_n", calibratorFitN = "calibrator_fit_n", conformalN = "conformal_n"
            case conformalDisjointFromCalibrator = "conformal_disjoint_from_calibrator"
            case calibrationSha256 = "calibration_sha256", metricsSplit = "metrics_split", metricsN = "metrics_n"
            case bins, binning, eceBefore = "ece_before", eceAfter = "ece_after"
            case eceBeforeCI = "ece_before_ci", eceAfterCI = "ece_after_ci"
            case eceNoiseFloor = "ece_noise_floor", eceNoiseFloorP95 = "ece_noise_floor_p95"
            case eceNoiseFloorSimulations = "ece_noise_floor_simulations"
            case mceBefore = "mce_before", mceAfter = "mce_after"
            case classwiseEceBefore = "classwise_ece_before", classwiseEceAfter = "classwise_ece_after"
            case nllBefore = "nll_before", nllAfter = "nll_after", brierBefore = "brier_before", brierAfter = "brier_after"
            case accuracyBefore = "accuracy_before", accuracyAfter = "accuracy_after"
            case reliabilityBefore = "reliability_before", reliabilityAfter = "reliability_after"
            case temperature, alpha, score, scoreDescription = "score_description", classConditional = "class_conditional"
            case thresholds, guarantees, warnings, evaluateSplit = "evaluate_split", coverage, coverageSE = "coverage_se"
            case coveragePerClass = "coverage_per_class", evaluationCountPerClass = "evaluation_count_per_class"
            case meanSetSize = "mean_set_size", setSizeHistogram = "set_size_histogram", emptySetFraction = "empty_set_fraction"
            case seed, calibratorId = "calibrator_id", auditSeq = "audit_seq", baseline
        }

        init(model: String, study: String, split: String, method: String, calibrator: AnyCalibrator, calibrationN: Int,
             calibratorFitN: Int, conformalN: Int, calibrationSha256: String, metricsSplit: String,
             before: CalibrationFigures, after: CalibrationFigures, predictor: SplitConformalPredictor,
             classes: [String], evaluation: CoverageEvaluation?, seed: UInt64) {
            func interval(_ c: ConfidenceInterval) -> Interval {
                Interval(lower: c.lower, upper: c.upper, level: c.level, replicates: c.replicates)
            }
            func binsOf(_ f: CalibrationFigures) -> [Bin] {
                f.ece.bins.map { Bin(lower: $0.lower, upper: $0.upper, count: $0.count, meanConfidence: $0.meanConfidence,
                                     accuracy: $0.observedFrequency) }
            }
            func finite(_ v: Double) -> Double? { v.isFinite ? v : nil }
            modelId = model; self.study = study; calibrationSplit = split; self.method = method
            self.calibrator = calibrator
            self.calibrationN = calibrationN; self.calibratorFitN = calibratorFitN; self.conformalN = conformalN
            conformalDisjointFromCalibrator = conformalN < calibrationN
            self.calibrationSha256 = calibrationSha256; self.metricsSplit = metricsSplit; metricsN = after.sampleCount
            bins = after.ece.scheme.count; binning = after.ece.scheme.description
            eceBefore = before.ece.ece; eceAfter = after.ece.ece
            eceBeforeCI = interval(before.eceInterval); eceAfterCI = interval(after.eceInterval)
            eceNoiseFloor = after.eceNoiseFloor.mean; eceNoiseFloorP95 = after.eceNoiseFloor.percentile95
            eceNoiseFloorSimulations = after.eceNoiseFloor.simulations
            mceBefore = before.mce; mceAfter = after.mce
            classwiseEceBefore = before.classwiseECE; classwiseEceAfter = after.classwiseECE
            nllBefore = before.nll.value; nllAfter = after.nll.value
            brierBefore = before.brier.value; brierAfter = after.brier.value
            accuracyBefore = before.accuracy.value; accuracyAfter = after.accuracy.value
            reliabilityBefore = binsOf(before); reliabilityAfter = binsOf(after)
            if case .temperature(let t) = calibrator { temperature = t.temperature } else { temperature = nil }
            alpha = predictor.alpha; score = predictor.score.name; scoreDescription = predictor.score.description
            classConditional = predictor.classConditional
            if predictor.classConditional {
                thresholds = .perClass(Dictionary(uniqueKeysWithValues: classes.enumerated().map { ($1, finite(predictor.thresholds[$0])) }))
            } else {
                thresholds = .marginal(predictor.thresholds.first.flatMap(finite))
            }
            guarantees = predictor.guarantees.map { $0.description(classNames: classes) }
            warnings = predictor.warnings.map { w in
                let who = w.classLabel.map { "class '\(classes[$0])'" } ?? "the calibration set"
                return "\(who): \(w.calibrationCount) cases < \(w.requiredCount) needed for α = \(w.alpha); threshold infinite"
            }
            if let e = evaluation {
                evaluateSplit = metricsSplit
                coverage = e.coverage; coverageSE = e.standardError
                coveragePerClass = Dictionary(uniqueKeysWithValues: e.perClass.map { (classes[$0.label], finite($0.coverage)) })
                evaluationCountPerClass = Dictionary(uniqueKeysWithValues: e.perClass.map { (classes[$0.label], $0.count) })
                meanSetSize = e.setSizes.mean; setSizeHistogram = e.setSizes.histogram; emptySetFraction = e.setSizes.emptyFraction
            }
            self.seed = seed
        }

        /// The report as the terminal shows it.
        public func text(classes: [String]) -> String {
            func f(_ v: Double) -> String { String(format: "%.4f", v) }
            var lines = [
                "model \(modelId), study \(study): \(method) calibrator on \(calibrationN) verified '\(calibrationSplit)' cases (sha256 \(calibrationSha256.prefix(16))…)",
                "  fitted on \(calibratorFitN); conformal thresholds on \(conformalN)\(conformalDisjointFromCalibrator ? " held-out" : " (same cases)") cases",
                "  figures on \(metricsSplit), n = \(metricsN), ECE with \(binning):",
                "  ECE   \(f(eceBefore)) [\(f(eceBeforeCI.lower)), \(f(eceBeforeCI.upper))] → \(f(eceAfter)) [\(f(eceAfterCI.lower)), \(f(eceAfterCI.upper))]  (noise floor \(f(eceNoiseFloor)), 95th pct \(f(eceNoiseFloorP95)))",
                "  MCE   \(f(mceBefore)) → \(f(mceAfter))",
                "  NLL   \(f(nllBefore)) → \(f(nllAfter))",
                "  Brier \(f(brierBefore)) → \(f(brierAfter))",
                "  accuracy \(f(accuracyBefore)) → \(f(accuracyAfter))",
            ]
            if let t = temperature { lines.append("  temperature \(String(format: "%.6f", t))") }
            lines.append("  conformal: \(scoreDescription), α = \(alpha), \(classConditional ? "class-conditional" : "marginal")")
            switch thresholds {
            case .marginal(let q): lines.append("  threshold \(q.map(f) ?? "∞")")
            case .perClass(let m): for c in classes { lines.append("  threshold[\(c)] \(m[c].flatMap { $0 }.map(f) ?? "∞")") }
            }
            for g in guarantees { lines.append("  guarantee: \(g)") }
            if let cov = coverage, let per = coveragePerClass {
                lines.append("  coverage on \(evaluateSplit ?? "?"): \(f(cov)) ± \(f(coverageSE ?? 0)); mean set size \(f(meanSetSize ?? 0))")
                for c in classes { lines.append("    \(c): \(per[c].flatMap { $0 }.map(f) ?? "–") (n = \(evaluationCountPerClass?[c] ?? 0))") }
            }
            if let b = baseline { lines.append("  baseline: \(b.sentence)") }
            lines.append("  stored as calibrator \(calibratorId.map(String.init) ?? "?"); log event \(auditSeq.map(String.init) ?? "?")")
            return lines.joined(separator: "\n")
        }
    }
}
