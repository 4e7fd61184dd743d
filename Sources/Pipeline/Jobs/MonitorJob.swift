import AuditLog
import Calibration
import CaseStore
import Digests
import Foundation
import Policy
import Review

/// `audit monitor`: whether the model still earns its confidence, period by period, over every
/// completed run of a study (EU AI Act Art. 72 post-market monitoring). Without outcomes a period
/// gets the label-free accuracy estimate (mean calibrated confidence, as NannyML's CBPE); once
/// outcomes arrive (`audit cases verify`) it gets realised accuracy, ECE with its bins, bootstrap
/// interval and noise floor, per-class conformal coverage against the guarantee, mean set size, how
/// far the estimate was off, and the exchangeability martingale over the true-label p-values in time
/// order. The policy's `monitoring` thresholds turn figures into alerts. Catch trials are left out:
/// they are not part of the deployment stream.
public struct MonitorJob {
    public enum Grouping: String, Codable, Sendable, CaseIterable {
        case week, month, run
    }

    public var store: CaseStore
    public var policy: AuditPolicy
    public var study: String
    public var since: Date?
    public var grouping: Grouping
    /// Seeds the bootstrap and noise-floor simulations (stated in the report).
    public var seed: UInt64
    public static let bins = BinningScheme.standard
    public static let bootstrapReplicates = 1000
    public static let noiseFloorSimulations = 500
    public static let martingaleDelta = 0.01
    public static let level = 0.95

    public init(store: CaseStore, policy: AuditPolicy, study: String, since: Date? = nil, grouping: Grouping = .month, seed: UInt64 = 1) {
        self.store = store; self.policy = policy; self.study = study; self.since = since; self.grouping = grouping; self.seed = seed
    }

    /// One assessed case as monitoring sees it.
    struct Row {
        var runId: String
        var caseId: String
        var time: Date
        var position: Int
        var disposition: String
        var predicted: String?
        var confidence: Double?
        var set: [String]?
        var alpha: Double?
        var classConditional: Bool
        var pValues: [String: Double]
        var truth: String?
        var signatures: Int
        var overrides: Int
    }

    public func run(now: Date = Date()) throws -> MonitoringReport {
        let (rows, runs, classes, outcomesUsed) = try store.read { db -> ([Row], [RunRecord], [String], Int) in
            let classes = try CaseStore.study(db, named: study).classes
            let runs = try CaseStore.runs(db, study: study).filter { $0.status == .completed }
            try CaseStore.requireAttested(db, runs.map { .run($0.id) })
            let trials = Set(try CaseStore.catchTrials(db).map { $0.runId + "\u{1F}" + $0.caseId })
            let outcomes = try CaseStore.currentOutcomes(db)
            try CaseStore.requireAttested(db, outcomes.values.compactMap { $0.id.map(RecordRef.outcome) })
            var rows: [Row] = [], used = 0
            for run in runs {
                var signed: [String: (Int, Int)] = [:]
                let signOffs = try CaseStore.signOffs(db, runId: run.id)
                try CaseStore.requireAttested(db, signOffs.compactMap { $0.id.map(RecordRef.signoff) })
                for s in signOffs {
                    let decision = try s.signed().decision
                    signed[s.caseId, default: (0, 0)].0 += 1
                    if decision == .override { signed[s.caseId, default: (0, 0)].1 += 1 }
                }
                var records: [AssessmentRecord] = []
                try CaseStore.forEachAssessment(db, runId: run.id) { records.append($0); return true }
                try CaseStore.requireAttested(db, records.map { .assessment(runId: $0.runId, caseId: $0.caseId) })
                for a in records where !trials.contains(a.runId + "\u{1F}" + a.caseId) {
                    guard let time = Timestamp.date(from: a.createdAt) else {
                        throw PipelineError.inconsistent("assessment of \(a.caseId) in run \(a.runId) has an unreadable time '\(a.createdAt)'")
                    }
                    if let since, time < since { continue }
                    let s = try AssessmentSummary.decode(a.assessment)
                    let truth = outcomes[a.caseId]?.label
                    if truth != nil { used += 1 }
                    rows.append(Row(runId: a.runId, caseId: a.caseId, time: time, position: a.position, disposition: a.disposition,
                                    predicted: s.evidence.predictedClass, confidence: s.evidence.calibratedConfidence,
                                    set: s.evidence.conformalSet?.classes, alpha: s.evidence.conformalSet?.alpha,
                                    classConditional: s.evidence.conformalSet?.classConditional ?? false,
                                    pValues: s.details.conformal?.pValues ?? [:], truth: truth,
                                    signatures: signed[a.caseId]?.0 ?? 0, overrides: signed[a.caseId]?.1 ?? 0))
                }
            }
            return (rows, runs, classes, used)
        }
        guard !runs.isEmpty else { throw PipelineError.missing("study \(study) has no completed run to monitor") }
        let ordered = rows.sorted { ($0.time, $0.runId, $0.position) < ($1.time, $1.runId, $1.position) }
        let runOrder = Dictionary(uniqueKeysWithValues: runs.sorted { ($0.startedAt, $0.id) < ($1.startedAt, $1.id) }.enumerated().map { ($1.id, $0) })

        // The martingale runs over every case with an outcome, in time order, across periods.
        var martingale = try ConformalTestMartingale(betting: .standardMixture, delta: Self.martingaleDelta)
        var martingaleAt: [String: (value: Double, max: Double, alarm: Bool, count: Int)] = [:]
        var path: [MonitoringReport.MartingalePoint] = []
        var runningMax = 1.0
        var groups: [String: [Row]] = [:], firstSeen: [String: (Date, Int)] = [:]
        for r in ordered {
            let key = periodKey(r)
            groups[key, default: []].append(r)
            if firstSeen[key] == nil { firstSeen[key] = (r.time, runOrder[r.runId] ?? 0) }
            if let truth = r.truth, let p = r.pValues[truth] {
                try martingale.observe(pValue: min(max(p, 0), 1))
                runningMax = max(runningMax, martingale.value)
                path.append(.init(period: key, caseId: r.caseId, value: martingale.value))
            }
            martingaleAt[key] = (martingale.value, runningMax, martingale.alarmRaised, martingale.observationCount)
        }
        let keys = groups.keys.sorted { a, b in
            grouping == .run ? (firstSeen[a]!.1, a) < (firstSeen[b]!.1, b) : a < b
        }
        var periods: [MonitoringReport.Period] = []
        for (index, key) in keys.enumerated() {
            var p = try period(key, groups[key]!, classes: classes, seed: seed &+ UInt64(index))
            if let m = martingaleAt[key] {
                p.martingale = .init(value: m.value, maximumSoFar: m.max, alarm: m.alarm, observations: m.count,
                                     threshold: 1 / Self.martingaleDelta)
            }
            p.alerts = alerts(for: p)
            periods.append(p)
        }
        let models = Set(runs.compactMap(\.modelId)).sorted()
        return MonitoringReport(
            study: study, generatedAt: Timestamp.string(from: now), grouping: grouping.rawValue,
            since: since.map { Timestamp.string(from: $0) },
            provenance: .init(policyName: policy.name, policySHA256: policy.sha256, models: models,
                              calibrators: Set(runs.compactMap { $0.calibratorId.map { "#\($0)" } }).sorted(),
                              runs: runs.map(\.id), bins: Self.bins.description, binCount: Self.bins.count,
                              bootstrapReplicates: Self.bootstrapReplicates, noiseFloorSimulations: Self.noiseFloorSimulations,
                              seed: seed, level: Self.level, martingaleDelta: Self.martingaleDelta,
                              martingaleInput: "conformal p-value of the outcome's class (first scan), cases with outcomes in time order",
                              estimator: "mean calibrated confidence of the proposed class (CBPE); Poisson-binomial interval",
                              outcomes: outcomesUsed),
            periods: periods, martingalePath: path, alerts: periods.flatMap(\.alerts))
    }

    func periodKey(_ r: Row) -> String {
        switch grouping {
        case .run: return r.runId
        case .month:
            let c = Self.calendar.dateComponents([.year, .month], from: r.time)
            return String(format: "%04d-%02d", c.year!, c.month!)
        case .week:
            let c = Self.calendar.dateComponents([.yearForWeekOfYear, .weekOfYear], from: r.time)
            return String(format: "%04d-W%02d", c.yearForWeekOfYear!, c.weekOfYear!)
        }
    }

    static let calendar: Calendar = {
        var c = Calendar(identifier: .iso8601)
        c.timeZone = TimeZone(identifier: "UTC")!
        return c
    }()

    func period(_ key: String, _ rows: [Row], classes: [String], seed: UInt64) throws -> MonitoringReport.Period {
        var p = MonitoringReport.Period(key: key, start: Timestamp.string(from: rows.first!.time), end: Timestamp.string(from: rows.last!.time),
                                        runs: Array(Set(rows.map(\.runId))).sorted(), cases: rows.count)
        for r in rows { p.dispositions[r.disposition, default: 0] += 1 }
        p.abstentionRate = Double(p.dispositions["abstain"] ?? 0) / Double(rows.count)
        p.escalationRate = Double(p.dispositions["escalate"] ?? 0) / Double(rows.count)
        p.signatures = rows.map(\.signatures).reduce(0, +)
        p.overrides = rows.map(\.overrides).reduce(0, +)
        p.overrideRate = p.signatures > 0 ? Double(p.overrides) / Double(p.signatures) : nil
        let withConfidence = rows.filter { $0.predicted != nil && $0.confidence != nil }
        if !withConfidence.isEmpty {
            p.estimate = .init(try ConfidenceBasedAccuracy(confidences: withConfidence.map { min(max($0.confidence!, 0), 1) }, level: Self.level))
        }
        let sets = rows.compactMap(\.set)
        if !sets.isEmpty { p.meanSetSize = Double(sets.map(\.count).reduce(0, +)) / Double(sets.count) }

        // Accuracy over every proposal with an outcome; calibration figures over those with a confidence.
        let answered = rows.filter { $0.predicted != nil && $0.truth != nil }
        p.labelled = rows.filter { $0.truth != nil }.count
        guard !answered.isEmpty else { return p }
        let right = answered.filter { $0.predicted == $0.truth }.count
        var o = MonitoringReport.Outcomes(count: answered.count,
                                          accuracy: try BinomialInterval(successes: right, trials: answered.count, level: Self.level))
        let labelled = answered.filter { $0.confidence != nil }
        if !labelled.isEmpty {
            let confidences = labelled.map { min(max($0.confidence!, 0), 1) }
            let correct = labelled.map { $0.predicted == $0.truth }
            let ece = try CalibrationErrorEstimate(confidences: confidences, outcomes: correct, scheme: Self.bins, target: .topLabel)
            let interval = try Bootstrap.percentileInterval(count: confidences.count, replicates: Self.bootstrapReplicates, level: Self.level,
                                                            seed: seed) { idx in
                (try? CalibrationErrorEstimate(confidences: idx.map { confidences[$0] }, outcomes: idx.map { correct[$0] },
                                               scheme: Self.bins, target: .topLabel).ece) ?? .nan
            }
            let floor = try ECENoiseFloor(confidences: confidences, scheme: Self.bins, simulations: Self.noiseFloorSimulations, seed: seed)
            o.ece = .init(value: ece.ece, bins: Self.bins.count, binning: Self.bins.description, lower: interval.lower, upper: interval.upper,
                          noiseFloorMean: floor.mean, noiseFloor95: floor.percentile95,
                          reliability: ece.bins.filter { $0.count > 0 }.map {
                              .init(lower: $0.lower, upper: $0.upper, count: $0.count, meanConfidence: $0.meanConfidence, accuracy: $0.observedFrequency)
                          })
            // The label-free estimate against realised accuracy on the same cases.
            let estimate = try ConfidenceBasedAccuracy(confidences: confidences, level: Self.level)
            o.estimateOnLabelled = estimate.estimate
            o.estimateError = estimate.estimate - Double(correct.filter { $0 }.count) / Double(correct.count)
        }

        let covered = rows.filter { $0.truth != nil && $0.set != nil && $0.alpha != nil }
        if let alpha = covered.first?.alpha {
            o.coverageAlpha = alpha
            o.classConditional = covered.first?.classConditional ?? false
            let hits = covered.filter { $0.set!.contains($0.truth!) }.count
            o.coverage = try BinomialInterval(successes: hits, trials: covered.count, level: Self.level)
            for c in classes {
                let of = covered.filter { $0.truth == c }
                guard !of.isEmpty else { continue }
                o.coverageByClass.append(.init(className: c, interval: try BinomialInterval(successes: of.filter { $0.set!.contains(c) }.count,
                                                                                           trials: of.count, level: Self.level),
                                               meanSetSize: Double(of.map { $0.set!.count }.reduce(0, +)) / Double(of.count)))
            }
        }
        p.outcomes = o
        return p
    }

    /// The policy's thresholds applied to one period.
    func alerts(for p: MonitoringReport.Period) -> [MonitoringReport.Alert] {
        let rules = policy.monitoring
        var out: [MonitoringReport.Alert] = []
        func alert(_ check: String, _ measured: String, _ threshold: String, _ message: String) {
            out.append(.init(period: p.key, check: check, measured: measured, threshold: threshold, message: message))
        }
        func f(_ x: Double) -> String { String(format: "%.4f", x) }
        if rules.onMartingaleAlarm, let m = p.martingale, m.alarm {
            alert("martingale-alarm", f(m.maximumSoFar), "≥ \(Int(m.threshold))",
                  "the exchangeability martingale over outcomes reached \(f(m.maximumSoFar)): the cases no longer look like the calibration cases, so the coverage guarantee cannot be claimed")
        }
        guard p.cases >= rules.minCases else { return out }
        if let limit = rules.maxAbstentionRate, p.abstentionRate > limit {
            alert("max-abstention-rate", f(p.abstentionRate), "≤ \(f(limit))", "\(p.dispositions["abstain"] ?? 0) of \(p.cases) cases abstained")
        }
        if let limit = rules.maxEscalationRate, p.escalationRate > limit {
            alert("max-escalation-rate", f(p.escalationRate), "≤ \(f(limit))", "\(p.dispositions["escalate"] ?? 0) of \(p.cases) cases were escalated")
        }
        if let limit = rules.maxOverrideRate, let rate = p.overrideRate, rate > limit {
            alert("max-override-rate", f(rate), "≤ \(f(limit))", "reviewers overrode the model in \(p.overrides) of \(p.signatures) signatures")
        }
        if let limit = rules.minEstimatedAccuracy, let e = p.estimate, e.upper < limit {
            alert("min-estimated-accuracy", f(e.estimate) + " [" + f(e.lower) + ", " + f(e.upper) + "]", "≥ \(f(limit))",
                  "the label-free accuracy estimate's whole 95% interval is below the threshold (needs no outcomes)")
        }
        guard let o = p.outcomes, o.count >= rules.minLabelled else { return out }
        if let limit = rules.minAccuracy, o.accuracy.upper < limit {
            alert("min-accuracy", f(o.accuracy.proportion) + " [" + f(o.accuracy.lower) + ", " + f(o.accuracy.upper) + "]", "≥ \(f(limit))",
                  "realised accuracy on \(o.count) outcomes: the whole 95% interval is below the threshold")
        }
        if let limit = rules.maxECE, let e = o.ece, e.value > limit, e.value > e.noiseFloor95 {
            alert("max-ece", f(e.value), "≤ \(f(limit)) (noise floor p95 \(f(e.noiseFloor95)))",
                  "the calibrated confidences no longer match outcomes (ECE, \(e.bins) equal-width bins)")
        }
        if let limit = rules.maxEstimateError, let err = o.estimateError, abs(err) > limit {
            alert("max-estimate-error", f(err), "|error| ≤ \(f(limit))",
                  "the label-free estimate \(err > 0 ? "overstated" : "understated") realised accuracy: calibration itself has shifted")
        }
        if rules.coverageBelowGuarantee, let alpha = o.coverageAlpha {
            let target = 1 - alpha
            if o.classConditional {
                for c in o.coverageByClass where c.interval.upper < target {
                    alert("coverage-below-guarantee", "\(c.className): " + f(c.interval.proportion) + " [" + f(c.interval.lower) + ", " + f(c.interval.upper) + "]",
                          "≥ \(f(target))", "class \(c.className)'s prediction sets cover its outcomes less often than guaranteed")
                }
            } else if let cov = o.coverage, cov.upper < target {
                alert("coverage-below-guarantee", f(cov.proportion) + " [" + f(cov.lower) + ", " + f(cov.upper) + "]", "≥ \(f(target))",
                      "the prediction sets cover the outcomes less often than guaranteed")
            }
        }
        return out
    }

    /// One `monitor.alert` event naming every alert, the policy and the report's bytes.
    @discardableResult
    public func logAlerts(_ report: MonitoringReport, reportSHA256: String, actor: String, now: Date = Date()) throws -> AuditEvent? {
        guard !report.alerts.isEmpty else { return nil }
        struct Payload: Encodable {
            let study: String, grouping: String, policy: String, policySHA256: String, reportSHA256: String
            let alerts: [MonitoringReport.Alert]
            enum CodingKeys: String, CodingKey {
                case study, grouping, policy, alerts
                case policySHA256 = "policy_sha256", reportSHA256 = "report_sha256"
            }
        }
        return try store.change { change in
            try AuditLog.append(change, actor: actor, action: "monitor.alert", subject: AuditSubject(type: "study", id: study),
                                payload: Payload(study: study, grouping: report.grouping, policy: policy.name, policySHA256: policy.sha256,
                                                 reportSHA256: reportSHA256, alerts: report.alerts), time: now)
        }
    }
}

/// What `audit monitor` found, period by period (the JSON form; the HTML report shows the same).
public struct MonitoringReport: Codable, Sendable {
    public struct Provenance: Codable, Sendable {
        public var policyName: String
        public var policySHA256: String
        public var models: [String]
        public var calibrators: [String]
        public var runs: [String]
        public var bins: String
        public var binCount: Int
        public var bootstrapReplicates: Int
        public var noiseFloorSimulations: Int
        public var seed: UInt64
        public var level: Double
        public var martingaleDelta: Double
        public var martingaleInput: String
        public var estimator: String
        public var outcomes: Int
        enum CodingKeys: String, CodingKey {
            case models, calibrators, runs, bins, seed, level, estimator, outcomes
            case policyName = "policy", policySHA256 = "policy_sha256", binCount = "bin_count", bootstrapReplicates = "bootstrap_replicates"
            case noiseFloorSimulations = "noise_floor_simulations", martingaleDelta = "martingale_delta", martingaleInput = "martingale_input"
        }
    }

    public struct Estimate: Codable, Sendable {
        public var count: Int, estimate: Double, standardError: Double, lower: Double, upper: Double
        init(_ e: ConfidenceBasedAccuracy) {
            count = e.count; estimate = e.estimate; standardError = e.standardError; lower = e.lower; upper = e.upper
        }
        enum CodingKeys: String, CodingKey { case count, estimate, lower, upper, standardError = "standard_error" }
    }

    public struct ReliabilityBin: Codable, Sendable {
        public var lower: Double, upper: Double, count: Int, meanConfidence: Double, accuracy: Double
        enum CodingKeys: String, CodingKey { case lower, upper, count, accuracy, meanConfidence = "mean_confidence" }
    }

    public struct ECE: Codable, Sendable {
        public var value: Double, bins: Int, binning: String, lower: Double, upper: Double, noiseFloorMean: Double, noiseFloor95: Double
        public var reliability: [ReliabilityBin]
        enum CodingKeys: String, CodingKey {
            case value, bins, binning, lower, upper, reliability
            case noiseFloorMean = "noise_floor_mean", noiseFloor95 = "noise_floor_p95"
        }
    }

    public struct ClassCoverage: Codable, Sendable {
        public var className: String
        public var interval: BinomialInterval
        public var meanSetSize: Double
        enum CodingKeys: String, CodingKey { case interval, className = "class", meanSetSize = "mean_set_size" }
    }

    public struct Outcomes: Codable, Sendable {
        public var count: Int
        public var accuracy: BinomialInterval
        public var ece: ECE?
        public var estimateOnLabelled: Double?
        /// Label-free estimate on the labelled cases minus realised accuracy.
        public var estimateError: Double?
        public var coverageAlpha: Double?
        public var classConditional = false
        public var coverage: BinomialInterval?
        public var coverageByClass: [ClassCoverage] = []
        enum CodingKeys: String, CodingKey {
            case count, accuracy, ece, coverage
            case estimateOnLabelled = "estimate_on_labelled", estimateError = "estimate_error", coverageAlpha = "coverage_alpha"
            case classConditional = "class_conditional", coverageByClass = "coverage_by_class"
        }
    }

    public struct Martingale: Codable, Sendable {
        public var value: Double, maximumSoFar: Double, alarm: Bool, observations: Int, threshold: Double
        enum CodingKeys: String, CodingKey { case value, alarm, observations, threshold, maximumSoFar = "maximum_so_far" }
    }

    public struct Alert: Codable, Sendable, Equatable {
        public var period: String, check: String, measured: String, threshold: String, message: String
    }

    public struct Period: Codable, Sendable {
        public var key: String
        public var start: String
        public var end: String
        public var runs: [String]
        public var cases: Int
        public var dispositions: [String: Int] = [:]
        public var abstentionRate = 0.0
        public var escalationRate = 0.0
        public var signatures = 0
        public var overrides = 0
        public var overrideRate: Double?
        public var estimate: Estimate?
        public var meanSetSize: Double?
        public var labelled = 0
        public var outcomes: Outcomes?
        public var martingale: Martingale?
        public var alerts: [Alert] = []

        init(key: String, start: String, end: String, runs: [String], cases: Int) {
            self.key = key; self.start = start; self.end = end; self.runs = runs; self.cases = cases
        }
        enum CodingKeys: String, CodingKey {
            case key, start, end, runs, cases, dispositions, signatures, overrides, estimate, labelled, outcomes, martingale, alerts
            case abstentionRate = "abstention_rate", escalationRate = "escalation_rate", overrideRate = "override_rate", meanSetSize = "mean_set_size"
        }
    }

    public struct MartingalePoint: Codable, Sendable {
        public var period: String, caseId: String, value: Double
        enum CodingKeys: String, CodingKey { case period, value, caseId = "case_id" }
    }

    public var study: String
    public var generatedAt: String
    public var grouping: String
    public var since: String?
    public var provenance: Provenance
    public var periods: [Period]
    public var martingalePath: [MartingalePoint]
    public var alerts: [Alert]

    enum CodingKeys: String, CodingKey {
        case study, grouping, since, provenance, periods, alerts
        case generatedAt = "generated_at", martingalePath = "martingale_path"
    }
}
