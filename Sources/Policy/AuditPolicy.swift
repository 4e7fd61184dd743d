import Foundation

/// A loaded, validated policy file: what may be reported without a human, when the system must
/// abstain or escalate, and the rules reviewers work under. Every field has been range-checked at
/// load time; `sha256` is the SHA-256 of the file's exact bytes and goes into every assessment.
///
/// Named `AuditPolicy` rather than `Policy` so it does not shadow the module name.
public struct AuditPolicy: Sendable, Equatable {
    /// Schema versions this build understands.
    public static let supportedVersions: ClosedRange<Int> = 1...1

    /// `policy:` — short name, e.g. `default`.
    public var name: String
    /// `version:` — schema version.
    public var version: Int
    /// `intended_use:` — what the policy is for, in words a clinician and an auditor read.
    public var intendedUse: String
    /// `applies_to:`
    public var appliesTo: AppliesTo
    /// `dangerous_classes:` — classes that must be positively excluded ("not class j" established)
    /// before a different answer may reassure anyone.
    public var dangerousClasses: [String]
    /// `conformal:`
    public var conformal: ConformalRules
    /// `report_without_review:`
    public var reportWithoutReview: ReportWithoutReviewRules
    /// `abstain:`
    public var abstain: AbstainRules
    /// `escalate:`
    public var escalate: EscalateRules
    /// `review:` — key names are a contract with `Review` and outside scripts.
    public var review: ReviewRules
    /// `repeat_scans:`
    public var repeatScans: RepeatScanRules
    /// `audit_log:`
    public var auditLog: AuditLogRules
    /// `baseline:` — what a model that does not beat the model-free baseline gets.
    public var baseline: BaselineRules
    /// `web:` — sign-in and sessions of `audit serve`.
    public var web: WebRules
    /// `monitoring:` — the thresholds `audit monitor` raises an alert on.
    public var monitoring: MonitoringRules

    /// Where the policy came from (a path, or `embedded:default.yaml`).
    public var source: String
    /// Lower-case hex SHA-256 of the exact bytes of the file.
    public var sha256: String
    /// The exact text of the file (its UTF-8 bytes are the hashed bytes). Store this with a run, not
    /// `source`, so the policy can be re-parsed and its hash recomputed years later.
    public var text: String

    public struct AppliesTo: Sendable, Equatable {
        /// Class labels the policy was written for; empty means any class.
        public var classes: [String]
        public init(classes: [String]) { self.classes = classes }
    }

    /// Nonconformity score used for conformal sets.
    public enum ConformalScore: String, Sendable, Equatable, CaseIterable, Codable {
        /// Adaptive prediction sets (Romano et al. 2020).
        case aps
        /// Regularised APS (Angelopoulos et al. 2021).
        case raps
        /// Least-ambiguous set-valued classifier, 1 − p̂(y) (Sadinle et al. 2019).
        case lac
    }

    public struct ConformalRules: Sendable, Equatable {
        /// Miscoverage level α: sets contain the true class with probability ≥ 1 − α.
        public var alpha: Double
        /// Per-class (Mondrian) calibration, so the guarantee holds for each class separately.
        public var classConditional: Bool
        public var score: ConformalScore
        public init(alpha: Double, classConditional: Bool, score: ConformalScore) {
            self.alpha = alpha; self.classConditional = classConditional; self.score = score
        }
    }

    public struct ReportWithoutReviewRules: Sendable, Equatable {
        /// False makes the policy advisory: every answer waits for a human.
        public var allowed: Bool
        public var minConfidence: Double
        public var singletonSet: Bool
        public var minCredibility: Double
        /// Percentile (0–100) of the case's out-of-distribution score among calibration cases.
        public var maxOODPercentile: Double
        public var allowScanDisagreement: Bool
        public var requireEstablishedClaim: Bool
        public init(allowed: Bool, minConfidence: Double, singletonSet: Bool, minCredibility: Double,
                    maxOODPercentile: Double, allowScanDisagreement: Bool, requireEstablishedClaim: Bool) {
            self.allowed = allowed; self.minConfidence = minConfidence; self.singletonSet = singletonSet
            self.minCredibility = minCredibility; self.maxOODPercentile = maxOODPercentile
            self.allowScanDisagreement = allowScanDisagreement; self.requireEstablishedClaim = requireEstablishedClaim
        }
    }

    public struct AbstainRules: Sendable, Equatable {
        public var oodPercentileAbove: Double
        public var onDriftAlarm: Bool
        public var onCalibratorMissing: Bool
        public var onCalibratorMismatch: Bool
        /// nil: no age limit.
        public var maxCalibrationAgeDays: Double?
        public var onLogVerificationFailure: Bool
        public init(oodPercentileAbove: Double, onDriftAlarm: Bool, onCalibratorMissing: Bool,
                    onCalibratorMismatch: Bool, maxCalibrationAgeDays: Double?, onLogVerificationFailure: Bool) {
            self.oodPercentileAbove = oodPercentileAbove; self.onDriftAlarm = onDriftAlarm
            self.onCalibratorMissing = onCalibratorMissing; self.onCalibratorMismatch = onCalibratorMismatch
            self.maxCalibrationAgeDays = maxCalibrationAgeDays; self.onLogVerificationFailure = onLogVerificationFailure
        }
    }

    public struct EscalateRules: Sendable, Equatable {
        /// More scans than `repeat_scans.max_scans` → escalate (possible outcome shopping).
        public var onScansOverLimit: Bool
        /// The answer is not a dangerous class but "not <dangerous class>" was not established → escalate.
        public var onDangerousClassNotExcluded: Bool
        public init(onScansOverLimit: Bool, onDangerousClassNotExcluded: Bool) {
            self.onScansOverLimit = onScansOverLimit; self.onDangerousClassNotExcluded = onDangerousClassNotExcluded
        }
    }

    public struct ReviewRules: Sendable, Equatable {
        /// `reviewers` — sign-offs required for a case that needs review.
        public var reviewers: Int
        /// `second_reviewer_for_classes` — a second, different reviewer whenever the answer or its
        /// prediction set contains one of these classes.
        public var secondReviewerForClasses: [String]
        /// `min_seconds` — shortest review time accepted before sign-off.
        public var minSeconds: Double
        /// `blind_first_read` — the reviewer records a class before seeing the model's answer.
        public var blindFirstRead: Bool
        /// `catch_trial_rate` — fraction of the queue that is catch trials.
        public var catchTrialRate: Double
        /// `override_reasons` — the reason codes an override may give (empty: any non-empty code).
        public var overrideReasons: [String]
        public init(reviewers: Int, secondReviewerForClasses: [String], minSeconds: Double,
                    blindFirstRead: Bool, catchTrialRate: Double, overrideReasons: [String] = []) {
            self.reviewers = reviewers; self.secondReviewerForClasses = secondReviewerForClasses
            self.minSeconds = minSeconds; self.blindFirstRead = blindFirstRead; self.catchTrialRate = catchTrialRate
            self.overrideReasons = overrideReasons
        }
    }

    /// The `web` section: how `audit serve` treats sign-in and sessions.
    public struct WebRules: Sendable, Equatable {
        /// `idle_timeout_minutes` — a session unused this long is ended.
        public var idleTimeoutMinutes: Double
        /// `absolute_timeout_hours` — a session ends this long after sign-in, however busy.
        public var absoluteTimeoutHours: Double
        /// `max_failed_sign_ins` — failed sign-ins in a row that lock a reviewer id out.
        public var maxFailedSignIns: Int
        /// `lockout_minutes` — how long a lock-out lasts.
        public var lockoutMinutes: Double
        public init(idleTimeoutMinutes: Double = 15, absoluteTimeoutHours: Double = 8, maxFailedSignIns: Int = 5,
                    lockoutMinutes: Double = 15) {
            self.idleTimeoutMinutes = idleTimeoutMinutes; self.absoluteTimeoutHours = absoluteTimeoutHours
            self.maxFailedSignIns = maxFailedSignIns; self.lockoutMinutes = lockoutMinutes
        }
    }

    /// The `monitoring` section: per period, when the model no longer earns its confidence. A period
    /// is judged only with enough cases; figures with an interval alert only when the whole interval
    /// is on the wrong side (a small month is not an alarm by chance).
    public struct MonitoringRules: Sendable, Equatable {
        /// `min_cases` — periods with fewer assessments are reported, not judged.
        public var minCases: Int
        /// `min_labelled` — periods with fewer outcomes get no outcome-based judgement.
        public var minLabelled: Int
        /// `min_accuracy` — alert when realised accuracy's upper 95% bound is below it.
        public var minAccuracy: Double?
        /// `min_estimated_accuracy` — alert when the label-free estimate's upper 95% bound is below it.
        public var minEstimatedAccuracy: Double?
        /// `max_ece` — alert when ECE exceeds it and the period's noise floor (95th percentile).
        public var maxECE: Double?
        /// `coverage_below_guarantee` — alert when a class's coverage upper bound is below 1 − α.
        public var coverageBelowGuarantee: Bool
        /// `on_martingale_alarm` — alert when the exchangeability martingale crosses 1/δ.
        public var onMartingaleAlarm: Bool
        /// `max_abstention_rate`, `max_escalation_rate`, `max_override_rate` — plain rates.
        public var maxAbstentionRate: Double?
        public var maxEscalationRate: Double?
        public var maxOverrideRate: Double?
        /// `max_estimate_error` — alert when the label-free estimate missed realised accuracy by more.
        public var maxEstimateError: Double?

        public init(minCases: Int = 20, minLabelled: Int = 20, minAccuracy: Double? = 0.85, minEstimatedAccuracy: Double? = 0.85,
                    maxECE: Double? = 0.1, coverageBelowGuarantee: Bool = true, onMartingaleAlarm: Bool = true,
                    maxAbstentionRate: Double? = 0.25, maxEscalationRate: Double? = 0.25, maxOverrideRate: Double? = 0.3,
                    maxEstimateError: Double? = 0.1) {
            self.minCases = minCases; self.minLabelled = minLabelled; self.minAccuracy = minAccuracy
            self.minEstimatedAccuracy = minEstimatedAccuracy; self.maxECE = maxECE; self.coverageBelowGuarantee = coverageBelowGuarantee
            self.onMartingaleAlarm = onMartingaleAlarm; self.maxAbstentionRate = maxAbstentionRate
            self.maxEscalationRate = maxEscalationRate; self.maxOverrideRate = maxOverrideRate; self.maxEstimateError = maxEstimateError
        }
    }

    /// How a case's scans are merged into one probability vector.
    public enum ScanMerge: String, Sendable, Equatable, CaseIterable, Codable {
        case average
        case pooledRecalibration = "pooled-recalibration"
    }

    /// Which anytime-valid e-process makes "not class j" claims (same words as
    /// `RepeatScan.EProcessConstruction`).
    public enum ClaimConstruction: String, Sendable, Equatable, CaseIterable, Codable {
        case modelBased = "model-based"
        case modelFree = "model-free"
        case calibratedBoundary = "calibrated-boundary"
    }

    /// What the `model-beats-baseline` check does when the model is not better than the model-free
    /// baseline on accuracy or NLL (measured when it was calibrated).
    public enum BaselineAction: String, Sendable, Equatable, CaseIterable, Codable {
        case warn, review, escalate

        /// The disposition a failure asks for; nil for `warn` (shown, blocks nothing).
        public var disposition: Disposition.Kind? {
            switch self {
            case .warn: return nil
            case .review: return .review
            case .escalate: return .escalate
            }
        }
    }

    public struct BaselineRules: Sendable, Equatable {
        public var onModelNotBetter: BaselineAction
        public init(onModelNotBetter: BaselineAction = .warn) { self.onModelNotBetter = onModelNotBetter }
    }

    public struct AuditLogRules: Sendable, Equatable {
        /// A folder outside the store that receives each run's closing checkpoint (`checkpoints.witness`).
        public var witnessFolder: String?
        public init(witnessFolder: String?) { self.witnessFolder = witnessFolder }
    }

    /// How the next scan's scanner configuration is meant to be chosen (same words as
    /// `RepeatScan.NextConfigurationRule`).
    public enum NextConfiguration: String, Sendable, Equatable, CaseIterable, Codable {
        case advised
        case fixed
    }

    /// The stopping rule a site pre-registers (same words as `RepeatScan.StoppingRule`).
    public enum StoppingRule: String, Sendable, Equatable, CaseIterable, Codable {
        case firstClaim = "first-claim"
        case maxScans = "max-scans"
    }

    public struct RepeatScanRules: Sendable, Equatable {
        public var maxScans: Int
        public var merge: ScanMerge
        public var claimConstruction: ClaimConstruction
        /// Level α of "not class j" claims (threshold 1/α, or M/α model-free).
        public var claimAlpha: Double
        public var nextConfiguration: NextConfiguration
        public var stoppingRule: StoppingRule
        public init(maxScans: Int, merge: ScanMerge, claimConstruction: ClaimConstruction, claimAlpha: Double,
                    nextConfiguration: NextConfiguration = .fixed, stoppingRule: StoppingRule = .firstClaim) {
            self.maxScans = maxScans; self.merge = merge
            self.claimConstruction = claimConstruction; self.claimAlpha = claimAlpha
            self.nextConfiguration = nextConfiguration; self.stoppingRule = stoppingRule
        }
    }
}
