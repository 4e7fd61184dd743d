import Foundation

/// Accuracy estimated without labels (confidence-based performance estimation, as NannyML's CBPE):
/// if the calibrated confidence c_i of each predicted class is a true probability of being right, the
/// number right is a sum of independent Bernoulli(c_i) — its mean Σc_i/n is the estimate, its
/// Poisson-binomial variance Σc_i(1−c_i)/n² the label-free uncertainty (Kivimäki et al. 2024). It is
/// only as good as the calibration: a shift that breaks calibration breaks the estimate, which is why
/// `audit monitor` compares it with realised accuracy once outcomes arrive.
public struct ConfidenceBasedAccuracy: Codable, Equatable, Sendable {
    public let count: Int
    public let estimate: Double
    /// √(Σ c_i(1−c_i)) / n.
    public let standardError: Double
    /// estimate ∓ z·SE, clipped to [0, 1].
    public let lower: Double
    public let upper: Double
    public let level: Double

    public init(confidences: [Double], level: Double = 0.95) throws {
        guard !confidences.isEmpty else { throw CalibrationError.empty(field: "confidences") }
        guard level > 0, level < 1 else {
            throw CalibrationError.invalidParameter(name: "level", value: "\(level)", reason: "must lie in (0, 1)")
        }
        for (i, c) in confidences.enumerated() where !(c >= 0 && c <= 1) {
            throw CalibrationError.notAProbability(field: "confidences", row: i, column: 0, value: c)
        }
        let n = Double(confidences.count)
        var sum = 0.0, variance = 0.0
        for c in confidences { sum += c; variance += c * (1 - c) }
        count = confidences.count
        estimate = sum / n
        standardError = variance.squareRoot() / n
        let z = normalQuantile(1 - (1 - level) / 2)
        lower = max(0, estimate - z * standardError)
        upper = min(1, estimate + z * standardError)
        self.level = level
    }

    /// NannyML's sampling error for a chunk of `chunkSize`: the standard deviation (over n) of the
    /// reference set's 0/1 correctness, divided by √chunkSize. Shown beside the label-free SE.
    public static func referenceSamplingError(referenceCorrect: [Bool], chunkSize: Int) -> Double {
        guard !referenceCorrect.isEmpty, chunkSize > 0 else { return .nan }
        let p = Double(referenceCorrect.filter { $0 }.count) / Double(referenceCorrect.count)
        return (p * (1 - p)).squareRoot() / Double(chunkSize).squareRoot()
    }
}
