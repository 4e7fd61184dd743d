import Foundation

/// Platt scaling (Platt 1999) for two classes: P(class 1) = σ(a·m + b) with m = z₁ − z₀, the logit
/// margin. Fitted by maximum likelihood against Platt's smoothed targets (N₊+1)/(N₊+2) and 1/(N₋+2),
/// which keep a separable calibration set from driving a to infinity.
public struct PlattScaler: Calibrator, Equatable {
    public static let method = CalibrationMethod.platt
    public let slope: Double
    public let intercept: Double
    public let classCount: Int
    public let calibrationCount: Int

    public init(slope: Double, intercept: Double, calibrationCount: Int) {
        self.slope = slope
        self.intercept = intercept
        self.classCount = 2
        self.calibrationCount = calibrationCount
    }

    public static func fit(logits: [[Double]], labels: [Int]) throws -> PlattScaler {
        let k = try InputValidation.matrix(logits, field: "logits")
        guard k == 2 else {
            throw CalibrationError.unsupportedClassCount(method: "platt", classCount: k,
                                                         reason: "Platt scaling is binary; use temperature or vector scaling")
        }
        try InputValidation.labels(labels, rowCount: logits.count, classCount: 2)
        let margins = logits.map { $0[1] - $0[0] }
        let positives = Double(labels.filter { $0 == 1 }.count)
        let negatives = Double(labels.count) - positives
        let hi = (positives + 1) / (positives + 2), lo = 1 / (negatives + 2)
        let targets = labels.map { $0 == 1 ? hi : lo }
        let n = Double(labels.count)
        let theta = dampedNewton(start: [1, 0]) { th in
            var f = 0.0, g0 = 0.0, g1 = 0.0, h00 = 0.0, h01 = 0.0, h11 = 0.0
            for (m, t) in zip(margins, targets) {
                let a = th[0] * m + th[1]
                // log(1 + e^a) − t·a, computed stably.
                f += (a > 0 ? a + log1p(exp(-a)) : log1p(exp(a))) - t * a
                let p = 1 / (1 + exp(-a))
                let r = p - t, w = p * (1 - p)
                g0 += r * m; g1 += r
                h00 += w * m * m; h01 += w * m; h11 += w
            }
            return (f / n, [g0 / n, g1 / n], [[h00 / n, h01 / n], [h01 / n, h11 / n]])
        }
        return PlattScaler(slope: theta[0], intercept: theta[1], calibrationCount: logits.count)
    }

    public func calibratedProbabilities(logits: [[Double]]) throws -> [[Double]] {
        try checkInput(logits)
        return logits.map { z in
            let p1 = 1 / (1 + exp(-(slope * (z[1] - z[0]) + intercept)))
            return [1 - p1, p1]
        }
    }
}
