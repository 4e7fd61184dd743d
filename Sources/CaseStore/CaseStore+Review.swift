import Foundation
import GRDB

extension CaseStore {
    public static func reviewer(_ db: Database, id: String) throws -> ReviewerRecord? {
        try ReviewerRecord.fetchOne(db, key: id)
    }

    public static func reviewerKeys(_ db: Database, reviewerId: String) throws -> [ReviewerKeyRecord] {
        try ReviewerKeyRecord.filter(Column("reviewer_id") == reviewerId).order(Column("version")).fetchAll(db)
    }

    public static func reviewerKey(_ db: Database, reviewerId: String, version: Int) throws -> ReviewerKeyRecord? {
        try ReviewerKeyRecord.fetchOne(db, key: ["reviewer_id": reviewerId, "version": version])
    }

    /// The newest review session of a reviewer on a case in a run.
    public static func latestSession(_ db: Database, runId: String, caseId: String, reviewerId: String) throws -> ReviewSessionRecord? {
        try ReviewSessionRecord
            .filter(Column("run_id") == runId && Column("case_id") == caseId && Column("reviewer_id") == reviewerId)
            .order(Column("id").desc).fetchOne(db)
    }

    public static func signOffs(_ db: Database, runId: String? = nil, caseId: String? = nil) throws -> [SignOffRecord] {
        var request = SignOffRecord.all()
        if let runId { request = request.filter(Column("run_id") == runId) }
        if let caseId { request = request.filter(Column("case_id") == caseId) }
        return try request.order(Column("id")).fetchAll(db)
    }

    public static func catchTrial(_ db: Database, runId: String, caseId: String) throws -> CatchTrialRecord? {
        try CatchTrialRecord.fetchOne(db, key: ["run_id": runId, "case_id": caseId])
    }

    public static func catchTrials(_ db: Database) throws -> [CatchTrialRecord] {
        try CatchTrialRecord.order(Column("run_id"), Column("case_id")).fetchAll(db)
    }

    /// The report version with the given number (signatures are bound to one version).
    public static func report(_ db: Database, runId: String, caseId: String, version: Int, format: ReportRecord.Format) throws -> ReportRecord? {
        try ReportRecord.filter(Column("run_id") == runId && Column("case_id") == caseId
                                && Column("version") == version && Column("format") == format.rawValue).fetchOne(db)
    }
}
