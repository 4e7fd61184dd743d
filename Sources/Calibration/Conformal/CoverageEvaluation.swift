import Foundation

/// Distribution of prediction-set sizes.
public struct SetSizeStatistics: Codable, Equatable, Sendable {
    public let mean: Double
    public let median: Double
    public let minimum: Int
    public let maximum: Int
    /// `histogram[s]` = number of sets of size s, s = 0…K.
    public let histogram: [Int]
    public let emptyFraction: Double
    public let singletonFraction: Double

    public init(sets: [[Int]], classCount: Int) throws {
        guard !sets.isEmpty else { throw CalibrationError.empty(field: "prediction sets") }
        let sizes = sets.map(\.count)
        var h = Array(repeating: 0, count: classCount + 1)
        for s in sizes { h[min(s, classCount)] += 1 }
        let n = Double(sizes.count)
        mean = Double(sizes.reduce(0, +)) / n
        median = Bootstrap.quantile(sorted: sizes.sorted().map(Double.init), 0.5)
        minimum = sizes.min() ?? 0
        maximum = sizes.max() ?? 0
        histogram = h
        emptyFraction = Double(h[0]) / n
        singletonFraction = classCount >= 1 ? Double(h[1]) / n : 0
    }
}

/// Empirical coverage of prediction sets, overall and per true class, with binomial standard errors.
public struct CoverageEvaluation: Codable, Equatable, Sendable {
    public struct ClassCoverage: Codable, Equatable, Sendable {
        public let label: Int
        public let count: Int
        public let covered: Int
        /// covered / count (NaN when the class has no evaluation cases).
        public let coverage: Double
        public let standardError: Double
        public let meanSetSize: Double
    }

    public let count: Int
    public let coverage: Double
    public let standardError: Double
    public let perClass: [ClassCoverage]
    public let setSizes: SetSizeStatistics

    public init(sets: [[Int]], labels: [Int], classCount: Int) throws {
        if sets.count != labels.count {
            throw CalibrationError.countMismatch(field: "labels", expected: sets.count, found: labels.count)
        }
        try InputValidation.labels(labels, rowCount: sets.count, classCount: classCount)
        setSizes = try SetSizeStatistics(sets: sets, classCount: classCount)
        var n = Array(repeating: 0, count: classCount), hit = Array(repeating: 0, count: classCount)
        var sizeSum = Array(repeating: 0, count: classCount)
        for (set, y) in zip(sets, labels) {
            n[y] += 1
            sizeSum[y] += set.count
            if set.contains(y) { hit[y] += 1 }
        }
        count = sets.count
        let total = hit.reduce(0, +)
        coverage = Double(total) / Double(count)
        standardError = (coverage * (1 - coverage) / Double(count)).squareRoot()
        perClass = (0..<classCount).map { c in
            let cov = n[c] > 0 ? Double(hit[c]) / Double(n[c]) : .nan
            return ClassCoverage(label: c, count: n[c], covered: hit[c], coverage: cov,
                                 standardError: n[c] > 0 ? (cov * (1 - cov) / Double(n[c])).squareRoot() : .nan,
                                 meanSetSize: n[c] > 0 ? Double(sizeSum[c]) / Double(n[c]) : .nan)
        }
    }
}
