import XCTest
@testable import Retrieval

/// Deep k-NN credibility: the +1 p-value by hand, uniform p-values under exchangeability (KS test),
/// and a non-exchangeable control the same test rejects.
final class CredibilityTests: XCTestCase {
    func neighbours(_ labels: [String]) -> [Neighbour] {
        labels.enumerated().map { i, l in
            Neighbour(row: i, metadata: RowMetadata(caseID: "n\(i)", study: "S", label: l, verifiedBy: "t"), distance: Double(i))
        }
    }

    func testPValuesUseThePlusOneCorrection() {
        let cal = DeepKNNCalibration(k: 3, metric: .euclidean, classes: ["a", "b"], nonconformity: [3, 0, 1, 2, 0],
                                     kthDistances: [1, 2, 3, 4, 5], referenceRows: 10)
        let n = neighbours(["a", "a", "b"])   // α(a) = 1, α(b) = 2
        XCTAssertEqual(cal.pValue(n, label: "a"), 4.0 / 6.0)   // α_i ≥ 1: {1, 2, 3} → (3 + 1) / 6
        XCTAssertEqual(cal.pValue(n, label: "b"), 3.0 / 6.0)   // α_i ≥ 2: {2, 3} → (2 + 1) / 6
        let e = cal.evidence(neighbours: n)
        XCTAssertEqual(e.predicted, "a")
        XCTAssertEqual(e.credibility, 4.0 / 6.0)
        XCTAssertEqual(e.confidence, 1 - 3.0 / 6.0)
        XCTAssertEqual(e.vote, ["a": 2, "b": 1])
        // k-th distance 2.5: calibration cases at 1 and 2 are nearer → 40%.
        XCTAssertEqual(cal.outOfDistributionPercentile(kthDistance: 2.5), 40)
        XCTAssertEqual(cal.outOfDistributionPercentile(kthDistance: 9), 100)
        XCTAssertEqual(DeepKNNCalibration.sentence(percentile: 97.4, k: 10, calibrationCount: 250),
                       "further from its 10 nearest verified cases than 97% of calibration cases are (n = 250)")
        // Smoothed p-value brackets: u = 0 → strictly greater only; u → 1 → the deterministic one.
        XCTAssertEqual(cal.smoothedPValue(n, label: "b", u: 0), 1.0 / 6.0)
        XCTAssertEqual(cal.smoothedPValue(n, label: "b", u: 1), 3.0 / 6.0, accuracy: 1e-12)
    }

    /// Three overlapping Gaussian classes in 6-D; `shift` moves cases along class c0's axis (non-exchangeable).
    func sample(_ n: Int, _ g: inout TestGenerator, prefix: String, shift: Float = 0) -> [(vector: [Float], label: String, id: String)] {
        (0..<n).map { i in
            let c = Int(g.next() % 3)
            var v = (0..<6).map { _ in Float(g.gaussian()) }
            v[c] += 1.5
            v[0] += shift   // towards class c0: test cases of c1 and c2 no longer look like their calibration peers
            return (v, "c\(c)", "\(prefix)-\(i)")
        }
    }

    /// Kolmogorov–Smirnov distance to Uniform(0, 1) and its asymptotic p-value.
    func ksUniform(_ x: [Double]) -> (d: Double, p: Double) {
        let s = x.sorted()
        let n = Double(s.count)
        var d = 0.0
        for (i, v) in s.enumerated() { d = max(d, Double(i + 1) / n - v, v - Double(i) / n) }
        let lambda = (n.squareRoot() + 0.12 + 0.11 / n.squareRoot()) * d
        var p = 0.0
        for j in 1...100 { p += 2 * (j % 2 == 1 ? 1 : -1) * exp(-2 * Double(j * j) * lambda * lambda) }
        return (d, min(max(p, 0), 1))
    }

    func pValuesOfTrueLabels(testShift: Float) throws -> (smoothed: [Double], plain: [Double]) {
        var g = TestGenerator(seed: 2018)
        let reference = sample(800, &g, prefix: "ref")
        let index = try EmbeddingIndex(dimension: 6)
        try index.add(vectors: reference.flatMap(\.vector),
                      metadata: reference.map { RowMetadata(caseID: $0.id, study: "S", label: $0.label, verifiedBy: "t") })
        let options = SearchOptions(k: 10, metric: .euclidean)
        let cal = sample(2000, &g, prefix: "cal").map { CalibrationCase(query: SearchQuery(vector: $0.vector, caseID: $0.id), label: $0.label) }
        let calibration = try DeepKNNCalibration.fit(index: index, calibration: cal, options: options)
        XCTAssertEqual(calibration.classes, ["c0", "c1", "c2"])
        let test = sample(600, &g, prefix: "test", shift: testShift)
        let results = try index.search(test.map { SearchQuery(vector: $0.vector, caseID: $0.id) }, options: options)
        var smoothed: [Double] = [], plain: [Double] = []
        for (t, n) in zip(test, results) {
            smoothed.append(calibration.smoothedPValue(n, label: t.label, u: g.uniform()))
            plain.append(calibration.pValue(n, label: t.label))
        }
        return (smoothed, plain)
    }

    func testCredibilityPValuesAreUniformOnExchangeableData() throws {
        let p = try pValuesOfTrueLabels(testShift: 0)
        let ks = ksUniform(p.smoothed)
        XCTAssertGreaterThan(ks.p, 0.01, "KS D = \(ks.d)")
        // The deterministic (+1) p-values are conservative: P(p ≤ t) ≤ t, up to sampling error.
        for t in [0.05, 0.1, 0.2, 0.5] {
            let frac = Double(p.plain.filter { $0 <= t }.count) / Double(p.plain.count)
            XCTAssertLessThanOrEqual(frac, t + 0.03, "P(p ≤ \(t)) = \(frac)")
        }
    }

    func testKSRejectsNonExchangeableData() throws {
        let p = try pValuesOfTrueLabels(testShift: 2.5)
        XCTAssertLessThan(ksUniform(p.smoothed).p, 1e-3)
    }
}
