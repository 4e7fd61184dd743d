import Foundation
import GRDB

/// One `audit run`: which policy (exact text and hash), model, calibrator and operator produced its
/// assessments. Re-running with the same id resumes it.
public struct RunRecord: Codable, Sendable, Equatable, FetchableRecord, PersistableRecord {
    public static let databaseTableName = "runs"
    public enum Status: String, Codable, Sendable { case running, completed }

    public var id: String
    public var study: String
    public var modelId: String?
    public var calibratorId: Int64?
    public var policyName: String
    public var policySha256: String
    public var policyText: String
    public var operatorId: String
    /// JSON of the run's parameters (split or case list, k, metric…), canonical so a resume can check them.
    public var parameters: String
    public var status: Status
    /// Folder the run's report files were written to (re-written there when new versions appear).
    public var outDir: String?
    public var startedAt: String
    public var finishedAt: String?

    public init(id: String, study: String, modelId: String?, calibratorId: Int64?, policyName: String,
                policySha256: String, policyText: String, operatorId: String, parameters: String,
                status: Status = .running, outDir: String? = nil, startedAt: String = Timestamp.now(), finishedAt: String? = nil) {
        self.id = id; self.study = study; self.modelId = modelId; self.calibratorId = calibratorId
        self.policyName = policyName; self.policySha256 = policySha256; self.policyText = policyText
        self.operatorId = operatorId; self.parameters = parameters; self.status = status; self.outDir = outDir
        self.startedAt = startedAt; self.finishedAt = finishedAt
    }

    enum CodingKeys: String, CodingKey {
        case id, study, parameters, status
        case modelId = "model_id", calibratorId = "calibrator_id", policyName = "policy_name"
        case policySha256 = "policy_sha256", policyText = "policy_text", operatorId = "operator"
        case startedAt = "started_at", finishedAt = "finished_at", outDir = "out_dir"
    }
}

/// One case's assessment in a run: the disposition and the full assessment document (JSON).
public struct AssessmentRecord: Codable, Sendable, Equatable, FetchableRecord, PersistableRecord {
    public static let databaseTableName = "assessments"
    public var runId: String
    public var caseId: String
    /// Position of the case in the run's order (resume continues from the first missing one).
    public var position: Int
    public var disposition: String
    public var assessment: String
    public var assessmentSha256: String
    public var createdAt: String

    public init(runId: String, caseId: String, position: Int, disposition: String, assessment: String,
                assessmentSha256: String, createdAt: String = Timestamp.now()) {
        self.runId = runId; self.caseId = caseId; self.position = position; self.disposition = disposition
        self.assessment = assessment; self.assessmentSha256 = assessmentSha256; self.createdAt = createdAt
    }

    enum CodingKeys: String, CodingKey {
        case position, disposition, assessment
        case runId = "run_id", caseId = "case_id", assessmentSha256 = "assessment_sha256", createdAt = "created_at"
    }
}

/// A rendered report, kept in the store so the file on disk can always be re-derived and a
/// signature can be checked against the exact bytes the reviewer saw. Versions are never overwritten.
public struct ReportRecord: Codable, Sendable, Equatable, FetchableRecord, PersistableRecord {
    public static let databaseTableName = "reports"
    public enum Format: String, Codable, Sendable { case html, xml }

    public var runId: String
    /// nil for the run-level report.
    public var caseId: String?
    public var version: Int
    public var format: Format
    public var sha256: String
    public var content: Data
    public var createdAt: String

    public init(runId: String, caseId: String?, version: Int, format: Format, sha256: String, content: Data,
                createdAt: String = Timestamp.now()) {
        self.runId = runId; self.caseId = caseId; self.version = version; self.format = format
        self.sha256 = sha256; self.content = content; self.createdAt = createdAt
    }

    enum CodingKeys: String, CodingKey {
        case version, format, sha256, content
        case runId = "run_id", caseId = "case_id", createdAt = "created_at"
    }
}
