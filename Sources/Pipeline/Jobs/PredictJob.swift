import AuditLog
import CaseStore
import Digests
import Foundation
import Recurrent

/// `audit predict`: logits and probabilities of a registered model for every scan of a study split;
/// logs `model.predict` (model, study, split, scan count, SHA-256 of the output) — who obtained which
/// predictions.
public struct PredictJob {
    public var store: CaseStore
    /// Model id or unique prefix; nil: the study's newest model.
    public var modelId: String?
    public var study: String
    public var split: Split
    public var actor: String

    public init(store: CaseStore, modelId: String?, study: String, split: Split, actor: String) {
        self.store = store; self.modelId = modelId; self.study = study; self.split = split; self.actor = actor
    }

    public struct Prediction: Encodable, Sendable {
        public var caseId: String
        public var scan: Int
        public var logits: [Float]
        public var probabilities: [Float]
        public var predictedClass: String
        enum CodingKeys: String, CodingKey {
            case caseId = "case_id", scan, logits, probabilities, predictedClass = "predicted_class"
        }
    }

    /// What `--json` prints; its hash is in the log event.
    public struct Document: Encodable, Sendable {
        public var model: String
        public var classes: [String]
        public var predictions: [Prediction]
    }

    /// `progress(done, total)` after each chunk of scans.
    public func run(progress: (Int, Int) -> Void = { _, _ in }) throws -> Document {
        let (record, scans) = try store.read { db -> (RunContext.LoadedModel, [CaseScan]) in
            _ = try CaseStore.study(db, named: study)
            let m: RunContext.LoadedModel
            if let modelId { m = try ArtefactLoader.model(db, id: modelId) } else {
                guard let newest = try ArtefactLoader.newestModel(db, study: study) else {
                    throw PipelineError.missing("study \(study) has no registered model; pass --model")
                }
                m = newest
            }
            return (m, try CaseStore.caseScans(db, study: study, splits: [split], verifiedOnly: false))
        }
        let classifier = record.classifier
        if let bad = scans.first(where: { $0.scan.channels != classifier.stepWidth }) {
            throw PipelineError.badInput("case \(bad.caseRecord.id) scan \(bad.scan.scanIndex) has \(bad.scan.channels) channels; model \(record.id) expects \(classifier.stepWidth)")
        }
        RecurrentRuntime.setBLASThreads(1)
        var predictions: [Prediction] = []
        predictions.reserveCapacity(scans.count)
        for first in stride(from: 0, to: scans.count, by: 256) {
            let chunk = Array(scans[first..<min(first + 256, scans.count)])
            let logits: [[Float]]
            do { logits = try classifier.logits(chunk.map(\.scan.values)) } catch {
                throw PipelineError.badInput("study \(study), split \(split.rawValue): \(error)")
            }
            for (s, z) in zip(chunk, logits) {
                predictions.append(Prediction(caseId: s.caseRecord.id, scan: s.scan.scanIndex, logits: z,
                                              probabilities: SequenceClassifier.probabilities(z),
                                              predictedClass: classifier.classes[SequenceClassifier.argmax(z)]))
            }
            progress(predictions.count, scans.count)
        }
        let document = Document(model: record.id, classes: classifier.classes, predictions: predictions)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let outputHash = ContentHash.sha256Hex(try encoder.encode(document))
        try store.logAction(actor: actor, action: "model.predict", subject: AuditSubject(type: "model", id: record.id),
                            payload: Payload(modelId: record.id, study: study, split: split.rawValue,
                                             scans: predictions.count, outputSha256: outputHash))
        return document
    }

    struct Payload: Encodable {
        var modelId: String, study: String, split: String, scans: Int, outputSha256: String
        enum CodingKeys: String, CodingKey {
            case modelId = "model_id", study, split, scans, outputSha256 = "output_sha256"
        }
    }
}

/// `audit index build`: a model's embeddings of the verified reference cases of the given splits,
/// computed and stored only where absent for that model; logs one `index.build` event.
public struct IndexBuildJob {
    public var store: CaseStore
    public var modelId: String
    /// Default: the model's study.
    public var study: String?
    public var splits: [Split]
    public var actor: String

    public init(store: CaseStore, modelId: String, study: String?, splits: [Split], actor: String) {
        self.store = store; self.modelId = modelId; self.study = study; self.splits = splits; self.actor = actor
    }

    /// The `index.build` event's payload, and what the command reports.
    public struct Result: Encodable, Sendable {
        public var modelId: String
        public var study: String?
        public var splits: [String]
        public var scans: Int
        public var computed: Int
        public var reused: Int
        public var dim: Int?
        enum CodingKeys: String, CodingKey {
            case modelId = "model_id", study, splits, scans, computed, reused, dim
        }
    }

    /// `progress(done, total)` after each chunk embedded.
    public func run(progress: (Int, Int) -> Void = { _, _ in }) throws -> (result: Result, logSeq: Int) {
        let record = try store.read { db in try ArtefactLoader.model(db, id: modelId) }
        let fullId = record.id
        let classifier = record.classifier
        let studyName = study ?? record.study
        let (scans, stored) = try store.read { db in
            (try CaseStore.caseScans(db, study: studyName, splits: splits, verifiedOnly: true),
             try CaseStore.embeddings(db, modelId: fullId))
        }
        let missing = scans.filter { stored[$0.caseRecord.id]?[$0.scan.scanIndex] == nil }
        for cs in missing where cs.scan.hasMissing {
            throw PipelineError.badInput("case '\(cs.caseRecord.id)' scan \(cs.scan.scanIndex) has missing values; it cannot be embedded")
        }
        var records: [EmbeddingRecord] = []
        for start in stride(from: 0, to: missing.count, by: 256) {
            let chunk = Array(missing[start..<min(start + 256, missing.count)])
            let vectors: [[Float]]
            do { vectors = try classifier.embeddings(chunk.map(\.scan.values)) } catch {
                throw PipelineError.badInput("embedding cases \(chunk.first?.caseRecord.id ?? "")…: \(error)")
            }
            for (cs, v) in zip(chunk, vectors) {
                records.append(EmbeddingRecord(modelId: fullId, caseId: cs.caseRecord.id, scanIndex: cs.scan.scanIndex, values: v))
            }
            progress(records.count, missing.count)
        }
        let result = Result(modelId: fullId, study: studyName, splits: splits.map(\.rawValue), scans: scans.count,
                            computed: records.count, reused: scans.count - missing.count,
                            dim: records.first?.dim ?? stored.values.first?.values.first?.count)
        let event = try store.saveEmbeddings(records, modelId: fullId, actor: actor, payload: result)
        return (result, event.seq)
    }
}
