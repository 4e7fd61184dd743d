@_spi(Storage) import CaseStore
import Foundation

/// State changes offered together with their audit-log event ("record + event"): each runs the change
/// and appends its event in one `StoreChange`, so a caller never opens a transaction or sees the
/// engine's connection, and the record and the event it is vouched for by can never disagree. The action name
/// and subject of each event are fixed here; payloads a caller computes are passed in.
extension CaseStore {
    /// Imports a UCR/UEA/CSV file into a study (all or nothing); logs `cases.import`.
    public func importCases(file: String, options: ImportOptions, actor: String) throws -> (ImportResult, AuditEvent) {
        try change { db in
            let result = try Importer.run(db, file: file, options: options)
            let event = try AuditLog.append(db, actor: actor, action: "cases.import",
                                            subject: AuditSubject(type: "study", id: options.study), payload: result)
            return (result, event)
        }
    }

    /// Writes a generated cohort; logs `cohort.generate` with the payload built from what was written.
    public func insertGeneratedCohort<P: Encodable>(study: Study, cases: [NewCase], actor: String,
                                                    payload: (CasesWritten) -> P) throws -> (CasesWritten, AuditEvent) {
        try change { db in
            let written = try CaseStore.insertCases(db, study: study, cases: cases)
            let event = try AuditLog.append(db, actor: actor, action: "cohort.generate",
                                            subject: AuditSubject(type: "study", id: study.name), payload: payload(written))
            return (written, event)
        }
    }

    /// Moves a seeded share of a split's cases to another split; logs `cases.assign-split`.
    public func reassignSplit(study: String, from: Split, to: Split, fraction: Double, seed: UInt64,
                              actor: String) throws -> (SplitReassignment, AuditEvent) {
        try change { db in
            let moved = try CaseStore.reassignSplit(db, study: study, from: from, to: to, fraction: fraction, seed: seed)
            let change = SplitReassignment(study: study, from: from.rawValue, to: to.rawValue, fraction: fraction,
                                           seed: seed, caseIds: moved)
            let event = try AuditLog.append(db, actor: actor, action: "cases.assign-split",
                                            subject: AuditSubject(type: "study", id: study), payload: change)
            return (change, event)
        }
    }

    /// Registers a model trained here; logs `model.train`.
    public func registerTrainedModel<P: Encodable>(_ record: ModelRecord, actor: String, payload: P) throws -> AuditEvent {
        try change { db in
            try CaseStore.registerModel(db, record)
            return try AuditLog.append(db, actor: actor, action: "model.train",
                                       subject: AuditSubject(type: "model", id: record.id), payload: payload)
        }
    }

    /// Registers an imported model and logs `model.import`; nil when it was already registered (no
    /// event). When `study` is given, the model must predict exactly that study's classes.
    public func registerImportedModel(_ record: ModelRecord, classes: [String], study: String?, file: String,
                                      actor: String) throws -> AuditEvent? {
        try change { db in
            if let study {
                let s = try CaseStore.study(db, named: study)
                guard s.classes == classes else {
                    throw CaseStoreError.invalid("\(file): model classes \(classes) differ from study \(study)'s \(s.classes)")
                }
            }
            guard try CaseStore.registerModel(db, record) else { return nil }
            return try AuditLog.append(db, actor: actor, action: "model.import",
                                       subject: AuditSubject(type: "model", id: record.id),
                                       payload: ["model_id": record.id, "file": file, "study": study ?? ""])
        }
    }

    /// Hands out a registered model's bytes and logs `model.export` (who took a copy, and where to).
    public func exportModel(id: String, file: String, actor: String) throws -> ModelRecord {
        try change { db in
            let m = try CaseStore.model(db, id: id)
            try AuditLog.append(db, actor: actor, action: "model.export", subject: AuditSubject(type: "model", id: m.id),
                                payload: ["model_id": m.id, "file": file])
            return m
        }
    }

    /// Stores retrieval embeddings; logs `index.build`.
    public func saveEmbeddings<P: Encodable>(_ records: [EmbeddingRecord], modelId: String, actor: String,
                                             payload: P) throws -> AuditEvent {
        try change { db in
            try CaseStore.saveEmbeddings(db, records)
            return try AuditLog.append(db, actor: actor, action: "index.build",
                                       subject: AuditSubject(type: "model", id: modelId), payload: payload)
        }
    }

    /// Stores a fitted calibrator; logs `calibrate.fit` with the payload built from the stored record (its id).
    public func saveCalibrator<P: Encodable>(_ record: CalibratorRecord, actor: String,
                                             payload: (CalibratorRecord) -> P) throws -> (CalibratorRecord, AuditEvent) {
        try change { db in
            let saved = try CaseStore.saveCalibrator(db, record)
            let event = try AuditLog.append(db, actor: actor, action: "calibrate.fit",
                                            subject: AuditSubject(type: "calibrator", id: "\(saved.id ?? -1)"),
                                            payload: payload(saved))
            return (saved, event)
        }
    }

    /// Logs an action that changes no record but must be attributable (e.g. `model.predict`: who
    /// obtained which predictions, by their hash).
    @discardableResult
    public func logAction<P: Encodable>(actor: String, action: String, subject: AuditSubject, payload: P) throws -> AuditEvent {
        try change { db in try AuditLog.append(db, actor: actor, action: action, subject: subject, payload: payload) }
    }

    /// Signs and stores a checkpoint of the log as it stands (see `AuditLog.checkpoint`).
    public func signCheckpoint(signer: LogSigner) throws -> Checkpoint {
        try change { db in try AuditLog.checkpoint(db, signer: signer) }
    }
}

/// What `cases assign` moved: the `cases.assign-split` event's payload.
public struct SplitReassignment: Codable, Sendable, Equatable {
    public var study: String
    public var from: String
    public var to: String
    public var fraction: Double
    public var seed: UInt64
    public var caseIds: [String]

    enum CodingKeys: String, CodingKey { case study, from, to, fraction, seed, caseIds = "case_ids" }
}
