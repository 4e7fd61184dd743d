import Digests
import Foundation
import GRDB

/// A fitted calibrator as stored: the method and its parameters (JSON written by the `Calibration`
/// module), tied to the model and to the content hash of the exact calibration set it was fitted on,
/// with the conformal thresholds and the figures measured when it was fitted.
public struct CalibratorRecord: Codable, Sendable, Equatable, FetchableRecord, MutablePersistableRecord {
    public static let databaseTableName = "calibrators"
    public var id: Int64?
    public var modelId: String
    public var study: String
    public var method: String
    /// JSON of the fitted calibrator (`Calibration.AnyCalibrator`).
    public var parameters: String
    public var calibrationSplit: String
    public var calibrationN: Int
    /// `CaseStore.calibrationSetSHA256` of the calibration cases.
    public var calibrationSha256: String
    /// JSON of the conformal predictor (`Calibration.SplitConformalPredictor`), "{}" when none.
    public var conformal: String
    /// JSON of the figures measured at fitting time.
    public var metrics: String
    public var fittedAt: String

    public init(id: Int64? = nil, modelId: String, study: String, method: String, parameters: String,
                calibrationSplit: String, calibrationN: Int, calibrationSha256: String, conformal: String = "{}",
                metrics: String = "{}", fittedAt: String = Timestamp.now()) {
        self.id = id; self.modelId = modelId; self.study = study; self.method = method
        self.parameters = parameters; self.calibrationSplit = calibrationSplit; self.calibrationN = calibrationN
        self.calibrationSha256 = calibrationSha256; self.conformal = conformal; self.metrics = metrics
        self.fittedAt = fittedAt
    }

    public mutating func didInsert(_ inserted: InsertionSuccess) { id = inserted.rowID }

    enum CodingKeys: String, CodingKey {
        case id, study, method, parameters, conformal, metrics
        case modelId = "model_id", calibrationSplit = "calibration_split", calibrationN = "calibration_n"
        case calibrationSha256 = "calibration_sha256", fittedAt = "fitted_at"
    }
}

extension CaseStore {
    /// Content hash of a calibration set: SHA-256 over the cases in id order — for each, its id, verified
    /// label and every scan (index, length, channels, Float32 LE values) — with length-prefixed fields,
    /// so the same cases with the same labels and values always hash the same and any change does not.
    public static func calibrationSetSHA256(_ scans: [CaseScan]) -> String {
        var h = ContentHash.Hasher()
        func field(_ bytes: [UInt8]) {
            var n = UInt64(bytes.count).littleEndian
            withUnsafeBytes(of: &n) { h.update(Array($0)) }
            h.update(bytes)
        }
        func int(_ v: Int) {
            var x = Int64(v).littleEndian
            withUnsafeBytes(of: &x) { h.update(Array($0)) }
        }
        let sorted = scans.sorted {
            ($0.caseRecord.id, $0.scan.scanIndex) < ($1.caseRecord.id, $1.scan.scanIndex)
        }
        for cs in sorted {
            field(Array(cs.caseRecord.id.utf8))
            field(Array((cs.caseRecord.label ?? "").utf8))
            int(cs.scan.scanIndex); int(cs.scan.length); int(cs.scan.channels)
            field([UInt8](cs.scan.valuesBlob))
        }
        return h.finalize()
    }

    /// Stores a fitted calibrator; returns it with its id. The model and study must exist (foreign keys).
    @discardableResult
    public static func saveCalibrator(_ change: StoreChange, _ record: CalibratorRecord) throws -> CalibratorRecord {
        let db = change.writing()
        var r = record
        r.id = nil
        try r.insert(db)
        return r
    }

    public static func calibrator(_ reader: StoreReader, id: Int64) throws -> CalibratorRecord {
        let db = reader.database
        guard let r = try CalibratorRecord.fetchOne(db, key: id) else {
            throw CaseStoreError.notFound(kind: "calibrator", id: "\(id)")
        }
        return r
    }

    /// The most recently fitted calibrator of a model, optionally only for one calibration set (by
    /// content hash) and method; nil when none is stored.
    public static func latestCalibrator(_ reader: StoreReader, modelId: String, calibrationSha256: String? = nil,
                                        method: String? = nil) throws -> CalibratorRecord? {
        let db = reader.database
        var request = CalibratorRecord.filter(Column("model_id") == modelId)
        if let calibrationSha256 { request = request.filter(Column("calibration_sha256") == calibrationSha256) }
        if let method { request = request.filter(Column("method") == method) }
        return try request.order(Column("fitted_at").desc, Column("id").desc).fetchOne(db)
    }

    /// Every calibrator of a model, newest first.
    public static func calibrators(_ reader: StoreReader, modelId: String) throws -> [CalibratorRecord] {
        let db = reader.database
        return try CalibratorRecord.filter(Column("model_id") == modelId)
            .order(Column("fitted_at").desc, Column("id").desc).fetchAll(db)
    }
}
