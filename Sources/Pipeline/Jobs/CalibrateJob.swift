import AuditLog
import Calibration
import CaseStore
import Foundation
import Recurrent

/// `audit calibrate` as a library call: fits a calibrator and a split conformal predictor for a model
/// on the verified cases of a calibration split, stores both tied to the model id and the calibration
/// set's content hash, logs `calibrate.fit` in the same transaction, and measures the figures before
/// and after (and coverage on an evaluation split).
public struct CalibrateJob {
    public var store: CaseStore
    /// Model id or unique prefix.
    public var model: String
    /// Default: the model's study.
    public var study: String?
    public var split: String = "calibration"
    public var method: CalibrationMethod
    public var alpha = 0.1
    public var mondrian = false
    public var conformityScore: ConformityScore = .lac
    public var refuseSmallClasses = false
    public var conformalHoldout = 0.5
    public var evaluateSplit: String?
    public var bins = 15
    public var bootstrap = 1000
    public var seed: UInt64 = 0
    public var actor: String

    public init(store: CaseStore, model: String, method: CalibrationMethod, actor: String) {
        self.store = store; self.model = model; self.method = method; self.actor = actor
    }

    /// The stored calibrator's report, the conformal warnings (classes too small for α), as sentences.
    /// `progress(label, done, total)` while logits are computed.
    public func run(progress: (String, Int, Int) -> Void = { _, _, _ in }) throws -> (report: Report, warnings: [String], classes: [String]) {
        guard Split(rawValue: split) != nil else { throw PipelineError.badInput("unknown split '\(split)'") }
        if let e = evaluateSplit, Split(rawValue: e) == nil { throw PipelineError.badInput("unknown split '\(e)'") }
        let record = try store.read { db in try ArtefactLoader.model(db, id: model) }
        let modelId = record.id   // full id, also when --model was a unique prefix
        let classifier = record.classifier
        guard let studyName = study ?? record.study else {
            throw PipelineError.badInput("model \(modelId) names no study; pass --study")
        }
        let classes = classifier.classes
        let calSplit = Split(rawValue: split)!   // checked above
        let calScans = try store.read { db -> [CaseScan] in
            _ = try CaseStore.study(db, named: studyName)
            return try CaseStore.caseScans(db, study: studyName, splits: [calSplit], verifiedOnly: true)
        }
        let cal = try CalibrationInput(scans: calScans, classes: classes, split: split)
        guard cal.count >= 2 else {
            throw PipelineError.badInput("study \(studyName), split \(split): \(cal.count) verified cases; at least 2 are needed")
        }
        let calibrationHash = CaseStore.calibrationSetSHA256(cal.scans)
        let calLogits = try cal.logits(classifier, progress: progress)

        // Deterministic partition of the calibration cases: calibrator fit | conformal hold-out.
        let order = cal.caseIds.indices.sorted { (fnv1a(cal.caseIds[$0]), cal.caseIds[$0]) < (fnv1a(cal.caseIds[$1]), cal.caseIds[$1]) }
        let holdCount = Int((Double(cal.count) * conformalHoldout).rounded(.down))
        let conformalIdx = holdCount > 0 ? Array(order.suffix(holdCount)) : Array(order)
        let fitIdx = holdCount > 0 ? Array(order.prefix(cal.count - holdCount)) : Array(order)

        let fitted: AnyCalibrator
        do {
            fitted = try AnyCalibrator.fit(method: method,
                                           logits: fitIdx.map { calLogits[$0] }, labels: fitIdx.map { cal.labels[$0] })
        } catch let e as CalibrationError {
            throw PipelineError.badInput("calibration split of study \(studyName): \(e)")
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
                throw PipelineError.badInput("class '\(c >= 0 && c < classes.count ? classes[c] : "all")' has \(n) conformal calibration cases; α = \(a) needs \(r)")
            }
            throw PipelineError.badInput("conformal calibration: \(e)")
        }

        // Figures before/after: on the evaluation split, else on the conformal hold-out.
        var evalLogits = confRaw, evalLabels = confLabels
        var evalCases = conformalIdx.map { cal.scans[$0] }
        var metricsSplit = holdCount > 0 ? "\(split) (conformal hold-out, not used to fit the calibrator)" : "\(split) (in-sample)"
        var evaluation: CoverageEvaluation?
        if let e = evaluateSplit {
            let evScans = try store.read { db in
                try CaseStore.caseScans(db, study: studyName, splits: [Split(rawValue: e)!], verifiedOnly: true)
            }
            let ev = try CalibrationInput(scans: evScans, classes: classes, split: e)
            guard ev.count > 0 else { throw PipelineError.badInput("study \(studyName), split \(e): no verified cases to evaluate") }
            evalLogits = try ev.logits(classifier, progress: progress)
            evalLabels = ev.labels
            evalCases = ev.scans
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

        // The model-free baseline on the same cases as the figures after calibration.
        var baseline: BaselineComparison?
        var baselineWarnings: [String] = []
        do {
            if let scorer = try ModelFreeBaseline(store: store, study: studyName) {
                let scored = try scorer.score(evalCases, classes: classes)
                baseline = try BaselineComparison(
                    modelProbabilities: try fitted.calibratedProbabilities(logits: evalLogits), baselineProbabilities: scored.probabilities,
                    baselinePredictions: scored.predictions, labels: evalLabels, baseline: ModelFreeBaseline.description,
                    cases: "cases of \(metricsSplit)")
            } else {
                baselineWarnings.append("no verified reference or train cases in study \(studyName): the model was not compared with the model-free baseline")
            }
        } catch {
            baselineWarnings.append("the model was not compared with the model-free baseline: \(error)")
        }

        var doc = Report(model: modelId, study: studyName, split: split, method: method.rawValue, calibrator: fitted,
                         calibrationN: cal.count, calibratorFitN: fitIdx.count, conformalN: conformalIdx.count,
                         calibrationSha256: calibrationHash, metricsSplit: metricsSplit, before: before, after: after,
                         predictor: predictor, classes: classes, evaluation: evaluation, seed: seed)
        doc.baseline = baseline
        // Stored with CalibrationJSON (∞ thresholds as "inf"); read back with CalibrationJSON.decode.
        let parametersJSON = try CalibrationJSON.string(fitted)
        let conformalJSON = try CalibrationJSON.string(predictor)
        let metricsJSON = try CalibrationJSON.string(doc)
        let calibratorRecord = CalibratorRecord(modelId: modelId, study: studyName, method: method.rawValue, parameters: parametersJSON,
                                      calibrationSplit: split, calibrationN: cal.count, calibrationSha256: calibrationHash,
                                      conformal: conformalJSON, metrics: metricsJSON)
        let (saved, event) = try store.saveCalibrator(calibratorRecord, actor: actor) { saved in
            EventPayload(modelId: modelId, study: studyName, calibratorId: saved.id ?? -1, method: method.rawValue,
                                       calibrationSplit: split, calibrationN: cal.count, calibrationSha256: calibrationHash,
                                       alpha: alpha, score: conformityScore.name, classConditional: mondrian,
                                       eceBefore: before.ece.ece, eceAfter: after.ece.ece, bins: bins)
        }
        doc.calibratorId = saved.id
        doc.auditSeq = event.seq
        return (doc, predictor.warnings.map { Self.describe($0, classes: classes) } + baselineWarnings, classes)
    }

    static func describe(_ w: ConformalWarning, classes: [String]) -> String {
        let who = w.classLabel.map { "class '\(classes[$0])'" } ?? "the calibration set"
        return "\(who) has \(w.calibrationCount) conformal calibration cases; α = \(w.alpha) needs at least "
            + "\(w.requiredCount), so its threshold is infinite (always in the set) and no class-conditional guarantee below 1 is claimed"
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
                throw PipelineError.badInput("case '\(cs.caseRecord.id)' (split \(split)): label '\(cs.caseRecord.label ?? "")' is not one of the model's classes \(classes)")
            }
            if cs.scan.hasMissing {
                throw PipelineError.badInput("case '\(cs.caseRecord.id)' scan \(cs.scan.scanIndex): missing values; the model cannot read it")
            }
            labels.append(y)
        }
    }

    func logits(_ model: SequenceClassifier, progress: (String, Int, Int) -> Void) throws -> [[Double]] {
        var out: [[Double]] = []
        out.reserveCapacity(scans.count)
        for start in stride(from: 0, to: scans.count, by: 256) {
            let chunk = Array(scans[start..<min(start + 256, scans.count)])
            do {
                out += try model.logits(chunk.map(\.scan.values)).map { $0.map(Double.init) }
            } catch {
                throw PipelineError.badInput("computing logits of cases \(chunk.first?.caseRecord.id ?? "")…: \(error)")
            }
            progress("logits", out.count, scans.count)
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


extension CalibrateJob {
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

}
