/// The run report as the templates see it (see `CaseReportView` for the conventions).
struct RunReportView {
    let runId: String
    let studyText: String
    let operatorText: String
    let startedText: String
    let finishedText: String
    let caseCount: String
    let reportVersion: String

    let calibrationSection: CalibrationView?
    let coverageSection: CoverageView?
    let dispositionsSection: DispositionsView?
    let flagged: [FlaggedView]
    let hasFlagged: Bool
    let driftSection: DriftView?
    let oversightSection: OversightView?
    let provenance: ProvenanceView

    struct ECEView {
        let stage: String
        let value: String
        let bins: String
        let binning: String
        let interval: String
        let noiseFloor: String
        let sampleSize: String
    }

    struct CalibrationView {
        let calibrator: String
        let calibrationSize: String
        let beforeSvg: SVGMarkup
        let afterSvg: SVGMarkup
        let eceRows: [ECEView]
        let baseline: String
        let hasBaseline: Bool
    }

    struct CoverageRow {
        let label: String
        let target: String
        let empirical: String
        let count: String
        let meanSetSize: String
        let belowTarget: Bool
    }

    typealias CoverageView = ReportTable<CoverageRow>

    struct DispositionRow {
        let disposition: String
        let dispositionClass: String
        let count: String
    }

    typealias DispositionsView = ReportTable<DispositionRow>

    struct FlaggedView {
        let flaggedCaseId: String
        let flaggedDisposition: String
        let flaggedReason: String
        let href: String
        let hasLink: Bool
    }

    struct DriftView {
        let martingaleSvg: SVGMarkup
        let threshold: String
        let finalValue: String
        let maximum: String
        let alarm: Bool
        let sentence: String
        let method: String
    }

    struct OversightRow {
        let reviewerName: String
        let reviewerId: String
        let reviews: String
        let medianSeconds: String
        let agreement: String
        let lowConfidenceAgreement: String
        let overrideRate: String
        let blindReadAgreement: String
        let catchTrials: String
        let catchDetection: String
        let reviewerFlagged: Bool
        let flagReason: String
    }

    typealias OversightView = ReportTable<OversightRow>
}

extension RunReportView {
    init(_ m: RunReportModel) {
        let d = ReportText.displayable
        runId = d(m.runId)
        func orNotRecorded(_ s: String?) -> String { s.map(d) ?? "not recorded" }
        studyText = orNotRecorded(m.studyId)
        operatorText = orNotRecorded(m.operatorId)
        startedText = orNotRecorded(m.startedAt)
        finishedText = orNotRecorded(m.finishedAt)
        caseCount = String(m.caseCount)
        reportVersion = String(m.reportVersion)

        calibrationSection = m.calibration.map { c in
            func ece(_ stage: String, _ e: ECESummary) -> ECEView {
                let interval: String
                if let lo = e.intervalLower, let hi = e.intervalUpper {
                    let level = e.intervalLevel.map { ReportNumber.fixed($0 * 100, 0) + "% " } ?? ""
                    interval = level + "[" + ReportNumber.fixed(lo, 4) + ", " + ReportNumber.fixed(hi, 4) + "]"
                } else {
                    interval = notEvaluatedText
                }
                return ECEView(stage: stage, value: ReportNumber.fixed(e.value, 4), bins: String(e.bins),
                               binning: d(e.binning), interval: interval,
                               noiseFloor: ReportCell.fixed(e.noiseFloor, 4),
                               sampleSize: String(e.sampleSize))
            }
            return CalibrationView(
                calibrator: d(c.calibrator), calibrationSize: String(c.calibrationSize),
                beforeSvg: SVGChart.reliabilityDiagram(c.reliabilityBefore, title: "Before calibration"),
                afterSvg: SVGChart.reliabilityDiagram(c.reliabilityAfter, title: "After calibration"),
                eceRows: [ece("before calibration", c.eceBefore), ece("after calibration", c.eceAfter)],
                baseline: d(c.baseline ?? ""), hasBaseline: c.baseline != nil)
        }
        coverageSection = m.coverage.map { rows in
            CoverageView(rows.map { r in
                CoverageRow(label: d(r.label), target: ReportNumber.percent(r.target),
                            empirical: ReportNumber.percent(r.empirical), count: String(r.count),
                            meanSetSize: ReportCell.fixed(r.meanSetSize, 2),
                            belowTarget: r.empirical < r.target)
            })
        }
        dispositionsSection = m.dispositions.map { rows in
            DispositionsView(rows.map {
                DispositionRow(disposition: d($0.disposition), dispositionClass: dispositionClass($0.disposition),
                               count: String($0.count))
            })
        }
        flagged = m.flaggedCases.map { f in
            let href = f.reportFile.flatMap(ReportText.relativeHref)
            return FlaggedView(flaggedCaseId: d(f.caseId), flaggedDisposition: d(f.disposition),
                               flaggedReason: d(f.reason), href: href ?? "", hasLink: href != nil)
        }
        hasFlagged = !m.flaggedCases.isEmpty
        driftSection = m.drift.map { dr in
            DriftView(
                martingaleSvg: SVGChart.martingalePath(dr.martingalePath, threshold: dr.threshold),
                threshold: ReportNumber.general(dr.threshold),
                finalValue: ReportCell.general(dr.martingalePath.last),
                maximum: ReportCell.general(dr.martingalePath.max()),
                alarm: dr.alarm, sentence: d(dr.sentence), method: ReportCell.text(dr.method))
        }
        oversightSection = m.oversight.map { rows in
            OversightView(rows.map { o in
                OversightRow(
                    reviewerName: d(o.printedName), reviewerId: d(o.reviewerId), reviews: String(o.reviews),
                    medianSeconds: ReportCell.fixed(o.medianReviewSeconds, 1, unit: " s"),
                    agreement: ReportCell.percent(o.agreementRate), lowConfidenceAgreement: ReportCell.percent(o.lowConfidenceAgreementRate),
                    overrideRate: ReportCell.percent(o.overrideRate), blindReadAgreement: ReportCell.percent(o.blindReadAgreementRate),
                    catchTrials: String(o.catchTrials), catchDetection: ReportCell.percent(o.catchTrialDetectionRate),
                    reviewerFlagged: o.flagged, flagReason: d(o.flagReason ?? ""))
            })
        }
        provenance = ProvenanceView(m.provenance)
    }
}
