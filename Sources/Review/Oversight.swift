import Calibration
import Foundation

/// One completed review, as the oversight figures see it.
public struct ReviewObservation: Sendable, Equatable, Codable {
    public var reviewerId: String
    public var seconds: Double
    public var agreedWithModel: Bool
    /// The model's calibrated confidence in the class it showed.
    public var modelConfidence: Double?
    /// Blind read matched the model's class (nil: no blind read).
    public var blindReadAgreed: Bool?
    /// Catch trial: the shown answer was deliberately wrong. Detected = the reviewer overrode it.
    public var isCatchTrial: Bool

    public init(reviewerId: String, seconds: Double, agreedWithModel: Bool, modelConfidence: Double?,
                blindReadAgreed: Bool?, isCatchTrial: Bool) {
        self.reviewerId = reviewerId; self.seconds = seconds; self.agreedWithModel = agreedWithModel
        self.modelConfidence = modelConfidence; self.blindReadAgreed = blindReadAgreed; self.isCatchTrial = isCatchTrial
    }
}

/// Per-reviewer oversight figures (EU AI Act Art. 14(4)(b): remain aware of automation bias).
public struct ReviewerOversight: Sendable, Equatable, Codable {
    public var reviewerId: String
    public var reviews: Int
    public var medianSeconds: Double
    public var p10Seconds: Double
    public var p90Seconds: Double
    public var agreementRate: Double
    /// Agreement on cases where the model was least sure (confidence < the low-confidence cut).
    public var lowConfidenceAgreementRate: Double?
    public var lowConfidenceReviews: Int
    public var overrideRate: Double
    public var blindReadAgreementRate: Double?
    public var catchTrials: Int
    public var catchTrialsDetected: Int
    public var catchTrialDetectionRate: Double?
    /// One-sided 95% Clopper–Pearson upper bound on the detection rate.
    public var detectionUpperBound: Double?
    public var flagged: Bool
    public var reasons: [String]
}

public enum OversightStatistics {
    /// Confidence below which a case counts as low-confidence.
    public static let lowConfidenceCut = 0.8
    /// A reviewer is flagged when, with 95% confidence, they catch fewer than this share of wrong answers.
    public static let minimumDetectionRate = 0.5

    public static func figures(_ observations: [ReviewObservation], rules: ReviewRules) -> [ReviewerOversight] {
        let byReviewer = Dictionary(grouping: observations, by: \.reviewerId)
        return byReviewer.keys.sorted().map { id in
            summarise(id, byReviewer[id] ?? [], rules: rules)
        }
    }

    static func summarise(_ id: String, _ obs: [ReviewObservation], rules: ReviewRules) -> ReviewerOversight {
        let times = obs.map(\.seconds).sorted()
        let regular = obs.filter { !$0.isCatchTrial }
        let agree = regular.filter(\.agreedWithModel).count
        let low = regular.filter { ($0.modelConfidence ?? 1) < lowConfidenceCut }
        let blind = obs.compactMap(\.blindReadAgreed)
        let catches = obs.filter(\.isCatchTrial)
        let detected = catches.filter { !$0.agreedWithModel }.count
        let upper = catches.isEmpty ? nil : clopperPearsonUpper(successes: detected, trials: catches.count, level: 0.95)
        var reasons: [String] = []
        let median = quantile(times, 0.5)
        if !times.isEmpty && median < rules.minSeconds {
            reasons.append(String(format: "median review time %.0f s is below the policy's %.0f s", median, rules.minSeconds))
        }
        if let upper, upper < minimumDetectionRate {
            reasons.append("signed agreement with \(catches.count - detected) of \(catches.count) deliberately wrong answers (catch trials); detection rate is below \(Int(minimumDetectionRate * 100))% with 95% confidence")
        }
        return ReviewerOversight(
            reviewerId: id, reviews: obs.count,
            medianSeconds: median, p10Seconds: quantile(times, 0.1), p90Seconds: quantile(times, 0.9),
            agreementRate: regular.isEmpty ? 0 : Double(agree) / Double(regular.count),
            lowConfidenceAgreementRate: low.isEmpty ? nil : Double(low.filter(\.agreedWithModel).count) / Double(low.count),
            lowConfidenceReviews: low.count,
            overrideRate: regular.isEmpty ? 0 : Double(regular.count - agree) / Double(regular.count),
            blindReadAgreementRate: blind.isEmpty ? nil : Double(blind.filter { $0 }.count) / Double(blind.count),
            catchTrials: catches.count, catchTrialsDetected: detected,
            catchTrialDetectionRate: catches.isEmpty ? nil : Double(detected) / Double(catches.count),
            detectionUpperBound: upper, flagged: !reasons.isEmpty, reasons: reasons)
    }

    /// Linear-interpolation quantile of sorted values (0 for none).
    static func quantile(_ sorted: [Double], _ q: Double) -> Double {
        guard !sorted.isEmpty else { return 0 }
        let pos = q * Double(sorted.count - 1)
        let lo = Int(pos.rounded(.down)), hi = min(lo + 1, sorted.count - 1)
        return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - Double(lo))
    }

    /// Exact one-sided upper confidence bound for a binomial proportion (Clopper–Pearson).
    public static func clopperPearsonUpper(successes k: Int, trials n: Int, level: Double) -> Double {
        BinomialInterval.upperBound(successes: k, trials: n, level: level)
    }
}
