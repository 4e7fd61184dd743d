import Foundation

/// Vector scaling (Guo et al. 2017): probabilities = softmax(w ⊙ z + b), one weight and bias per class,
/// fitted by minimising NLL with damped Newton steps. Unlike temperature scaling it may change the
/// arg-max. The biases are centred to mean zero after fitting (softmax is shift-invariant).
public struct VectorScaler: Calibrator, Equatable {
    public static let method = CalibrationMethod.vector
    public let weights: [Double]
    public let biases: [Double]
    public let classCount: Int
    public let calibrationCount: Int

    public init(weights: [Double], biases: [Double], calibrationCount: Int) {
        self.weights = weights
        self.biases = biases
        self.classCount = weights.count
        self.calibrationCount = calibrationCount
    }

    public static func fit(logits: [[Double]], labels: [Int]) throws -> VectorScaler {
        let k = try InputValidation.matrix(logits, field: "logits", minColumns: 2)
        try InputValidation.labels(labels, rowCount: logits.count, classCount: k)
        let n = Double(logits.count)
        // Parameters: [w_0..w_{k-1}, b_0..b_{k-1}]; feature of w_j is z_j, of b_j is 1.
        let theta = dampedNewton(start: Array(repeating: 1.0, count: k) + Array(repeating: 0.0, count: k)) { th in
            var f = 0.0
            var g = Array(repeating: 0.0, count: 2 * k)
            var h = Array(repeating: Array(repeating: 0.0, count: 2 * k), count: 2 * k)
            var a = Array(repeating: 0.0, count: k)
            for (z, y) in zip(logits, labels) {
                for j in 0..<k { a[j] = th[j] * z[j] + th[k + j] }
                let p = Softmax.probabilities(a)
                f += Softmax.logSumExp(a) - a[y]
                for j in 0..<k {
                    let r = p[j] - (j == y ? 1 : 0)
                    g[j] += r * z[j]; g[k + j] += r
                    for l in 0..<k {
                        let c = p[j] * ((j == l ? 1 : 0) - p[l])
                        if c == 0 { continue }
                        h[j][l] += c * z[j] * z[l]
                        h[j][k + l] += c * z[j]
                        h[k + j][l] += c * z[l]
                        h[k + j][k + l] += c
                    }
                }
            }
            return (f / n, g.map { $0 / n }, h.map { $0.map { $0 / n } })
        }
        let w = Array(theta[0..<k])
        let bRaw = Array(theta[k..<(2 * k)])
        let mean = bRaw.reduce(0, +) / Double(k)
        return VectorScaler(weights: w, biases: bRaw.map { $0 - mean }, calibrationCount: logits.count)
    }

    public func calibratedProbabilities(logits: [[Double]]) throws -> [[Double]] {
        try checkInput(logits)
        return logits.map { z in Softmax.probabilities((0..<classCount).map { weights[$0] * z[$0] + biases[$0] }) }
    }
}
