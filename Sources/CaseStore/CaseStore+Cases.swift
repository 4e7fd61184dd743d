import Foundation
import GRDB

extension CaseStore {
    /// Cases of a study (optionally one split), in id order.
    public static func cases(_ db: Database, study: String? = nil, split: Split? = nil) throws -> [CaseRecord] {
        var request = CaseRecord.all()
        if let study { request = request.filter(Column("study") == study) }
        if let split { request = request.filter(Column("split") == split.rawValue) }
        return try request.order(Column("id")).fetchAll(db)
    }

    public static func study(_ db: Database, named name: String) throws -> Study {
        guard let s = try Study.fetchOne(db, key: name) else { throw CaseStoreError.notFound(kind: "study", id: name) }
        return s
    }

    public static func caseRecord(_ db: Database, id: String) throws -> CaseRecord {
        guard let c = try CaseRecord.fetchOne(db, key: id) else { throw CaseStoreError.notFound(kind: "case", id: id) }
        return c
    }

    /// A case's scans in scan order.
    public static func scans(_ db: Database, caseId: String) throws -> [ScanRecord] {
        try ScanRecord.filter(Column("case_id") == caseId).order(Column("scan_index")).fetchAll(db)
    }
}
