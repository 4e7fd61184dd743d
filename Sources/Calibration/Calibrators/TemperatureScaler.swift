import Foundation

/// Temperature scaling (Guo et al. 2017): probabilities = softmax(z / T), with T > 0 minimising the
/// mean negative log-likelihood on the calibration split. Dividing by a positive T keeps the arg-max,
/// so accuracy never changes.
///
/// The NLL is convex in β = 1/T (its second derivative is the mean variance of z under softmax(βz)),
/// so a safeguarded Newton iteration in β finds the minimiser to machine precision.
public struct TemperatureScaler: Calibrator, Equatable {
    public static let method = CalibrationMethod.temperature
    /// Allowed range for T; a separable calibration set drives the optimum to the lower bound.
    public static let temperatureRange: ClosedRange<Double> = 1e-2...1e2

    public let temperature: Double
    public let classCount: Int
    public let calibrationCount: Int
    /// NLL at T = 1 and at the fitted T (provenance of the fit).
    public let nllBefore: Double
    public let nllAfter: Double

    public init(temperature: Double, classCount: Int, calibrationCount: Int, nllBefore: Double, nllAfter: Double) {
        self.temperature = temperature
        self.classCount = classCount
        self.calibrationCount = calibrationCount
        self.nllBefore = nllBefore
        self.nllAfter = nllAfter
    }

    /// Mean NLL of softmax(β z) and its first two derivatives in β.
    static func objective(_ logits: [[Double]], _ labels: [Int], beta: Double) -> (f: Double, d1: Double, d2: Double) {
        var f = 0.0, d1 = 0.0, d2 = 0.0
        for (z, y) in zip(logits, labels) {
            var m = -Double.infinity
            for v in z { m = max(m, beta * v) }
            var s = 0.0, ez = 0.0, ez2 = 0.0
            for v in z {
                let w = exp(beta * v - m)
                s += w; ez += w * v; ez2 += w * v * v
            }
            ez /= s; ez2 /= s
            f += m + log(s) - beta * z[y]
            d1 += ez - z[y]
            d2 += max(ez2 - ez * ez, 0)
        }
        let n = Double(logits.count)
        return (f / n, d1 / n, d2 / n)
    }

    public static func fit(logits: [[Double]], labels: [Int]) throws -> TemperatureScaler {
        let k = try InputValidation.matrix(logits, field: "logits", minColumns: 2)
        try InputValidation.labels(labels, rowCount: logits.count, classCount: k)
        let betaMin = 1 / temperatureRange.upperBound, betaMax = 1 / temperatureRange.lowerBound
        var beta = 1.0
        var cur = objective(logits, labels, beta: beta)
        let nllBefore = cur.f
        iterations: for _ in 0..<200 {
            if abs(cur.d1) < 1e-13 { break }
            var step = cur.d2 > 1e-300 ? -cur.d1 / cur.d2 : -cur.d1
            var accepted = false
            for _ in 0..<60 {
                let cand = min(max(beta + step, betaMin), betaMax)
                let next = objective(logits, labels, beta: cand)
                if next.f <= cur.f + 1e-15 * abs(cur.f) {
                    let moved = abs(cand - beta)
                    beta = cand; cur = next; accepted = true
                    if moved < 1e-15 * max(1, beta) { break iterations }
                    break
                }
                step /= 2
            }
            if !accepted { break }
            if beta == betaMin && cur.d1 > 0 { break }
            if beta == betaMax && cur.d1 < 0 { break }
        }
        return TemperatureScaler(temperature: 1 / beta, classCount: k, calibrationCount: logits.count,
                                 nllBefore: nllBefore, nllAfter: cur.f)
    }

    public func calibratedProbabilities(logits: [[Double]]) throws -> [[Double]] {
        try checkInput(logits)
        return logits.map { Softmax.probabilities($0.map { $0 / temperature }) }
    }
}
