import Foundation
import Policy
import Reports

extension MonitorJob {
    /// The monitoring report as HTML (templates from `templatesDirectory` when it holds them).
    public func html(_ r: MonitoringReport, templatesDirectory: URL?) throws -> String {
        let renderer = try templatesDirectory.map { try ReportRenderer.preferringFolder($0) } ?? ReportRenderer()
        return try renderer.renderMonitoringHTML(Self.model(r, policy: policy.monitoring))
    }

    static func model(_ r: MonitoringReport, policy rules: AuditPolicy.MonitoringRules) -> MonitoringReportModel {
        typealias I = MonitoringReportModel.Interval
        let periods = r.periods.map { p -> MonitoringReportModel.Period in
            var m = MonitoringReportModel.Period(key: p.key, start: p.start, end: p.end, runs: p.runs, cases: p.cases,
                                                 dispositions: p.dispositions.sorted { $0.key < $1.key }.map { ($0.key, $0.value) },
                                                 abstentionRate: p.abstentionRate, escalationRate: p.escalationRate,
                                                 overrideRate: p.overrideRate, signatures: p.signatures)
            m.estimatedAccuracy = p.estimate.map { I(value: $0.estimate, lower: $0.lower, upper: $0.upper) }
            m.meanSetSize = p.meanSetSize
            m.labelled = p.labelled
            if let o = p.outcomes {
                m.accuracy = I(value: o.accuracy.proportion, lower: o.accuracy.lower, upper: o.accuracy.upper)
                m.ece = o.ece?.value
                m.eceInterval = o.ece.map { ($0.lower, $0.upper) }
                m.eceNoiseFloor95 = o.ece?.noiseFloor95
                m.estimateError = o.estimateError
                m.targetCoverage = o.coverageAlpha.map { 1 - $0 }
                m.coverage = o.coverage.map { I(value: $0.proportion, lower: $0.lower, upper: $0.upper) }
                m.coverageByClass = o.coverageByClass.map {
                    .init(className: $0.className, coverage: I(value: $0.interval.proportion, lower: $0.interval.lower, upper: $0.interval.upper),
                          count: $0.interval.trials)
                }
            }
            m.martingale = p.martingale?.value
            m.martingaleAlarm = p.martingale?.alarm ?? false
            m.alerts = p.alerts.count
            return m
        }
        let v = r.provenance
        let provenance: [(String, String)] = [
            ("Policy", v.policyName), ("Policy SHA-256", v.policySHA256),
            ("Models (SHA-256 of weights)", v.models.joined(separator: ", ")), ("Calibrators", v.calibrators.joined(separator: ", ")),
            ("Runs", v.runs.joined(separator: ", ")), ("Outcomes used", String(v.outcomes)),
            ("ECE bins", "\(v.binCount) (\(v.bins))"), ("Bootstrap", "\(v.bootstrapReplicates) replicates, seed \(v.seed), level \(v.level)"),
            ("Noise floor", "\(v.noiseFloorSimulations) simulations of a calibrated model on the same confidences"),
            ("Accuracy estimate", v.estimator), ("Martingale", "\(v.martingaleInput); δ = \(v.martingaleDelta)"),
        ]
        return MonitoringReportModel(study: r.study, grouping: r.grouping, generatedAt: r.generatedAt, periods: periods,
                                     alerts: r.alerts.map { .init(period: $0.period, check: $0.check, measured: $0.measured, threshold: $0.threshold, message: $0.message) },
                                     martingalePath: r.martingalePath.map(\.value), martingaleThreshold: 1 / v.martingaleDelta,
                                     minAccuracy: rules.minAccuracy, maxECE: rules.maxECE, provenance: provenance)
    }
}
