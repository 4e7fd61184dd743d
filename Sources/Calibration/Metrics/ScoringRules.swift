import Foundation

/// Proper scoring rules and accuracy on a probability matrix.
public enum ScoringRules {
    /// Probabilities below this are clamped before taking logs, so one zero does not make NLL infinite.
    public static let nllFloor = 1e-15

    /// Mean negative log-likelihood of the true labels.
    public static func negativeLogLikelihood(probabilities: [[Double]], labels: [Int]) throws -> Double {
        let k = try InputValidation.probabilities(probabilities)
        try InputValidation.labels(labels, rowCount: probabilities.count, classCount: k)
        return nll(probabilities, labels, indices: probabilities.indices)
    }

    /// Multiclass Brier score: mean over cases of Σ_k (p_k − 1[y = k])² (range 0…2).
    public static func brier(probabilities: [[Double]], labels: [Int]) throws -> Double {
        let k = try InputValidation.probabilities(probabilities)
        try InputValidation.labels(labels, rowCount: probabilities.count, classCount: k)
        return brier(probabilities, labels, indices: probabilities.indices)
    }

    /// Fraction of cases whose arg-max equals the label.
    public static func accuracy(probabilities: [[Double]], labels: [Int]) throws -> Double {
        let k = try InputValidation.matrix(probabilities, field: "probabilities")
        try InputValidation.labels(labels, rowCount: probabilities.count, classCount: k)
        return accuracy(probabilities, labels, indices: probabilities.indices)
    }

    static func nll<C: Collection>(_ p: [[Double]], _ y: [Int], indices: C) -> Double where C.Element == Int {
        var s = 0.0
        for i in indices { s -= log(max(p[i][y[i]], nllFloor)) }
        return s / Double(indices.count)
    }

    static func brier<C: Collection>(_ p: [[Double]], _ y: [Int], indices: C) -> Double where C.Element == Int {
        var s = 0.0
        for i in indices {
            for (k, v) in p[i].enumerated() {
                let d = v - (k == y[i] ? 1 : 0)
                s += d * d
            }
        }
        return s / Double(indices.count)
    }

    static func accuracy<C: Collection>(_ p: [[Double]], _ y: [Int], indices: C) -> Double where C.Element == Int {
        var hits = 0
        for i in indices where Softmax.argmax(p[i]) == y[i] { hits += 1 }
        return Double(hits) / Double(indices.count)
    }
}
