import Foundation

/// Policy hooks for repeat scans (read by the Policy module): the maximum number of scans before
/// escalation, and which disagreement sends a case to review.
public struct RepeatScanPolicy: Sendable, Equatable, Codable {
    /// Level α of the anytime-valid claims.
    public var alpha: Double
    /// Maximum number of scans M before escalation; also M in the model-free threshold M/α.
    public var maxScans: Int
    /// Review when some class's per-scan probability spread (max − min) exceeds this.
    public var maxSpreadBeforeReview: Double?
    /// Review when the arg-max class flips more often than this between consecutive scans.
    public var maxClassFlipsBeforeReview: Int?
    /// Review when retrieval marks any scan out of distribution.
    public var reviewOnOutOfDistribution: Bool
    /// How the next configuration is meant to be chosen, and the pre-registered stopping rule
    /// (nil: scans name no configurations, nothing is checked).
    public var nextConfiguration: NextConfigurationRule?
    public var stoppingRule: StoppingRule?
    /// The construction whose claims decide the stopping point (nil: any construction computed).
    public var claimConstruction: EProcessConstruction?

    enum CodingKeys: String, CodingKey {
        case alpha, maxScans = "max_scans", maxSpreadBeforeReview = "max_spread_before_review"
        case maxClassFlipsBeforeReview = "max_class_flips_before_review"
        case reviewOnOutOfDistribution = "review_on_out_of_distribution"
        case nextConfiguration = "next_configuration", stoppingRule = "stopping_rule", claimConstruction = "claim_construction"
    }

    public init(alpha: Double, maxScans: Int, maxSpreadBeforeReview: Double? = 0.5,
                maxClassFlipsBeforeReview: Int? = 0, reviewOnOutOfDistribution: Bool = true) throws {
        try CaseEProcess.validate(alpha: alpha, maxScans: maxScans, prevalence: 0.5)
        self.alpha = alpha
        self.maxScans = maxScans
        self.maxSpreadBeforeReview = maxSpreadBeforeReview
        self.maxClassFlipsBeforeReview = maxClassFlipsBeforeReview
        self.reviewOnOutOfDistribution = reviewOnOutOfDistribution
    }
}

/// Everything a report needs about a case's repeat scans: every scan, the pooled probability, the
/// disagreement, the e-process against each class with its claim, and the policy flags.
public struct RepeatScanAssessment: Sendable, Equatable, Codable {
    public var caseID: String
    public var scans: [ScanObservation]
    /// Mean of calibrated per-scan probabilities (the default pooled probability).
    public var pooledMean: [Double]
    /// Pooled probability recalibrated for the number of scans, when a recalibrator was given.
    public var pooledRecalibrated: [Double]?
    public var recalibration: PooledRecalibrator.Multiplier?
    public var disagreement: ScanDisagreement
    /// One e-process per (class, construction), each tied to `caseID` and counting every scan.
    public var eProcesses: [CaseEProcess]
    public var policy: RepeatScanPolicy
    /// "N scans were taken; the stated confidence accounts for all N."
    public var sentence: String
    /// More scans than the policy maximum were taken, or the maximum was reached without any claim.
    public var escalate: Bool
    public var escalationReasons: [String]
    /// Disagreement between scans that policy sends to review.
    public var review: Bool
    public var reviewReasons: [String]
    /// With scanner configurations: each scan against the policy's configuration rule, and the next one.
    public var configurations: ConfigurationReview?

    enum CodingKeys: String, CodingKey {
        case caseID = "case_id", scans, pooledMean = "pooled_mean", pooledRecalibrated = "pooled_recalibrated"
        case recalibration, disagreement, eProcesses = "e_processes", policy, sentence, escalate
        case escalationReasons = "escalation_reasons", review, reviewReasons = "review_reasons", configurations
    }

    /// Builds the assessment. Every scan given is counted, in the order given (acquisition order).
    /// With a dependence model both constructions are computed, otherwise only the model-free one;
    /// with a calibrated claim model, the calibrated-boundary claim too. With configuration evidence
    /// (given, or the calibrated claim model's) every scan is checked against the policy's
    /// configuration rule and the next configuration is named.
    public init(caseID: String, scans: [ScanObservation], prevalences: [Double], policy: RepeatScanPolicy,
                dependenceModel: ScanDependenceModel? = nil, recalibrator: PooledRecalibrator? = nil,
                calibratedClaims: CalibratedClaimModel? = nil, configurationEvidence: ScanConfigurationEvidence? = nil) throws {
        guard !scans.isEmpty else { throw RepeatScanError.noScans(caseID: caseID) }
        try ScanDependenceModel.validatePrevalences(prevalences)
        for s in scans { try s.validate(classCount: prevalences.count) }
        self.caseID = caseID
        self.scans = scans
        self.policy = policy
        pooledMean = try ScanPooling.meanProbabilities(scans)
        if let r = recalibrator {
            pooledRecalibrated = try r.pooledProbabilities(scans.map(\.probabilities))
            recalibration = r.multiplier(forScanCount: scans.count)
        }
        disagreement = try ScanDisagreement(scans: scans)
        var processes: [CaseEProcess] = []
        var uncalibratedScan: (String, String?)?
        for j in 0..<prevalences.count {
            if let model = dependenceModel?.model(against: j) {
                var e = try CaseEProcess(caseID: caseID, model: model, prevalence: prevalences[j],
                                         alpha: policy.alpha, maxScans: policy.maxScans)
                for s in scans { try e.record(s) }
                processes.append(e)
            }
            var e = try CaseEProcess(caseID: caseID, rival: j, prevalence: prevalences[j],
                                     alpha: policy.alpha, maxScans: policy.maxScans)
            for s in scans { try e.record(s) }
            processes.append(e)
            if let c = calibratedClaims?.rival(j) {
                var e = try CaseEProcess(caseID: caseID, model: c.model, boundary: c.boundary, prevalence: prevalences[j],
                                         alpha: policy.alpha, maxScans: policy.maxScans,
                                         standardisation: calibratedClaims?.configurations?.standardisation(rival: j))
                do {
                    for s in scans { try e.record(s) }
                    processes.append(e)
                } catch let RepeatScanError.unknownConfiguration(scanID, configuration, _) {
                    // The claim cannot standardise this scan; it is not made, and the case goes to review.
                    uncalibratedScan = uncalibratedScan ?? (scanID, configuration)
                }
            }
        }
        eProcesses = processes
        sentence = scansAccountedSentence(scans.count)

        var esc: [String] = []
        if scans.count > policy.maxScans {
            esc.append("\(scans.count) scans exceed the policy maximum of \(policy.maxScans)")
        } else if scans.count == policy.maxScans, !processes.contains(where: { $0.claim.isEstablished }) {
            esc.append("the policy maximum of \(policy.maxScans) scans was reached without any claim")
        }
        escalationReasons = esc
        escalate = !esc.isEmpty

        var rev: [String] = []
        if let limit = policy.maxSpreadBeforeReview, disagreement.maximumSpread > limit {
            rev.append("per-scan probabilities spread by \(String(format: "%.3f", disagreement.maximumSpread)), above \(limit)")
        }
        if let limit = policy.maxClassFlipsBeforeReview, disagreement.classFlips > limit {
            rev.append("the top class flipped \(disagreement.classFlips) times between scans, above \(limit)")
        }
        if policy.reviewOnOutOfDistribution, !disagreement.outOfDistributionScans.isEmpty {
            rev.append("scans \(disagreement.outOfDistributionScans.map { String($0 + 1) }.joined(separator: ", ")) were marked out of distribution")
        }
        if let (scanID, configuration) = uncalibratedScan {
            rev.append("scan \(scanID) " + (configuration.map { "was taken under scanner configuration \"\($0)\", which the calibration split has no evidence for" }
                ?? "names no scanner configuration") + ": the calibrated claim is not evaluated")
        }
        reviewReasons = rev
        review = !rev.isEmpty

        if let evidence = configurationEvidence ?? calibratedClaims?.configurations {
            let deciding = processes.filter { policy.claimConstruction == nil || $0.construction == policy.claimConstruction }
            configurations = ConfigurationReview(
                scans: scans, evidence: evidence, rule: policy.nextConfiguration ?? .fixed, stoppingRule: policy.stoppingRule ?? .firstClaim,
                maxScans: policy.maxScans, stopAt: deciding.compactMap(\.firstCrossing).min())
        }
    }

    /// The e-process against class `j` with the given construction, if computed.
    public func eProcess(against j: Int, construction: EProcessConstruction) -> CaseEProcess? {
        eProcesses.first { $0.rival == j && $0.construction == construction }
    }
}
