import Foundation
import GRDB

extension CaseStore {
    /// Every outcome of a case, oldest first (corrections after what they correct).
    public static func outcomes(_ reader: StoreReader, caseId: String) throws -> [OutcomeRecord] {
        try OutcomeRecord.filter(Column("case_id") == caseId).order(Column("id")).fetchAll(reader.database)
    }

    /// The standing outcome of every case that has one: the newest row not superseded by another.
    public static func currentOutcomes(_ reader: StoreReader) throws -> [String: OutcomeRecord] {
        let rows = try OutcomeRecord.fetchAll(reader.database, sql: """
            SELECT * FROM outcomes o WHERE NOT EXISTS (SELECT 1 FROM outcomes n WHERE n.supersedes = o.id) ORDER BY id
            """)
        var byCase: [String: OutcomeRecord] = [:]
        for r in rows { byCase[r.caseId] = r }
        return byCase
    }

    @discardableResult
    public static func insertOutcome(_ change: StoreChange, _ outcome: OutcomeRecord) throws -> OutcomeRecord {
        var o = outcome
        try o.insert(change.writing())
        return o
    }
}
