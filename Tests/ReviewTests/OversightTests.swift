import Foundation
import Randomness
import XCTest
@testable import Review

final class OversightTests: XCTestCase {
    /// Closed forms of the one-sided 95% Clopper–Pearson upper bound: k = 0 → 1 − 0.05^(1/n);
    /// k = n − 1 → the 0.95 quantile of Beta(n, 1) = 0.95^(1/n)… for k = n−1 it is Beta(n, 1)^{-1}(0.95).
    func testClopperPearsonMatchesClosedForms() {
        XCTAssertEqual(OversightStatistics.clopperPearsonUpper(successes: 0, trials: 10, level: 0.95),
                       1 - pow(0.05, 0.1), accuracy: 1e-9)
        XCTAssertEqual(OversightStatistics.clopperPearsonUpper(successes: 9, trials: 10, level: 0.95),
                       pow(0.95, 0.1), accuracy: 1e-9)
        XCTAssertEqual(OversightStatistics.clopperPearsonUpper(successes: 3, trials: 3, level: 0.95), 1)
    }

    /// Simulated reviewers over 200 cases with a 5% catch-trial rate: a diligent reviewer (~60 s per case,
    /// catches 90% of wrong answers) and a rubber-stamper (~8 s, agrees 99%). Only the rubber-stamper is flagged.
    func testRubberStamperIsFlaggedDiligentIsNot() {
        let rules = ReviewRules(reviewers: 1, minSeconds: 30, blindFirstRead: false, catchTrialRate: 0.05)
        var rng = SplitMix(seed: 20261128)
        var observations: [ReviewObservation] = []
        var trials = 0
        for i in 0..<200 {
            let runId = "sim", caseId = "case-\(i)"
            let isCatch = CatchTrials.isSelected(runId: runId, caseId: caseId, rate: rules.catchTrialRate)
            if isCatch { trials += 1 }
            let modelWrong = !isCatch && rng.uniform() < 0.08   // the model's own errors
            let confidence = 0.55 + 0.45 * rng.uniform()
            // Diligent: reads ~60 s, overrides 90% of wrong answers.
            let dSeconds = max(20, 60 + 15 * rng.gaussian())
            let dAgrees = (isCatch || modelWrong) ? rng.uniform() >= 0.9 : rng.uniform() < 0.98
            observations.append(ReviewObservation(reviewerId: "diligent", seconds: dSeconds, agreedWithModel: dAgrees,
                                                  modelConfidence: confidence, blindReadAgreed: nil, isCatchTrial: isCatch))
            // Rubber-stamper: ~8 s, agrees 99% whatever is shown.
            let rSeconds = max(2, 8 + 2 * rng.gaussian())
            observations.append(ReviewObservation(reviewerId: "stamper", seconds: rSeconds, agreedWithModel: rng.uniform() < 0.99,
                                                  modelConfidence: confidence, blindReadAgreed: nil, isCatchTrial: isCatch))
        }
        XCTAssertGreaterThanOrEqual(trials, 5, "the keyed selection should give about 10 catch trials in 200")
        XCTAssertLessThanOrEqual(trials, 18)
        let figures = OversightStatistics.figures(observations, rules: rules)
        let diligent = figures.first { $0.reviewerId == "diligent" }!
        let stamper = figures.first { $0.reviewerId == "stamper" }!
        XCTAssertFalse(diligent.flagged, "diligent reviewer flagged: \(diligent.reasons)")
        XCTAssertTrue(stamper.flagged)
        XCTAssertEqual(stamper.reasons.count, 2, "both fast reviews and missed catch trials should be named: \(stamper.reasons)")
        XCTAssertGreaterThan(diligent.catchTrialDetectionRate ?? 0, 0.6)
        XCTAssertLessThan(stamper.catchTrialDetectionRate ?? 1, 0.2)
        XCTAssertGreaterThan(diligent.medianSeconds, 45)
        XCTAssertLessThan(stamper.medianSeconds, 12)
    }

    func testCatchTrialSelectionIsReproducibleAndNeverShowsTheTruth() {
        var selected = 0
        for i in 0..<10_000 where CatchTrials.isSelected(runId: "r", caseId: "c\(i)", rate: 0.02) { selected += 1 }
        XCTAssertEqual(Double(selected) / 10_000, 0.02, accuracy: 0.006)
        XCTAssertEqual(CatchTrials.isSelected(runId: "r", caseId: "c1", rate: 0.5), CatchTrials.isSelected(runId: "r", caseId: "c1", rate: 0.5))
        for i in 0..<200 {
            let wrong = CatchTrials.wrongClass(runId: "r", caseId: "c\(i)", trueLabel: "benign", classes: ["benign", "malignant", "atypical"])
            XCTAssertNotNil(wrong)
            XCTAssertNotEqual(wrong, "benign")
        }
        XCTAssertNil(CatchTrials.wrongClass(runId: "r", caseId: "c", trueLabel: "a", classes: ["a"]))
    }
}

/// Test-local seeded generator (SplitMix64) with Box–Muller Gaussians.
struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 { SeededGenerator.splitMix64(&state) }
    mutating func uniform() -> Double { Double(next() >> 11) / Double(1 << 53) }
    mutating func gaussian() -> Double {
        let u1 = max(uniform(), 1e-300), u2 = uniform()
        return sqrt(-2 * log(u1)) * cos(2 * .pi * u2)
    }
}
