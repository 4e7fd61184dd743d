import CaseStore
import Foundation
import Policy
import Reports

/// Builds the run-level report model from the stored run, its assessments and the calibrator's stored
/// figures. Only times stored with the run appear, so a resumed run renders the same report.
public enum RunReportBuilder {
    public static func model(_ db: StoreReader, run: RunRecord, assessments: [AssessmentRecord], context: RunContext,
                             driftPath: [Double], driftAlarm: Bool, oversight: [Reports.ReviewerOversight]? = nil) throws -> RunReportModel {
        let decoded = try assessments.map { try AssessmentSummary.decode($0.assessment) }
        let counts = Dictionary(grouping: decoded, by: { $0.disposition.kind }).mapValues(\.count)
        let dispositions = Disposition.Kind.allCases.compactMap { k in counts[k].map { DispositionCount(disposition: k.rawValue, count: $0) } }
        let flagged = decoded.filter { $0.disposition.kind != .report }.map {
            FlaggedCase(caseId: $0.caseId, disposition: $0.disposition.kind.rawValue, reason: $0.disposition.summary,
                        reportFile: ReportFileName.relativePath(caseId: $0.caseId, version: 1, format: "html"))
        }
        var provenance = Provenance(modelId: run.modelId ?? "not evaluated", calibrator: context.calibration?.label,
                                    calibrationSize: context.calibration?.record.calibrationN,
                                    alpha: context.calibration?.predictor.alpha, eceBins: EvidenceAssessor.eceBins,
                                    policyName: run.policyName, policySHA256: run.policySha256, runId: run.id)
        provenance.logSequence = nil
        var drift: DriftSummary?
        if context.calibration != nil {
            let level = 1 / EvidenceAssessor.driftDelta
            let sentence = driftPath.isEmpty
                ? "No verified case was assessed in this run, so exchangeability could not be monitored."
                : driftAlarm
                    ? String(format: "ALARM: the conformal test martingale reached %.3g ≥ %.0f over %d verified cases; the coverage guarantee can no longer be claimed (Ville's inequality).", driftPath.max() ?? 0, level, driftPath.count)
                    : String(format: "The conformal test martingale stayed below %.0f over %d verified cases (final value %.3g); no evidence against exchangeability at δ = %.2f.", level, driftPath.count, driftPath.last ?? 1, EvidenceAssessor.driftDelta)
            drift = DriftSummary(martingalePath: driftPath, threshold: level, alarm: driftAlarm, sentence: sentence,
                                 method: "conformal test martingale, standard mixture betting, over true-label p-values")
        }
        return RunReportModel(runId: run.id, studyId: run.study, operatorId: run.operatorId, startedAt: run.startedAt,
                              caseCount: assessments.count, provenance: provenance,
                              calibration: try calibrationSummary(context), coverage: coverage(decoded, context: context),
                              dispositions: dispositions, flaggedCases: flagged, drift: drift, oversight: oversight)
    }

    /// Reliability diagrams and ECE before/after, as stored with the calibrator by `audit calibrate`.
    static func calibrationSummary(_ context: RunContext) throws -> CalibrationSummary? {
        guard let cal = context.calibration,
              let m = try JSONSerialization.jsonObject(with: Data(cal.record.metrics.utf8)) as? [String: Any] else { return nil }
        func bins(_ key: String) -> [ReliabilityBin] {
            (m[key] as? [[String: Any]] ?? []).map {
                ReliabilityBin(lower: $0["lower"] as? Double ?? 0, upper: $0["upper"] as? Double ?? 0,
                               meanConfidence: $0["mean_confidence"] as? Double ?? 0, accuracy: $0["accuracy"] as? Double ?? 0,
                               count: $0["count"] as? Int ?? 0)
            }
        }
        func ece(_ which: String) -> ECESummary? {
            guard let value = m["ece_\(which)"] as? Double else { return nil }
            let ci = m["ece_\(which)_ci"] as? [String: Any]
            return ECESummary(value: value, bins: m["bins"] as? Int ?? EvidenceAssessor.eceBins,
                              binning: m["binning"] as? String ?? "equal-width",
                              intervalLower: ci?["lower"] as? Double, intervalUpper: ci?["upper"] as? Double,
                              intervalLevel: ci?["level"] as? Double, noiseFloor: m["ece_noise_floor"] as? Double,
                              sampleSize: m["metrics_n"] as? Int ?? 0)
        }
        guard let before = ece("before"), let after = ece("after") else { return nil }
        return CalibrationSummary(calibrator: cal.label, calibrationSize: cal.record.calibrationN,
                                  reliabilityBefore: bins("reliability_before"), reliabilityAfter: bins("reliability_after"),
                                  eceBefore: before, eceAfter: after, baseline: cal.baseline?.sentence)
    }

    /// Empirical coverage of the conformal sets on the run's verified cases, per class.
    static func coverage(_ assessments: [AssessmentSummary], context: RunContext) -> [ClassCoverage]? {
        guard let classes = context.model?.classifier.classes, context.calibration != nil else { return nil }
        var hit: [String: Int] = [:], total: [String: Int] = [:], size: [String: Int] = [:]
        for a in assessments {
            guard let set = a.evidence.conformalSet, a.details.drift?.trueLabelPValue != nil,
                  let label = a.details.drift?.trueLabel else { continue }
            total[label, default: 0] += 1
            size[label, default: 0] += set.classes.count
            if set.classes.contains(label) { hit[label, default: 0] += 1 }
        }
        guard !total.isEmpty else { return nil }
        let target = 1 - (context.calibration?.predictor.alpha ?? 0.1)
        return classes.compactMap { c in
            total[c].map { n in ClassCoverage(label: c, target: target, empirical: Double(hit[c] ?? 0) / Double(n), count: n,
                                              meanSetSize: Double(size[c] ?? 0) / Double(n)) }
        }
    }
}
