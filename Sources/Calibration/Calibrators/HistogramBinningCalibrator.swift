import Foundation

/// Histogram binning (Zadrozny & Elkan 2001), one-vs-rest: for each class, the softmax probability p_k
/// is put into M equal-width bins ((m−1)/M, m/M] and replaced by the observed frequency of class k in
/// that bin on the calibration split; an empty bin keeps its centre. Rows are then renormalised.
public struct HistogramBinningCalibrator: Calibrator, Equatable {
    public static let method = CalibrationMethod.histogram
    public static let defaultBinCount = 15
    public let binCount: Int
    /// `binValues[k][m]`: calibrated probability of class k for bin m.
    public let binValues: [[Double]]
    /// `binCounts[k][m]`: calibration cases that fell in the bin (provenance).
    public let binCounts: [[Int]]
    public let classCount: Int
    public let calibrationCount: Int

    public init(binCount: Int, binValues: [[Double]], binCounts: [[Int]], calibrationCount: Int) {
        self.binCount = binCount
        self.binValues = binValues
        self.binCounts = binCounts
        self.classCount = binValues.count
        self.calibrationCount = calibrationCount
    }

    public static func fit(logits: [[Double]], labels: [Int]) throws -> HistogramBinningCalibrator {
        try fit(logits: logits, labels: labels, binCount: defaultBinCount)
    }

    public static func fit(logits: [[Double]], labels: [Int], binCount: Int) throws -> HistogramBinningCalibrator {
        guard binCount >= 1 else {
            throw CalibrationError.invalidParameter(name: "binCount", value: "\(binCount)", reason: "must be at least 1")
        }
        let k = try InputValidation.matrix(logits, field: "logits", minColumns: 2)
        try InputValidation.labels(labels, rowCount: logits.count, classCount: k)
        let p = Softmax.probabilities(logits: logits)
        var values: [[Double]] = [], counts: [[Int]] = []
        for c in 0..<k {
            var hits = Array(repeating: 0.0, count: binCount)
            var n = Array(repeating: 0, count: binCount)
            for (row, y) in zip(p, labels) {
                let m = EqualWidthBins.index(of: row[c], binCount: binCount)
                n[m] += 1
                if y == c { hits[m] += 1 }
            }
            var binValue = Array(repeating: 0.0, count: binCount)
            for m in 0..<binCount {
                let centre = (Double(m) + 0.5) / Double(binCount)
                binValue[m] = n[m] > 0 ? hits[m] / Double(n[m]) : centre
            }
            values.append(binValue)
            counts.append(n)
        }
        return HistogramBinningCalibrator(binCount: binCount, binValues: values, binCounts: counts,
                                          calibrationCount: logits.count)
    }

    public func calibratedProbabilities(logits: [[Double]]) throws -> [[Double]] {
        try checkInput(logits)
        let p = Softmax.probabilities(logits: logits)
        return renormalised(p.map { row in
            (0..<classCount).map { binValues[$0][EqualWidthBins.index(of: row[$0], binCount: binCount)] }
        })
    }
}
