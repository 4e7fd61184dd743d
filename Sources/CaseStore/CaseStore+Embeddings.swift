import Foundation
import GRDB

/// One stored embedding: what model `modelId` computed for one scan of one case (Float32 LE blob).
public struct EmbeddingRecord: Codable, Sendable, Equatable, FetchableRecord, PersistableRecord {
    public static let databaseTableName = "embeddings"
    public var modelId: String
    public var caseId: String
    public var scanIndex: Int
    public var dim: Int
    public var vector: Data

    public init(modelId: String, caseId: String, scanIndex: Int, values: [Float]) {
        self.modelId = modelId; self.caseId = caseId; self.scanIndex = scanIndex
        self.dim = values.count; self.vector = ScanRecord.encode(values)
    }

    /// The embedding, decoded bit-exactly.
    public var values: [Float] { ScanRecord.decode(vector) }

    enum CodingKeys: String, CodingKey {
        case modelId = "model_id", caseId = "case_id", scanIndex = "scan_index", dim, vector
    }
}

/// A case's scan as retrieval sees it: the case (label, verification, subject) and the scan.
public struct CaseScan: Sendable {
    public var caseRecord: CaseRecord
    public var scan: ScanRecord
    public init(caseRecord: CaseRecord, scan: ScanRecord) { self.caseRecord = caseRecord; self.scan = scan }
}

extension CaseStore {
    /// Scans of the cases of `study` (nil: every study) in `splits` (empty: every split), in case id
    /// and scan order; `verifiedOnly` keeps cases with a verified label.
    public static func caseScans(_ reader: StoreReader, study: String?, splits: [Split], verifiedOnly: Bool) throws -> [CaseScan] {
        let db = reader.database
        var request = CaseRecord.all()
        if let study { request = request.filter(Column("study") == study) }
        if !splits.isEmpty { request = request.filter(splits.map(\.rawValue).contains(Column("split"))) }
        if verifiedOnly { request = request.filter(Column("label") != nil && Column("verified_by") != nil) }
        let cases = try request.order(Column("id")).fetchAll(db)
        let byID = Dictionary(uniqueKeysWithValues: cases.map { ($0.id, $0) })
        // One pass over the scans of those cases (case ids are bound in chunks SQLite accepts).
        var result: [CaseScan] = []
        for chunk in stride(from: 0, to: cases.count, by: 500).map({ Array(cases[$0..<min($0 + 500, cases.count)]) }) {
            let scans = try ScanRecord.filter(chunk.map(\.id).contains(Column("case_id")))
                .order(Column("case_id"), Column("scan_index")).fetchAll(db)
            for s in scans { if let c = byID[s.caseId] { result.append(CaseScan(caseRecord: c, scan: s)) } }
        }
        return result
    }

    /// Stored embeddings of `modelId`, keyed by case id and scan index.
    public static func embeddings(_ reader: StoreReader, modelId: String) throws -> [String: [Int: [Float]]] {
        let db = reader.database
        var out: [String: [Int: [Float]]] = [:]
        let rows = try EmbeddingRecord.filter(Column("model_id") == modelId).fetchCursor(db)
        while let r = try rows.next() { out[r.caseId, default: [:]][r.scanIndex] = r.values }
        return out
    }

    /// Number of embeddings stored for `modelId`.
    public static func embeddingCount(_ reader: StoreReader, modelId: String) throws -> Int {
        let db = reader.database
        return try EmbeddingRecord.filter(Column("model_id") == modelId).fetchCount(db)
    }

    /// Saves embeddings (a recomputed one replaces the stored one of the same model, case and scan).
    public static func saveEmbeddings(_ change: StoreChange, _ records: [EmbeddingRecord]) throws {
        let db = change.writing()
        for r in records {
            try r.save(db)
            change.touch(.embeddings, key: [r.modelId, r.caseId, r.scanIndex])
        }
    }

    /// The safetensors bytes and study of a registered model (id or unique prefix), for recomputing
    /// its embeddings. Kept for callers written against it; `model(_:id:)` returns the whole record.
    public static func modelForEmbedding(_ reader: StoreReader, id: String) throws -> (weights: Data, study: String?) {
        let db = reader.database
        let record = try model(reader, id: id)
        return (record.weights, record.study)
    }
}
