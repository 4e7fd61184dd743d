import AuditLog
import Calibration
import CaseStore
import Crypto
import Digests
import Foundation
import Policy
import Recurrent
import RepeatScan
import Reports
import Retrieval

/// Assesses one case through every stage that exists — model, calibration and conformal set,
/// retrieval, repeat scans — applies the policy, and renders the case's reports. Deterministic for a
/// given store and run position: seeds come from the case id, and the drift monitor is replayed from
/// the run's stored assessments when a run resumes.
public final class EvidenceAssessor: CaseAssessor {
    public let context: RunContext
    let renderer: ReportRenderer
    /// Conformal test martingale over the true-label p-values of verified cases in run order.
    var drift: ConformalTestMartingale?
    /// First-channel sequences of reference scans shown as neighbours (see `referenceSequence`).
    var sequenceCache: [String: [Double]] = [:]
    public static let driftDelta = 0.01

    public init(context: RunContext, renderer: ReportRenderer) throws {
        self.context = context
        self.renderer = renderer
        if context.calibration != nil {
            drift = try ConformalTestMartingale(betting: .standardMixture, delta: Self.driftDelta)
        }
    }

    /// Replays the drift monitor from assessments already stored for this run (resume).
    public func resume(from stored: [AssessmentRecord]) throws {
        for record in stored {
            if let p = try AssessmentSummary.decode(record.assessment).details.drift?.trueLabelPValue {
                try drift?.observe(pValue: p)
            }
        }
    }

    public var driftPath: [Double] { drift?.path ?? [] }
    public var driftAlarm: Bool { drift?.alarmRaised ?? false }

    public func assess(_ db: StoreReader, caseRecord: CaseRecord, position: Int, runId: String) throws -> CaseOutcome {
        try assess(db, caseRecord: caseRecord, position: position, runId: runId, feedsDriftMonitor: true)
    }

    public func prepare(_ db: StoreReader, caseRecord: CaseRecord, position: Int, runId: String, logSequence: Int) throws -> PreparedOutcome {
        try prepare(db, caseRecord: caseRecord, position: position, runId: runId, feedsDriftMonitor: true, logSequence: logSequence)
    }

    /// `feedsDriftMonitor` is false for catch trials: they are not part of the deployment stream.
    func assess(_ db: StoreReader, caseRecord: CaseRecord, position: Int, runId: String, feedsDriftMonitor: Bool) throws -> CaseOutcome {
        try prepare(db, caseRecord: caseRecord, position: position, runId: runId, feedsDriftMonitor: feedsDriftMonitor,
                    logSequence: try AuditLog.treeSize(db)).finish()
    }

    func prepare(_ db: StoreReader, caseRecord: CaseRecord, position: Int, runId: String, feedsDriftMonitor: Bool,
                 logSequence: Int) throws -> PreparedOutcome {
        let prepared = try prepareCase(db, caseRecord: caseRecord, position: position, runId: runId,
                                       feedsDriftMonitor: feedsDriftMonitor, logSequence: logSequence)
        let renderer = self.renderer
        return PreparedOutcome { try prepared.finish(with: renderer) }
    }

    /// A case assessed but not yet rendered or encoded.
    struct PreparedCase {
        var caseId: String
        var assessment: Assessment
        var report: CaseReportModel
        var inputs: [String: String]

        /// The assessment as stored: with the report model it is rendered from.
        func storedAssessment() throws -> Assessment {
            var stored = assessment
            stored.details["report_model"] = try JSONValue(encoding: report)
            return stored
        }

        /// The pure rest of the work: the reports rendered and the stored assessment encoded.
        func finish(with renderer: ReportRenderer) throws -> CaseOutcome {
            let (html, xml) = try CaseReportRendering.render(report, with: renderer)
            return CaseOutcome(caseId: caseId, disposition: assessment.disposition.kind.rawValue,
                               assessmentJSON: try storedAssessment().canonicalJSON(), html: html, xml: xml,
                               decidingChecks: assessment.disposition.decidedBy.map(\.rawValue), inputHashes: inputs)
        }
    }

    /// The sequential part of assessing a case: every stage and the policy; no rendering or encoding.
    func prepareCase(_ db: StoreReader, caseRecord: CaseRecord, position: Int, runId: String, feedsDriftMonitor: Bool,
                     logSequence: Int) throws -> PreparedCase {
        let scans = try CaseStore.scans(db, caseId: caseRecord.id)
        let policy = context.policy
        var evidence = CaseEvidence(scanCount: scans.count)
        var details: [String: JSONValue] = [:]
        var notes = context.notes
        var report = CaseReportModel(caseId: caseRecord.id, studyId: caseRecord.study,
                                     provenance: Provenance(modelId: context.model?.id ?? "not evaluated",
                                                            policyName: policy.name, policySHA256: policy.sha256, runId: runId))
        evidence.logVerification = context.logVerified.map { $0 ? .verified : .failed }
        evidence.driftAlarm = drift.map { $0.alarmRaised }
        if let cal = context.calibration {
            evidence.calibratorPresent = true
            evidence.calibratorFittedForModel = cal.record.modelId == context.model?.id
            evidence.calibrationAgeDays = cal.ageDays
            evidence.baseline = cal.baseline.map {
                BaselineEvidence(modelBetter: $0.modelBetter,
                                 measured: String(format: "accuracy %.3f vs %.3f, NLL %.3f vs %.3f (n = %d)", $0.modelAccuracy.value,
                                                  $0.baselineAccuracy.value, $0.modelNLL.value, $0.baselineNLL.value, $0.n),
                                 detail: $0.sentence)
            }
        } else if context.model != nil {
            evidence.calibratorPresent = false
        }
        let seed = Self.seed(runId: runId, caseId: caseRecord.id)
        var inputs = ["scans_sha256": Self.scansHash(scans), "policy_sha256": policy.sha256]
        if let m = context.model { inputs["model_id"] = m.id }
        if let c = context.calibration { inputs["calibrator"] = c.label; inputs["calibration_sha256"] = c.record.calibrationSha256 }

        if let model = context.model, !scans.isEmpty {
            let classes = model.classifier.classes
            evidence.studyClasses = classes
            if let bad = scans.first(where: \.hasMissing) {
                notes.append("scan \(bad.scanIndex + 1) has missing values; the model cannot read it, so no model output is reported for this case")
            } else {
                let output = try model.classifier.evaluate(scans.map(\.values))
                let logits = output.logits.map { $0.map(Double.init) }
                let rawFirst = Softmax.probabilities(logits: [logits[0]])[0]
                // Every scan's neighbours in one batched search: scan 1's are the case's evidence, and the
                // k-th distances of all of them mark out-of-distribution scans.
                let found = try context.retrieval.map { r in
                    try r.index.search(output.embeddings.map { SearchQuery(vector: $0, caseID: caseRecord.id, subject: caseRecord.subject,
                                                                           study: caseRecord.study) }, options: r.options)
                }
                if let cal = context.calibration {
                    let perScan = try cal.calibrator.calibratedProbabilities(logits: logits)
                    let scanOOD = context.retrieval.flatMap { r in found.map { Self.outOfDistributionMarks($0, r, policy) } }
                    let pooled = try assessRepeatScans(caseRecord, scans, perScan, scanOOD, classes: classes,
                                                       evidence: &evidence, report: &report, details: &details, notes: &notes)
                    let predicted = pooled.indices.max { pooled[$0] < pooled[$1] } ?? 0
                    evidence.predictedClass = classes[predicted]
                    evidence.calibratedConfidence = pooled[predicted]
                    report.prediction = PredictionSection(
                        predictedClass: classes[predicted], calibratedConfidence: pooled[predicted],
                        uncalibratedConfidence: scans.count == 1 ? rawFirst[predicted] : nil,
                        sentence: Self.predictionSentence(cal.label, calibrationCount: cal.record.calibrationN, scans: scans.count,
                                                          merge: report.scans?.merge ?? "mean of calibrated probabilities"),
                        classProbabilities: zip(classes, pooled).map { ClassProbability(label: $0, probability: $1) })
                    try conformal(cal, firstScan: perScan[0], classes: classes, seed: seed, caseRecord: caseRecord,
                                  feedsDriftMonitor: feedsDriftMonitor, evidence: &evidence, report: &report, details: &details)
                } else {
                    let predicted = rawFirst.indices.max { rawFirst[$0] < rawFirst[$1] } ?? 0
                    evidence.predictedClass = classes[predicted]
                    notes.append("confidence shown uncalibrated: no calibrator is fitted for this model")
                }
                if let r = context.retrieval, let found {
                    try neighbours(db, r, found: found[0], firstScan: scans[0],
                                   predicted: evidence.predictedClass, evidence: &evidence, report: &report, details: &details)
                }
            }
        } else if scans.isEmpty {
            notes.append("the case has no scans")
        }

        let assessment = Assessment(caseId: caseRecord.id, runId: runId, study: caseRecord.study, evidence: evidence,
                                    policy: policy, provenance: provenance(), details: details)
        report.disposition = DispositionSection(code: assessment.disposition.kind.rawValue,
                                                headline: Self.headline(assessment.disposition),
                                                reason: assessment.disposition.summary,
                                                requiredReviewers: assessment.disposition.reviewersRequired,
                                                decidingChecks: assessment.disposition.decidedBy.map(\.rawValue))
        report.checks = assessment.checks.map(Self.row)
        report.provenance = reportProvenance(db, runId: runId, logSequence: logSequence)
        report.notes = notes
        return PreparedCase(caseId: caseRecord.id, assessment: assessment, report: report, inputs: inputs)
    }

    // MARK: stages

    /// Pools every scan, computes disagreement and the e-processes, fills the claims. Returns the
    /// probabilities the case is judged on (pooled recalibration when the policy asks and it exists).
    func assessRepeatScans(_ c: CaseRecord, _ scans: [ScanRecord], _ perScan: [[Double]], _ ood: [Bool]?, classes: [String],
                           evidence: inout CaseEvidence, report: inout CaseReportModel,
                           details: inout [String: JSONValue], notes: inout [String]) throws -> [Double] {
        let policy = context.policy
        guard let rs = context.repeatScans else {
            notes.append("repeat-scan claims not evaluated: class prevalences are unknown")
            return try ScanPooling.meanProbabilities(perScan.enumerated().map { ScanObservation(scanID: "\(c.id)#\($0.offset)", probabilities: $0.element) })
        }
        let observations = zip(scans, perScan).enumerated().map { i, pair in
            ScanObservation(scanID: "\(c.id)#\(pair.0.scanIndex)", acquiredAt: pair.0.acquiredAt,
                            acquisition: pair.0.acquisition.isEmpty ? nil : pair.0.acquisition,
                            probabilities: pair.1, outOfDistribution: ood?[i])
        }
        let (wanted, constructionNote) = rs.construction(for: policy.repeatScans)
        if let constructionNote { notes.append(constructionNote) }
        let rsPolicy = try rs.scanPolicy(policy.repeatScans, reviewOnOutOfDistribution: ood != nil)
        let a = try RepeatScanAssessment(caseID: c.id, scans: observations, prevalences: rs.prevalences, policy: rsPolicy,
                                         dependenceModel: rs.dependence, recalibrator: rs.recalibrator,
                                         calibratedClaims: rs.calibratedClaims, configurationEvidence: rs.configurations)
        if wanted == .calibratedBoundary, rs.configurations != nil, rs.calibratedClaims?.configurations == nil {
            notes.append("the calibrated-boundary claim pools the scans as they are: its configuration standardisation could not be fitted")
        }
        let useRecalibrated = policy.repeatScans.merge == .pooledRecalibration && a.pooledRecalibrated != nil
        if policy.repeatScans.merge == .pooledRecalibration && a.pooledRecalibrated == nil {
            notes.append("pooled recalibration is not available; the mean of calibrated probabilities is used")
        }
        let pooled = useRecalibrated ? a.pooledRecalibrated! : a.pooledMean
        let predicted = pooled.indices.max { pooled[$0] < pooled[$1] } ?? 0
        var claims: [ClaimEvidence] = []
        var shown: CaseEProcess?
        for j in classes.indices where j != predicted {
            guard let e = a.eProcess(against: j, construction: wanted) else { continue }
            // A calibrated-boundary claim has no e-value: its statistic and boundary are in the claim text.
            claims.append(ClaimEvidence(againstClass: classes[j], established: e.claim.isEstablished,
                                        eValue: e.construction == .calibratedBoundary ? nil : e.value,
                                        threshold: e.construction == .calibratedBoundary ? nil : e.threshold))
            // Show the path against the most dangerous rival (the first dangerous class), else the first rival.
            if shown == nil || (policy.dangerousClasses.contains(classes[j]) && !policy.dangerousClasses.contains(classes[shown!.rival])) {
                shown = e
            }
        }
        evidence.claims = claims
        let disagreeing = a.review || a.disagreement.classFlips > 0
        evidence.scanDisagreement = ScanDisagreementEvidence(
            disagree: disagreeing,
            detail: disagreeing ? (a.reviewReasons + (a.disagreement.classFlips > 0 ? ["the top class changed \(a.disagreement.classFlips) time(s) between scans"] : [])).joined(separator: "; ")
                                : "all \(scans.count) scans agree")
        let claimText: String
        if let e = shown, e.construction == .calibratedBoundary {
            claimText = e.claim.isEstablished
                ? String(format: "Not %@, at level α = %g (calibrated boundary: standardised evidence %.3g ≥ %.3g after %d of at most %d scans).",
                         classes[e.rival], e.alpha, e.value, e.threshold, e.scanCount, e.maxScans)
                : String(format: "Not %@: not established at level α = %g (calibrated boundary: standardised evidence %.3g < %.3g after %d of at most %d scans).",
                         classes[e.rival], e.alpha, e.value, e.threshold, e.scanCount, e.maxScans)
        } else if let e = shown {
            claimText = e.claim.isEstablished
                ? String(format: "Not %@, at level α = %g (%@ e-process reached %.3g ≥ %.3g).", classes[e.rival], e.alpha, e.construction.rawValue, e.value, e.threshold)
                : String(format: "Not %@: not established at level α = %g (%@ e-process %.3g < %.3g).", classes[e.rival], e.alpha, e.construction.rawValue, e.value, e.threshold)
        } else {
            claimText = "No rival class to test."
        }
        report.scans = ScansSection(
            classLabels: classes,
            scans: zip(scans, perScan).enumerated().map { i, pair in
                ScanRow(index: pair.0.scanIndex + 1, takenAt: pair.0.acquiredAt ?? "not recorded",
                        acquisition: pair.0.acquisition, probabilities: pair.1, outOfDistribution: ood?[i] ?? false)
            },
            // The chart draws e-values on a log scale; a calibrated-boundary claim's statistic is not one.
            pooledProbabilities: pooled, eValuePath: shown?.construction == .calibratedBoundary ? [] : (shown?.path ?? []),
            eValueThreshold: shown?.construction == .calibratedBoundary ? 1 / rsPolicy.alpha : (shown?.threshold ?? 1 / rsPolicy.alpha),
            claim: claimText, claimEstablished: shown?.claim.isEstablished ?? false,
            merge: useRecalibrated ? "pooled recalibration (design effect)" : "mean of calibrated probabilities",
            nextScan: a.configurations?.nextSentence, configurationDeviations: a.configurations?.deviationSentence)
        details["repeat_scans"] = try JSONValue(encoding: a)
        return pooled
    }

    func conformal(_ cal: RunContext.LoadedCalibration, firstScan: [Double], classes: [String], seed: UInt64, caseRecord: CaseRecord,
                   feedsDriftMonitor: Bool, evidence: inout CaseEvidence, report: inout CaseReportModel, details: inout [String: JSONValue]) throws {
        let p = cal.predictor
        let set = try p.predictionSets(probabilities: [firstScan], uniforms: .seeded(seed))[0]
        let n = p.classConditional ? (p.classCalibrationCounts.min() ?? 0) : p.calibrationCount
        evidence.conformalSet = ConformalSetEvidence(classes: set.map { classes[$0] }, alpha: p.alpha,
                                                     calibrationCount: n, classConditional: p.classConditional)
        let pValues = try p.pValues(probabilities: [firstScan], uniforms: .seeded(seed))[0]
        let upper = p.guarantees.map(\.upperBound).max()
        report.conformal = ConformalSection(
            predictionSet: set.map { classes[$0] }, alpha: p.alpha, calibrationSize: n, classConditional: p.classConditional,
            coverageLowerBound: 1 - p.alpha, coverageUpperBound: upper,
            condition: CoverageGuarantee.condition(of: p.guarantees, classNames: classes),
            score: p.score.name)
        var drift: [String: JSONValue] = [:]
        if feedsDriftMonitor, caseRecord.isVerified, let label = caseRecord.label, let y = classes.firstIndex(of: label) {
            try self.drift?.observe(pValue: pValues[y])
            drift["true_label_p_value"] = .number(pValues[y])
            drift["true_label"] = .string(label)
            drift["martingale"] = .number(self.drift?.value ?? 1)
        }
        details["conformal"] = .object([
            "p_values": .object(Dictionary(uniqueKeysWithValues: zip(classes, pValues.map(JSONValue.number)))),
            "scan": .number(1), "seed": .string(String(seed)),
        ])
        if !drift.isEmpty { details["drift"] = .object(drift) }
    }

    func neighbours(_ db: StoreReader, _ r: RunContext.RetrievalContext, found: [Retrieval.Neighbour], firstScan: ScanRecord,
                    predicted: String?, evidence: inout CaseEvidence, report: inout CaseReportModel,
                    details: inout [String: JSONValue]) throws {
        let ev = r.calibration.evidence(neighbours: found)
        evidence.credibility = predicted.flatMap { ev.pValues[$0] } ?? ev.credibility
        evidence.oodPercentile = ev.oodPercentile
        var rows: [Reports.Neighbour] = []
        for n in found {
            rows.append(Reports.Neighbour(caseId: n.metadata.caseID, distance: n.distance, label: n.metadata.label ?? "",
                                          verifiedBy: n.metadata.verifiedBy ?? "", verifiedAt: n.metadata.verifiedAt ?? "",
                                          sequence: try referenceSequence(db, caseId: n.metadata.caseID, scan: n.metadata.scanIndex)))
        }
        report.neighbours = NeighboursSection(querySequence: Self.firstChannel(firstScan), neighbours: rows,
                                              outOfDistributionSentence: ev.oodSentence, distanceMetric: r.options.metric.rawValue,
                                              credibility: evidence.credibility, outOfDistributionPercentile: ev.oodPercentile)
        details["neighbours"] = .object([
            "k": .number(Double(ev.k)), "metric": .string(ev.metric.rawValue),
            "calibration_n": .number(Double(ev.calibrationCount)),
            "credibility": .number(evidence.credibility ?? ev.credibility), "confidence": .number(ev.confidence),
            "ood_percentile": .number(ev.oodPercentile), "kth_distance": .number(ev.kthDistance.isFinite ? ev.kthDistance : -1),
            "vote": .object(ev.vote.mapValues { .number(Double($0)) }),
            "cases": .array(found.map { .object(["case_id": .string($0.metadata.caseID), "scan": .number(Double($0.metadata.scanIndex)),
                                                 "distance": .number($0.distance), "label": .string($0.metadata.label ?? "")]) }),
        ])
    }

    // MARK: helpers

    /// Per-scan out-of-distribution marks: the scan's k-th-neighbour distance is beyond the policy's
    /// `max_ood_percentile` of calibration cases (a motion-artefact scan stands out).
    static func outOfDistributionMarks(_ results: [[Retrieval.Neighbour]], _ r: RunContext.RetrievalContext,
                                       _ policy: AuditPolicy) -> [Bool] {
        results.map { n in
            guard let d = n.last?.distance else { return true }
            return r.calibration.outOfDistributionPercentile(kthDistance: d) > policy.reportWithoutReview.maxOODPercentile
        }
    }

    /// A reference scan's first channel for its sparkline; reference scans recur across cases, so they
    /// are read from the store once per run.
    func referenceSequence(_ db: StoreReader, caseId: String, scan: Int) throws -> [Double] {
        let key = "\(caseId)\u{0}\(scan)"
        if let cached = sequenceCache[key] { return cached }
        let sequence = try CaseStore.scans(db, caseId: caseId).first { $0.scanIndex == scan }.map(Self.firstChannel) ?? []
        sequenceCache[key] = sequence
        return sequence
    }

    func provenance() -> AssessmentProvenance {
        AssessmentProvenance(modelId: context.model?.id, calibrator: context.calibration?.label,
                             calibrationCount: context.calibration?.record.calibrationN,
                             alpha: context.calibration?.predictor.alpha, eceBins: Self.eceBins)
    }

    /// The log position the case's own event will take, and the newest checkpoint root.
    func reportProvenance(_ db: StoreReader, runId: String, logSequence: Int) -> Provenance {
        let seq = Int64(logSequence)
        let root = ((try? AuditLog.latestCheckpoint(db)) ?? nil).map { ContentHash.hex($0.rootHash) }
        return Provenance(modelId: context.model?.id ?? "not evaluated", calibrator: context.calibration?.label,
                          calibrationSize: context.calibration?.record.calibrationN, alpha: context.calibration?.predictor.alpha,
                          eceBins: Self.eceBins, policyName: context.policy.name, policySHA256: context.policy.sha256,
                          runId: runId, logSequence: seq, checkpointRoot: root)
    }

    static let eceBins = 15

    static func row(_ c: Check) -> CheckRow {
        CheckRow(id: c.id.rawValue, status: Reports.CheckStatus(rawValue: c.status.rawValue) ?? .notEvaluated,
                 value: c.measured, threshold: c.threshold, reason: c.reason, reference: c.reference)
    }

    static func headline(_ d: Disposition) -> String {
        switch d.kind {
        case .report: return "Reported without review — every check passed"
        case .review: return d.reviewersRequired > 1 ? "Needs review by \(d.reviewersRequired) clinicians" : "Needs review by one clinician"
        case .secondReview: return "Needs review by two clinicians"
        case .escalate: return "Escalated — a senior clinician must decide"
        case .abstain: return "Abstained — the system gives no answer for this case"
        }
    }

    /// Where the confidence comes from (the report states the class and number itself).
    static func predictionSentence(_ calibrator: String, calibrationCount: Int, scans: Int, merge: String) -> String {
        let pooled = scans == 1 ? "from the single scan" : "pooled over all \(scans) scans (\(merge))"
        return "Calibrated by \(calibrator), fitted on \(calibrationCount) verified calibration cases; \(pooled)."
    }

    static func firstChannel(_ scan: ScanRecord) -> [Double] {
        let v = scan.values
        return stride(from: 0, to: v.count, by: max(scan.channels, 1)).map { Double(v[$0]) }
    }

    /// Seed for the case's randomised choices: a hash of run and case, so a resume draws the same.
    static func seed(runId: String, caseId: String) -> UInt64 {
        SHA256.hash(data: Data("\(runId)\u{0}\(caseId)".utf8)).prefix(8).reduce(UInt64(0)) { ($0 << 8) | UInt64($1) }
    }

    static func scansHash(_ scans: [ScanRecord]) -> String {
        var h = ContentHash.Hasher()
        for s in scans {
            h.update(Data("\(s.caseId)\u{0}\(s.scanIndex)\u{0}\(s.length)\u{0}\(s.channels)\u{0}".utf8))
            h.update(s.valuesBlob)
        }
        return h.finalize()
    }
}

