/// The case report as the templates see it: only strings, booleans, arrays and nested views —
/// every number already formatted, every chart already drawn. Optional members are used only for
/// whole sections (rendered as "not evaluated" when absent) and carry unique names, so a missing
/// value never picks up an outer value of the same name through Mustache's context stack.
struct CaseReportView {
    let caseId: String
    let studyLine: String
    let hasStudy: Bool
    let assessedAtText: String
    let hasAssessedAt: Bool
    let reportVersion: String
    let supersedesHash: String
    let hasSupersedes: Bool

    let dispositionSection: DispositionView?
    let predictionSection: PredictionView?
    let conformalSection: ConformalView?
    let scansSection: ScansView?
    let neighboursSection: NeighboursView?
    let checksSection: ChecksView?
    let provenance: ProvenanceView
    let signOffs: [SignOffView]
    let isSigned: Bool
    let notes: [String]
    let hasNotes: Bool

    struct DispositionView {
        let dispositionCode: String
        let dispositionClass: String
        let headline: String
        let reason: String
        let requiredReviewersText: String
        let decidingChecks: [String]
        let hasDecidingChecks: Bool
    }

    struct LabelledValue {
        let label: String
        let value: String
    }

    struct PredictionView {
        let predictedClass: String
        let calibratedConfidence: String
        let uncalibratedConfidence: String
        let hasUncalibrated: Bool
        let sentence: String
        let classProbabilities: [LabelledValue]
    }

    struct ConformalView {
        let setMembers: [String]
        let setSize: String
        let isSingleton: Bool
        let isEmptySet: Bool
        let alpha: String
        let calibrationSize: String
        let conditionality: String
        let coverageLower: String
        let coverageUpper: String
        let hasUpper: Bool
        let condition: String
        let score: String
        let hasScore: Bool
    }

    struct ScanRowView {
        let index: String
        let takenAt: String
        let acquisition: String
        let probabilities: [String]
        let eValue: String
        let oodText: String
        let isOOD: Bool
    }

    struct ScansView {
        let allScansSentence: String
        let scanChartSvg: SVGMarkup
        let classLabels: [String]
        let rows: [ScanRowView]
        let pooled: [String]
        let finalEValue: String
        let threshold: String
        let claim: String
        let claimEstablished: Bool
        let merge: String
        let hasMerge: Bool
        let nextScan: String
        let configurationDeviations: String
        let hasConfigurations: Bool
    }

    struct NeighbourView {
        let neighbourCaseId: String
        let sparklineSvg: SVGMarkup
        let distance: String
        let label: String
        let verifiedBy: String
        let verifiedAt: String
    }

    struct NeighboursView {
        let querySparklineSvg: SVGMarkup
        let rows: [NeighbourView]
        let hasNeighbours: Bool
        let oodSentence: String
        let metric: String
        let credibility: String
        let oodPercentile: String
    }

    struct CheckView {
        let checkId: String
        let status: String
        let statusClass: String
        let value: String
        let threshold: String
        let reason: String
        let reference: String
    }

    struct ChecksView {
        let rows: [CheckView]
        let hasChecks: Bool
    }

    struct SignOffView {
        let printedName: String
        let reviewerId: String
        let signedAt: String
        let meaning: String
        let decision: String
        let decidedClass: String
        let reasonCode: String
        let note: String
        let hasNote: Bool
        let signedReportHash: String
    }
}

/// Provenance rows shared by case and run reports.
struct ProvenanceView {
    let rows: [CaseReportView.LabelledValue]
}

/// Shown wherever a value was not evaluated.
let notEvaluatedText = "not evaluated"

extension ProvenanceView {
    init(_ p: Provenance) {
        rows = [
            .init(label: "Model id (SHA-256 of weights)", value: ReportText.displayable(p.modelId)),
            .init(label: "Calibrator", value: ReportCell.text(p.calibrator)),
            .init(label: "Calibration-set size n", value: ReportCell.text(p.calibrationSize.map(String.init))),
            .init(label: "Conformal α", value: ReportCell.text(p.alpha.map { ReportNumber.fixed($0, 3) })),
            .init(label: "ECE bins", value: ReportCell.text(p.eceBins.map(String.init))),
            .init(label: "Policy", value: ReportText.displayable(p.policyName)),
            .init(label: "Policy SHA-256", value: ReportText.displayable(p.policySHA256)),
            .init(label: "Run id", value: ReportText.displayable(p.runId)),
            .init(label: "Audit-log sequence number", value: ReportCell.text(p.logSequence.map(String.init))),
            .init(label: "Log checkpoint root", value: ReportCell.text(p.checkpointRoot)),
        ]
    }
}

/// CSS class token for a disposition code (data never becomes a class name directly).
func dispositionClass(_ code: String) -> String {
    switch code {
    case "report", "review", "second-review", "escalate", "abstain": return "disposition-" + code
    default: return "disposition-other"
    }
}

extension CaseReportView {
    init(_ m: CaseReportModel) {
        let d = ReportText.displayable
        caseId = d(m.caseId)
        hasStudy = m.studyId != nil
        studyLine = d(m.studyId ?? "")
        hasAssessedAt = m.assessedAt != nil
        assessedAtText = d(m.assessedAt ?? "")
        reportVersion = String(m.reportVersion)
        hasSupersedes = m.supersedesReportSHA256 != nil
        supersedesHash = d(m.supersedesReportSHA256 ?? "")

        dispositionSection = m.disposition.map { x in
            DispositionView(
                dispositionCode: d(x.code), dispositionClass: dispositionClass(x.code), headline: d(x.headline),
                reason: d(x.reason),
                requiredReviewersText: x.requiredReviewers == 0 ? "No reviewer required"
                    : x.requiredReviewers == 1 ? "1 reviewer required" : "\(x.requiredReviewers) reviewers required",
                decidingChecks: x.decidingChecks.map(d), hasDecidingChecks: !x.decidingChecks.isEmpty)
        }
        predictionSection = m.prediction.map { p in
            PredictionView(
                predictedClass: d(p.predictedClass), calibratedConfidence: ReportNumber.percent(p.calibratedConfidence),
                uncalibratedConfidence: p.uncalibratedConfidence.map(ReportNumber.percent) ?? "",
                hasUncalibrated: p.uncalibratedConfidence != nil, sentence: d(p.sentence),
                classProbabilities: p.classProbabilities.map { .init(label: d($0.label), value: ReportNumber.percent($0.probability)) })
        }
        conformalSection = m.conformal.map { c in
            ConformalView(
                setMembers: c.predictionSet.map(d), setSize: String(c.predictionSet.count),
                isSingleton: c.predictionSet.count == 1, isEmptySet: c.predictionSet.isEmpty,
                alpha: ReportNumber.fixed(c.alpha, 3), calibrationSize: String(c.calibrationSize),
                conditionality: c.classConditional ? "per class (class-conditional)" : "marginal (over all classes, not per class)",
                coverageLower: ReportNumber.percent(c.coverageLowerBound),
                coverageUpper: c.coverageUpperBound.map(ReportNumber.percent) ?? "", hasUpper: c.coverageUpperBound != nil,
                condition: d(c.condition), score: d(c.score ?? ""), hasScore: c.score != nil)
        }
        scansSection = m.scans.map { s in
            let rows = s.scans.enumerated().map { i, scan in
                ScanRowView(
                    index: String(scan.index), takenAt: d(scan.takenAt), acquisition: d(scan.acquisition),
                    probabilities: s.classLabels.indices.map { c in
                        c < scan.probabilities.count ? ReportNumber.percent(scan.probabilities[c]) : notEvaluatedText
                    },
                    eValue: i < s.eValuePath.count ? ReportNumber.general(s.eValuePath[i]) : notEvaluatedText,
                    oodText: scan.outOfDistribution ? "out of distribution" : "in distribution",
                    isOOD: scan.outOfDistribution)
            }
            return ScansView(
                allScansSentence: s.allScansSentence,
                scanChartSvg: SVGChart.scanProbabilities(classLabels: s.classLabels, scans: s.scans,
                                                         eValuePath: s.eValuePath, threshold: s.eValueThreshold),
                classLabels: s.classLabels.map(d), rows: rows,
                pooled: s.classLabels.indices.map { c in
                    c < s.pooledProbabilities.count ? ReportNumber.percent(s.pooledProbabilities[c]) : notEvaluatedText
                },
                finalEValue: ReportCell.general(s.eValuePath.last),
                threshold: ReportNumber.general(s.eValueThreshold), claim: d(s.claim),
                claimEstablished: s.claimEstablished, merge: d(s.merge ?? ""), hasMerge: s.merge != nil,
                nextScan: d(s.nextScan ?? ""), configurationDeviations: d(s.configurationDeviations ?? ""),
                hasConfigurations: s.nextScan != nil || s.configurationDeviations != nil)
        }
        neighboursSection = m.neighbours.map { n in
            NeighboursView(
                querySparklineSvg: SVGChart.sparkline(n.querySequence, label: "This case's sequence"),
                rows: n.neighbours.map { nb in
                    NeighbourView(
                        neighbourCaseId: d(nb.caseId),
                        sparklineSvg: SVGChart.sparkline(nb.sequence, label: "Sequence of verified case " + nb.caseId),
                        distance: ReportNumber.fixed(nb.distance, 3), label: d(nb.label),
                        verifiedBy: d(nb.verifiedBy), verifiedAt: d(nb.verifiedAt))
                },
                hasNeighbours: !n.neighbours.isEmpty, oodSentence: d(n.outOfDistributionSentence),
                metric: d(n.distanceMetric ?? notEvaluatedText),
                credibility: ReportCell.fixed(n.credibility, 3),
                oodPercentile: ReportCell.fixed(n.outOfDistributionPercentile, 1))
        }
        checksSection = m.checks.map { rows in
            ChecksView(rows: rows.map { c in
                CheckView(
                    checkId: d(c.id), status: c.status.rawValue, statusClass: "status-" + c.status.rawValue,
                    value: d(c.value ?? "—"), threshold: d(c.threshold ?? "—"), reason: d(c.reason),
                    reference: d(c.reference))
            }, hasChecks: !rows.isEmpty)
        }
        provenance = ProvenanceView(m.provenance)
        signOffs = m.signOffs.map { s in
            SignOffView(
                printedName: d(s.printedName), reviewerId: d(s.reviewerId), signedAt: d(s.signedAt),
                meaning: d(s.meaning), decision: d(s.decision), decidedClass: d(s.decidedClass ?? "—"),
                reasonCode: d(s.reasonCode ?? "—"), note: d(s.note ?? ""), hasNote: s.note != nil,
                signedReportHash: d(s.signedReportSHA256 ?? "—"))
        }
        isSigned = !m.signOffs.isEmpty
        notes = m.notes.map(d)
        hasNotes = !m.notes.isEmpty
    }
}
