import Foundation
import GRDB

extension CaseStore {
    public static func run(_ reader: StoreReader, id: String) throws -> RunRecord? {
        let db = reader.database
        return try RunRecord.fetchOne(db.cachedStatement(sql: "SELECT * FROM runs WHERE id = ?"), arguments: [id])
    }

    public static func runs(_ reader: StoreReader, study: String? = nil) throws -> [RunRecord] {
        let db = reader.database
        var request = RunRecord.all()
        if let study { request = request.filter(Column("study") == study) }
        return try request.order(Column("started_at"), Column("id")).fetchAll(db)
    }

    /// Assessments of a run in run order.
    public static func assessments(_ reader: StoreReader, runId: String) throws -> [AssessmentRecord] {
        let db = reader.database
        return try assessmentsRequest(runId: runId).fetchAll(db)
    }

    /// Assessments of a run in run order, one at a time (a large run's do not fit comfortably in
    /// memory at once); `body` returns false to stop.
    public static func forEachAssessment(_ reader: StoreReader, runId: String,
                                         _ body: (AssessmentRecord) throws -> Bool) throws {
        let db = reader.database
        let cursor = try assessmentsRequest(runId: runId).fetchCursor(db)
        while let a = try cursor.next() { guard try body(a) else { return } }
    }

    private static func assessmentsRequest(runId: String) -> QueryInterfaceRequest<AssessmentRecord> {
        AssessmentRecord.filter(Column("run_id") == runId).order(Column("position"))
    }

    public static func assessment(_ reader: StoreReader, runId: String, caseId: String) throws -> AssessmentRecord? {
        let db = reader.database
        return try AssessmentRecord.fetchOne(db.cachedStatement(sql: "SELECT * FROM assessments WHERE run_id = ? AND case_id = ?"),
                                             arguments: [runId, caseId])
    }

    /// Latest assessment of a case across runs (newest run first).
    public static func latestAssessment(_ reader: StoreReader, caseId: String) throws -> AssessmentRecord? {
        let db = reader.database
        return try AssessmentRecord.fetchOne(db, sql: """
            SELECT a.* FROM assessments a JOIN runs r ON r.id = a.run_id
            WHERE a.case_id = ? ORDER BY r.started_at DESC, r.id DESC LIMIT 1
            """, arguments: [caseId])
    }

    /// The newest version of a report (case report when `caseId` is given, else the run report).
    public static func latestReport(_ reader: StoreReader, runId: String, caseId: String?, format: ReportRecord.Format) throws -> ReportRecord? {
        let db = reader.database
        return try ReportRecord.fetchOne(db.cachedStatement(sql: """
            SELECT * FROM reports WHERE run_id = ? AND case_id IS ? AND format = ? ORDER BY version DESC LIMIT 1
            """), arguments: [runId, caseId, format.rawValue])
    }

    /// The newest version number of a report, without reading the report (a case page shows it on every view).
    public static func latestReportVersion(_ reader: StoreReader, runId: String, caseId: String?, format: ReportRecord.Format) throws -> Int? {
        let db = reader.database
        return try Int.fetchOne(db.cachedStatement(sql: """
            SELECT max(version) FROM reports WHERE run_id = ? AND case_id IS ? AND format = ?
            """), arguments: [runId, caseId, format.rawValue])
    }

    public static func reports(_ reader: StoreReader, runId: String) throws -> [ReportRecord] {
        let db = reader.database
        return try reportsRequest(runId: runId).fetchAll(db)
    }

    /// A run's reports in the order of `reports`, one at a time (hundreds of MB for a large run).
    public static func forEachReport(_ reader: StoreReader, runId: String, _ body: (ReportRecord) throws -> Void) throws {
        let db = reader.database
        let cursor = try reportsRequest(runId: runId).fetchCursor(db)
        while let r = try cursor.next() { try body(r) }
    }

    private static func reportsRequest(runId: String) -> QueryInterfaceRequest<ReportRecord> {
        ReportRecord.filter(Column("run_id") == runId).order(Column("case_id"), Column("version"), Column("format"))
    }

    /// Stores the next version of a report; earlier versions stay.
    @discardableResult
    public static func addReportVersion(_ change: StoreChange, runId: String, caseId: String?, format: ReportRecord.Format,
                                        content: Data, sha256: String) throws -> ReportRecord {
        let db = change.writing()
        let current = try latestReport(change, runId: runId, caseId: caseId, format: format)?.version ?? 0
        let record = ReportRecord(runId: runId, caseId: caseId, version: current + 1, format: format,
                                  sha256: sha256, content: content)
        try record.insert(db)
        return record
    }
}

extension CaseStore {
    /// Stores a new run (status running).
    public static func insertRun(_ change: StoreChange, _ run: RunRecord) throws {
        let db = change.writing()
        try run.insert(db)
    }

    /// Marks a running run completed at `time`.
    public static func completeRun(_ change: StoreChange, id: String, at time: String) throws {
        let db = change.writing()
        guard var run = try RunRecord.fetchOne(db, key: id) else { throw CaseStoreError.notFound(kind: "run", id: id) }
        run.status = .completed
        run.finishedAt = time
        try run.update(db)
    }

    /// Stores a case's assessment in a run.
    public static func insertAssessment(_ change: StoreChange, _ assessment: AssessmentRecord) throws {
        let db = change.writing()
        try assessment.insert(db)
    }
}
