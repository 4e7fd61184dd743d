import Foundation
import GRDB

/// A case's ground truth as it arrived: which class, established how (`source`), by whom and when.
/// A correction supersedes an earlier outcome and says why; the earlier one stays.
public struct OutcomeRecord: Codable, Sendable, Equatable, FetchableRecord, MutablePersistableRecord {
    public static let databaseTableName = "outcomes"
    public var id: Int64?
    public var caseId: String
    public var label: String
    public var source: String
    public var verifiedBy: String
    /// When the truth was established (e.g. the biopsy's report date), RFC 3339.
    public var verifiedAt: String
    /// When it reached the store.
    public var recordedAt: String
    public var supersedes: Int64?
    public var reason: String?

    public init(caseId: String, label: String, source: String, verifiedBy: String, verifiedAt: String,
                recordedAt: String = Timestamp.now(), supersedes: Int64? = nil, reason: String? = nil) {
        self.caseId = caseId; self.label = label; self.source = source; self.verifiedBy = verifiedBy
        self.verifiedAt = verifiedAt; self.recordedAt = recordedAt; self.supersedes = supersedes; self.reason = reason
    }

    public mutating func didInsert(_ inserted: InsertionSuccess) { id = inserted.rowID }

    enum CodingKeys: String, CodingKey {
        case id, label, source, supersedes, reason
        case caseId = "case_id", verifiedBy = "verified_by", verifiedAt = "verified_at", recordedAt = "recorded_at"
    }
}
