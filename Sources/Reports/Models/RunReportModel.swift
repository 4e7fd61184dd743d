/// Everything a run report shows, already computed. Optional sections left `nil` are rendered
/// explicitly as "not evaluated".
public struct RunReportModel: Codable, Sendable, Equatable {
    public var reportVersion: Int
    public var runId: String
    public var studyId: String?
    /// Who started the run.
    public var operatorId: String?
    /// ISO 8601 start and end of the run (passed in so rendering stays deterministic).
    public var startedAt: String?
    public var finishedAt: String?
    public var caseCount: Int
    /// Provenance of the run's figures (its `runId` should equal the report's).
    public var provenance: Provenance

    public var calibration: CalibrationSummary?
    public var coverage: [ClassCoverage]?
    public var dispositions: [DispositionCount]?
    /// Cases that need a person, linked to their case reports.
    public var flaggedCases: [FlaggedCase]
    public var drift: DriftSummary?
    /// Reviewer oversight figures; `nil` until reviews exist.
    public var oversight: [ReviewerOversight]?

    public init(reportVersion: Int = 1, runId: String, studyId: String? = nil, operatorId: String? = nil,
                startedAt: String? = nil, finishedAt: String? = nil, caseCount: Int, provenance: Provenance,
                calibration: CalibrationSummary? = nil, coverage: [ClassCoverage]? = nil,
                dispositions: [DispositionCount]? = nil, flaggedCases: [FlaggedCase] = [],
                drift: DriftSummary? = nil, oversight: [ReviewerOversight]? = nil) {
        self.reportVersion = reportVersion
        self.runId = runId
        self.studyId = studyId
        self.operatorId = operatorId
        self.startedAt = startedAt
        self.finishedAt = finishedAt
        self.caseCount = caseCount
        self.provenance = provenance
        self.calibration = calibration
        self.coverage = coverage
        self.dispositions = dispositions
        self.flaggedCases = flaggedCases
        self.drift = drift
        self.oversight = oversight
    }
}

/// One bin of a reliability diagram.
public struct ReliabilityBin: Codable, Sendable, Equatable {
    public var lower: Double
    public var upper: Double
    public var meanConfidence: Double
    public var accuracy: Double
    public var count: Int
    public init(lower: Double, upper: Double, meanConfidence: Double, accuracy: Double, count: Int) {
        self.lower = lower
        self.upper = upper
        self.meanConfidence = meanConfidence
        self.accuracy = accuracy
        self.count = count
    }
}

/// An expected calibration error with the facts needed to judge it.
public struct ECESummary: Codable, Sendable, Equatable {
    public var value: Double
    public var bins: Int
    /// e.g. "equal-width", "equal-mass".
    public var binning: String
    /// Bootstrap interval and its level (e.g. 0.95).
    public var intervalLower: Double?
    public var intervalUpper: Double?
    public var intervalLevel: Double?
    /// ECE expected from a perfectly calibrated model on this many cases (sampling noise).
    public var noiseFloor: Double?
    public var sampleSize: Int

    public init(value: Double, bins: Int, binning: String, intervalLower: Double? = nil,
                intervalUpper: Double? = nil, intervalLevel: Double? = nil, noiseFloor: Double? = nil,
                sampleSize: Int) {
        self.value = value
        self.bins = bins
        self.binning = binning
        self.intervalLower = intervalLower
        self.intervalUpper = intervalUpper
        self.intervalLevel = intervalLevel
        self.noiseFloor = noiseFloor
        self.sampleSize = sampleSize
    }
}

public struct CalibrationSummary: Codable, Sendable, Equatable {
    public var calibrator: String
    public var calibrationSize: Int
    public var reliabilityBefore: [ReliabilityBin]
    public var reliabilityAfter: [ReliabilityBin]
    public var eceBefore: ECESummary
    public var eceAfter: ECESummary
    /// The model against the model-free baseline when the calibrator was fitted (one sentence), if compared.
    public var baseline: String?
    public init(calibrator: String, calibrationSize: Int, reliabilityBefore: [ReliabilityBin],
                reliabilityAfter: [ReliabilityBin], eceBefore: ECESummary, eceAfter: ECESummary, baseline: String? = nil) {
        self.baseline = baseline
        self.calibrator = calibrator
        self.calibrationSize = calibrationSize
        self.reliabilityBefore = reliabilityBefore
        self.reliabilityAfter = reliabilityAfter
        self.eceBefore = eceBefore
        self.eceAfter = eceAfter
    }
}

/// Empirical coverage of the conformal sets for one class against the target 1 − α.
public struct ClassCoverage: Codable, Sendable, Equatable {
    public var label: String
    public var target: Double
    public var empirical: Double
    /// Number of labelled cases of this class the coverage was measured on.
    public var count: Int
    public var meanSetSize: Double?
    public init(label: String, target: Double, empirical: Double, count: Int, meanSetSize: Double? = nil) {
        self.label = label
        self.target = target
        self.empirical = empirical
        self.count = count
        self.meanSetSize = meanSetSize
    }
}

public struct DispositionCount: Codable, Sendable, Equatable {
    public var disposition: String
    public var count: Int
    public init(disposition: String, count: Int) {
        self.disposition = disposition
        self.count = count
    }
}

public struct FlaggedCase: Codable, Sendable, Equatable {
    public var caseId: String
    public var disposition: String
    public var reason: String
    /// File name of the case's HTML report, relative to the run report (e.g. "cases/c-17.html").
    /// Rendered as a percent-encoded relative link; anything with a scheme or an absolute path is not linked.
    public var reportFile: String?
    public init(caseId: String, disposition: String, reason: String, reportFile: String? = nil) {
        self.caseId = caseId
        self.disposition = disposition
        self.reason = reason
        self.reportFile = reportFile
    }
}

/// The exchangeability (drift) martingale over the run's cases, in processing order.
public struct DriftSummary: Codable, Sendable, Equatable {
    public var martingalePath: [Double]
    /// Alarm threshold (e.g. 1/δ = 100).
    public var threshold: Double
    public var alarm: Bool
    public var sentence: String
    /// e.g. "conformal test martingale (simple jumper)".
    public var method: String?
    public init(martingalePath: [Double], threshold: Double, alarm: Bool, sentence: String, method: String? = nil) {
        self.martingalePath = martingalePath
        self.threshold = threshold
        self.alarm = alarm
        self.sentence = sentence
        self.method = method
    }
}

/// Oversight figures for one reviewer (automation-bias watch, EU AI Act Art. 14(4)(b)).
public struct ReviewerOversight: Codable, Sendable, Equatable {
    public var reviewerId: String
    public var printedName: String
    public var reviews: Int
    public var medianReviewSeconds: Double?
    public var agreementRate: Double?
    public var lowConfidenceAgreementRate: Double?
    public var overrideRate: Double?
    public var blindReadAgreementRate: Double?
    public var catchTrials: Int
    public var catchTrialDetectionRate: Double?
    public var flagged: Bool
    public var flagReason: String?
    public init(reviewerId: String, printedName: String, reviews: Int, medianReviewSeconds: Double? = nil,
                agreementRate: Double? = nil, lowConfidenceAgreementRate: Double? = nil,
                overrideRate: Double? = nil, blindReadAgreementRate: Double? = nil, catchTrials: Int = 0,
                catchTrialDetectionRate: Double? = nil, flagged: Bool = false, flagReason: String? = nil) {
        self.reviewerId = reviewerId
        self.printedName = printedName
        self.reviews = reviews
        self.medianReviewSeconds = medianReviewSeconds
        self.agreementRate = agreementRate
        self.lowConfidenceAgreementRate = lowConfidenceAgreementRate
        self.overrideRate = overrideRate
        self.blindReadAgreementRate = blindReadAgreementRate
        self.catchTrials = catchTrials
        self.catchTrialDetectionRate = catchTrialDetectionRate
        self.flagged = flagged
        self.flagReason = flagReason
    }
}
