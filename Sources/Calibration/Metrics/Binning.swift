import Foundation

/// How confidences are grouped for a binned calibration error.
public enum BinningScheme: Codable, Hashable, Sendable, CustomStringConvertible {
    /// M equal-width bins ((m−1)/M, m/M], m = 1…M (Guo et al. 2017); a confidence of exactly 0 goes to the first.
    case equalWidth(count: Int)
    /// M bins of (nearly) equal counts: confidences sorted ascending (ties by input order) and cut into
    /// M contiguous groups, the first n mod M groups one larger (as `numpy.array_split`).
    case equalMass(count: Int)

    /// The Guo et al. default: 15 equal-width bins.
    public static let standard = BinningScheme.equalWidth(count: 15)

    public var count: Int {
        switch self {
        case .equalWidth(let m), .equalMass(let m): return m
        }
    }

    public var description: String {
        switch self {
        case .equalWidth(let m): return "\(m) equal-width bins ((m−1)/\(m), m/\(m)]"
        case .equalMass(let m): return "\(m) equal-mass bins"
        }
    }

    func validate() throws {
        if count < 1 {
            throw CalibrationError.invalidParameter(name: "bin count", value: "\(count)", reason: "must be at least 1")
        }
    }

    /// Bin index of every confidence (all bins assigned before any statistic is computed).
    func assign(_ confidences: [Double]) -> [Int] {
        switch self {
        case .equalWidth(let m):
            return confidences.map { EqualWidthBins.index(of: $0, binCount: m) }
        case .equalMass(let m):
            let n = confidences.count
            let order = confidences.indices.sorted {
                confidences[$0] < confidences[$1] || (confidences[$0] == confidences[$1] && $0 < $1)
            }
            var out = Array(repeating: 0, count: n)
            let base = n / m, extra = n % m
            var pos = 0
            for b in 0..<m {
                let size = base + (b < extra ? 1 : 0)
                for t in pos..<(pos + size) { out[order[t]] = b }
                pos += size
            }
            return out
        }
    }
}

/// Equal-width bin arithmetic with edges m/M computed exactly as `Double(m) / Double(M)`.
public enum EqualWidthBins {
    public static func edge(_ m: Int, binCount: Int) -> Double { Double(m) / Double(binCount) }

    /// Index m−1 of the bin ((m−1)/M, m/M] containing c; values ≤ 0 go to bin 0 and values > 1 to bin M−1.
    public static func index(of c: Double, binCount: Int) -> Int {
        if !(c > 0) { return 0 }
        var i = min(max(Int((c * Double(binCount)).rounded(.up)) - 1, 0), binCount - 1)
        while i > 0 && c <= edge(i, binCount: binCount) { i -= 1 }
        while i < binCount - 1 && c > edge(i + 1, binCount: binCount) { i += 1 }
        return i
    }
}

/// One bin of a reliability diagram: its range, how many cases fell in it, their mean confidence and
/// the observed frequency of the event (accuracy for top-label bins).
public struct CalibrationBin: Codable, Equatable, Sendable {
    public let index: Int
    /// Nominal bounds: the bin's edges for equal-width bins, the smallest and largest confidence in it
    /// for equal-mass bins.
    public let lower: Double
    public let upper: Double
    public let count: Int
    public let meanConfidence: Double
    public let observedFrequency: Double

    /// |observed − mean confidence| (0 for an empty bin).
    public var gap: Double { count > 0 ? abs(observedFrequency - meanConfidence) : 0 }
}
