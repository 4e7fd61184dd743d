import Foundation

/// A binned calibration error (ECE and MCE) together with the bins that produced it: a number
/// without its bins cannot be reproduced, so the two never travel apart.
public struct CalibrationErrorEstimate: Codable, Equatable, Sendable {
    /// What was binned: the top-label confidence, or one class's probability (class-wise ECE).
    public enum Target: Codable, Equatable, Sendable {
        case topLabel
        case classProbability(Int)
    }

    public let target: Target
    public let scheme: BinningScheme
    public let sampleCount: Int
    /// Σ_b (n_b / n)·|observed_b − confidence_b|.
    public let ece: Double
    /// max over non-empty bins of |observed_b − confidence_b|.
    public let mce: Double
    public let bins: [CalibrationBin]

    /// Bins the confidences and compares them with the 0/1 outcomes.
    public init(confidences: [Double], outcomes: [Bool], scheme: BinningScheme, target: Target) throws {
        try scheme.validate()
        guard !confidences.isEmpty else { throw CalibrationError.empty(field: "confidences") }
        if outcomes.count != confidences.count {
            throw CalibrationError.countMismatch(field: "outcomes", expected: confidences.count, found: outcomes.count)
        }
        for (i, c) in confidences.enumerated() where !(c >= 0 && c <= 1) {
            throw CalibrationError.notAProbability(field: "confidences", row: i, column: 0, value: c)
        }
        let assignment = scheme.assign(confidences)
        self.init(confidences: confidences, outcomes: outcomes, assignment: assignment, scheme: scheme, target: target)
    }

    /// Trusted fast path (inputs already validated, bins already assigned).
    init(confidences: [Double], outcomes: [Bool], assignment: [Int], scheme: BinningScheme, target: Target) {
        let m = scheme.count
        var count = Array(repeating: 0, count: m)
        var sumConf = Array(repeating: 0.0, count: m)
        var hits = Array(repeating: 0.0, count: m)
        var lo = Array(repeating: Double.infinity, count: m)
        var hi = Array(repeating: -Double.infinity, count: m)
        for i in confidences.indices {
            let b = assignment[i]
            count[b] += 1
            sumConf[b] += confidences[i]
            if outcomes[i] { hits[b] += 1 }
            lo[b] = min(lo[b], confidences[i]); hi[b] = max(hi[b], confidences[i])
        }
        let n = Double(confidences.count)
        var ece = 0.0, mce = 0.0
        var bins: [CalibrationBin] = []
        bins.reserveCapacity(m)
        for b in 0..<m {
            let c = count[b]
            let meanConf = c > 0 ? sumConf[b] / Double(c) : 0
            let freq = c > 0 ? hits[b] / Double(c) : 0
            let lower: Double, upper: Double
            switch scheme {
            case .equalWidth: lower = EqualWidthBins.edge(b, binCount: m); upper = EqualWidthBins.edge(b + 1, binCount: m)
            case .equalMass: lower = c > 0 ? lo[b] : .nan; upper = c > 0 ? hi[b] : .nan
            }
            let bin = CalibrationBin(index: b, lower: lower, upper: upper, count: c,
                                     meanConfidence: meanConf, observedFrequency: freq)
            if c > 0 {
                ece += Double(c) / n * bin.gap
                mce = max(mce, bin.gap)
            }
            bins.append(bin)
        }
        self.target = target
        self.scheme = scheme
        self.sampleCount = confidences.count
        self.ece = ece
        self.mce = mce
        self.bins = bins
    }

    /// Top-label ECE/MCE of a probability matrix (Guo et al. 2017): confidence = max_k p_k,
    /// outcome = (arg-max == label).
    public static func topLabel(probabilities: [[Double]], labels: [Int],
                                scheme: BinningScheme = .standard) throws -> CalibrationErrorEstimate {
        let k = try InputValidation.probabilities(probabilities)
        try InputValidation.labels(labels, rowCount: probabilities.count, classCount: k)
        let (conf, correct) = topLabelOutcomes(probabilities, labels)
        return try CalibrationErrorEstimate(confidences: conf, outcomes: correct, scheme: scheme, target: .topLabel)
    }

    /// Reliability-diagram rows (mean confidence, accuracy, count per bin).
    public var reliabilityDiagram: [CalibrationBin] { bins }
}

/// Top-label confidences and correctness (arg-max ties go to the lowest index).
func topLabelOutcomes(_ p: [[Double]], _ labels: [Int]) -> ([Double], [Bool]) {
    var conf: [Double] = [], correct: [Bool] = []
    conf.reserveCapacity(p.count); correct.reserveCapacity(p.count)
    for (row, y) in zip(p, labels) {
        let j = Softmax.argmax(row)
        conf.append(row[j]); correct.append(j == y)
    }
    return (conf, correct)
}

/// Class-wise ECE (Kull et al. 2019): the mean over classes of the binned calibration error of p_k
/// against 1[y = k], each with its own bins.
public struct ClasswiseCalibrationError: Codable, Equatable, Sendable {
    public let value: Double
    public let perClass: [CalibrationErrorEstimate]

    public init(probabilities: [[Double]], labels: [Int], scheme: BinningScheme = .standard) throws {
        let k = try InputValidation.probabilities(probabilities)
        try InputValidation.labels(labels, rowCount: probabilities.count, classCount: k)
        perClass = try (0..<k).map { c in
            try CalibrationErrorEstimate(confidences: probabilities.map { $0[c] }, outcomes: labels.map { $0 == c },
                                         scheme: scheme, target: .classProbability(c))
        }
        value = perClass.map(\.ece).reduce(0, +) / Double(k)
    }
}
