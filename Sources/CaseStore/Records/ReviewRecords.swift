import Foundation
import GRDB

/// A person who may sign: identity in the store, key history in `reviewer_keys`.
public struct ReviewerRecord: Codable, Sendable, Equatable, FetchableRecord, PersistableRecord {
    public static let databaseTableName = "reviewers"
    public var id: String
    public var name: String
    public var role: String
    public var active: Bool
    public var createdAt: String
    public var deactivatedAt: String?

    public init(id: String, name: String, role: String, active: Bool = true, createdAt: String = Timestamp.now(),
                deactivatedAt: String? = nil) {
        self.id = id; self.name = name; self.role = role; self.active = active
        self.createdAt = createdAt; self.deactivatedAt = deactivatedAt
    }

    enum CodingKeys: String, CodingKey {
        case id, name, role, active
        case createdAt = "created_at", deactivatedAt = "deactivated_at"
    }
}

/// One public key of a reviewer; rotation retires the old one, which still verifies old signatures.
public struct ReviewerKeyRecord: Codable, Sendable, Equatable, FetchableRecord, PersistableRecord {
    public static let databaseTableName = "reviewer_keys"
    public var reviewerId: String
    public var version: Int
    public var publicKey: Data
    public var createdAt: String
    public var retiredAt: String?

    public init(reviewerId: String, version: Int, publicKey: Data, createdAt: String = Timestamp.now(), retiredAt: String? = nil) {
        self.reviewerId = reviewerId; self.version = version; self.publicKey = publicKey
        self.createdAt = createdAt; self.retiredAt = retiredAt
    }

    enum CodingKeys: String, CodingKey {
        case version
        case reviewerId = "reviewer_id", publicKey = "public_key", createdAt = "created_at", retiredAt = "retired_at"
    }
}

/// A reviewer opening a case's evidence: when, whether blinded, and what was shown.
public struct ReviewSessionRecord: Codable, Sendable, Equatable, FetchableRecord, MutablePersistableRecord {
    public static let databaseTableName = "review_sessions"
    public var id: Int64?
    public var runId: String
    public var caseId: String
    public var reviewerId: String
    public var openedAt: String
    public var blinded: Bool
    /// JSON: which sections of the evidence were shown (and report version/hash).
    public var shown: String
    public var blindReadClass: String?
    public var blindReadAt: String?

    public init(runId: String, caseId: String, reviewerId: String, openedAt: String, blinded: Bool, shown: String) {
        self.runId = runId; self.caseId = caseId; self.reviewerId = reviewerId; self.openedAt = openedAt
        self.blinded = blinded; self.shown = shown
    }

    public mutating func didInsert(_ inserted: InsertionSuccess) { id = inserted.rowID }

    enum CodingKeys: String, CodingKey {
        case id, blinded, shown
        case runId = "run_id", caseId = "case_id", reviewerId = "reviewer_id", openedAt = "opened_at"
        case blindReadClass = "blind_read_class", blindReadAt = "blind_read_at"
    }
}

/// A stored signature: the exact signed bytes and the Ed25519 signature over them.
public struct SignOffRecord: Codable, Sendable, Equatable, FetchableRecord, MutablePersistableRecord {
    public static let databaseTableName = "signoffs"
    public var id: Int64?
    public var runId: String
    public var caseId: String
    public var reviewerId: String
    public var keyVersion: Int
    public var record: String
    public var signature: Data
    public var reportSha256: String
    public var createdAt: String

    public init(runId: String, caseId: String, reviewerId: String, keyVersion: Int, record: String, signature: Data,
                reportSha256: String, createdAt: String = Timestamp.now()) {
        self.runId = runId; self.caseId = caseId; self.reviewerId = reviewerId; self.keyVersion = keyVersion
        self.record = record; self.signature = signature; self.reportSha256 = reportSha256; self.createdAt = createdAt
    }

    public mutating func didInsert(_ inserted: InsertionSuccess) { id = inserted.rowID }

    enum CodingKeys: String, CodingKey {
        case id, record, signature
        case runId = "run_id", caseId = "case_id", reviewerId = "reviewer_id", keyVersion = "key_version"
        case reportSha256 = "report_sha256", createdAt = "created_at"
    }
}

/// A catch trial: known only to the store until after sign-off.
public struct CatchTrialRecord: Codable, Sendable, Equatable, FetchableRecord, PersistableRecord {
    public static let databaseTableName = "catch_trials"
    public var runId: String
    public var caseId: String
    public var trueLabel: String
    public var presentedClass: String
    public var revealedAt: String?

    public init(runId: String, caseId: String, trueLabel: String, presentedClass: String, revealedAt: String? = nil) {
        self.runId = runId; self.caseId = caseId; self.trueLabel = trueLabel
        self.presentedClass = presentedClass; self.revealedAt = revealedAt
    }

    enum CodingKeys: String, CodingKey {
        case runId = "run_id", caseId = "case_id", trueLabel = "true_label"
        case presentedClass = "presented_class", revealedAt = "revealed_at"
    }
}
