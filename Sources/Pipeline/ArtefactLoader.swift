import Policy
import Calibration
import CaseStore
import Foundation
import Recurrent
import RepeatScan
import Retrieval

/// The one loader for what runs and commands read back from the store — the model (safetensors), its
/// calibrator and conformal predictor, the repeat-scan fits on the calibration split, the retrieval
/// index — so `audit run`, `audit scans`, `predict`, `calibrate`, `index` and `neighbours` read the
/// same artefacts the same way and fail with the same messages.
public enum ArtefactLoader {
    /// A registered model by id or unique prefix, parsed from its stored safetensors bytes.
    public static func model(_ db: StoreReader, id: String) throws -> RunContext.LoadedModel {
        let record = try CaseStore.model(db, id: id)
        try CaseStore.requireAttested(db, [.model(record.id)])
        return try model(record)
    }

    /// The study's newest model, or nil when none is registered.
    public static func newestModel(_ db: StoreReader, study: String) throws -> RunContext.LoadedModel? {
        guard let record = try CaseStore.newestModel(db, study: study) else { return nil }
        try CaseStore.requireAttested(db, [.model(record.id)])
        return try model(record)
    }

    static func model(_ record: ModelRecord) throws -> RunContext.LoadedModel {
        do {
            let classifier = try SequenceClassifier(safetensors: [UInt8](record.weights), file: "model \(record.id)")
            return RunContext.LoadedModel(id: record.id, classifier: classifier, study: record.study)
        } catch {
            throw PipelineError.unreadableModel(id: record.id, reason: "\(error)")
        }
    }

    /// A calibrator of `model`: the one named by `calibratorId` (which must belong to the model), else
    /// the most recently fitted; nil when the model has none.
    public static func calibration(_ db: StoreReader, model: RunContext.LoadedModel, calibratorId: Int64? = nil,
                                   now: Date = Date()) throws -> RunContext.LoadedCalibration? {
        let record: CalibratorRecord
        if let calibratorId {
            record = try CaseStore.calibrator(db, id: calibratorId)
            guard record.modelId == model.id else {
                throw PipelineError.inconsistent("calibrator \(calibratorId) belongs to model \(record.modelId), not \(model.id)")
            }
        } else {
            guard let latest = try CaseStore.latestCalibrator(db, modelId: model.id) else { return nil }
            record = latest
        }
        if let id = record.id { try CaseStore.requireAttested(db, [.calibrator(id)]) }
        let calibrator = try CalibrationJSON.decode(AnyCalibrator.self, from: record.parameters, field: "calibrators.parameters")
        let predictor = try CalibrationJSON.decode(SplitConformalPredictor.self, from: record.conformal, field: "calibrators.conformal")
        guard calibrator.classCount == model.classifier.classes.count else {
            throw PipelineError.inconsistent("calibrator \(record.id ?? -1) has \(calibrator.classCount) classes, model \(model.id) has \(model.classifier.classes.count)")
        }
        // Whole days elapsed: an age that moved with the wall clock would make a resumed run's
        // assessments differ from an uninterrupted run's.
        let age = Timestamp.date(from: record.fittedAt).map { (now.timeIntervalSince($0) / 86_400).rounded(.down) }
        // The model-free baseline comparison, stored with the figures (absent for calibrators fitted before it existed).
        struct StoredBaseline: Decodable { var baseline: BaselineComparison? }
        let baseline: BaselineComparison?
        do { baseline = try JSONDecoder().decode(StoredBaseline.self, from: Data(record.metrics.utf8)).baseline } catch {
            throw PipelineError.inconsistent("calibrator \(record.id ?? -1): field metrics.baseline: \(error)")
        }
        return RunContext.LoadedCalibration(record: record, calibrator: calibrator, predictor: predictor, ageDays: age, baseline: baseline)
    }

    /// Prevalences (add-one smoothed verified labels of the calibration split) and the repeat-scan
    /// dependence model and pooled recalibration fitted on its cases with repeat scans.
    /// A calibration case whose scans the model cannot read is left out of the fits and counted in a
    /// note (it is the calibrator's data, not the case under assessment, whose every scan must count).
    /// With `claimsFor` a policy whose claim construction is calibrated-boundary, also the calibrated
    /// claim model for its α and M (boundaries simulated with a seed fixed by the calibrator's id).
    public static func repeatScans(_ db: StoreReader, classifier: SequenceClassifier, calibration: RunContext.LoadedCalibration,
                                   claimsFor rules: AuditPolicy.RepeatScanRules? = nil,
                                   notes: inout [String]) throws -> RunContext.RepeatScanContext? {
        guard let split = Split(rawValue: calibration.record.calibrationSplit) else {
            throw PipelineError.inconsistent("calibrator \(calibration.label): field calibration_split: unknown split '\(calibration.record.calibrationSplit)'")
        }
        var unreadable = 0
        let evidence = try CalibrationScanEvidence.collect(db, study: calibration.record.study, split: split,
                                                           classes: classifier.classes) { _, scans in
            do { return try calibratedProbabilities(scans, classifier: classifier, calibrator: calibration.calibrator) } catch {
                unreadable += 1
                return nil
            }
        }
        if unreadable > 0 {
            notes.append("\(unreadable) calibration cases have scans the model cannot read and were left out of the repeat-scan fits")
        }
        if evidence.unknownLabels > 0 {
            notes.append("\(evidence.unknownLabels) calibration cases have labels the model does not know and were not used for prevalences")
        }
        let lesions = evidence.lesions
        guard let prevalences = evidence.prevalences else {
            notes.append("no verified calibration cases: class prevalences unknown, repeat-scan claims not evaluated")
            return nil
        }
        var dependence: ScanDependenceModel?
        var recalibrator: PooledRecalibrator?
        var calibratedClaims: CalibratedClaimModel?
        var configurations: ScanConfigurationEvidence?
        if let configured = evidence.configured {
            do {
                configurations = try ScanConfigurationEvidence.fit(calibration: configured.lesions, names: configured.names, prevalences: prevalences)
            } catch {
                notes.append("scanner configurations not evaluated (\(configured.lesions.count) calibration cases name them): \(error)")
            }
        }
        if lesions.isEmpty {
            notes.append("no calibration case has repeat scans, so the within-case dependence cannot be modelled: claims use the model-free construction")
        } else {
            do { dependence = try ScanDependenceModel.fit(calibration: lesions, prevalences: prevalences) } catch {
                notes.append("model-based e-process not available (\(lesions.count) calibration cases with repeat scans): \(error)")
            }
            do { recalibrator = try PooledRecalibrator.fit(calibration: lesions, prevalences: prevalences) } catch {
                notes.append("pooled recalibration not available: \(error)")
            }
            if let rules, rules.claimConstruction == .calibratedBoundary {
                do {
                    calibratedClaims = try CalibratedClaimModel.fit(calibration: lesions, prevalences: prevalences, alpha: rules.claimAlpha,
                                                                    maxScans: rules.maxScans, configured: configurations == nil ? nil : evidence.configured,
                                                                    seed: 0xC1A1_B0DA &+ UInt64(calibration.record.id ?? 0))
                } catch {
                    notes.append("the calibrated-boundary claim is not available (\(lesions.count) calibration cases with repeat scans): \(error)")
                }
            }
        }
        return RunContext.RepeatScanContext(prevalences: prevalences, dependence: dependence, calibratedClaims: calibratedClaims,
                                            recalibrator: recalibrator, configurations: configurations,
                                            calibrationLesions: lesions.count, calibrationCases: evidence.total)
    }

    /// The reference index from stored embeddings (computed and stored by `audit index build`), and the
    /// deep-kNN calibration from the calibration split's first scans.
    public static func retrieval(_ db: StoreReader, study: Study, modelId: String, classifier: SequenceClassifier,
                              calibration: RunContext.LoadedCalibration?, k: Int, metric: DistanceMetric, referenceSplits: [Split],
                              notes: inout [String]) throws -> RunContext.RetrievalContext? {
        let stored = try CaseStore.embeddings(db, modelId: modelId)
        guard !stored.isEmpty else {
            notes.append("no retrieval index for model \(modelId.prefix(12))… (run `audit index build`): neighbours, credibility and out-of-distribution were not evaluated")
            return nil
        }
        let reference = try CaseStore.caseScans(db, study: study.name, splits: referenceSplits, verifiedOnly: true)
        // The verified cases retrieval shows as evidence (labels, who verified them) must be what the log
        // attests. Their scans and embeddings are left to `audit store verify`: checking every one here
        // made start-up several times slower.
        try CaseStore.requireAttested(db, Array(Set(reference.map(\.caseRecord.id))).sorted().map(RecordRef.case))
        let (index, unembedded) = try referenceIndex(reference, stored: stored, dimension: classifier.embeddingSize)
        if unembedded > 0 {
            notes.append("\(unembedded) verified reference scans have no stored embedding for model \(modelId.prefix(12))… and are not searched (run `audit index build`)")
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
            if let s = try CaseStore.scans(db, caseId: c.id).first, !s.hasMissing {
                try CaseStore.requireAttested(db, [.case(c.id), .scan(caseId: c.id, index: s.scanIndex)])
                firstScans.append((c, s))
            }
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
        return RunContext.RetrievalContext(index: index, calibration: knn, options: options)
    }

    /// The reference index over a model's stored embeddings (`CaseStore.embeddings`, written by
    /// `audit index build`) of the given verified reference scans, with how many of them have no stored
    /// embedding (they are not searched).
    public static func referenceIndex(_ reference: [CaseScan], stored: [String: [Int: [Float]]],
                                      dimension: Int) throws -> (index: EmbeddingIndex, unembedded: Int) {
        let index = try EmbeddingIndex(dimension: dimension)
        var unembedded = 0
        for cs in reference {
            guard let v = stored[cs.caseRecord.id]?[cs.scan.scanIndex] else { unembedded += 1; continue }
            try index.add(v, metadata: RowMetadata(cs))
        }
        return (index, unembedded)
    }

    /// Calibrated probabilities of each scan, in order. A scan with missing values cannot be read by the
    /// model; it is an error here (every scan counts), never silently skipped.
    public static func calibratedProbabilities(_ scans: [ScanRecord], classifier: SequenceClassifier,
                                               calibrator: AnyCalibrator) throws -> [[Double]] {
        if let bad = scans.first(where: \.hasMissing) {
            throw PipelineError.unreadableScan(caseId: bad.caseId, scan: bad.scanIndex, reason: "it has missing values")
        }
        let logits = try classifier.logits(scans.map(\.values))
        return try calibrator.calibratedProbabilities(logits: logits.map { $0.map(Double.init) })
    }
}

extension RowMetadata {
    /// A verified case's scan as an index row: who verified it and when travel with every neighbour.
    public init(_ cs: CaseScan) {
        self.init(caseID: cs.caseRecord.id, scanIndex: cs.scan.scanIndex, subject: cs.caseRecord.subject,
                  study: cs.caseRecord.study, label: cs.caseRecord.label, verifiedBy: cs.caseRecord.verifiedBy,
                  verifiedAt: cs.caseRecord.verifiedAt,
                  acquisition: cs.scan.acquisition.isEmpty ? nil : cs.scan.acquisition)
    }
}
