import XCTest
@testable import Calibration
import Randomness

/// Synthetic overconfident multiclass data: true class probabilities softmax(z), model logits 2.5·z.
func syntheticLogits(count n: Int, classes k: Int, seed: UInt64, sharpness: Double = 2.5) -> ([[Double]], [Int]) {
    var rng = SeededGenerator(seed: seed)
    func gaussian() -> Double {
        let u1 = max(rng.nextUniform(), 1e-300), u2 = rng.nextUniform()
        return (-2 * log(u1)).squareRoot() * cos(2 * .pi * u2)
    }
    var logits: [[Double]] = [], labels: [Int] = []
    for _ in 0..<n {
        let z = (0..<k).map { j in gaussian() + (j == 0 ? 0.5 : 0) }
        let p = Softmax.probabilities(z)
        let r = rng.nextUniform()
        var acc = 0.0, y = k - 1
        for j in 0..<k { acc += p[j]; if r < acc { y = j; break } }
        logits.append(z.map { $0 * sharpness }); labels.append(y)
    }
    return (logits, labels)
}

final class CalibratorTests: XCTestCase {
    func testTemperatureRecoversSharpnessAndKeepsAccuracy() throws {
        let (z, y) = syntheticLogits(count: 4000, classes: 4, seed: 1)
        let t = try TemperatureScaler.fit(logits: z, labels: y)
        XCTAssertEqual(t.temperature, 2.5, accuracy: 0.2, "true over-sharpening is 2.5")
        XCTAssertLessThan(t.nllAfter, t.nllBefore)
        let before = Softmax.probabilities(logits: z), after = try t.calibratedProbabilities(logits: z)
        XCTAssertEqual(before.map(Softmax.argmax), after.map(Softmax.argmax), "temperature scaling changed a prediction")
        let eceBefore = try CalibrationErrorEstimate.topLabel(probabilities: before, labels: y).ece
        let eceAfter = try CalibrationErrorEstimate.topLabel(probabilities: after, labels: y).ece
        XCTAssertLessThan(eceAfter, eceBefore / 2)
    }

    func testVectorScalingNoWorseThanTemperature() throws {
        let (z, y) = syntheticLogits(count: 3000, classes: 3, seed: 2)
        let t = try TemperatureScaler.fit(logits: z, labels: y)
        let v = try VectorScaler.fit(logits: z, labels: y)
        let pt = try t.calibratedProbabilities(logits: z), pv = try v.calibratedProbabilities(logits: z)
        let nllT = try ScoringRules.negativeLogLikelihood(probabilities: pt, labels: y)
        let nllV = try ScoringRules.negativeLogLikelihood(probabilities: pv, labels: y)
        XCTAssertLessThanOrEqual(nllV, nllT + 1e-9, "vector scaling contains temperature scaling")
        XCTAssertEqual(v.biases.reduce(0, +), 0, accuracy: 1e-9)
        for w in v.weights { XCTAssertEqual(w, 0.4, accuracy: 0.1) }
    }

    func testPlattIsBinaryAndCalibrates() throws {
        let (z, y) = syntheticLogits(count: 3000, classes: 2, seed: 3)
        let platt = try PlattScaler.fit(logits: z, labels: y)
        XCTAssertEqual(platt.slope, 0.4, accuracy: 0.06)
        let p = try platt.calibratedProbabilities(logits: z)
        for row in p { XCTAssertEqual(row[0] + row[1], 1, accuracy: 1e-12) }
        let (z3, y3) = syntheticLogits(count: 50, classes: 3, seed: 3)
        XCTAssertThrowsError(try PlattScaler.fit(logits: z3, labels: y3))
    }

    func testIsotonicIsMonotoneAndPoolsViolators() throws {
        let fit = try IsotonicRegression.fit(x: [0.1, 0.2, 0.3, 0.4, 0.4, 0.5], y: [0, 1, 0, 1, 0, 1])
        // PAV: 0 | (1,0) → 0.5, 0.5 | ties at 0.4 merge to 0.5 | 1 → flat run of 0.5 then 1.
        XCTAssertEqual(fit.predict(0.1), 0)
        XCTAssertEqual(fit.predict(0.3), 0.5, accuracy: 1e-15)
        XCTAssertEqual(fit.predict(0.45), 0.75, accuracy: 1e-15)
        XCTAssertEqual(fit.predict(0.9), 1, "clipped above")
        XCTAssertEqual(fit.predict(0.0), 0, "clipped below")
        let (z, y) = syntheticLogits(count: 2000, classes: 3, seed: 4)
        let iso = try IsotonicCalibrator.fit(logits: z, labels: y)
        for r in iso.perClass { XCTAssertEqual(r.y, r.y.sorted(), "isotonic fit is non-decreasing") }
        for row in try iso.calibratedProbabilities(logits: z) { XCTAssertEqual(row.reduce(0, +), 1, accuracy: 1e-12) }
    }

    func testHistogramBinningUsesObservedFrequencies() throws {
        let (z, y) = syntheticLogits(count: 3000, classes: 3, seed: 5)
        let h = try HistogramBinningCalibrator.fit(logits: z, labels: y, binCount: 10)
        XCTAssertEqual(h.binCounts[0].reduce(0, +), 3000)
        let p = Softmax.probabilities(logits: z)
        // Bin 9 of class 0 holds p_0 in (0.9, 1]: its value is the fraction of those cases with label 0.
        let inBin = p.indices.filter { p[$0][0] > 0.9 }
        if !inBin.isEmpty {
            let freq = Double(inBin.filter { y[$0] == 0 }.count) / Double(inBin.count)
            XCTAssertEqual(h.binValues[0][9], freq, accuracy: 1e-12)
        }
        let cal = try h.calibratedProbabilities(logits: z)
        let ece = try CalibrationErrorEstimate.topLabel(probabilities: cal, labels: y).ece
        let raw = try CalibrationErrorEstimate.topLabel(probabilities: p, labels: y).ece
        XCTAssertLessThan(ece, raw)
    }

    func testCalibratorsRoundTripThroughJSON() throws {
        let (z, y) = syntheticLogits(count: 400, classes: 2, seed: 6)
        for method in CalibrationMethod.allCases {
            let c = try AnyCalibrator.fit(method: method, logits: z, labels: y)
            let data = try JSONEncoder().encode(c)
            let back = try JSONDecoder().decode(AnyCalibrator.self, from: data)
            XCTAssertEqual(back.method, method)
            XCTAssertEqual(try back.calibratedProbabilities(logits: z), try c.calibratedProbabilities(logits: z))
            XCTAssertEqual(back.calibrationCount, 400)
        }
    }

    func testBadInputNamesRowAndField() {
        XCTAssertThrowsError(try TemperatureScaler.fit(logits: [[0, 1], [1]], labels: [0, 1])) { e in
            XCTAssertEqual(e as? CalibrationError, .raggedRow(field: "logits", row: 1, expected: 2, found: 1))
        }
        XCTAssertThrowsError(try TemperatureScaler.fit(logits: [[0, 1], [1, .nan]], labels: [0, 1])) { e in
            XCTAssertEqual(e as? CalibrationError, .nonFinite(field: "logits", row: 1, column: 1))
        }
        XCTAssertThrowsError(try TemperatureScaler.fit(logits: [[0, 1], [1, 0]], labels: [0, 2])) { e in
            XCTAssertEqual((e as? CalibrationError)?.description, "labels, row 1: label 2 is outside 0..<2")
        }
    }
}
