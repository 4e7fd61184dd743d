import XCTest
@testable import Calibration
import Randomness

final class ExchangeabilityMonitorTests: XCTestCase {
    func testPowerMartingaleArithmetic() throws {
        var m = try ConformalTestMartingale(betting: .power(epsilon: 0.5), delta: 0.01)
        try m.observe(pValue: 0.25)
        XCTAssertEqual(m.value, 0.5 * pow(0.25, -0.5), accuracy: 1e-12)   // = 1
        try m.observe(pValue: 0.01)
        XCTAssertEqual(m.value, 1 * 0.5 * pow(0.01, -0.5), accuracy: 1e-12)  // = 5
        XCTAssertEqual(m.alarmLevel, 100)
        XCTAssertFalse(m.alarmRaised)
        for _ in 0..<3 { try m.observe(pValue: 0.01) }
        XCTAssertTrue(m.alarmRaised)
        XCTAssertEqual(m.firstAlarmIndex, 3)   // 5 → 25 → 125
        XCTAssertEqual(m.path.count, 5)
    }

    func testNoAlarmUnderExchangeabilityAndAlarmUnderShift() throws {
        let (z, y) = syntheticLogits(count: 3000, classes: 3, seed: 41, sharpness: 1)
        let p = Softmax.probabilities(logits: z)
        let cp = try SplitConformalPredictor.calibrate(probabilities: Array(p[0..<1000]), labels: Array(y[0..<1000]),
                                                       score: .lac, alpha: 0.1)
        var calm = try ExchangeabilityMonitor(predictor: cp, delta: 0.01, seed: 1)
        for i in 1000..<2000 { try calm.observe(probabilities: p[i], trueLabel: y[i]) }
        XCTAssertFalse(calm.alarmRaised, "exchangeable stream raised an alarm; max \(calm.path.max() ?? 0)")
        let mean = calm.pValues.reduce(0, +) / Double(calm.pValues.count)
        XCTAssertEqual(mean, 0.5, accuracy: 0.03, "online p-values should be uniform")

        // Label shift after deployment: the model's top guess is now usually wrong.
        var drift = try ExchangeabilityMonitor(predictor: cp, delta: 0.01, seed: 1)
        for i in 2000..<2400 {
            let wrong = (Softmax.argmax(p[i]) + 1) % 3
            try drift.observe(probabilities: p[i], trueLabel: wrong)
        }
        XCTAssertTrue(drift.alarmRaised)
        XCTAssertLessThan(drift.firstAlarmIndex ?? .max, 100)
        XCTAssertGreaterThanOrEqual(drift.value, 0)
    }

    func testVilleBoundHoldsAcrossSeeds() throws {
        // Under uniform p-values, P(sup M ≥ 1/δ) ≤ δ; with δ = 0.1 and 200 streams expect ≤ ~20 alarms.
        var alarms = 0
        var rng = SeededGenerator(seed: 5)
        for _ in 0..<200 {
            var m = try ConformalTestMartingale(delta: 0.1)
            for _ in 0..<300 { try m.observe(pValue: rng.nextUniform()) }
            if m.alarmRaised { alarms += 1 }
        }
        XCTAssertLessThanOrEqual(alarms, 32, "Ville: expected at most about 20 of 200")
    }
}
