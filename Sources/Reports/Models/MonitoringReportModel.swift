/// The monitoring report's figures, as plain values (built by `Pipeline`'s monitor job; missing
/// figures are nil and show as "not evaluated").
public struct MonitoringReportModel: Sendable {
    public struct Interval: Sendable {
        public var value: Double, lower: Double, upper: Double
        public init(value: Double, lower: Double, upper: Double) { self.value = value; self.lower = lower; self.upper = upper }
    }

    public struct ClassCoverage: Sendable {
        public var className: String
        public var coverage: Interval
        public var count: Int
        public init(className: String, coverage: Interval, count: Int) { self.className = className; self.coverage = coverage; self.count = count }
    }

    public struct Period: Sendable {
        public var key: String
        public var start: String
        public var end: String
        public var runs: [String]
        public var cases: Int
        public var dispositions: [(String, Int)]
        public var abstentionRate: Double
        public var escalationRate: Double
        public var overrideRate: Double?
        public var signatures: Int
        public var estimatedAccuracy: Interval?
        public var meanSetSize: Double?
        public var labelled: Int
        public var accuracy: Interval?
        public var ece: Double?
        public var eceInterval: (Double, Double)?
        public var eceNoiseFloor95: Double?
        public var estimateError: Double?
        public var targetCoverage: Double?
        public var coverage: Interval?
        public var coverageByClass: [ClassCoverage]
        public var martingale: Double?
        public var martingaleAlarm: Bool
        public var alerts: Int

        public init(key: String, start: String, end: String, runs: [String], cases: Int, dispositions: [(String, Int)],
                    abstentionRate: Double, escalationRate: Double, overrideRate: Double?, signatures: Int) {
            self.key = key; self.start = start; self.end = end; self.runs = runs; self.cases = cases; self.dispositions = dispositions
            self.abstentionRate = abstentionRate; self.escalationRate = escalationRate; self.overrideRate = overrideRate
            self.signatures = signatures; self.labelled = 0; self.coverageByClass = []; self.martingaleAlarm = false; self.alerts = 0
        }
    }

    public struct Alert: Sendable {
        public var period: String, check: String, measured: String, threshold: String, message: String
        public init(period: String, check: String, measured: String, threshold: String, message: String) {
            self.period = period; self.check = check; self.measured = measured; self.threshold = threshold; self.message = message
        }
    }

    public var study: String
    public var grouping: String
    public var generatedAt: String
    public var periods: [Period]
    public var alerts: [Alert]
    public var martingalePath: [Double]
    public var martingaleThreshold: Double
    /// Thresholds drawn on the charts (nil: switched off in the policy).
    public var minAccuracy: Double?
    public var maxECE: Double?
    /// Label, value pairs: policy and hash, models, calibrators, bins, seeds, estimator.
    public var provenance: [(String, String)]

    public init(study: String, grouping: String, generatedAt: String, periods: [Period], alerts: [Alert], martingalePath: [Double],
                martingaleThreshold: Double, minAccuracy: Double?, maxECE: Double?, provenance: [(String, String)]) {
        self.study = study; self.grouping = grouping; self.generatedAt = generatedAt; self.periods = periods; self.alerts = alerts
        self.martingalePath = martingalePath; self.martingaleThreshold = martingaleThreshold; self.minAccuracy = minAccuracy
        self.maxECE = maxECE; self.provenance = provenance
    }
}
