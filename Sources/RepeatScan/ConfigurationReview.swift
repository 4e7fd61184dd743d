import Foundation

/// How the next scan's configuration is meant to be chosen (policy `repeat_scans.next_configuration`).
public enum NextConfigurationRule: String, Sendable, Codable, CaseIterable {
    /// The configuration `NextScanAdvisor` names from the scans already taken.
    case advised
    /// The fixed order of the calibration split's scans (configuration t mod K for scan t).
    case fixed
}

/// When a site has pre-registered to stop scanning (policy `repeat_scans.stopping_rule`). The claims
/// are valid under either; the rule is what the site said it would do, and a report shows whether it did.
public enum StoppingRule: String, Sendable, Codable, CaseIterable {
    /// Stop at the first established claim, or at the policy maximum.
    case firstClaim = "first-claim"
    /// Take the policy maximum of scans.
    case maxScans = "max-scans"
}

/// Which configuration each scan should have had, which it had, and what comes next: a scan taken
/// against the advice (or the fixed order) is allowed and counted like any other, and shown.
public struct ConfigurationReview: Sendable, Equatable, Codable {
    public struct Check: Sendable, Equatable, Codable {
        /// 1-based scan number.
        public var scan: Int
        /// The configuration the scan names (nil: none), which may be one the calibration split lacks.
        public var taken: String?
        /// The configuration the rule named before this scan was taken.
        public var expected: String
        public var followed: Bool
    }

    public var rule: NextConfigurationRule
    public var stoppingRule: StoppingRule
    public var checks: [Check]
    public var againstRule: Int
    /// 1-based numbers of scans naming no configuration, or one without calibration evidence.
    public var uncalibrated: [Int]
    /// Scans taken after the pre-registered stopping point.
    public var scansAfterStop: Int
    /// The advice for one more scan; nil when the stopping rule says stop.
    public var next: NextScanAdvice?
    /// One sentence for reports: what to scan next, or why to stop.
    public var nextSentence: String
    /// One sentence for reports about scans taken against the rule and after the stopping point.
    public var deviationSentence: String

    enum CodingKeys: String, CodingKey {
        case rule, stoppingRule = "stopping_rule", checks, againstRule = "against_rule", uncalibrated, scansAfterStop = "scans_after_stop"
        case next, nextSentence = "next_sentence", deviationSentence = "deviation_sentence"
    }

    /// `stopAt`: the scan count at which the policy's claim was first established, if it was.
    /// A scan naming no configuration, or one the calibration split lacks, counts as taken against
    /// the rule and is listed in `uncalibrated`.
    public init(scans: [ScanObservation], evidence: ScanConfigurationEvidence, rule: NextConfigurationRule,
                stoppingRule: StoppingRule, maxScans: Int, stopAt: Int?) {
        let advisor = NextScanAdvisor(evidence: evidence)
        let names = evidence.names
        func expected(after t: Int) -> NextScanAdvice {
            switch rule {
            case .advised: return advisor.advise(after: scans.prefix(t).map(\.probabilities))
            case .fixed:
                var a = advisor.advise(after: scans.prefix(t).map(\.probabilities))
                a.configuration = t % names.count
                a.name = names[a.configuration]
                return a
            }
        }
        var checks: [Check] = []
        var uncalibrated: [Int] = []
        for (t, s) in scans.enumerated() {
            let taken = s.configuration
            if taken.map({ !names.contains($0) }) ?? true { uncalibrated.append(t + 1) }
            let e = expected(after: t).name
            checks.append(Check(scan: t + 1, taken: taken, expected: e, followed: taken == e))
        }
        self.uncalibrated = uncalibrated
        self.rule = rule
        self.stoppingRule = stoppingRule
        self.checks = checks
        againstRule = checks.filter { !$0.followed }.count
        let stop = stoppingRule == .firstClaim ? min(stopAt ?? maxScans, maxScans) : maxScans
        scansAfterStop = max(0, scans.count - stop)
        let ruleName = rule == .advised ? "the advice" : "the fixed order"
        if scans.count >= maxScans {
            next = nil
            nextSentence = "No further scan: the policy maximum of \(maxScans) scans is reached."
        } else if stoppingRule == .firstClaim, stopAt != nil {
            next = nil
            nextSentence = "No further scan: a claim is established and the pre-registered stopping rule is to stop at the first claim."
        } else {
            let n = expected(after: scans.count)
            next = n
            nextSentence = rule == .advised
                ? String(format: "Next scan, if one is taken: %@ (expected standardised evidence %.2f per scan, the largest of %d configurations given the %d scans so far).",
                         n.name, n.expectedGrowth[n.configuration], names.count, scans.count)
                : "Next scan, if one is taken: \(n.name) (the fixed order)."
        }
        var parts: [String] = []
        let against = checks.filter { !$0.followed }
        parts.append(against.isEmpty
            ? "Every scan followed \(ruleName)."
            : "\(against.count) of \(scans.count) scans were taken against \(ruleName) (" + against.map { "scan \($0.scan): \($0.taken ?? "no configuration named"), \(rule == .advised ? "advised" : "expected") \($0.expected)" }.joined(separator: "; ") + "); they count like every other scan.")
        if !uncalibrated.isEmpty {
            parts.append("Scan\(uncalibrated.count == 1 ? "" : "s") \(uncalibrated.map(String.init).joined(separator: ", ")) name\(uncalibrated.count == 1 ? "s" : "") no configuration the calibration split has evidence for.")
        }
        if scansAfterStop > 0 {
            parts.append("\(scansAfterStop) scan\(scansAfterStop == 1 ? " was" : "s were") taken after the pre-registered stopping point (\(stoppingRule.rawValue)).")
        }
        deviationSentence = parts.joined(separator: " ")
    }
}
