import Calibration
import CaseStore
import Foundation
import GRDB
import Policy
import Recurrent
import RepeatScan
import Retrieval

/// Everything `audit run` loads once before assessing cases: the model, its calibrator and conformal
/// predictor, the prevalences and repeat-scan dependence model fitted on calibration cases, and the
/// retrieval index with its deep-kNN calibration. A part that is absent stays nil and every check that
/// needs it reports "not evaluated" — nothing is filled in.
public struct RunContext {
    public var study: Study
    public var policy: AuditPolicy
    public var model: LoadedModel?
    public var calibration: LoadedCalibration?
    public var repeatScans: RepeatScanContext?
    public var retrieval: RetrievalContext?
    /// Why a stage is missing (shown in reports and the run summary).
    public var notes: [String]
    /// Result of verifying the audit log before the run (nil when not checked).
    public var logVerified: Bool?

    public struct LoadedModel {
        public var id: String
        public var classifier: SequenceClassifier
    }

    public struct LoadedCalibration {
        public var record: CalibratorRecord
        public var calibrator: AnyCalibrator
        public var predictor: SplitConformalPredictor
        /// Days between fitting and the run's reference time.
        public var ageDays: Double?
        public var label: String { "\(record.method) #\(record.id.map(String.init) ?? "?")" }
    }

    public struct RepeatScanContext {
        public var prevalences: [Double]
        public var dependence: ScanDependenceModel?
        public var recalibrator: PooledRecalibrator?
        public var calibrationLesions: Int
    }

    public struct RetrievalContext {
        public var index: EmbeddingIndex
        public var calibration: DeepKNNCalibration
        public var options: SearchOptions
    }

    /// Loads the context for `study` under `modelId` (nil: no model — every model stage "not evaluated").
    public static func load(_ db: Database, study name: String, policy: AuditPolicy, modelId: String?,
                            k: Int = 10, metric: DistanceMetric = .euclidean, referenceSplits: [Split] = [.reference, .train],
                            now: Date = Date()) throws -> RunContext {
        let study = try CaseStore.study(db, named: name)
        var context = RunContext(study: study, policy: policy, model: nil, calibration: nil, repeatScans: nil,
                                 retrieval: nil, notes: [], logVerified: nil)
        guard let modelId else {
            context.notes.append("no model is registered for study \(name): prediction, calibration, retrieval and repeat-scan stages were not evaluated")
            return context
        }
        let weights = try CaseStore.model(db, id: modelId).weights
        let classifier = try SequenceClassifier(safetensors: [UInt8](weights), file: "model \(modelId)")
        context.model = LoadedModel(id: modelId, classifier: classifier)

        if let record = try CaseStore.latestCalibrator(db, modelId: modelId) {
            let calibrator = try CalibrationJSON.decode(AnyCalibrator.self, from: record.parameters, field: "calibrators.parameters")
            let predictor = try CalibrationJSON.decode(SplitConformalPredictor.self, from: record.conformal, field: "calibrators.conformal")
            guard calibrator.classCount == classifier.classes.count else {
                throw PipelineError.inconsistent("calibrator \(record.id ?? -1) has \(calibrator.classCount) classes, model \(modelId) has \(classifier.classes.count)")
            }
            // Whole days elapsed: an age that moved with the wall clock would make a resumed run's
            // assessments differ from an uninterrupted run's.
            let age = Timestamp.date(from: record.fittedAt).map { (now.timeIntervalSince($0) / 86_400).rounded(.down) }
            context.calibration = LoadedCalibration(record: record, calibrator: calibrator, predictor: predictor, ageDays: age)
            context.repeatScans = try loadRepeatScans(db, classifier: classifier, calibration: context.calibration!, notes: &context.notes)
        } else {
            context.notes.append("model \(modelId.prefix(12))… has no fitted calibrator: calibrated confidence, conformal sets and repeat-scan claims were not evaluated")
        }

        context.retrieval = try loadRetrieval(db, study: study, modelId: modelId, classifier: classifier,
                                              calibration: context.calibration, k: k, metric: metric,
                                              referenceSplits: referenceSplits, notes: &context.notes)
        return context
    }

    /// Prevalences (add-one smoothed verified labels of the calibration split) and the repeat-scan
    /// dependence model and pooled recalibration fitted on its cases with repeat scans.
    static func loadRepeatScans(_ db: Database, classifier: SequenceClassifier, calibration: LoadedCalibration,
                                notes: inout [String]) throws -> RepeatScanContext? {
        guard let split = Split(rawValue: calibration.record.calibrationSplit) else { return nil }
        let evidence = try CalibrationScanEvidence.collect(db, study: calibration.record.study, split: split,
                                                           classes: classifier.classes) { _, scans in
            try? calibratedProbabilities(scans, classifier: classifier, calibrator: calibration.calibrator)
        }
        let lesions = evidence.lesions
        guard let prevalences = evidence.prevalences else {
            notes.append("no verified calibration cases: class prevalences unknown, repeat-scan claims not evaluated")
            return nil
        }
        var dependence: ScanDependenceModel?
        var recalibrator: PooledRecalibrator?
        if lesions.isEmpty {
            notes.append("no calibration case has repeat scans, so the within-case dependence cannot be modelled: claims use the model-free construction")
        } else {
            do { dependence = try ScanDependenceModel.fit(calibration: lesions, prevalences: prevalences) } catch {
                notes.append("model-based e-process not available (\(lesions.count) calibration cases with repeat scans): \(error)")
            }
            do { recalibrator = try PooledRecalibrator.fit(calibration: lesions, prevalences: prevalences) } catch {
                notes.append("pooled recalibration not available: \(error)")
            }
        }
        return RepeatScanContext(prevalences: prevalences, dependence: dependence, recalibrator: recalibrator,
                                 calibrationLesions: lesions.count)
    }

    /// The reference index from stored embeddings (computed and stored by `audit index build`), and the
    /// deep-kNN calibration from the calibration split's first scans.
    static func loadRetrieval(_ db: Database, study: Study, modelId: String, classifier: SequenceClassifier,
                              calibration: LoadedCalibration?, k: Int, metric: DistanceMetric, referenceSplits: [Split],
                              notes: inout [String]) throws -> RetrievalContext? {
        let stored = try CaseStore.embeddings(db, modelId: modelId)
        guard !stored.isEmpty else {
            notes.append("no retrieval index for model \(modelId.prefix(12))… (run `audit index build`): neighbours, credibility and out-of-distribution were not evaluated")
            return nil
        }
        let index = try EmbeddingIndex(dimension: classifier.configuration.embeddingSize)
        for cs in try CaseStore.caseScans(db, study: study.name, splits: referenceSplits, verifiedOnly: true) {
            guard let v = stored[cs.caseRecord.id]?[cs.scan.scanIndex] else { continue }
            try index.add(v, metadata: RowMetadata(caseID: cs.caseRecord.id, scanIndex: cs.scan.scanIndex,
                                                   subject: cs.caseRecord.subject, study: study.name,
                                                   label: cs.caseRecord.label, verifiedBy: cs.caseRecord.verifiedBy,
                                                   verifiedAt: cs.caseRecord.verifiedAt,
                                                   acquisition: cs.scan.acquisition.isEmpty ? nil : cs.scan.acquisition))
        }
        guard index.count > k else {
            notes.append("the retrieval index holds \(index.count) verified reference scans, not more than k = \(k): neighbours not evaluated")
            return nil
        }
        let options = SearchOptions(k: k, metric: metric, verifiedOnly: true, excludeQuerySubject: true, sameStudyOnly: true, threads: 1)
        let calSplit = calibration.flatMap { Split(rawValue: $0.record.calibrationSplit) } ?? .calibration
        var calCases: [CalibrationCase] = []
        var firstScans: [(CaseRecord, ScanRecord)] = []
        for c in try CaseStore.cases(db, study: study.name, split: calSplit) where c.isVerified {
            if let s = try CaseStore.scans(db, caseId: c.id).first, !s.hasMissing { firstScans.append((c, s)) }
        }
        let embeddings = try classifier.embeddings(firstScans.map { $0.1.values })
        for ((c, _), e) in zip(firstScans, embeddings) {
            calCases.append(CalibrationCase(query: SearchQuery(vector: e, caseID: c.id, subject: c.subject, study: study.name),
                                            label: c.label ?? ""))
        }
        guard !calCases.isEmpty else {
            notes.append("no verified calibration cases for deep-kNN credibility: neighbours shown, credibility not evaluated")
            return nil
        }
        let knn = try DeepKNNCalibration.fit(index: index, calibration: calCases, options: options, classes: classifier.classes)
        return RetrievalContext(index: index, calibration: knn, options: options)
    }

    /// Calibrated probabilities of each scan, in order. A scan with missing values cannot be read by the
    /// model; it is an error here (every scan counts), never silently skipped.
    static func calibratedProbabilities(_ scans: [ScanRecord], classifier: SequenceClassifier,
                                        calibrator: AnyCalibrator) throws -> [[Double]] {
        if let bad = scans.first(where: \.hasMissing) {
            throw PipelineError.unreadableScan(caseId: bad.caseId, scan: bad.scanIndex, reason: "it has missing values")
        }
        let logits = try classifier.logits(scans.map(\.values))
        return try calibrator.calibratedProbabilities(logits: logits.map { $0.map(Double.init) })
    }
}
