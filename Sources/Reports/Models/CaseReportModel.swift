/// Everything a case report shows, already computed: Reports never recomputes a figure, it only
/// lays out numbers that the Pipeline derived (and whose provenance it names). Any optional
/// section left `nil` is rendered explicitly as "not evaluated", never silently omitted.
public struct CaseReportModel: Codable, Sendable, Equatable {
    /// Version of this case's report: 1 for the run's report, +1 for each re-issue (e.g. after sign-off).
    public var reportVersion: Int
    public var caseId: String
    public var studyId: String?
    /// When the assessment was made (ISO 8601, passed in so rendering stays deterministic).
    public var assessedAt: String?
    /// SHA-256 of the previous version of this report, when this version supersedes one.
    public var supersedesReportSHA256: String?

    public var disposition: DispositionSection?
    public var prediction: PredictionSection?
    public var conformal: ConformalSection?
    public var scans: ScansSection?
    public var neighbours: NeighboursSection?
    /// `nil`: checks were not evaluated; empty: the policy defines none.
    public var checks: [CheckRow]?
    public var provenance: Provenance
    /// Empty: the report is "NOT SIGNED".
    public var signOffs: [SignOff]
    /// Free-text notes attached to the case (operator or reviewer notes).
    public var notes: [String]

    public init(
        reportVersion: Int = 1, caseId: String, studyId: String? = nil, assessedAt: String? = nil,
        supersedesReportSHA256: String? = nil, disposition: DispositionSection? = nil,
        prediction: PredictionSection? = nil, conformal: ConformalSection? = nil,
        scans: ScansSection? = nil, neighbours: NeighboursSection? = nil, checks: [CheckRow]? = nil,
        provenance: Provenance, signOffs: [SignOff] = [], notes: [String] = []
    ) {
        self.reportVersion = reportVersion
        self.caseId = caseId
        self.studyId = studyId
        self.assessedAt = assessedAt
        self.supersedesReportSHA256 = supersedesReportSHA256
        self.disposition = disposition
        self.prediction = prediction
        self.conformal = conformal
        self.scans = scans
        self.neighbours = neighbours
        self.checks = checks
        self.provenance = provenance
        self.signOffs = signOffs
        self.notes = notes
    }
}

/// The decision about what may happen with the model's answer, and why.
public struct DispositionSection: Codable, Sendable, Equatable {
    /// One of `report`, `review`, `second-review`, `escalate`, `abstain`.
    public var code: String
    /// Plain-words headline, e.g. "Needs review by one clinician".
    public var headline: String
    /// One sentence saying why, e.g. "The conformal set holds two classes."
    public var reason: String
    public var requiredReviewers: Int
    /// Ids of the checks that decided the disposition.
    public var decidingChecks: [String]

    public init(code: String, headline: String, reason: String, requiredReviewers: Int,
                decidingChecks: [String] = []) {
        self.code = code
        self.headline = headline
        self.reason = reason
        self.requiredReviewers = requiredReviewers
        self.decidingChecks = decidingChecks
    }
}

public struct ClassProbability: Codable, Sendable, Equatable {
    public var label: String
    public var probability: Double
    public init(label: String, probability: Double) {
        self.label = label
        self.probability = probability
    }
}

public struct PredictionSection: Codable, Sendable, Equatable {
    public var predictedClass: String
    /// Calibrated probability of `predictedClass`.
    public var calibratedConfidence: Double
    /// The network's own (uncalibrated) probability, when known.
    public var uncalibratedConfidence: Double?
    /// Plain words, e.g. "Of 100 cases like this, about 97 are normal."
    public var sentence: String
    /// Calibrated probability of every class, in the model's class order.
    public var classProbabilities: [ClassProbability]

    public init(predictedClass: String, calibratedConfidence: Double, uncalibratedConfidence: Double? = nil,
                sentence: String, classProbabilities: [ClassProbability] = []) {
        self.predictedClass = predictedClass
        self.calibratedConfidence = calibratedConfidence
        self.uncalibratedConfidence = uncalibratedConfidence
        self.sentence = sentence
        self.classProbabilities = classProbabilities
    }
}

/// A conformal prediction set and the guarantee it carries.
public struct ConformalSection: Codable, Sendable, Equatable {
    public var predictionSet: [String]
    /// Miscoverage level: the set contains the true class with probability at least 1 − α.
    public var alpha: Double
    /// Calibration-set size n (for class-conditional sets, the smallest class's n).
    public var calibrationSize: Int
    public var classConditional: Bool
    /// Coverage bounds of the guarantee, e.g. 1 − α and 1 − α + 1/(n+1).
    public var coverageLowerBound: Double
    public var coverageUpperBound: Double?
    /// The condition under which the guarantee holds, e.g. "calibration and test cases exchangeable".
    public var condition: String
    /// Nonconformity score, e.g. "aps", "lac".
    public var score: String?

    public init(predictionSet: [String], alpha: Double, calibrationSize: Int, classConditional: Bool,
                coverageLowerBound: Double, coverageUpperBound: Double? = nil, condition: String,
                score: String? = nil) {
        self.predictionSet = predictionSet
        self.alpha = alpha
        self.calibrationSize = calibrationSize
        self.classConditional = classConditional
        self.coverageLowerBound = coverageLowerBound
        self.coverageUpperBound = coverageUpperBound
        self.condition = condition
        self.score = score
    }
}

public struct ScanRow: Codable, Sendable, Equatable {
    /// 1-based position in the order the scans were taken.
    public var index: Int
    /// ISO 8601 time the scan was taken.
    public var takenAt: String
    /// Acquisition settings, e.g. "white light, 2.0 ms".
    public var acquisition: String
    /// Calibrated probabilities, aligned with `ScansSection.classLabels`.
    public var probabilities: [Double]
    public var outOfDistribution: Bool

    public init(index: Int, takenAt: String, acquisition: String, probabilities: [Double],
                outOfDistribution: Bool = false) {
        self.index = index
        self.takenAt = takenAt
        self.acquisition = acquisition
        self.probabilities = probabilities
        self.outOfDistribution = outOfDistribution
    }
}

/// Every scan taken for the case and the anytime-valid aggregate over all of them.
public struct ScansSection: Codable, Sendable, Equatable {
    public var classLabels: [String]
    public var scans: [ScanRow]
    /// Pooled probabilities over all scans, aligned with `classLabels`.
    public var pooledProbabilities: [Double]
    /// E-process value after each scan (same length as `scans`).
    public var eValuePath: [Double]
    /// Rejection threshold of the e-process (1/α).
    public var eValueThreshold: Double
    /// The claim and whether it is established, e.g. "Benign established at α = 0.05 (e = 31.2 ≥ 20)".
    public var claim: String
    public var claimEstablished: Bool
    /// How scans were merged, e.g. "average".
    public var merge: String?
    /// With scanner configurations: the configuration to scan under next (or why to stop), and the
    /// scans taken against the policy's configuration rule or after its stopping point.
    public var nextScan: String?
    public var configurationDeviations: String?

    public init(classLabels: [String], scans: [ScanRow], pooledProbabilities: [Double],
                eValuePath: [Double], eValueThreshold: Double, claim: String, claimEstablished: Bool,
                merge: String? = nil, nextScan: String? = nil, configurationDeviations: String? = nil) {
        self.classLabels = classLabels
        self.scans = scans
        self.pooledProbabilities = pooledProbabilities
        self.eValuePath = eValuePath
        self.eValueThreshold = eValueThreshold
        self.claim = claim
        self.claimEstablished = claimEstablished
        self.merge = merge
        self.nextScan = nextScan
        self.configurationDeviations = configurationDeviations
    }

    /// The sentence every case report carries about outcome shopping.
    public var allScansSentence: String {
        let n = scans.count
        if n == 0 { return "No scans were recorded." }
        return n == 1
            ? "1 scan was taken; the stated confidence accounts for it."
            : "\(n) scans were taken; the stated confidence accounts for all \(n)."
    }
}

public struct Neighbour: Codable, Sendable, Equatable {
    public var caseId: String
    public var distance: Double
    public var label: String
    public var verifiedBy: String
    /// ISO 8601 time of verification.
    public var verifiedAt: String
    /// The neighbour's sequence (one channel) for its sparkline.
    public var sequence: [Double]

    public init(caseId: String, distance: Double, label: String, verifiedBy: String, verifiedAt: String,
                sequence: [Double]) {
        self.caseId = caseId
        self.distance = distance
        self.label = label
        self.verifiedBy = verifiedBy
        self.verifiedAt = verifiedAt
        self.sequence = sequence
    }
}

public struct NeighboursSection: Codable, Sendable, Equatable {
    /// The query case's sequence (same channel as the neighbours') for its sparkline.
    public var querySequence: [Double]
    public var neighbours: [Neighbour]
    /// e.g. "Closer to the verified cases than 62% of them are to each other: in distribution."
    public var outOfDistributionSentence: String
    public var distanceMetric: String?
    public var credibility: Double?
    public var outOfDistributionPercentile: Double?

    public init(querySequence: [Double], neighbours: [Neighbour], outOfDistributionSentence: String,
                distanceMetric: String? = nil, credibility: Double? = nil,
                outOfDistributionPercentile: Double? = nil) {
        self.querySequence = querySequence
        self.neighbours = neighbours
        self.outOfDistributionSentence = outOfDistributionSentence
        self.distanceMetric = distanceMetric
        self.credibility = credibility
        self.outOfDistributionPercentile = outOfDistributionPercentile
    }
}

public enum CheckStatus: String, Codable, Sendable, Equatable, CaseIterable {
    case pass
    case warn
    case fail
    case notEvaluated = "not-evaluated"
}

public struct CheckRow: Codable, Sendable, Equatable {
    public var id: String
    public var status: CheckStatus
    /// The measured value, already formatted (e.g. "0.93"); `nil` when not evaluated.
    public var value: String?
    /// The policy threshold, already formatted (e.g. "≥ 0.95").
    public var threshold: String?
    /// One sentence a clinician understands.
    public var reason: String
    /// Regulatory or literature reference, e.g. "EU AI Act Art. 14(4)(b)".
    public var reference: String

    public init(id: String, status: CheckStatus, value: String? = nil, threshold: String? = nil,
                reason: String, reference: String) {
        self.id = id
        self.status = status
        self.value = value
        self.threshold = threshold
        self.reason = reason
        self.reference = reference
    }
}

/// Where every figure on a report comes from. Model id, policy and run are required; the rest
/// is shown as "not evaluated" when absent.
public struct Provenance: Codable, Sendable, Equatable {
    /// SHA-256 of the model weights.
    public var modelId: String
    public var calibrator: String?
    public var calibrationSize: Int?
    public var alpha: Double?
    public var eceBins: Int?
    public var policyName: String
    public var policySHA256: String
    public var runId: String
    /// Sequence number of the audit-log event that recorded this assessment.
    public var logSequence: Int64?
    /// Merkle root of the latest signed log checkpoint covering it (hex).
    public var checkpointRoot: String?

    public init(modelId: String, calibrator: String? = nil, calibrationSize: Int? = nil, alpha: Double? = nil,
                eceBins: Int? = nil, policyName: String, policySHA256: String, runId: String,
                logSequence: Int64? = nil, checkpointRoot: String? = nil) {
        self.modelId = modelId
        self.calibrator = calibrator
        self.calibrationSize = calibrationSize
        self.alpha = alpha
        self.eceBins = eceBins
        self.policyName = policyName
        self.policySHA256 = policySHA256
        self.runId = runId
        self.logSequence = logSequence
        self.checkpointRoot = checkpointRoot
    }
}

/// The manifestation of an electronic signature (21 CFR 11.50).
public struct SignOff: Codable, Sendable, Equatable {
    public var reviewerId: String
    public var printedName: String
    /// ISO 8601 date and time of signing.
    public var signedAt: String
    /// `review` or `approval`.
    public var meaning: String
    /// `agree` or `override`.
    public var decision: String
    /// The class the reviewer decided on (for overrides, the new class).
    public var decidedClass: String?
    public var reasonCode: String?
    public var note: String?
    /// SHA-256 of the report version that was signed.
    public var signedReportSHA256: String?

    public init(reviewerId: String, printedName: String, signedAt: String, meaning: String, decision: String,
                decidedClass: String? = nil, reasonCode: String? = nil, note: String? = nil,
                signedReportSHA256: String? = nil) {
        self.reviewerId = reviewerId
        self.printedName = printedName
        self.signedAt = signedAt
        self.meaning = meaning
        self.decision = decision
        self.decidedClass = decidedClass
        self.reasonCode = reasonCode
        self.note = note
        self.signedReportSHA256 = signedReportSHA256
    }
}
