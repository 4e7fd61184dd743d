import Foundation

/// Numerically stable softmax and log-sum-exp on plain arrays.
public enum Softmax {
    public static func logSumExp(_ z: [Double]) -> Double {
        guard let m = z.max() else { return -.infinity }
        if !m.isFinite { return m }
        var s = 0.0
        for v in z { s += exp(v - m) }
        return m + log(s)
    }

    /// Softmax of one row of logits.
    public static func probabilities(_ z: [Double]) -> [Double] {
        guard let m = z.max() else { return [] }
        var out = z.map { exp($0 - m) }
        let s = out.reduce(0, +)
        for i in out.indices { out[i] /= s }
        return out
    }

    /// Softmax of each row.
    public static func probabilities(logits: [[Double]]) -> [[Double]] {
        logits.map { probabilities($0) }
    }

    /// Logits that reproduce given probabilities under softmax (log p, with 0 mapped to a very negative
    /// finite number), so probability-only inputs can use the logit-based calibrators.
    public static func logits(fromProbabilities p: [[Double]]) -> [[Double]] {
        p.map { row in row.map { $0 > 0 ? log($0) : -745.0 } }
    }

    /// Index of the largest entry (first on ties).
    public static func argmax(_ row: [Double]) -> Int {
        var best = 0
        for j in 1..<max(row.count, 1) where row[j] > row[best] { best = j }
        return best
    }
}

/// Splits a flat row-major buffer into rows.
public func reshapeRows(_ flat: [Double], columns: Int) throws -> [[Double]] {
    guard columns > 0 else {
        throw CalibrationError.invalidParameter(name: "columns", value: "\(columns)", reason: "must be positive")
    }
    guard flat.count % columns == 0 else {
        throw CalibrationError.invalidParameter(name: "flat count", value: "\(flat.count)",
                                                reason: "not a multiple of \(columns) columns")
    }
    return stride(from: 0, to: flat.count, by: columns).map { Array(flat[$0..<($0 + columns)]) }
}
