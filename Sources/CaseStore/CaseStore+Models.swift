import Digests
import Foundation
import GRDB

/// A registered model: its safetensors bytes (whose SHA-256 is the id) and what it was trained on.
/// Architecture, classes and normalisation are also inside the weights file; the columns make
/// them queryable without parsing it.
public struct ModelRecord: Codable, Sendable, Equatable, FetchableRecord, PersistableRecord {
    public static let databaseTableName = "models"
    public var id: String
    public var study: String?
    public var arch: String
    /// JSON array of class labels in logit order.
    public var classes: String
    /// JSON object: sizes, bidirectional, steps per frame, normalisation.
    public var config: String
    /// JSON object: training provenance (study, split, case count, content hash, seed, settings) or
    /// `{"imported_from": …}`.
    public var training: String
    /// JSON object: figures measured at training time (validation loss/accuracy, best epoch …).
    public var metrics: String
    public var weights: Data
    public var createdAt: String

    public init(id: String, study: String?, arch: String, classes: String, config: String, training: String,
                metrics: String, weights: Data, createdAt: String = Timestamp.now()) {
        self.id = id; self.study = study; self.arch = arch; self.classes = classes; self.config = config
        self.training = training; self.metrics = metrics; self.weights = weights; self.createdAt = createdAt
    }

    enum CodingKeys: String, CodingKey {
        case id, study, arch, classes, config, training, metrics, weights
        case createdAt = "created_at"
    }
}

/// A model without its weights (listings).
public struct ModelSummary: Codable, Sendable, Equatable, FetchableRecord {
    public var id: String
    public var study: String?
    public var arch: String
    public var classes: String
    public var config: String
    public var training: String
    public var metrics: String
    public var createdAt: String
    public var sizeBytes: Int

    public init(id: String, study: String?, arch: String, classes: String, config: String, training: String,
                metrics: String, createdAt: String, sizeBytes: Int) {
        self.id = id; self.study = study; self.arch = arch; self.classes = classes; self.config = config
        self.training = training; self.metrics = metrics; self.createdAt = createdAt; self.sizeBytes = sizeBytes
    }

    enum CodingKeys: String, CodingKey {
        case id, study, arch, classes, config, training, metrics
        case createdAt = "created_at", sizeBytes = "size_bytes"
    }
}

extension CaseStore {
    /// Registers a model. Returns false (and changes nothing) when the same id is already registered:
    /// identical bytes are the identical model.
    @discardableResult
    public static func registerModel(_ change: StoreChange, _ record: ModelRecord) throws -> Bool {
        let db = change.database
        guard record.id.count == 64, record.id.allSatisfy({ "0123456789abcdef".contains($0) }) else {
            throw CaseStoreError.invalid("model id must be 64 lowercase hex digits (SHA-256), got '\(record.id)'")
        }
        guard ContentHash.sha256Hex(record.weights) == record.id else {
            throw CaseStoreError.invalid("model id \(record.id) is not the SHA-256 of its weights")
        }
        if try ModelRecord.exists(db, key: record.id) { return false }
        if let study = record.study, try Study.fetchOne(db, key: study) == nil {
            throw CaseStoreError.notFound(kind: "study", id: study)
        }
        try record.insert(change.writing())   // only a model actually added is a write needing its event
        return true
    }

    /// Models, newest first, optionally of one study.
    public static func modelSummaries(_ reader: StoreReader, study: String? = nil) throws -> [ModelSummary] {
        let db = reader.database
        var sql = """
            SELECT id, study, arch, classes, config, training, metrics, created_at, length(weights) AS size_bytes
            FROM models
            """
        var args: StatementArguments = []
        if let study { sql += " WHERE study = ?"; args = [study] }
        sql += " ORDER BY created_at DESC, rowid DESC"
        return try ModelSummary.fetchAll(db, sql: sql, arguments: args)
    }

    /// Resolves a full id or a unique prefix of at least 8 hex digits to a model id.
    public static func resolveModelId(_ reader: StoreReader, _ idOrPrefix: String) throws -> String {
        let db = reader.database
        let key = idOrPrefix.lowercased()
        if try ModelRecord.exists(db, key: key) { return key }
        guard key.count >= 8, key.allSatisfy({ "0123456789abcdef".contains($0) }) else {
            throw CaseStoreError.notFound(kind: "model", id: idOrPrefix)
        }
        let matches = try String.fetchAll(db, sql: "SELECT id FROM models WHERE substr(id, 1, ?) = ? LIMIT 2",
                                          arguments: [key.count, key])
        switch matches.count {
        case 1: return matches[0]
        case 0: throw CaseStoreError.notFound(kind: "model", id: idOrPrefix)
        default: throw CaseStoreError.invalid("model id prefix '\(idOrPrefix)' is ambiguous; give more digits")
        }
    }

    /// The full record of a model (id or unique prefix).
    public static func model(_ reader: StoreReader, id: String) throws -> ModelRecord {
        let db = reader.database
        let full = try resolveModelId(reader, id)
        guard let m = try ModelRecord.fetchOne(db, key: full) else { throw CaseStoreError.notFound(kind: "model", id: id) }
        return m
    }

    /// The most recently registered model of a study.
    public static func newestModel(_ reader: StoreReader, study: String) throws -> ModelRecord? {
        let db = reader.database
        return try ModelRecord.fetchOne(db, sql: "SELECT * FROM models WHERE study = ? ORDER BY created_at DESC, rowid DESC LIMIT 1",
                                 arguments: [study])
    }

    /// SHA-256 over a training set, independent of storage order: cases in id order, each with its
    /// id, label and every scan (index, shape, raw little-endian values).
    public static func trainingSetSHA256(_ cases: [(record: CaseRecord, scans: [ScanRecord])]) -> String {
        var data = Data()
        for (record, scans) in cases.sorted(by: { $0.record.id < $1.record.id }) {
            data.append(Data("case\u{0}\(record.id)\u{0}\(record.label ?? "")\u{0}".utf8))
            for s in scans.sorted(by: { $0.scanIndex < $1.scanIndex }) {
                data.append(Data("scan\u{0}\(s.scanIndex)\u{0}\(s.length)\u{0}\(s.channels)\u{0}".utf8))
                data.append(s.valuesBlob)
            }
        }
        return ContentHash.sha256Hex(data)
    }
}
