import CaseStore
import Foundation
import Recurrent
import Retrieval

/// `audit neighbours`: the nearest verified cases of a case (or of every case of a split), with their
/// distances, the neighbours' vote, deep-kNN credibility and confidence, and how far out of
/// distribution the case lies — over a model's stored embeddings (the index `audit run` searches) or
/// the raw z-normalised series (a model-free baseline).
public struct NeighboursJob {
    public typealias Metric = DistanceMetric

    /// One case, or every case of a split (optionally of one study).
    public struct Query: Sendable {
        public var caseId: String?
        public var study: String?
        public init(caseId: String) { self.caseId = caseId }
        public init(study: String?) { self.study = study }
    }

    public var store: CaseStore
    public var query: Query
    /// With `query.caseId == nil`: the splits whose cases are queried.
    public var querySplits: [Split] = []
    /// Model id or prefix whose stored embeddings are searched; nil: the raw series.
    public var model: String?
    public var referenceSplits: [Split] = [.train]
    public var calibrationSplits: [Split] = [.calibration]
    public var k = 10
    public var metric: Metric = .euclidean

    public init(store: CaseStore, query: Query, model: String?) {
        self.store = store; self.query = query; self.model = model
    }

    public func run() throws -> (document: Document, notes: [String]) {
        var notes: [String] = []

        // Queries: one case, or every case of a split.
        let queryScans: [CaseScan] = try store.read { db in
            if let caseID = query.caseId {
                let c = try CaseStore.caseRecord(db, id: caseID)
                guard let scan = try CaseStore.scans(db, caseId: c.id).first else {
                    throw PipelineError.missing("case '\(c.id)' has no scans")
                }
                return [CaseScan(caseRecord: c, scan: scan)]
            }
            let splits = querySplits
            var firstScans: [CaseScan] = []
            for s in try CaseStore.caseScans(db, study: query.study, splits: splits, verifiedOnly: false)
            where firstScans.last?.caseRecord.id != s.caseRecord.id {
                firstScans.append(s)
            }
            return firstScans
        }
        guard !queryScans.isEmpty else { throw PipelineError.missing("no cases to query in split '\(querySplits.map(\.rawValue).joined(separator: ","))'") }

        let embedder = try Embedder(store: store, model: model)
        let modelId = embedder.modelId
        var documents: [QueryResult] = []
        var studies: [StudySummary] = []
        // Each study is searched against its own reference set.
        let byStudy = Dictionary(grouping: queryScans, by: \.caseRecord.study)
        for studyName in byStudy.keys.sorted() {
            let queries = byStudy[studyName] ?? []
            let (reference, calibration) = try store.read { db in
                (try CaseStore.caseScans(db, study: studyName, splits: referenceSplits, verifiedOnly: true),
                 try CaseStore.caseScans(db, study: studyName, splits: calibrationSplits, verifiedOnly: true))
            }
            guard !reference.isEmpty else {
                throw PipelineError.missing("study '\(studyName)' has no verified cases in split(s) \(referenceSplits.map(\.rawValue).joined(separator: ","))")
            }
            let index: EmbeddingIndex
            if let modelId, let classifier = embedder.classifier {
                // The model's index is the one `audit run` searches (same loader, same rows).
                let loaded = try ArtefactLoader.referenceIndex(reference, stored: embedder.stored,
                                                               dimension: classifier.embeddingSize)
                guard loaded.unembedded == 0 else {
                    throw PipelineError.missing("\(loaded.unembedded) verified reference scans of study '\(studyName)' have no stored embedding for model \(modelId); run `audit index build --model \(modelId)` first")
                }
                index = loaded.index
            } else {
                index = try embedder.index(reference)
            }
            let options = SearchOptions(k: k, metric: metric, verifiedOnly: true, excludeQuerySubject: true,
                                        sameStudyOnly: true)
            let leaveOneOut = calibration.isEmpty
            let calibrationCases = try (leaveOneOut ? reference : calibration).map { cs in
                CalibrationCase(query: try embedder.query(cs), label: cs.caseRecord.label ?? "")
            }
            let classes = try store.read { db in try? CaseStore.study(db, named: studyName).classes }
            let calibrator = try DeepKNNCalibration.fit(index: index, calibration: calibrationCases, options: options,
                                                        classes: classes.flatMap { $0.isEmpty ? nil : $0 })
            let searchQueries = try queries.map { try embedder.query($0) }
            let results = try index.search(searchQueries, options: options)
            var wrong = 0, labelled = 0
            for (q, neighbours) in zip(queries, results) {
                let e = calibrator.evidence(neighbours: neighbours)
                if let l = q.caseRecord.label { labelled += 1; if l != e.predicted { wrong += 1 } }
                documents.append(QueryResult(case: q, evidence: e))
            }
            studies.append(StudySummary(
                study: studyName, referenceSplits: referenceSplits.map(\.rawValue), referenceRows: index.count,
                calibrationSplit: (leaveOneOut ? referenceSplits : calibrationSplits).map(\.rawValue).joined(separator: ","),
                calibrationCount: calibrator.count, leaveOneOut: leaveOneOut, queries: queries.count,
                labelledQueries: labelled, errors: wrong,
                errorRate: labelled > 0 ? Double(wrong) / Double(labelled) : nil))
            if leaveOneOut {
                notes.append("no verified cases in split '\(calibrationSplits.map(\.rawValue).joined(separator: ","))' of study '\(studyName)'; calibrated leave-one-out on the reference cases")
            }
        }
        let document = Document(modelId: modelId, raw: model == nil, metric: metric.rawValue, k: k,
                                studies: studies, queries: documents)
        return (document, notes)
    }
}

extension NeighboursJob {
    public struct Neighbour: Encodable, Sendable {
        public var caseID: String
        public var scanIndex: Int
        public var distance: Double
        public var label: String?
        public var verifiedBy: String?
        public var verifiedAt: String?
        public var acquisition: String?
        enum CodingKeys: String, CodingKey {
            case caseID = "case_id", scanIndex = "scan_index", distance, label
            case verifiedBy = "verified_by", verifiedAt = "verified_at", acquisition
        }
    }

    public struct QueryResult: Encodable, Sendable {
        public var caseID: String
        public var study: String
        public var label: String?
        public var neighbours: [Neighbour]
        public var vote: [String: Int]
        public var predicted: String
        public var pValues: [String: Double]
        public var credibility: Double
        public var confidence: Double
        public var kthDistance: Double?
        public var oodPercentile: Double
        public var oodSentence: String

        init(case q: CaseScan, evidence e: NeighbourEvidence) {
            caseID = q.caseRecord.id; study = q.caseRecord.study; label = q.caseRecord.label
            neighbours = e.neighbours.map {
                Neighbour(caseID: $0.metadata.caseID, scanIndex: $0.metadata.scanIndex, distance: $0.distance,
                                  label: $0.metadata.label, verifiedBy: $0.metadata.verifiedBy,
                                  verifiedAt: $0.metadata.verifiedAt, acquisition: $0.metadata.acquisition)
            }
            vote = e.vote; predicted = e.predicted; pValues = e.pValues
            credibility = e.credibility; confidence = e.confidence
            kthDistance = e.kthDistance.isFinite ? e.kthDistance : nil
            oodPercentile = e.oodPercentile; oodSentence = e.oodSentence
        }

        enum CodingKeys: String, CodingKey {
            case caseID = "case_id", study, label, neighbours, vote, predicted, credibility, confidence
            case pValues = "p_values", kthDistance = "kth_distance", oodPercentile = "ood_percentile", oodSentence = "ood_sentence"
        }
    }

    public struct StudySummary: Encodable, Sendable {
        public var study: String
        public var referenceSplits: [String]
        public var referenceRows: Int
        public var calibrationSplit: String
        public var calibrationCount: Int
        public var leaveOneOut: Bool
        public var queries: Int
        public var labelledQueries: Int
        /// Queries whose known label differs from the deep-kNN prediction (with k = 1: the 1-NN error).
        public var errors: Int
        public var errorRate: Double?
        enum CodingKeys: String, CodingKey {
            case study, queries, errors
            case referenceSplits = "reference_splits", referenceRows = "reference_rows", calibrationSplit = "calibration_split"
            case calibrationCount = "calibration_n", leaveOneOut = "leave_one_out", labelledQueries = "labelled_queries"
            case errorRate = "error_rate"
        }
    }

    public struct Document: Encodable, Sendable {
        public var modelId: String?
        public var raw: Bool
        public var metric: String
        public var k: Int
        public var studies: [StudySummary]
        public var queries: [QueryResult]
        enum CodingKeys: String, CodingKey { case modelId = "model_id", raw, metric, k, studies, queries }
    }
}

extension NeighboursJob {
    /// Turns scans into embeddings: raw series, or a model's (stored when present, else computed).
    final class Embedder {
        let raw: Bool
        /// Full model id (a unique prefix given on the command line is resolved).
        let modelId: String?
        let classifier: SequenceClassifier?
        let stored: [String: [Int: [Float]]]

        init(store: CaseStore, model: String?) throws {
            self.raw = model == nil
            if let model {
                let (record, stored) = try store.read { db -> (RunContext.LoadedModel, [String: [Int: [Float]]]) in
                    let record = try ArtefactLoader.model(db, id: model)
                    return (record, try CaseStore.embeddings(db, modelId: record.id))
                }
                classifier = record.classifier
                self.modelId = record.id
                self.stored = stored
            } else {
                modelId = nil
                classifier = nil
                stored = [:]
            }
        }

        /// Raw embedding of a scan: each channel z-normalised on its own, channels concatenated.
        static func rawEmbedding(_ scan: ScanRecord) -> [Float] {
            let values = scan.values
            if scan.channels == 1 { return SeriesEmbedding.zNormalised(values) }
            return (0..<scan.channels).flatMap {
                SeriesEmbedding.zNormalised(SeriesEmbedding.channel(values, channels: scan.channels, index: $0))
            }
        }

        func embedding(_ cs: CaseScan) throws -> [Float] {
            if cs.scan.hasMissing {
                throw PipelineError.badInput("case '\(cs.caseRecord.id)' scan \(cs.scan.scanIndex) has missing values; it cannot be embedded")
            }
            if raw { return Self.rawEmbedding(cs.scan) }
            if let v = stored[cs.caseRecord.id]?[cs.scan.scanIndex] { return v }
            guard let classifier else { throw PipelineError.missing("no model") }
            do { return try classifier.embedding(for: cs.scan.values) } catch {
                throw PipelineError.badInput("case '\(cs.caseRecord.id)' scan \(cs.scan.scanIndex): \(error)")
            }
        }

        func query(_ cs: CaseScan) throws -> SearchQuery {
            SearchQuery(vector: try embedding(cs), caseID: cs.caseRecord.id, subject: cs.caseRecord.subject,
                        study: cs.caseRecord.study)
        }

        /// An index over the given reference scans (all must embed to the same dimension).
        func index(_ reference: [CaseScan]) throws -> EmbeddingIndex {
            var vectors: [Float] = [], meta: [RowMetadata] = []
            var dimension: Int?
            for cs in reference {
                let v = try embedding(cs)
                if let d = dimension, d != v.count {
                    throw PipelineError.badInput("case '\(cs.caseRecord.id)' scan \(cs.scan.scanIndex): embedding has \(v.count) values, earlier cases \(d)\(raw ? " (--raw needs equal-length scans)" : "")")
                }
                dimension = v.count
                vectors.append(contentsOf: v)
                meta.append(RowMetadata(cs))
            }
            guard let dimension else { throw PipelineError.missing("no reference scans") }
            let index = try EmbeddingIndex(dimension: dimension, reservingCapacity: meta.count)
            do { try index.add(vectors: vectors, metadata: meta) } catch { throw PipelineError.badInput("\(error)") }
            return index
        }
    }
}
