import Foundation

/// The model against a model-free baseline on the same labelled cases: accuracy (Clopper–Pearson)
/// and negative log-likelihood (normal interval) for each, and paired intervals of the differences.
/// A model that is not better than the baseline on accuracy or on NLL is not earning its place,
/// however well it is calibrated; a site's policy decides what to do then.
public struct BaselineComparison: Codable, Equatable, Sendable {
    public struct Figure: Codable, Equatable, Sendable {
        public var value: Double
        public var lower: Double
        public var upper: Double
    }

    /// What the baseline is, in words (for reports).
    public var baseline: String
    /// Which cases both were scored on.
    public var cases: String
    public var n: Int
    public var level: Double
    public var modelAccuracy: Figure
    public var baselineAccuracy: Figure
    /// Model minus baseline, per case paired (normal interval on the per-case differences).
    public var accuracyDifference: Figure
    public var modelNLL: Figure
    public var baselineNLL: Figure
    /// Model minus baseline (negative: the model is better).
    public var nllDifference: Figure
    /// Strictly higher accuracy and strictly lower NLL than the baseline.
    public var modelBetter: Bool

    enum CodingKeys: String, CodingKey {
        case baseline, cases, n, level, modelAccuracy = "model_accuracy", baselineAccuracy = "baseline_accuracy"
        case accuracyDifference = "accuracy_difference", modelNLL = "model_nll", baselineNLL = "baseline_nll"
        case nllDifference = "nll_difference", modelBetter = "model_better"
    }

    /// `modelProbabilities` / `baselineProbabilities`: one distribution per case; `baselinePredictions`:
    /// the baseline's answers (e.g. the 1-NN label, which need not be the arg-max of its smoothed
    /// probabilities); the model's answer is its arg-max.
    public init(modelProbabilities: [[Double]], baselineProbabilities: [[Double]], baselinePredictions: [Int], labels: [Int],
                baseline: String, cases: String, level: Double = 0.95) throws {
        let k = try InputValidation.probabilities(modelProbabilities)
        try InputValidation.labels(labels, rowCount: modelProbabilities.count, classCount: k)
        let kb = try InputValidation.probabilities(baselineProbabilities, field: "baselineProbabilities")
        guard kb == k else { throw CalibrationError.countMismatch(field: "baselineProbabilities classes", expected: k, found: kb) }
        guard baselineProbabilities.count == labels.count else {
            throw CalibrationError.countMismatch(field: "baselineProbabilities", expected: labels.count, found: baselineProbabilities.count)
        }
        guard baselinePredictions.count == labels.count else {
            throw CalibrationError.countMismatch(field: "baselinePredictions", expected: labels.count, found: baselinePredictions.count)
        }
        try InputValidation.labels(baselinePredictions, rowCount: labels.count, classCount: k)
        let n = labels.count
        var correctModel = 0, correctBaseline = 0
        var accDiff = [Double](), nllModel = [Double](), nllBaseline = [Double]()
        for i in 0..<n {
            let p = modelProbabilities[i]
            let answer = p.indices.max { p[$0] < p[$1] } ?? 0
            let m = answer == labels[i] ? 1.0 : 0, b = baselinePredictions[i] == labels[i] ? 1.0 : 0
            correctModel += Int(m); correctBaseline += Int(b)
            accDiff.append(m - b)
            nllModel.append(-log(max(p[labels[i]], ScoringRules.nllFloor)))
            nllBaseline.append(-log(max(baselineProbabilities[i][labels[i]], ScoringRules.nllFloor)))
        }
        let z = normalQuantile(0.5 + level / 2)
        func mean(_ x: [Double]) -> Figure {
            let m = x.reduce(0, +) / Double(x.count)
            let sd = x.count > 1 ? (x.map { ($0 - m) * ($0 - m) }.reduce(0, +) / Double(x.count - 1)).squareRoot() : 0
            let h = z * sd / Double(x.count).squareRoot()
            return Figure(value: m, lower: m - h, upper: m + h)
        }
        func proportion(_ k: Int) throws -> Figure {
            let ci = try BinomialInterval(successes: k, trials: n, level: level)
            return Figure(value: ci.proportion, lower: ci.lower, upper: ci.upper)
        }
        self.baseline = baseline
        self.cases = cases
        self.n = n
        self.level = level
        modelAccuracy = try proportion(correctModel)
        baselineAccuracy = try proportion(correctBaseline)
        accuracyDifference = mean(accDiff)
        modelNLL = mean(nllModel)
        baselineNLL = mean(nllBaseline)
        nllDifference = mean(zip(nllModel, nllBaseline).map { $0 - $1 })
        modelBetter = modelAccuracy.value > baselineAccuracy.value && modelNLL.value < baselineNLL.value
    }

    /// One sentence for reports.
    public var sentence: String {
        func f(_ x: Double) -> String { String(format: "%.3f", x) }
        let figures = "accuracy \(f(modelAccuracy.value)) [\(f(modelAccuracy.lower)), \(f(modelAccuracy.upper))] against \(f(baselineAccuracy.value)) [\(f(baselineAccuracy.lower)), \(f(baselineAccuracy.upper))], "
            + "NLL \(f(modelNLL.value)) against \(f(baselineNLL.value)) (difference \(f(nllDifference.value)) [\(f(nllDifference.lower)), \(f(nllDifference.upper))]) on \(n) \(cases)"
        if modelBetter { return "The model beats the model-free baseline (\(baseline)): " + figures + "." }
        let worse = [modelAccuracy.value > baselineAccuracy.value ? nil : "accuracy", modelNLL.value < baselineNLL.value ? nil : "NLL"]
            .compactMap { $0 }.joined(separator: " and ")
        return "The model is not better than the model-free baseline (\(baseline)) on \(worse): " + figures + "."
    }
}
