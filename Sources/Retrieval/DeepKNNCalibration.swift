import Foundation

/// A calibration case: its query (embedding, case id, subject, study) and its verified label.
public struct CalibrationCase: Sendable {
    public var query: SearchQuery
    public var label: String
    public init(query: SearchQuery, label: String) { self.query = query; self.label = label }
}

/// Deep k-NN conformal calibration (Papernot & McDaniel, "Deep k-Nearest Neighbors", 2018), on one
/// embedding. The nonconformity of label j for input x is α(x, j) = how many of x's k nearest
/// verified neighbours carry a label other than j. Calibration cases (held out from the index) give
/// the reference distribution of α at their true labels; a query's p-value for j is
/// (#{calibration α ≥ α(x, j)} + 1) / (n + 1) — the +1 the reference code omits, without which
/// credibility is inflated. The same pass records each calibration case's k-th neighbour distance,
/// the yardstick of the out-of-distribution percentile.
public struct DeepKNNCalibration: Codable, Sendable, Equatable {
    public let k: Int
    public let metric: DistanceMetric
    /// Class labels in the model's order (ties in the prediction go to the earlier one).
    public let classes: [String]
    /// Calibration nonconformity scores α_i at the true labels, ascending.
    public let nonconformity: [Int]
    /// Calibration cases' own k-th neighbour distances (themselves and their subjects excluded), ascending.
    public let kthDistances: [Double]
    /// Rows in the index when calibrated (provenance).
    public let referenceRows: Int

    /// Number of calibration cases.
    public var count: Int { nonconformity.count }

    enum CodingKeys: String, CodingKey {
        case k, metric, classes, nonconformity
        case kthDistances = "kth_distances", referenceRows = "reference_rows"
    }

    /// Searches every calibration case in `index` (with `options`, whose filters should exclude the
    /// case's own subject) and records α and the k-th neighbour distance.
    public static func fit(index: EmbeddingIndex, calibration: [CalibrationCase], options: SearchOptions,
                           classes: [String]? = nil) throws -> DeepKNNCalibration {
        guard !calibration.isEmpty else { throw RetrievalError.emptyCalibration("no calibration cases") }
        let results = try index.search(calibration.map(\.query), options: options)
        var alphas: [Int] = [], kth: [Double] = []
        for (c, neighbours) in zip(calibration, results) {
            guard let last = neighbours.last else {
                throw RetrievalError.emptyCalibration("calibration case '\(c.query.caseID ?? "?")' has no neighbour passing the filters")
            }
            alphas.append(Self.nonconformity(neighbours, label: c.label, k: options.k))
            kth.append(last.distance)
        }
        var labels = classes ?? []
        if classes == nil {
            var seen = Set<String>()
            for l in calibration.map(\.label) + index.labels where seen.insert(l).inserted { labels.append(l) }
            labels.sort()
        }
        guard !labels.isEmpty else { throw RetrievalError.emptyCalibration("no class labels") }
        return DeepKNNCalibration(k: options.k, metric: options.metric, classes: labels,
                                  nonconformity: alphas.sorted(), kthDistances: kth.sorted(),
                                  referenceRows: index.count)
    }

    public init(k: Int, metric: DistanceMetric, classes: [String], nonconformity: [Int], kthDistances: [Double],
                referenceRows: Int) {
        self.k = k; self.metric = metric; self.classes = classes
        self.nonconformity = nonconformity.sorted(); self.kthDistances = kthDistances.sorted()
        self.referenceRows = referenceRows
    }

    /// α(x, j): neighbours whose label is not j; missing neighbours (fewer than k passed the
    /// filters) count as disagreeing, so a thin neighbourhood never looks conforming.
    public static func nonconformity(_ neighbours: [Neighbour], label: String, k: Int) -> Int {
        let agreeing = neighbours.prefix(k).filter { $0.metadata.label == label }.count
        return k - agreeing
    }

    /// Conformal p-value of label `label` given the query's neighbours: (#{α_i ≥ α} + 1) / (n + 1).
    public func pValue(_ neighbours: [Neighbour], label: String) -> Double {
        let a = Self.nonconformity(neighbours, label: label, k: k)
        return Double(countAtLeast(a) + 1) / Double(count + 1)
    }

    /// Smoothed p-value: ties broken by `u` ∈ [0, 1) — exactly uniform under exchangeability, used to
    /// check calibration; reports use the deterministic `pValue`.
    public func smoothedPValue(_ neighbours: [Neighbour], label: String, u: Double) -> Double {
        let a = Self.nonconformity(neighbours, label: label, k: k)
        let atLeast = countAtLeast(a)
        let greater = countAtLeast(a + 1)
        return (Double(greater) + u * Double(atLeast - greater + 1)) / Double(count + 1)
    }

    /// Calibration cases with α_i ≥ a.
    func countAtLeast(_ a: Int) -> Int {
        // First index with nonconformity[i] >= a (ascending array).
        var lo = 0, hi = nonconformity.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if nonconformity[mid] < a { lo = mid + 1 } else { hi = mid }
        }
        return nonconformity.count - lo
    }

    /// Percentage of calibration cases whose k-th neighbour is strictly nearer than `distance`.
    public func outOfDistributionPercentile(kthDistance distance: Double) -> Double {
        guard !kthDistances.isEmpty else { return .nan }
        var lo = 0, hi = kthDistances.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if kthDistances[mid] < distance { lo = mid + 1 } else { hi = mid }
        }
        return 100 * Double(lo) / Double(kthDistances.count)
    }

    /// The evidence for one query from its neighbours (as returned by a search with the same k and metric).
    public func evidence(neighbours: [Neighbour]) -> NeighbourEvidence {
        var vote: [String: Int] = [:]
        for n in neighbours.prefix(k) { if let l = n.metadata.label { vote[l, default: 0] += 1 } }
        let p = classes.map { pValue(neighbours, label: $0) }
        var best = 0
        for j in p.indices where p[j] > p[best] { best = j }
        let runnerUp = p.indices.filter { $0 != best }.map { p[$0] }.max() ?? 0
        let kthDistance = neighbours.count >= k ? neighbours[k - 1].distance : .infinity
        let percentile = outOfDistributionPercentile(kthDistance: kthDistance)
        return NeighbourEvidence(
            neighbours: neighbours, vote: vote,
            pValues: Dictionary(uniqueKeysWithValues: zip(classes, p)),
            predicted: classes[best], credibility: p[best], confidence: 1 - runnerUp,
            kthDistance: kthDistance, oodPercentile: percentile,
            oodSentence: Self.sentence(percentile: percentile, k: k, calibrationCount: count),
            calibrationCount: count, k: k, metric: metric)
    }

    /// "further from its nearest verified cases than 97% of calibration cases are".
    static func sentence(percentile: Double, k: Int, calibrationCount n: Int) -> String {
        guard percentile.isFinite else { return "no calibration cases to compare its distance with" }
        let whole = Int(percentile.rounded(.down))
        let neighbours = k == 1 ? "its nearest verified case" : "its \(k) nearest verified cases"
        return "further from \(neighbours) than \(whole)% of calibration cases are (n = \(n))"
    }
}

/// What the neighbours say about one query, with the numbers' provenance (k, metric, calibration n).
public struct NeighbourEvidence: Sendable {
    public var neighbours: [Neighbour]
    /// Labels of the k neighbours, counted.
    public var vote: [String: Int]
    /// Conformal p-value of every class.
    public var pValues: [String: Double]
    /// Class with the largest p-value.
    public var predicted: String
    /// p-value of the predicted class: how typical the query is of it.
    public var credibility: Double
    /// 1 − the second-largest p-value: how clearly the other classes are ruled out.
    public var confidence: Double
    /// Distance to the k-th neighbour (infinite when fewer than k passed the filters).
    public var kthDistance: Double
    /// Percentage of calibration cases nearer to their k-th neighbour than this query is to its own.
    public var oodPercentile: Double
    public var oodSentence: String
    public var calibrationCount: Int
    public var k: Int
    public var metric: DistanceMetric
}

extension EmbeddingIndex {
    /// Distinct labels of the rows (sorted).
    public var labels: [String] {
        Array(Set(attributeTable.compactMap(\.label))).sorted()
    }
}
