import XCTest
@testable import Calibration
import Randomness

final class MetricTests: XCTestCase {
    func testEqualWidthBinsAreRightClosed() {
        // 0.2 = 3/15 belongs to ((2/15, 3/15]], index 2, although 0.2·15 rounds above 3 in floating point.
        XCTAssertEqual(EqualWidthBins.index(of: 0.2, binCount: 15), 2)
        XCTAssertEqual(EqualWidthBins.index(of: 0.2000001, binCount: 15), 3)
        XCTAssertEqual(EqualWidthBins.index(of: 1.0, binCount: 15), 14)
        XCTAssertEqual(EqualWidthBins.index(of: 0.0, binCount: 15), 0)
        XCTAssertEqual(EqualWidthBins.index(of: 0.5, binCount: 2), 0)
        for m in [1, 7, 10, 15, 20] {
            for j in 1...m {
                XCTAssertEqual(EqualWidthBins.index(of: Double(j) / Double(m), binCount: m), j - 1, "edge \(j)/\(m)")
            }
        }
    }

    func testECEByHand() throws {
        // Two bins (M = 2): confidences 0.6, 0.7 (bin 1) with one correct; 0.9 (bin 1)... computed by hand.
        let p: [[Double]] = [[0.6, 0.4], [0.3, 0.7], [0.9, 0.1], [0.5, 0.5]]
        let y = [0, 0, 0, 1]
        let e = try CalibrationErrorEstimate.topLabel(probabilities: p, labels: y, scheme: .equalWidth(count: 2))
        // bin 0: conf 0.5 (row 3, argmax 0 ≠ 1) → acc 0, gap 0.5; bin 1: conf 0.6, 0.7, 0.9 → mean 0.7333, acc 2/3.
        XCTAssertEqual(e.bins[0].count, 1)
        XCTAssertEqual(e.bins[1].count, 3)
        let expected = 0.25 * 0.5 + 0.75 * abs(2.0 / 3.0 - (0.6 + 0.7 + 0.9) / 3)
        XCTAssertEqual(e.ece, expected, accuracy: 1e-15)
        XCTAssertEqual(e.mce, 0.5, accuracy: 1e-15)
        XCTAssertEqual(e.scheme, .equalWidth(count: 2))
    }

    func testEqualMassBinsSplitLikeArraySplit() throws {
        let conf = (0..<10).map { 0.5 + Double($0) * 0.04 }
        let e = try CalibrationErrorEstimate(confidences: conf, outcomes: conf.map { _ in true },
                                             scheme: .equalMass(count: 3), target: .topLabel)
        XCTAssertEqual(e.bins.map(\.count), [4, 3, 3])
        XCTAssertEqual(e.bins[0].lower, 0.5)
        XCTAssertEqual(e.bins[0].upper, 0.62, accuracy: 1e-12)
    }

    func testBrierNLLAccuracy() throws {
        let p: [[Double]] = [[0.8, 0.2], [0.4, 0.6]]
        let y = [0, 0]
        XCTAssertEqual(try ScoringRules.brier(probabilities: p, labels: y), (0.04 + 0.04 + 0.36 + 0.36) / 2, accuracy: 1e-15)
        XCTAssertEqual(try ScoringRules.negativeLogLikelihood(probabilities: p, labels: y), -(log(0.8) + log(0.4)) / 2, accuracy: 1e-15)
        XCTAssertEqual(try ScoringRules.accuracy(probabilities: p, labels: y), 0.5)
    }

    func testClasswiseECE() throws {
        let p: [[Double]] = [[0.8, 0.2], [0.4, 0.6]]
        let c = try ClasswiseCalibrationError(probabilities: p, labels: [0, 1], scheme: .equalWidth(count: 10))
        // class 0: 0.8 → bin 7 (observed 1, gap 0.2), 0.4 → bin 3 (observed 0, gap 0.4): ECE 0.3; class 1 symmetric.
        XCTAssertEqual(c.perClass[0].ece, 0.3, accuracy: 1e-15)
        XCTAssertEqual(c.value, 0.3, accuracy: 1e-15)
    }

    func testNoiseFloorIsAboutThreeHundredthsAtThousand() throws {
        // Confidences of a typical 1000-case classifier spread over (0.5, 1].
        var rng = SeededGenerator(seed: 7)
        let conf = (0..<1000).map { _ in 0.5 + 0.5 * rng.nextUniform() }
        let floor = try ECENoiseFloor(confidences: conf, simulations: 500, seed: 11)
        XCTAssertEqual(floor.mean, 0.03, accuracy: 0.01)
        XCTAssertGreaterThan(floor.percentile95, floor.mean)
        // Reproducible from the seed.
        XCTAssertEqual(try ECENoiseFloor(confidences: conf, simulations: 500, seed: 11), floor)
        // It shrinks like 1/sqrt(n).
        let big = try ECENoiseFloor(confidences: conf + conf + conf + conf, simulations: 200, seed: 11)
        XCTAssertEqual(big.mean / floor.mean, 0.5, accuracy: 0.1)
    }

    func testPerfectlyCalibratedModelSitsAtItsNoiseFloor() throws {
        let (z, y) = syntheticLogits(count: 2000, classes: 3, seed: 8, sharpness: 1)
        let p = Softmax.probabilities(logits: z)
        let figures = try CalibrationFigures(probabilities: p, labels: y, bootstrapReplicates: 300, noiseSimulations: 300, seed: 3)
        XCTAssertLessThan(figures.ece.ece, figures.eceNoiseFloor.percentile95)
        // ECE is biased upwards, so its percentile bootstrap interval sits above the noise-free value and
        // may even exclude the point estimate; only check that it is a real, reproducible interval.
        XCTAssertLessThan(figures.eceInterval.lower, figures.eceInterval.upper)
        XCTAssertEqual(figures.eceInterval.replicates, 300)
        XCTAssertLessThan(figures.accuracy.interval.lower, figures.accuracy.value)
        // An overconfident model is well above its floor.
        let (z2, y2) = syntheticLogits(count: 2000, classes: 3, seed: 8, sharpness: 3)
        let over = try CalibrationFigures(probabilities: Softmax.probabilities(logits: z2), labels: y2,
                                          bootstrapReplicates: 200, noiseSimulations: 200, seed: 3)
        XCTAssertGreaterThan(over.eceInterval.lower, over.eceNoiseFloor.percentile95)
    }
}
