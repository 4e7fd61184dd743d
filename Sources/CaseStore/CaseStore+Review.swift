import Foundation
import GRDB

extension CaseStore {
    public static func reviewer(_ reader: StoreReader, id: String) throws -> ReviewerRecord? {
        let db = reader.database
        return try ReviewerRecord.fetchOne(db.cachedStatement(sql: "SELECT * FROM reviewers WHERE id = ?"), arguments: [id])
    }

    public static func reviewerKeys(_ reader: StoreReader, reviewerId: String) throws -> [ReviewerKeyRecord] {
        let db = reader.database
        return try ReviewerKeyRecord.filter(Column("reviewer_id") == reviewerId).order(Column("version")).fetchAll(db)
    }

    public static func reviewerKey(_ reader: StoreReader, reviewerId: String, version: Int) throws -> ReviewerKeyRecord? {
        let db = reader.database
        return try ReviewerKeyRecord.fetchOne(db, key: ["reviewer_id": reviewerId, "version": version])
    }

    /// The newest review session of a reviewer on a case in a run.
    public static func latestSession(_ reader: StoreReader, runId: String, caseId: String, reviewerId: String) throws -> ReviewSessionRecord? {
        let db = reader.database
        return try ReviewSessionRecord.fetchOne(db.cachedStatement(sql: """
            SELECT * FROM review_sessions WHERE run_id = ? AND case_id = ? AND reviewer_id = ? ORDER BY id DESC LIMIT 1
            """), arguments: [runId, caseId, reviewerId])
    }

    public static func signOffs(_ reader: StoreReader, runId: String? = nil, caseId: String? = nil) throws -> [SignOffRecord] {
        let db = reader.database
        if let runId, let caseId {   // a case page's, on every view
            return try SignOffRecord.fetchAll(db.cachedStatement(sql: "SELECT * FROM signoffs WHERE run_id = ? AND case_id = ? ORDER BY id"),
                                              arguments: [runId, caseId])
        }
        var request = SignOffRecord.all()
        if let runId { request = request.filter(Column("run_id") == runId) }
        if let caseId { request = request.filter(Column("case_id") == caseId) }
        return try request.order(Column("id")).fetchAll(db)
    }

    public static func catchTrial(_ reader: StoreReader, runId: String, caseId: String) throws -> CatchTrialRecord? {
        let db = reader.database
        return try CatchTrialRecord.fetchOne(db, key: ["run_id": runId, "case_id": caseId])
    }

    public static func catchTrials(_ reader: StoreReader) throws -> [CatchTrialRecord] {
        let db = reader.database
        return try CatchTrialRecord.order(Column("run_id"), Column("case_id")).fetchAll(db)
    }

    /// The report version with the given number (signatures are bound to one version).
    public static func report(_ reader: StoreReader, runId: String, caseId: String, version: Int, format: ReportRecord.Format) throws -> ReportRecord? {
        let db = reader.database
        return try ReportRecord.filter(Column("run_id") == runId && Column("case_id") == caseId
                                && Column("version") == version && Column("format") == format.rawValue).fetchOne(db)
    }
}

extension CaseStore {
    public static func insertReviewer(_ change: StoreChange, _ reviewer: ReviewerRecord, key: ReviewerKeyRecord) throws {
        let db = change.writing()
        try reviewer.insert(db)
        try key.insert(db)
    }

    /// Marks a reviewer inactive; their signatures stay verifiable.
    public static func deactivateReviewer(_ change: StoreChange, id: String, at time: String) throws {
        let db = change.writing()
        guard var r = try reviewer(change, id: id) else { throw CaseStoreError.notFound(kind: "reviewer", id: id) }
        r.active = false
        r.deactivatedAt = time
        try r.update(db)
    }

    /// Retires the current key and stores the next version.
    public static func rotateReviewerKey(_ change: StoreChange, reviewerId: String, newKey: ReviewerKeyRecord) throws {
        let db = change.writing()
        try db.execute(sql: "UPDATE reviewer_keys SET retired_at = ? WHERE reviewer_id = ? AND retired_at IS NULL",
                       arguments: [newKey.createdAt, reviewerId])
        try newKey.insert(db)
    }

    public static func reviewers(_ reader: StoreReader) throws -> [ReviewerRecord] {
        let db = reader.database
        return try ReviewerRecord.order(Column("id")).fetchAll(db)
    }

    @discardableResult
    public static func insertReviewSession(_ change: StoreChange, _ session: ReviewSessionRecord) throws -> ReviewSessionRecord {
        let db = change.writing()
        var s = session
        try s.insert(db)
        return s
    }

    public static func recordBlindRead(_ change: StoreChange, sessionId: Int64, className: String, at time: String) throws {
        let db = change.writing()
        try db.execute(sql: "UPDATE review_sessions SET blind_read_class = ?, blind_read_at = ? WHERE id = ?",
                       arguments: [className, time, sessionId])
    }

    @discardableResult
    public static func insertSignOff(_ change: StoreChange, _ signOff: SignOffRecord) throws -> SignOffRecord {
        let db = change.writing()
        var s = signOff
        try s.insert(db)
        return s
    }

    public static func insertCatchTrial(_ change: StoreChange, _ trial: CatchTrialRecord) throws {
        let db = change.writing()
        try trial.insert(db)
    }

    public static func revealCatchTrial(_ change: StoreChange, runId: String, caseId: String, at time: String) throws {
        let db = change.writing()
        try db.execute(sql: "UPDATE catch_trials SET revealed_at = ? WHERE run_id = ? AND case_id = ? AND revealed_at IS NULL",
                       arguments: [time, runId, caseId])
    }
}
