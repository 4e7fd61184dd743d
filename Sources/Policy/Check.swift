import Foundation

/// The outcome of one policy check on one case.
public enum CheckStatus: String, Codable, Sendable, CaseIterable {
    case pass
    /// Noted but not blocking (the policy does not require this condition).
    case warn
    case fail
    /// The stage that would supply the evidence did not run. Never counts as a pass.
    case notEvaluated = "not-evaluated"
}

/// Stable identifiers of the checks (they appear in assessments, reports and run summaries).
public enum CheckID: String, Codable, Sendable, CaseIterable {
    // Abstention conditions
    case intendedUse = "intended-use"
    case calibratorPresent = "calibrator-present"
    case calibratorFitted = "calibrator-fitted"
    case calibrationAge = "calibration-age"
    case driftAlarm = "drift-alarm"
    case logVerification = "log-verification"
    case farOutOfDistribution = "far-out-of-distribution"
    case modelBeatsBaseline = "model-beats-baseline"
    // Escalation conditions
    case scanLimit = "scan-limit"
    case dangerousClassExcluded = "dangerous-class-excluded"
    // Second reviewer
    case secondReviewerClass = "second-reviewer-class"
    // Report-without-review conditions
    case humanOversight = "human-oversight"
    case dangerousAnswer = "dangerous-answer"
    case confidence = "confidence"
    case conformalSettings = "conformal-settings"
    case singletonSet = "singleton-set"
    case credibility = "credibility"
    case outOfDistribution = "out-of-distribution"
    case scanAgreement = "scan-agreement"
    case establishedClaim = "established-claim"
}

/// One check: what was measured against which threshold, why it matters in a clinician's words,
/// and where the requirement comes from.
public struct Check: Codable, Equatable, Sendable {
    public var id: CheckID
    public var status: CheckStatus
    /// What was measured, formatted for people ("0.97", "{benign, malignant}", "5 scans").
    public var measured: String?
    /// The policy's threshold ("≥ 0.95", "1 class", "≤ 4 scans").
    public var threshold: String?
    /// One sentence a clinician understands.
    public var reason: String
    /// The regulation, standard or paper behind the check.
    public var reference: String
    /// What a `fail` (or `notEvaluated`) of this check does to the disposition.
    public var onFailure: Disposition.Kind

    public init(id: CheckID, status: CheckStatus, measured: String?, threshold: String?, reason: String,
                reference: String, onFailure: Disposition.Kind) {
        self.id = id; self.status = status; self.measured = measured; self.threshold = threshold
        self.reason = reason; self.reference = reference; self.onFailure = onFailure
    }

    enum CodingKeys: String, CodingKey {
        case id, status, measured, threshold, reason, reference, onFailure = "on_failure"
    }
}

/// The references cited by checks, in one place so reports can list them.
public enum RegulatoryReference {
    public static let humanOversight = "EU AI Act Art. 14(4)(b) (automation bias; human oversight)"
    public static let humanOversightIntervene = "EU AI Act Art. 14(4)(d) (decide not to use the output)"
    public static let intendedPurpose = "EU AI Act Art. 13(3)(b)(i) (intended purpose); 21 CFR 820.30(g) (design validation)"
    public static let auditTrail = "21 CFR 11.10(e) (audit trail); EU AI Act Art. 12 (record-keeping)"
    public static let accuracyRobustness = "EU AI Act Art. 15(1) (accuracy, robustness)"
    public static let postMarketMonitoring = "EU AI Act Art. 72 (post-market monitoring); Vovk et al. 2003 exchangeability martingales"
    public static let calibration = "Guo et al. 2017 (calibration, ECE)"
    public static let baseline = "EU AI Act Art. 15(1) (accuracy); Bagnall et al. 2017 (1-NN Euclidean, the time-series baseline)"
    public static let conformal = "Vovk et al. 2005 (conformal prediction)"
    public static let credibility = "Papernot & McDaniel 2018 (deep k-nearest neighbours, credibility)"
    public static let outOfDistribution = "Papernot & McDaniel 2018 (deep kNN); Lee et al. 2018 (Mahalanobis OOD)"
    public static let anytimeValid = "Ville 1939 (Ville's inequality); Ramdas et al. 2023 (e-processes)"
    public static let repeatScans = "Ville 1939; design effect 1 + (K−1)ρ (Kish 1965)"
}
