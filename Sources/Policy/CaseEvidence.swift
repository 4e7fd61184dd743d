import Foundation

/// What the pipeline stages found for one case — the plain input to `AuditPolicy.evaluate`.
///
/// Every field is optional: `nil` means the stage did not run (or does not exist yet). A check
/// over a `nil` field is `notEvaluated`, never a pass, and a `notEvaluated` check always keeps the
/// case from being reported without review.
public struct CaseEvidence: Codable, Equatable, Sendable {
    /// The study's class labels (the model's classes). Class-specific rules (dangerous classes,
    /// second reviewer) apply only to classes the model can answer; nil means unknown, in which
    /// case every class the policy names is assumed possible.
    public var studyClasses: [String]?
    /// The model's answer (class label).
    public var predictedClass: String?
    /// Calibrated probability of `predictedClass`, in [0, 1].
    public var calibratedConfidence: Double?
    /// The conformal prediction set and the settings it was computed with.
    public var conformalSet: ConformalSetEvidence?
    /// Conformal credibility of the answer (its p-value, or the neighbour-based credibility), in [0, 1].
    public var credibility: Double?
    /// Percentile (0–100) of the case's out-of-distribution score among calibration cases.
    public var oodPercentile: Double?
    /// Number of scans of this case in the store (every scan ever taken).
    public var scanCount: Int?
    /// Whether the scans disagree (class flips, spread), with a sentence saying how.
    public var scanDisagreement: ScanDisagreementEvidence?
    /// Anytime-valid "not class j" claims, one per rival class tested.
    public var claims: [ClaimEvidence]?
    /// Exchangeability / drift monitor state for the deployment stream.
    public var driftAlarm: Bool?
    /// A calibrator exists for the model used.
    public var calibratorPresent: Bool?
    /// The calibrator was fitted on this model's outputs (model id matches).
    public var calibratorFittedForModel: Bool?
    /// Days since the calibrator was fitted.
    public var calibrationAgeDays: Double?
    /// Result of verifying the audit log before the run.
    public var logVerification: LogVerificationState?
    /// The model against the model-free baseline, as measured when its calibrator was fitted.
    public var baseline: BaselineEvidence?

    public init(studyClasses: [String]? = nil, predictedClass: String? = nil, calibratedConfidence: Double? = nil,
                conformalSet: ConformalSetEvidence? = nil, credibility: Double? = nil,
                oodPercentile: Double? = nil, scanCount: Int? = nil,
                scanDisagreement: ScanDisagreementEvidence? = nil, claims: [ClaimEvidence]? = nil,
                driftAlarm: Bool? = nil, calibratorPresent: Bool? = nil, calibratorFittedForModel: Bool? = nil,
                calibrationAgeDays: Double? = nil, logVerification: LogVerificationState? = nil, baseline: BaselineEvidence? = nil) {
        self.baseline = baseline
        self.studyClasses = studyClasses
        self.predictedClass = predictedClass; self.calibratedConfidence = calibratedConfidence
        self.conformalSet = conformalSet; self.credibility = credibility; self.oodPercentile = oodPercentile
        self.scanCount = scanCount; self.scanDisagreement = scanDisagreement; self.claims = claims
        self.driftAlarm = driftAlarm; self.calibratorPresent = calibratorPresent
        self.calibratorFittedForModel = calibratorFittedForModel; self.calibrationAgeDays = calibrationAgeDays
        self.logVerification = logVerification
    }

    enum CodingKeys: String, CodingKey {
        case studyClasses = "study_classes", predictedClass = "predicted_class", calibratedConfidence = "calibrated_confidence"
        case conformalSet = "conformal_set", credibility, oodPercentile = "ood_percentile"
        case scanCount = "scan_count", scanDisagreement = "scan_disagreement", claims
        case driftAlarm = "drift_alarm", calibratorPresent = "calibrator_present"
        case calibratorFittedForModel = "calibrator_fitted_for_model", calibrationAgeDays = "calibration_age_days"
        case logVerification = "log_verification", baseline
    }
}

/// Whether the model beat the model-free baseline on the calibrator's evaluation cases.
public struct BaselineEvidence: Codable, Equatable, Sendable {
    public var modelBetter: Bool
    /// Short figures, e.g. "accuracy 0.77 vs 0.79, NLL 0.44 vs 0.46 (n = 105)".
    public var measured: String
    /// The full sentence with intervals.
    public var detail: String
    public init(modelBetter: Bool, measured: String, detail: String) {
        self.modelBetter = modelBetter; self.measured = measured; self.detail = detail
    }
    enum CodingKeys: String, CodingKey { case modelBetter = "model_better", measured, detail }
}

extension CaseEvidence {
    /// This evidence with every measurement outside its domain removed (set to nil, i.e. not
    /// evaluated): probabilities and credibility outside [0, 1], percentiles outside [0, 100],
    /// non-finite numbers, negative counts and ages, a set whose α is outside (0, 1).
    public var validMeasurements: CaseEvidence {
        func unit(_ x: Double?) -> Double? { x.flatMap { $0.isFinite && $0 >= 0 && $0 <= 1 ? $0 : nil } }
        var clean = self
        clean.calibratedConfidence = unit(calibratedConfidence)
        clean.credibility = unit(credibility)
        clean.oodPercentile = oodPercentile.flatMap { $0.isFinite && $0 >= 0 && $0 <= 100 ? $0 : nil }
        clean.calibrationAgeDays = calibrationAgeDays.flatMap { $0.isFinite && $0 >= 0 ? $0 : nil }
        clean.scanCount = scanCount.flatMap { $0 >= 0 ? $0 : nil }
        if let set = conformalSet, !(set.alpha.isFinite && set.alpha > 0 && set.alpha < 1 && set.calibrationCount >= 0) {
            clean.conformalSet = nil
        }
        return clean
    }
}

/// A conformal prediction set with the settings that give its guarantee meaning.
public struct ConformalSetEvidence: Codable, Equatable, Sendable {
    /// Class labels in the set, in the study's class order.
    public var classes: [String]
    /// Miscoverage level the set was computed at.
    public var alpha: Double
    /// Calibration-set size n (per class when class-conditional: the smallest class's n).
    public var calibrationCount: Int
    public var classConditional: Bool

    public init(classes: [String], alpha: Double, calibrationCount: Int, classConditional: Bool) {
        self.classes = classes; self.alpha = alpha
        self.calibrationCount = calibrationCount; self.classConditional = classConditional
    }

    enum CodingKeys: String, CodingKey {
        case classes, alpha, calibrationCount = "calibration_count", classConditional = "class_conditional"
    }
}

public struct ScanDisagreementEvidence: Codable, Equatable, Sendable {
    public var disagree: Bool
    /// E.g. "scan 3 of 4 says malignant (0.71); the others say benign".
    public var detail: String

    public init(disagree: Bool, detail: String) {
        self.disagree = disagree; self.detail = detail
    }
}

/// One anytime-valid claim "not `againstClass`", from the case's e-process over all its scans.
public struct ClaimEvidence: Codable, Equatable, Sendable {
    public var againstClass: String
    public var established: Bool
    /// Current value of the e-process (optional detail for the reason sentence).
    public var eValue: Double?
    /// Threshold it has to reach (1/α, or M/α for the model-free construction).
    public var threshold: Double?

    public init(againstClass: String, established: Bool, eValue: Double? = nil, threshold: Double? = nil) {
        self.againstClass = againstClass; self.established = established
        self.eValue = eValue; self.threshold = threshold
    }

    enum CodingKeys: String, CodingKey {
        case againstClass = "against_class", established, eValue = "e_value", threshold
    }
}

public enum LogVerificationState: String, Codable, Equatable, Sendable {
    case verified
    case failed
}
