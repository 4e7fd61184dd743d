import XCTest
@testable import Calibration
import Randomness

final class ConformalTests: XCTestCase {
    func testRankAndFullSetWhenKExceedsN() throws {
        XCTAssertEqual(SplitConformal.rank(calibrationCount: 500, alpha: 0.1), 451)
        XCTAssertEqual(SplitConformal.rank(calibrationCount: 8, alpha: 0.1), 9)
        XCTAssertEqual(SplitConformal.minimumCalibrationCount(alpha: 0.1), 9)
        XCTAssertEqual(SplitConformal.minimumCalibrationCount(alpha: 0.05), 19)
        XCTAssertEqual(SplitConformal.threshold(scores: [0.3, 0.1, 0.2], alpha: 0.1), .infinity)
        // Eight calibration cases at α = 0.1: k = 9 > 8, so every label is in every set.
        let p = (0..<8).map { i in [0.7 - Double(i) * 0.01, 0.3 + Double(i) * 0.01] }
        let cp = try SplitConformalPredictor.calibrate(probabilities: p, labels: Array(repeating: 0, count: 8),
                                                       score: .lac, alpha: 0.1)
        XCTAssertEqual(cp.warnings.count, 1)
        XCTAssertEqual(try cp.predictionSets(probabilities: [[0.99, 0.01]]), [[0, 1]])
        XCTAssertEqual(cp.guarantees[0].lowerBound, 1)
    }

    func testKthSmallestThreshold() throws {
        let p: [[Double]] = (1...19).map { i in [Double(i) / 20, 1 - Double(i) / 20] }
        let cp = try SplitConformalPredictor.calibrate(probabilities: p, labels: Array(repeating: 0, count: 19),
                                                       score: .lac, alpha: 0.1)
        // n = 19, k = ⌈20·0.9⌉ = 18: the 18th smallest of {1 − i/20} is 1 − 2/20.
        XCTAssertEqual(cp.marginalThreshold ?? .nan, 0.9, accuracy: 1e-15)
        let g = cp.guarantees[0]
        XCTAssertEqual(g.rank, 18)
        XCTAssertEqual(g.lowerBound, 0.9, accuracy: 1e-15)
        XCTAssertEqual(g.upperBound, 0.95, accuracy: 1e-15)
        XCTAssertTrue(g.description.contains("exchangeable"), g.description)
    }

    /// Reports name classes ("benign"), never their indices, and a Mondrian set's condition covers every class.
    func testGuaranteesNameTheirClasses() throws {
        let p: [[Double]] = (0..<40).map { i in i % 2 == 0 ? [0.8, 0.2] : [0.3, 0.7] }
        let y = (0..<40).map { $0 % 2 }
        let cp = try SplitConformalPredictor.calibrate(probabilities: p, labels: y, score: .lac, alpha: 0.1, classConditional: true)
        let names = ["benign", "malignant"]
        let first = cp.guarantees[0].description(classNames: names)
        XCTAssertTrue(first.contains("true class = benign") && first.contains("whose true class is benign"), first)
        XCTAssertFalse(first.contains("class = 0") || first.contains("class is 0"), first)
        XCTAssertEqual(CoverageGuarantee.condition(of: cp.guarantees, classNames: names),
                       "within each true class (benign, malignant), calibration and test cases of that class are exchangeable")
        let marginal = try SplitConformalPredictor.calibrate(probabilities: p, labels: y, score: .lac, alpha: 0.1)
        XCTAssertEqual(CoverageGuarantee.condition(of: marginal.guarantees, classNames: names), "calibration and test cases are exchangeable")
        // Without names (or out of range) the index is all there is.
        XCTAssertTrue(cp.guarantees[1].description.contains("true class = 1"))
    }

    func testAPSScoreDefinition() {
        let p = [0.2, 0.5, 0.3]
        XCTAssertEqual(ConformityScore.aps(randomized: false).scores(probabilities: p, u: 0.3), [1.0, 0.5, 0.8])
        let r = ConformityScore.aps(randomized: true).scores(probabilities: p, u: 0.5)
        XCTAssertEqual(r[1], 0.25, accuracy: 1e-15)
        XCTAssertEqual(r[2], 0.5 + 0.15, accuracy: 1e-15)
        let raps = ConformityScore.raps(lambda: 0.1, kReg: 1, randomized: false).scores(probabilities: p, u: 1)
        XCTAssertEqual(raps[1], 0.5, accuracy: 1e-15)
        XCTAssertEqual(raps[2], 0.8 + 0.1, accuracy: 1e-15)
        XCTAssertEqual(raps[0], 1.0 + 0.2, accuracy: 1e-15)
    }

    func testCoverageOnExchangeableSyntheticData() throws {
        // Average coverage over re-splits lies in [1 − α, 1 − α + 1/(n+1)] up to Monte Carlo error.
        let (z, y) = syntheticLogits(count: 6000, classes: 4, seed: 21, sharpness: 2)
        let p = Softmax.probabilities(logits: z)
        for score in [ConformityScore.lac, .aps(randomized: true), .raps(lambda: 0.02, kReg: 2, randomized: true)] {
            var covs: [Double] = []
            var rng = SeededGenerator(seed: 99)
            for rep in 0..<40 {
                var idx = Array(p.indices)
                idx.shuffle(using: &rng)
                let cal = Array(idx[0..<500]), test = Array(idx[500...])
                let cp = try SplitConformalPredictor.calibrate(probabilities: cal.map { p[$0] }, labels: cal.map { y[$0] },
                                                               score: score, alpha: 0.1, uniforms: .seeded(UInt64(rep)))
                let sets = try cp.predictionSets(probabilities: test.map { p[$0] }, uniforms: .seeded(UInt64(1000 + rep)))
                covs.append(try CoverageEvaluation(sets: sets, labels: test.map { y[$0] }, classCount: 4).coverage)
            }
            let mean = covs.reduce(0, +) / Double(covs.count)
            let sd = (covs.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(covs.count - 1)).squareRoot()
            let se = sd / Double(covs.count).squareRoot()
            XCTAssertGreaterThanOrEqual(mean, 0.9 - 3 * se, "\(score)")
            XCTAssertLessThanOrEqual(mean, 0.9 + 1.0 / 501 + 3 * se, "\(score)")
        }
    }

    func testPValuesAndSetsAgree() throws {
        let (z, y) = syntheticLogits(count: 1500, classes: 3, seed: 31)
        let p = Softmax.probabilities(logits: z)
        let cal = Array(p[0..<700]), test = Array(p[700...])
        for cc in [false, true] {
            let cp = try SplitConformalPredictor.calibrate(probabilities: cal, labels: Array(y[0..<700]), score: .lac,
                                                           alpha: 0.1, classConditional: cc)
            let sets = try cp.predictionSets(probabilities: test)
            let pv = try cp.pValues(probabilities: test)
            for i in test.indices {
                // The rank rule equals p > α.
                XCTAssertEqual(sets[i], (0..<3).filter { pv[i][$0] > 0.1 })
            }
            let ps = try cp.pValues(probabilities: test, smoothing: .seeded(5))
            for i in test.indices { for c in 0..<3 { XCTAssertLessThanOrEqual(ps[i][c], pv[i][c] + 1e-15) } }
        }
    }

    func testSetSizeStatistics() throws {
        let s = try SetSizeStatistics(sets: [[], [0], [0, 1], [1]], classCount: 3)
        XCTAssertEqual(s.mean, 1)
        XCTAssertEqual(s.histogram, [1, 2, 1, 0])
        XCTAssertEqual(s.emptyFraction, 0.25)
        XCTAssertEqual(s.singletonFraction, 0.5)
        let e = try CoverageEvaluation(sets: [[], [0], [0, 1], [1]], labels: [0, 0, 1, 0], classCount: 3)
        XCTAssertEqual(e.coverage, 0.5)
        XCTAssertEqual(e.perClass[0].coverage, 1.0 / 3.0, accuracy: 1e-15)
        XCTAssertTrue(e.perClass[2].coverage.isNaN)
    }
}

final class StorageCodingTests: XCTestCase {
    func testPredictorWithInfiniteThresholdRoundTrips() throws {
        let (z, y) = syntheticLogits(count: 300, classes: 3, seed: 61)
        var labels = y
        // Leave class 2 with 4 cases: its class-conditional threshold is infinite at α = 0.1.
        var seen = 0
        for i in labels.indices where labels[i] == 2 { seen += 1; if seen > 4 { labels[i] = 0 } }
        let cp = try SplitConformalPredictor.calibrate(probabilities: Softmax.probabilities(logits: z), labels: labels,
                                                       score: .aps(randomized: true), alpha: 0.1, classConditional: true)
        XCTAssertEqual(cp.thresholds[2], .infinity)
        let text = try CalibrationJSON.string(cp)
        XCTAssertFalse(text.contains("inf"), "an infinite threshold is stored as null")
        let back = try CalibrationJSON.decode(SplitConformalPredictor.self, from: text, field: "conformal")
        XCTAssertEqual(back, cp)
        // A plain decoder reads it too.
        XCTAssertEqual(try JSONDecoder().decode(SplitConformalPredictor.self, from: try JSONEncoder().encode(cp)), cp)
        XCTAssertThrowsError(try CalibrationJSON.decode(SplitConformalPredictor.self, from: "{\"x\":1}", field: "conformal"))
    }
}
