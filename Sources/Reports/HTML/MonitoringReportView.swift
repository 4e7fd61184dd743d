/// The monitoring report as the templates see it (see `CaseReportView` for the conventions).
struct MonitoringReportView {
    struct PeriodRow {
        let key: String
        let span: String
        let runs: String
        let cases: String
        let dispositions: String
        let abstention: String
        let escalation: String
        let override: String
        let estimated: String
        let labelled: String
        let accuracy: String
        let ece: String
        let estimateError: String
        let coverage: String
        let setSize: String
        let martingale: String
        let hasAlerts: Bool
    }

    struct CoverageRow {
        let key: String
        let className: String
        let coverage: String
        let target: String
        let count: String
        let below: Bool
    }

    struct AlertRow {
        let period: String
        let check: String
        let measured: String
        let threshold: String
        let message: String
    }

    let study: String
    let grouping: String
    let generatedAt: String
    let periodCount: String
    let reportVersion: String
    let periods: [PeriodRow]
    let hasAlerts: Bool
    let alerts: [AlertRow]
    let coverageRows: [CoverageRow]
    let hasCoverage: Bool
    let accuracySvg: SVGMarkup
    let eceSvg: SVGMarkup?
    let coverageSvg: SVGMarkup?
    let ratesSvg: SVGMarkup
    let martingaleSvg: SVGMarkup?
    let provenance: ProvenanceView
}

extension MonitoringReportView {
    init(_ m: MonitoringReportModel) {
        let d = ReportText.displayable
        func interval(_ i: MonitoringReportModel.Interval?) -> String {
            i.map { ReportNumber.fixed($0.value, 3) + " [" + ReportNumber.fixed($0.lower, 3) + ", " + ReportNumber.fixed($0.upper, 3) + "]" } ?? notEvaluatedText
        }
        study = d(m.study)
        grouping = d(m.grouping)
        generatedAt = d(m.generatedAt)
        periodCount = String(m.periods.count)
        reportVersion = "1"
        periods = m.periods.map { p in
            PeriodRow(key: d(p.key), span: d(p.start) + " – " + d(p.end), runs: d(p.runs.joined(separator: ", ")), cases: String(p.cases),
                      dispositions: d(p.dispositions.map { "\($0.0) \($0.1)" }.joined(separator: ", ")),
                      abstention: ReportNumber.percent(p.abstentionRate), escalation: ReportNumber.percent(p.escalationRate),
                      override: p.overrideRate.map { ReportNumber.percent($0) + " of \(p.signatures)" } ?? "no signatures",
                      estimated: interval(p.estimatedAccuracy), labelled: String(p.labelled),
                      accuracy: p.labelled == 0 ? "outcomes not yet in" : interval(p.accuracy),
                      ece: p.ece.map { e in
                          ReportNumber.fixed(e, 3) + (p.eceInterval.map { " [" + ReportNumber.fixed($0.0, 3) + ", " + ReportNumber.fixed($0.1, 3) + "]" } ?? "")
                              + (p.eceNoiseFloor95.map { "; floor " + ReportNumber.fixed($0, 3) } ?? "")
                      } ?? notEvaluatedText,
                      estimateError: p.estimateError.map { (($0 >= 0) ? "+" : "") + ReportNumber.fixed($0, 3) } ?? notEvaluatedText,
                      coverage: p.coverage.map { interval($0) + (p.targetCoverage.map { " vs " + ReportNumber.fixed($0, 3) } ?? "") } ?? notEvaluatedText,
                      setSize: ReportCell.fixed(p.meanSetSize, 2),
                      martingale: p.martingale.map { ReportNumber.general($0) + (p.martingaleAlarm ? " ALARM" : "") } ?? notEvaluatedText,
                      hasAlerts: p.alerts > 0)
        }
        alerts = m.alerts.map { AlertRow(period: d($0.period), check: d($0.check), measured: d($0.measured), threshold: d($0.threshold), message: d($0.message)) }
        hasAlerts = !m.alerts.isEmpty
        coverageRows = m.periods.flatMap { p in
            p.coverageByClass.map { c in
                CoverageRow(key: d(p.key), className: d(c.className), coverage: interval(c.coverage),
                            target: ReportCell.fixed(p.targetCoverage, 3), count: String(c.count),
                            below: p.targetCoverage.map { c.coverage.upper < $0 } ?? false)
            }
        }
        hasCoverage = !coverageRows.isEmpty
        let keys = m.periods.map(\.key)
        let lows = m.periods.compactMap { $0.estimatedAccuracy?.lower } + m.periods.compactMap { $0.accuracy?.lower } + [m.minAccuracy ?? 1]
        let accMin = max(0, ((lows.min() ?? 0.5) * 10).rounded(.down) / 10)
        accuracySvg = SVGChart.periods(keys, series: [
            .init(name: "label-free estimate", values: m.periods.map { $0.estimatedAccuracy?.value },
                  intervals: m.periods.map { $0.estimatedAccuracy.map { ($0.lower, $0.upper) } }),
            .init(name: "realised (outcomes)", values: m.periods.map { $0.accuracy?.value },
                  intervals: m.periods.map { $0.accuracy.map { ($0.lower, $0.upper) } }),
        ], title: "Accuracy per period (95% intervals)", yMin: accMin, yMax: 1,
           threshold: m.minAccuracy, thresholdLabel: m.minAccuracy.map { "policy minimum " + ReportNumber.fixed($0, 2) } ?? "")
        let eces = m.periods.compactMap(\.ece)
        eceSvg = eces.isEmpty ? nil : SVGChart.periods(keys, series: [
            .init(name: "ECE", values: m.periods.map(\.ece), intervals: m.periods.map(\.eceInterval)),
            .init(name: "noise floor (p95)", values: m.periods.map(\.eceNoiseFloor95)),
        ], title: "Expected calibration error per period", yMin: 0,
           yMax: max(0.1, ((eces + [m.maxECE ?? 0]).max()! * 12).rounded(.up) / 10),
           threshold: m.maxECE, thresholdLabel: m.maxECE.map { "policy maximum " + ReportNumber.fixed($0, 2) } ?? "")
        let classes = Array(Set(m.periods.flatMap { $0.coverageByClass.map(\.className) })).sorted()
        let target = m.periods.compactMap(\.targetCoverage).first
        coverageSvg = classes.isEmpty ? nil : SVGChart.periods(keys, series: classes.map { c in
            .init(name: c, values: m.periods.map { $0.coverageByClass.first { $0.className == c }?.coverage.value },
                  intervals: m.periods.map { $0.coverageByClass.first { $0.className == c }.map { ($0.coverage.lower, $0.coverage.upper) } })
        }, title: "Conformal coverage per class (Clopper–Pearson 95%)", yMin: 0.5, yMax: 1,
           threshold: target, thresholdLabel: target.map { "guarantee 1 − α = " + ReportNumber.fixed($0, 2) } ?? "")
        ratesSvg = SVGChart.periods(keys, series: [
            .init(name: "abstention", values: m.periods.map(\.abstentionRate)),
            .init(name: "escalation", values: m.periods.map(\.escalationRate)),
            .init(name: "override", values: m.periods.map(\.overrideRate)),
        ], title: "Rates per period", yMin: 0, yMax: 1)
        martingaleSvg = m.martingalePath.isEmpty ? nil : SVGChart.martingalePath(m.martingalePath, threshold: m.martingaleThreshold)
        provenance = ProvenanceView(rows: m.provenance.map { .init(label: d($0.0), value: d($0.1)) })
    }
}
