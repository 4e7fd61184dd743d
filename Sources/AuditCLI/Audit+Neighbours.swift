import ArgumentParser
import CaseStore
import Foundation
import Pipeline
import Recurrent
import Retrieval

extension Audit {
    /// `audit neighbours`: the nearest verified cases of a case (or of every case of a split), with
    /// their distances, the neighbours' vote, deep-kNN credibility and confidence, and how far out of
    /// distribution the case lies.
    struct Neighbours: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "neighbours",
            abstract: "Nearest verified cases, credibility, confidence and out-of-distribution percentile.",
            discussion: """
                Give one CASE or --split S, and --model ID (embeddings from `audit index build`) or --raw \
                (each scan z-normalised on its own, channels z-normalised separately and concatenated: \
                a model-free baseline comparable with published 1-NN figures; equal-length studies only). \
                The reference set is the verified cases of the query's study in --reference-split; the \
                query's own case and subject are never neighbours. Credibility, confidence and the \
                out-of-distribution percentile are calibrated on the verified cases of \
                --calibration-split; when that split is empty, on the reference cases themselves, each \
                left out of its own search (reported as leave_one_out). A case is queried by its first scan.
                """)

        @OptionGroup var storeOptions: StoreOptions
        @OptionGroup var output: OutputOptions
        @Argument(help: "Case id to query.") var caseID: String?
        @Option(help: "Query every case of this split instead of one case.") var split: String?
        @Option(help: "Study of the --split cases (default: every study).") var study: String?
        @Option(help: "Model id (SHA-256) whose embeddings to search.") var model: String?
        @Flag(help: "Use the z-normalised series themselves as embeddings (no model).") var raw = false
        @Option(help: "Split(s) of the reference cases, comma-separated.") var referenceSplit: String = "train"
        @Option(help: "Split of the calibration cases.") var calibrationSplit: String = "calibration"
        @Option(help: "Neighbours per query.") var k: Int = 10
        @Option(help: "cosine or euclidean.") var metric: String = "euclidean"

        func validate() throws {
            if (caseID == nil) == (split == nil) { throw ValidationError("give either a CASE id or --split S") }
            if (model == nil) == !raw { throw ValidationError("give either --model ID or --raw") }
            guard k > 0 else { throw ValidationError("--k must be positive") }
            guard DistanceMetric(rawValue: metric) != nil else { throw ValidationError("--metric must be cosine or euclidean") }
            _ = try RetrievalCLI.splits(referenceSplit, option: "--reference-split")
            _ = try RetrievalCLI.splits(calibrationSplit, option: "--calibration-split")
            if let split { _ = try RetrievalCLI.splits(split, option: "--split") }
        }

        func run() async throws {
            let store = try storeOptions.openExisting()
            let metric = DistanceMetric(rawValue: self.metric) ?? .euclidean
            let referenceSplits = try RetrievalCLI.splits(referenceSplit, option: "--reference-split")
            let calibrationSplits = try RetrievalCLI.splits(calibrationSplit, option: "--calibration-split")

            // Queries: one case, or every case of a split.
            let queryScans: [CaseScan] = try store.read { db in
                if let caseID {
                    let c = try CaseStore.caseRecord(db, id: caseID)
                    guard let scan = try CaseStore.scans(db, caseId: c.id).first else {
                        throw CLIError.missing("case '\(c.id)' has no scans")
                    }
                    return [CaseScan(caseRecord: c, scan: scan)]
                }
                let splits = try RetrievalCLI.splits(split ?? "", option: "--split")
                var firstScans: [CaseScan] = []
                for s in try CaseStore.caseScans(db, study: study, splits: splits, verifiedOnly: false)
                where firstScans.last?.caseRecord.id != s.caseRecord.id {
                    firstScans.append(s)
                }
                return firstScans
            }
            guard !queryScans.isEmpty else { throw CLIError.missing("no cases to query in split '\(split ?? "")'") }

            let embedder = try RetrievalCLI.Embedder(store: store, model: model, raw: raw)
            let modelId = embedder.modelId
            var documents: [QueryDocument] = []
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
                    throw CLIError.missing("study '\(studyName)' has no verified cases in split(s) \(referenceSplit)")
                }
                let index: EmbeddingIndex
                if let modelId, let classifier = embedder.classifier {
                    // The model's index is the one `audit run` searches (same loader, same rows).
                    let loaded = try ArtefactLoader.referenceIndex(reference, stored: embedder.stored,
                                                                   dimension: classifier.configuration.embeddingSize)
                    guard loaded.unembedded == 0 else {
                        throw CLIError.missing("\(loaded.unembedded) verified reference scans of study '\(studyName)' have no stored embedding for model \(modelId); run `audit index build --model \(modelId)` first")
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
                    documents.append(QueryDocument(case: q, evidence: e))
                }
                studies.append(StudySummary(
                    study: studyName, referenceSplits: referenceSplits.map(\.rawValue), referenceRows: index.count,
                    calibrationSplit: leaveOneOut ? referenceSplits.map(\.rawValue).joined(separator: ",") : calibrationSplit,
                    calibrationCount: calibrator.count, leaveOneOut: leaveOneOut, queries: queries.count,
                    labelledQueries: labelled, errors: wrong,
                    errorRate: labelled > 0 ? Double(wrong) / Double(labelled) : nil))
                if leaveOneOut && !output.quiet && !output.json {
                    Console.err("note: no verified cases in split '\(calibrationSplit)' of study '\(studyName)'; calibrated leave-one-out on the reference cases")
                }
            }
            let document = NeighboursDocument(modelId: modelId, raw: raw, metric: metric.rawValue, k: k,
                                              studies: studies, queries: documents)
            if output.json {
                try Console.json(document)
            } else {
                for q in documents {
                    Console.out("\(q.caseID)\(q.label.map { " [\($0)]" } ?? ""): predicted \(q.predicted), credibility \(String(format: "%.3f", q.credibility)), confidence \(String(format: "%.3f", q.confidence)); \(q.oodSentence)")
                    for n in q.neighbours {
                        Console.out("  \(n.caseID) scan \(n.scanIndex)  d=\(String(format: "%.4f", n.distance))  \(n.label ?? "-")  verified by \(n.verifiedBy ?? "-")")
                    }
                }
                for s in studies {
                    Console.out("study \(s.study): \(s.queries) queries, reference \(s.referenceRows) rows, calibration n=\(s.calibrationCount)\(s.leaveOneOut ? " (leave-one-out)" : "")"
                        + (s.errorRate.map { String(format: ", vote error %.4f (%d/%d)", $0, s.errors, s.labelledQueries) } ?? ""))
                }
            }
        }
    }
}

// MARK: JSON

struct NeighbourDocument: Encodable {
    var caseID: String
    var scanIndex: Int
    var distance: Double
    var label: String?
    var verifiedBy: String?
    var verifiedAt: String?
    var acquisition: String?
    enum CodingKeys: String, CodingKey {
        case caseID = "case_id", scanIndex = "scan_index", distance, label
        case verifiedBy = "verified_by", verifiedAt = "verified_at", acquisition
    }
}

struct QueryDocument: Encodable {
    var caseID: String
    var study: String
    var label: String?
    var neighbours: [NeighbourDocument]
    var vote: [String: Int]
    var predicted: String
    var pValues: [String: Double]
    var credibility: Double
    var confidence: Double
    var kthDistance: Double?
    var oodPercentile: Double
    var oodSentence: String

    init(case q: CaseScan, evidence e: NeighbourEvidence) {
        caseID = q.caseRecord.id; study = q.caseRecord.study; label = q.caseRecord.label
        neighbours = e.neighbours.map {
            NeighbourDocument(caseID: $0.metadata.caseID, scanIndex: $0.metadata.scanIndex, distance: $0.distance,
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

struct StudySummary: Encodable {
    var study: String
    var referenceSplits: [String]
    var referenceRows: Int
    var calibrationSplit: String
    var calibrationCount: Int
    var leaveOneOut: Bool
    var queries: Int
    var labelledQueries: Int
    /// Queries whose known label differs from the deep-kNN prediction (with k = 1: the 1-NN error).
    var errors: Int
    var errorRate: Double?
    enum CodingKeys: String, CodingKey {
        case study, queries, errors
        case referenceSplits = "reference_splits", referenceRows = "reference_rows", calibrationSplit = "calibration_split"
        case calibrationCount = "calibration_n", leaveOneOut = "leave_one_out", labelledQueries = "labelled_queries"
        case errorRate = "error_rate"
    }
}

struct NeighboursDocument: Encodable {
    var modelId: String?
    var raw: Bool
    var metric: String
    var k: Int
    var studies: [StudySummary]
    var queries: [QueryDocument]
    enum CodingKeys: String, CodingKey { case modelId = "model_id", raw, metric, k, studies, queries }
}

// MARK: Shared with `audit index build`

enum RetrievalCLI {
    /// Comma-separated split names.
    static func splits(_ text: String, option: String) throws -> [Split] {
        let names = text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        guard !names.isEmpty else { throw ValidationError("\(option) needs at least one split") }
        return try names.map { name in
            guard let s = Split(rawValue: name) else {
                throw ValidationError("\(option): unknown split '\(name)' (expected one of \(Split.allCases.map(\.rawValue).joined(separator: ", ")))")
            }
            return s
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

    /// Turns scans into embeddings: raw series, or a model's (stored when present, else computed).
    final class Embedder {
        let raw: Bool
        /// Full model id (a unique prefix given on the command line is resolved).
        let modelId: String?
        let classifier: SequenceClassifier?
        let stored: [String: [Int: [Float]]]

        init(store: CaseStore, model: String?, raw: Bool) throws {
            self.raw = raw
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

        func embedding(_ cs: CaseScan) throws -> [Float] {
            if cs.scan.hasMissing {
                throw CLIError.badInput("case '\(cs.caseRecord.id)' scan \(cs.scan.scanIndex) has missing values; it cannot be embedded")
            }
            if raw { return RetrievalCLI.rawEmbedding(cs.scan) }
            if let v = stored[cs.caseRecord.id]?[cs.scan.scanIndex] { return v }
            guard let classifier else { throw CLIError.missing("no model") }
            do { return try classifier.embedding(for: cs.scan.values) } catch {
                throw CLIError.badInput("case '\(cs.caseRecord.id)' scan \(cs.scan.scanIndex): \(error)")
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
                    throw CLIError.badInput("case '\(cs.caseRecord.id)' scan \(cs.scan.scanIndex): embedding has \(v.count) values, earlier cases \(d)\(raw ? " (--raw needs equal-length scans)" : "")")
                }
                dimension = v.count
                vectors.append(contentsOf: v)
                meta.append(RowMetadata(cs))
            }
            guard let dimension else { throw CLIError.missing("no reference scans") }
            let index = try EmbeddingIndex(dimension: dimension, reservingCapacity: meta.count)
            do { try index.add(vectors: vectors, metadata: meta) } catch { throw CLIError.badInput("\(error)") }
            return index
        }
    }
}
