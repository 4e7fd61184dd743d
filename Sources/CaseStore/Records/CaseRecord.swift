import Foundation
import GRDB

/// The splits a case can belong to; the schema enforces the same list.
public enum Split: String, Codable, Sendable, CaseIterable {
    case train, validation, calibration, reference, test, incoming
}

/// One case: a subject's lesion, cell track, heartbeat… A label with `verifiedBy` is ground truth;
/// incoming cases have neither.
public struct CaseRecord: Codable, Sendable, Equatable, FetchableRecord, PersistableRecord {
    public static let databaseTableName = "cases"
    public var id: String
    public var study: String
    /// Pseudonym of the subject (patient, donor, culture); retrieval never returns the query's own subject.
    public var subject: String
    public var label: String?
    public var verifiedBy: String?
    public var verifiedAt: String?
    public var split: Split
    public var notes: String
    public var createdAt: String

    public init(id: String, study: String, subject: String, label: String?, verifiedBy: String?,
                verifiedAt: String?, split: Split, notes: String = "", createdAt: String = Timestamp.now()) {
        self.id = id; self.study = study; self.subject = subject; self.label = label
        self.verifiedBy = verifiedBy; self.verifiedAt = verifiedAt; self.split = split
        self.notes = notes; self.createdAt = createdAt
    }

    public var isVerified: Bool { verifiedBy != nil && label != nil }

    enum CodingKeys: String, CodingKey {
        case id, study, subject, label, split, notes
        case verifiedBy = "verified_by", verifiedAt = "verified_at", createdAt = "created_at"
    }
}
