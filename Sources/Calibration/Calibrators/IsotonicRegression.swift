import Foundation

/// Non-decreasing least-squares fit of y on x by pool-adjacent-violators, predicted by linear
/// interpolation between the fitted points and clipped outside them — the same estimator as
/// scikit-learn's `IsotonicRegression(out_of_bounds="clip")`: tied x values are first merged into their
/// weighted mean, PAV runs on the unique x, and points inside flat runs are dropped (they are collinear,
/// so interpolation is unchanged).
public struct IsotonicRegression: Codable, Equatable, Sendable {
    /// Interpolation knots, strictly increasing in x.
    public let x: [Double]
    public let y: [Double]

    public init(x: [Double], y: [Double]) {
        self.x = x
        self.y = y
    }

    public static func fit(x: [Double], y: [Double], weights: [Double]? = nil) throws -> IsotonicRegression {
        guard !x.isEmpty else { throw CalibrationError.empty(field: "isotonic x") }
        if y.count != x.count { throw CalibrationError.countMismatch(field: "isotonic y", expected: x.count, found: y.count) }
        let w = weights ?? Array(repeating: 1.0, count: x.count)
        if w.count != x.count { throw CalibrationError.countMismatch(field: "isotonic weights", expected: x.count, found: w.count) }
        for i in x.indices where !(x[i].isFinite && y[i].isFinite && w[i].isFinite && w[i] >= 0) {
            throw CalibrationError.nonFinite(field: "isotonic input", row: i, column: 0)
        }
        let order = x.indices.sorted { x[$0] < x[$1] || (x[$0] == x[$1] && $0 < $1) }
        // Merge ties in x into weighted means.
        var ux: [Double] = [], uy: [Double] = [], uw: [Double] = []
        var i = 0
        while i < order.count {
            let xv = x[order[i]]
            var sw = 0.0, swy = 0.0
            var j = i
            while j < order.count && x[order[j]] == xv {
                sw += w[order[j]]; swy += w[order[j]] * y[order[j]]; j += 1
            }
            ux.append(xv); uy.append(sw > 0 ? swy / sw : 0); uw.append(sw)
            i = j
        }
        // Pool adjacent violators: blocks of (mean, weight, count).
        var means: [Double] = [], ws: [Double] = [], counts: [Int] = []
        for (v, wt) in zip(uy, uw) {
            means.append(v); ws.append(wt); counts.append(1)
            while means.count > 1 && means[means.count - 2] > means[means.count - 1] {
                let b = means.count - 1
                let tw = ws[b - 1] + ws[b]
                let m = tw > 0 ? (means[b - 1] * ws[b - 1] + means[b] * ws[b]) / tw : (means[b - 1] + means[b]) / 2
                means[b - 1] = m; ws[b - 1] = tw; counts[b - 1] += counts[b]
                means.removeLast(); ws.removeLast(); counts.removeLast()
            }
        }
        var fitted: [Double] = []
        fitted.reserveCapacity(ux.count)
        for (m, c) in zip(means, counts) { fitted.append(contentsOf: repeatElement(m, count: c)) }
        // Drop interior points of flat runs.
        var kx: [Double] = [], ky: [Double] = []
        for t in ux.indices {
            let interior = t > 0 && t < ux.count - 1 && fitted[t - 1] == fitted[t] && fitted[t] == fitted[t + 1]
            if !interior { kx.append(ux[t]); ky.append(fitted[t]) }
        }
        return IsotonicRegression(x: kx, y: ky)
    }

    public func predict(_ v: Double) -> Double {
        guard let first = x.first, let last = x.last else { return .nan }
        if v <= first { return y[0] }
        if v >= last { return y[y.count - 1] }
        // Largest index with x[lo] <= v.
        var lo = 0, hi = x.count - 1
        while hi - lo > 1 {
            let mid = (lo + hi) / 2
            if x[mid] <= v { lo = mid } else { hi = mid }
        }
        if x[lo] == v { return y[lo] }
        let slope = (y[hi] - y[lo]) / (x[hi] - x[lo])
        return slope * (v - x[lo]) + y[lo]
    }

    public func predict(_ v: [Double]) -> [Double] { v.map { predict($0) } }
}

/// Isotonic calibration (Zadrozny & Elkan 2002): one-vs-rest isotonic regression of 1[y = k] on the
/// softmax probability p_k for every class, then each row renormalised to sum to one (a row whose
/// calibrated entries are all zero becomes uniform).
public struct IsotonicCalibrator: Calibrator, Equatable {
    public static let method = CalibrationMethod.isotonic
    public let perClass: [IsotonicRegression]
    public let classCount: Int
    public let calibrationCount: Int

    public init(perClass: [IsotonicRegression], calibrationCount: Int) {
        self.perClass = perClass
        self.classCount = perClass.count
        self.calibrationCount = calibrationCount
    }

    public static func fit(logits: [[Double]], labels: [Int]) throws -> IsotonicCalibrator {
        let k = try InputValidation.matrix(logits, field: "logits", minColumns: 2)
        try InputValidation.labels(labels, rowCount: logits.count, classCount: k)
        let p = Softmax.probabilities(logits: logits)
        let fits = try (0..<k).map { c in
            try IsotonicRegression.fit(x: p.map { $0[c] }, y: labels.map { $0 == c ? 1.0 : 0.0 })
        }
        return IsotonicCalibrator(perClass: fits, calibrationCount: logits.count)
    }

    /// Per-class isotonic outputs before renormalisation.
    public func oneVsRestScores(probabilities p: [[Double]]) -> [[Double]] {
        p.map { row in (0..<classCount).map { perClass[$0].predict(row[$0]) } }
    }

    public func calibratedProbabilities(logits: [[Double]]) throws -> [[Double]] {
        try checkInput(logits)
        return renormalised(oneVsRestScores(probabilities: Softmax.probabilities(logits: logits)))
    }
}
