import ArgumentParser
import AuditLog
import Calibration
import CaseStore
import Foundation
import Pipeline
import Recurrent

extension Audit {
    /// `audit calibrate`: fits a calibrator and a split conformal predictor for a model on the
    /// verified cases of a calibration split, stores both tied to the model id and the calibration
    /// set's content hash, logs a `calibrate.fit` event in the same transaction, and reports the
    /// figures before and after (and coverage on an evaluation split).
    struct Calibrate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Fit a calibrator and conformal thresholds for a model; report ECE, NLL, Brier and coverage.",
            discussion: """
                Each case contributes the logits of its first scan. The calibration split's verified cases are \
                partitioned deterministically (by a hash of the case id): a fraction --conformal-holdout is held \
                out from fitting the calibrator and used for the conformal thresholds, so the conformal scores \
                are exchangeable with new cases. The figures before/after are measured on --evaluate-split when \
                given, otherwise on that hold-out. Without a hold-out they are in-sample and flagged so.
                """)

        enum Method: String, ExpressibleByArgument, CaseIterable { case temperature, vector, platt, isotonic, histogram }
        enum Score: String, ExpressibleByArgument, CaseIterable { case lac, aps, raps }

        @OptionGroup var storeOptions: StoreOptions
        @OptionGroup var actorOptions: ActorOptions
        @OptionGroup var output: OutputOptions
        @Option(help: "Model id (SHA-256 of its weights) or a unique prefix of at least 8 hex digits.") var model: String
        @Option(help: "Study (default: the model's study).") var study: String?
        @Option(help: "Split holding the verified calibration cases.") var split: String = "calibration"
        @Option(help: "Calibration method: temperature, vector, platt, isotonic or histogram.") var method: Method
        @Option(help: "Miscoverage level α of the conformal sets, in (0, 1).") var alpha: Double = 0.1
        @Flag(help: "Class-conditional (Mondrian) conformal thresholds, one per class.") var mondrian = false
        @Option(help: "Conformity score: lac, aps or raps.") var score: Score = .lac
        @Flag(help: "Randomised APS/RAPS scores (seeded).") var randomized = false
        @Option(help: "RAPS penalty λ.") var rapsLambda: Double = 0.01
        @Option(help: "RAPS k_reg (rank from which the penalty applies).") var rapsKReg: Int = 1
        @Flag(help: "Refuse (exit 65) instead of warning when a class has too few calibration cases for α.")
        var refuseSmallClasses = false
        @Option(help: "Fraction of calibration cases held out from the calibrator for the conformal thresholds, in [0, 0.9].")
        var conformalHoldout: Double = 0.5
        @Option(help: "Split on which to evaluate coverage and the figures after calibration.") var evaluateSplit: String?
        @Option(help: "Number of equal-width ECE bins.") var bins: Int = 15
        @Option(help: "Bootstrap replicates for the 95% intervals.") var bootstrap: Int = 1000
        @Option(help: "Seed for bootstrap, noise floor and randomised scores.") var seed: UInt64 = 0

        func validate() throws {
            guard alpha > 0 && alpha < 1 else { throw ValidationError("--alpha must lie in (0, 1), got \(alpha)") }
            guard bins >= 1 else { throw ValidationError("--bins must be at least 1") }
            guard bootstrap >= 2 else { throw ValidationError("--bootstrap must be at least 2") }
            guard conformalHoldout >= 0 && conformalHoldout <= 0.9 else {
                throw ValidationError("--conformal-holdout must lie in [0, 0.9], got \(conformalHoldout)")
            }
            guard rapsLambda >= 0 && rapsKReg >= 0 else { throw ValidationError("--raps-lambda and --raps-k-reg must be ≥ 0") }
            guard Split(rawValue: split) != nil else { throw ValidationError("--split: unknown split '\(split)'") }
            if let e = evaluateSplit, Split(rawValue: e) == nil { throw ValidationError("--evaluate-split: unknown split '\(e)'") }
            if randomized && score == .lac { throw ValidationError("--randomized applies to aps and raps only") }
        }

        var conformityScore: ConformityScore {
            switch score {
            case .lac: return .lac
            case .aps: return .aps(randomized: randomized)
            case .raps: return .raps(lambda: rapsLambda, kReg: rapsKReg, randomized: randomized)
            }
        }

        func run() async throws {
            let store = try storeOptions.openExisting()
            let record = try store.read { db in try ArtefactLoader.model(db, id: model) }
            let modelId = record.id   // full id, also when --model was a unique prefix
            let classifier = record.classifier
            guard let studyName = study ?? record.study else {
                throw CLIError.badInput("model \(modelId) names no study; pass --study")
            }
            let classes = classifier.classes
            let calSplit = Split(rawValue: split)!   // checked in validate()
            let calScans = try store.read { db -> [CaseScan] in
                _ = try CaseStore.study(db, named: studyName)
                return try CaseStore.caseScans(db, study: studyName, splits: [calSplit], verifiedOnly: true)
            }
            let cal = try CalibrationInput(scans: calScans, classes: classes, split: split)
            guard cal.count >= 2 else {
                throw CLIError.badInput("study \(studyName), split \(split): \(cal.count) verified cases; at least 2 are needed")
            }
            let calibrationHash = CaseStore.calibrationSetSHA256(cal.scans)
            let calLogits = try cal.logits(classifier, showProgress: output.showsProgress && !output.json)

            // Deterministic partition of the calibration cases: calibrator fit | conformal hold-out.
            let order = cal.caseIds.indices.sorted { (fnv1a(cal.caseIds[$0]), cal.caseIds[$0]) < (fnv1a(cal.caseIds[$1]), cal.caseIds[$1]) }
            let holdCount = Int((Double(cal.count) * conformalHoldout).rounded(.down))
            let conformalIdx = holdCount > 0 ? Array(order.suffix(holdCount)) : Array(order)
            let fitIdx = holdCount > 0 ? Array(order.prefix(cal.count - holdCount)) : Array(order)

            let fitted: AnyCalibrator
            do {
                fitted = try AnyCalibrator.fit(method: CalibrationMethod(rawValue: method.rawValue)!,
                                               logits: fitIdx.map { calLogits[$0] }, labels: fitIdx.map { cal.labels[$0] })
            } catch let e as CalibrationError {
                throw CLIError.badInput("calibration split of study \(studyName): \(e)")
            }
            let confRaw = conformalIdx.map { calLogits[$0] }
            let confLabels = conformalIdx.map { cal.labels[$0] }
            let confCalibrated = try fitted.calibratedProbabilities(logits: confRaw)
            let predictor: SplitConformalPredictor
            do {
                predictor = try SplitConformalPredictor.calibrate(
                    probabilities: confCalibrated, labels: confLabels, score: conformityScore, alpha: alpha,
                    classConditional: mondrian, smallClassPolicy: refuseSmallClasses ? .refuse : .includeAlways,
                    uniforms: .seeded(seed))
            } catch let e as CalibrationError {
                if case .tooFewCalibrationCases(let c, let n, let a, let r) = e {
                    throw CLIError.badInput("class '\(c >= 0 && c < classes.count ? classes[c] : "all")' has \(n) conformal calibration cases; α = \(a) needs \(r)")
                }
                throw CLIError.badInput("conformal calibration: \(e)")
            }

            // Figures before/after: on the evaluation split, else on the conformal hold-out.
            var evalLogits = confRaw, evalLabels = confLabels
            var metricsSplit = holdCount > 0 ? "\(split) (conformal hold-out, not used to fit the calibrator)" : "\(split) (in-sample)"
            var evaluation: CoverageEvaluation?
            if let e = evaluateSplit {
                let evScans = try store.read { db in
                    try CaseStore.caseScans(db, study: studyName, splits: [Split(rawValue: e)!], verifiedOnly: true)
                }
                let ev = try CalibrationInput(scans: evScans, classes: classes, split: e)
                guard ev.count > 0 else { throw CLIError.badInput("study \(studyName), split \(e): no verified cases to evaluate") }
                evalLogits = try ev.logits(classifier, showProgress: output.showsProgress && !output.json)
                evalLabels = ev.labels
                metricsSplit = e
                let sets = try predictor.predictionSets(probabilities: try fitted.calibratedProbabilities(logits: evalLogits),
                                                        uniforms: .seeded(seed &+ 1))
                evaluation = try CoverageEvaluation(sets: sets, labels: evalLabels, classCount: classes.count)
            }
            let scheme = BinningScheme.equalWidth(count: bins)
            let before = try CalibrationFigures(probabilities: Softmax.probabilities(logits: evalLogits), labels: evalLabels,
                                                scheme: scheme, bootstrapReplicates: bootstrap, seed: seed)
            let after = try CalibrationFigures(probabilities: try fitted.calibratedProbabilities(logits: evalLogits),
                                               labels: evalLabels, scheme: scheme, bootstrapReplicates: bootstrap, seed: seed)

            var doc = Report(model: modelId, study: studyName, split: split, method: method.rawValue, calibrator: fitted,
                             calibrationN: cal.count, calibratorFitN: fitIdx.count, conformalN: conformalIdx.count,
                             calibrationSha256: calibrationHash, metricsSplit: metricsSplit, before: before, after: after,
                             predictor: predictor, classes: classes, evaluation: evaluation, seed: seed)
            // Stored with CalibrationJSON (∞ thresholds as "inf"); read back with CalibrationJSON.decode.
            let parametersJSON = try CalibrationJSON.string(fitted)
            let conformalJSON = try CalibrationJSON.string(predictor)
            let metricsJSON = try CalibrationJSON.string(doc)
            let calibratorRecord = CalibratorRecord(modelId: modelId, study: studyName, method: method.rawValue, parameters: parametersJSON,
                                          calibrationSplit: split, calibrationN: cal.count, calibrationSha256: calibrationHash,
                                          conformal: conformalJSON, metrics: metricsJSON)
            let (saved, event) = try store.saveCalibrator(calibratorRecord, actor: actorOptions.actor) { saved in
                EventPayload(modelId: modelId, study: studyName, calibratorId: saved.id ?? -1, method: method.rawValue,
                                           calibrationSplit: split, calibrationN: cal.count, calibrationSha256: calibrationHash,
                                           alpha: alpha, score: conformityScore.name, classConditional: mondrian,
                                           eceBefore: before.ece.ece, eceAfter: after.ece.ece, bins: bins)
            }
            doc.calibratorId = saved.id
            doc.auditSeq = event.seq
            for w in predictor.warnings { Console.err("warning: \(describe(w, classes: classes))") }
            if output.json {
                try Console.json(doc)
            } else {
                Console.out(doc.text(classes: classes))
            }
        }

        func describe(_ w: ConformalWarning, classes: [String]) -> String {
            let who = w.classLabel.map { "class '\(classes[$0])'" } ?? "the calibration set"
            return "\(who) has \(w.calibrationCount) conformal calibration cases; α = \(w.alpha) needs at least "
                + "\(w.requiredCount), so its threshold is infinite (always in the set) and no class-conditional guarantee below 1 is claimed"
        }
    }
}

/// Verified cases of one split: one scan (the first) per case, labels as indices into the model's classes.
struct CalibrationInput {
    var scans: [CaseScan]
    var caseIds: [String]
    var labels: [Int]
    var count: Int { caseIds.count }

    init(scans all: [CaseScan], classes: [String], split: String) throws {
        let index = Dictionary(uniqueKeysWithValues: classes.enumerated().map { ($1, $0) })
        var firstScan: [String: CaseScan] = [:]
        for cs in all where firstScan[cs.caseRecord.id].map({ cs.scan.scanIndex < $0.scan.scanIndex }) ?? true {
            firstScan[cs.caseRecord.id] = cs
        }
        let ids = firstScan.keys.sorted()
        scans = ids.compactMap { firstScan[$0] }
        caseIds = ids
        labels = []
        for cs in scans {
            guard let label = cs.caseRecord.label, let y = index[label] else {
                throw CLIError.badInput("case '\(cs.caseRecord.id)' (split \(split)): label '\(cs.caseRecord.label ?? "")' is not one of the model's classes \(classes)")
            }
            if cs.scan.hasMissing {
                throw CLIError.badInput("case '\(cs.caseRecord.id)' scan \(cs.scan.scanIndex): missing values; the model cannot read it")
            }
            labels.append(y)
        }
    }

    func logits(_ model: SequenceClassifier, showProgress: Bool) throws -> [[Double]] {
        var out: [[Double]] = []
        out.reserveCapacity(scans.count)
        let bar = ProgressBar(total: scans.count, label: "logits", enabled: showProgress && !scans.isEmpty)
        defer { bar.finish() }
        for start in stride(from: 0, to: scans.count, by: 256) {
            let chunk = Array(scans[start..<min(start + 256, scans.count)])
            do {
                out += try model.logits(chunk.map(\.scan.values)).map { $0.map(Double.init) }
            } catch {
                throw CLIError.badInput("computing logits of cases \(chunk.first?.caseRecord.id ?? "")…: \(error)")
            }
            bar.update(out.count)
        }
        return out
    }
}

/// FNV-1a 64-bit: a stable, label-blind order for partitioning cases.
func fnv1a(_ s: String) -> UInt64 {
    var h: UInt64 = 0xcbf2_9ce4_8422_2325
    for b in s.utf8 { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
    return h
}

extension Audit.Calibrate {
    struct EventPayload: Encodable {
        var modelId: String, study: String, calibratorId: Int64, method: String, calibrationSplit: String
        var calibrationN: Int, calibrationSha256: String, alpha: Double, score: String, classConditional: Bool
        var eceBefore: Double, eceAfter: Double, bins: Int
        enum CodingKeys: String, CodingKey {
            case modelId = "model_id", study, calibratorId = "calibrator_id", method, calibrationSplit = "calibration_split"
            case calibrationN = "calibration_n", calibrationSha256 = "calibration_sha256", alpha, score
            case classConditional = "class_conditional", eceBefore = "ece_before", eceAfter = "ece_after", bins
        }
    }

    /// The JSON document of `audit calibrate --json` (also stored as the calibrator's metrics).
    struct Report: Encodable {
        struct Interval: Encodable { var lower: Double; var upper: Double; var level: Double; var replicates: Int }
        struct Bin: Encodable {
            var lower: Double, upper: Double, count: Int, meanConfidence: Double, accuracy: Double
            enum CodingKeys: String, CodingKey { case lower, upper, count, accuracy, meanConfidence = "mean_confidence" }
        }

        var modelId: String
        var study: String
        var calibrationSplit: String
        var method: String
        var calibrator: AnyCalibrator
        var calibrationN: Int
        var calibratorFitN: Int
        var conformalN: Int
        var conformalDisjointFromCalibrator: Bool
        var calibrationSha256: String
        var metricsSplit: String
        var metricsN: Int
        var bins: Int
        var binning: String
        var eceBefore: Double, eceAfter: Double
        var eceBeforeCI: Interval, eceAfterCI: Interval
        var eceNoiseFloor: Double, eceNoiseFloorP95: Double, eceNoiseFloorSimulations: Int
        var mceBefore: Double, mceAfter: Double
        var classwiseEceBefore: Double, classwiseEceAfter: Double
        var nllBefore: Double, nllAfter: Double
        var brierBefore: Double, brierAfter: Double
        var accuracyBefore: Double, accuracyAfter: Double
        var reliabilityBefore: [Bin], reliabilityAfter: [Bin]
        var temperature: Double?
        var alpha: Double
        var score: String
        var scoreDescription: String
        var classConditional: Bool
        /// Marginal: one number; class-conditional: class label → threshold (null = infinite: always in the set).
        var thresholds: Thresholds
        var guarantees: [String]
        var warnings: [String]
        var evaluateSplit: String?
        var coverage: Double?
        var coverageSE: Double?
        var coveragePerClass: [String: Double?]?
        var evaluationCountPerClass: [String: Int]?
        var meanSetSize: Double?
        var setSizeHistogram: [Int]?
        var emptySetFraction: Double?
        var seed: UInt64
        var calibratorId: Int64?
        var auditSeq: Int?

        enum Thresholds: Encodable {
            case marginal(Double?)
            case perClass([String: Double?])
            func encode(to encoder: Encoder) throws {
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
            case seed, calibratorId = "calibrator_id", auditSeq = "audit_seq"
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

        func text(classes: [String]) -> String {
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
            lines.append("  stored as calibrator \(calibratorId.map(String.init) ?? "?"); log event \(auditSeq.map(String.init) ?? "?")")
            return lines.joined(separator: "\n")
        }
    }
}
