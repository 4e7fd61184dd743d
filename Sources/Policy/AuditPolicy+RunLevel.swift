import Foundation

extension CheckID {
    /// Checks about the deployment rather than the case (calibrator, calibration age, drift, audit
    /// log): the same for every case of a run. A failure of one makes `audit run` exit with status 1.
    public var isRunLevel: Bool {
        switch self {
        case .calibratorPresent, .calibratorFitted, .calibrationAge, .driftAlarm, .logVerification: return true
        default: return false
        }
    }
}

extension AuditPolicy {
    /// The run-level checks over evidence holding the run's state (calibrator, calibration age,
    /// drift, log verification; other fields are ignored).
    public func runLevelChecks(for evidence: CaseEvidence) -> [Check] {
        checks(for: evidence).filter { $0.id.isRunLevel }
    }

    /// Name, version, hash and source — what logs, run summaries and reports record about the policy.
    public var identity: PolicyIdentity {
        PolicyIdentity(name: name, version: version, sha256: sha256, source: source, intendedUse: intendedUse)
    }
}

/// What identifies the policy a decision was made under.
public struct PolicyIdentity: Codable, Equatable, Sendable {
    public var name: String
    public var version: Int
    /// SHA-256 (hex) of the policy file's exact bytes.
    public var sha256: String
    /// Path, or `embedded:<file>` for a shipped policy carried in the binary.
    public var source: String
    public var intendedUse: String

    public init(name: String, version: Int, sha256: String, source: String, intendedUse: String) {
        self.name = name; self.version = version; self.sha256 = sha256; self.source = source
        self.intendedUse = intendedUse
    }

    enum CodingKeys: String, CodingKey {
        case name, version, sha256, source, intendedUse = "intended_use"
    }
}
