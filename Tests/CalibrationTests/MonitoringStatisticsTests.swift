import Calibration
import Foundation
import Randomness
import XCTest

/// The statistics `audit monitor` reports, against independent references: NannyML's CBPE for the
/// label-free accuracy estimate and its sampling error, SciPy's exact binomial intervals.
final class MonitoringStatisticsTests: XCTestCase {
    struct CBPEFixture: Decodable {
        struct Reference: Decodable { let p: [Double]; let yTrue: [Int]; let correctStd: Double }
        struct NannyML: Decodable { let estimatedAccuracy: Double; let samplingError: Double; let lower: Double; let upper: Double }
        struct Chunk: Decodable {
            let p: [Double]; let yPred: [Int]; let yTrue: [Int]
            let nannyml: NannyML; let nannymlNoCalibration: NannyML; let realizedAccuracy: Double
        }
        let chunkSize: Int
        let samplingErrorMultiplier: Double
        let reference: Reference
        let chunks: [Chunk]
    }

    /// scripts/cbpe_reference.py: NannyML 0.13 CBPE on calibrated synthetic data, six chunks of 250, the
    /// last three drawn nearer 0.5. With NannyML's own isotonic re-calibration switched off it computes
    /// exactly the mean confidence of the predicted class, which is ours.
    func testLabelFreeAccuracyMatchesNannyMLsCBPE() throws {
        let f = try loadFixture("cbpe-nannyml", as: CBPEFixture.self)
        let referenceCorrect = zip(f.reference.p, f.reference.yTrue).map { ($0 >= 0.5 ? 1 : 0) == $1 }
        for (i, chunk) in f.chunks.enumerated() {
            let confidences = zip(chunk.p, chunk.yPred).map { $1 == 1 ? $0 : 1 - $0 }
            let e = try ConfidenceBasedAccuracy(confidences: confidences)
            XCTAssertEqual(e.estimate, chunk.nannymlNoCalibration.estimatedAccuracy, accuracy: 1e-12, "chunk \(i)")
            let se = ConfidenceBasedAccuracy.referenceSamplingError(referenceCorrect: referenceCorrect, chunkSize: chunk.p.count)
            XCTAssertEqual(se, chunk.nannyml.samplingError, accuracy: 1e-12, "chunk \(i): NannyML's sampling error")
            XCTAssertEqual(e.estimate + f.samplingErrorMultiplier * se, chunk.nannymlNoCalibration.upper, accuracy: 1e-12)
            // The label-free interval (Poisson-binomial) holds the realised accuracy on calibrated data,
            // and is no wider than NannyML's ±3 SE band.
            XCTAssertLessThanOrEqual(e.lower, chunk.realizedAccuracy + 0.03, "chunk \(i)")
            XCTAssertGreaterThanOrEqual(e.upper, chunk.realizedAccuracy - 0.03, "chunk \(i)")
            XCTAssertLessThan(e.upper - e.lower, 2 * f.samplingErrorMultiplier * se)
        }
        // The drifted chunks' estimates fall with their realised accuracy.
        let early = try f.chunks.prefix(3).map { c in try ConfidenceBasedAccuracy(confidences: zip(c.p, c.yPred).map { $1 == 1 ? $0 : 1 - $0 }).estimate }
        let late = try f.chunks.suffix(3).map { c in try ConfidenceBasedAccuracy(confidences: zip(c.p, c.yPred).map { $1 == 1 ? $0 : 1 - $0 }).estimate }
        XCTAssertGreaterThan(early.min()!, late.max()! + 0.05)
    }

    /// Over many calibrated chunks the label-free 95% interval holds the realised accuracy about 95% of the time.
    func testLabelFreeIntervalCoversOnCalibratedData() throws {
        var rng = SeededGenerator(seed: 20_261_204)
        var covered = 0
        let trials = 2000
        for _ in 0..<trials {
            var confidences: [Double] = [], right = 0
            for _ in 0..<200 {
                let c = 0.5 + 0.5 * rng.nextUniform()
                confidences.append(c)
                if rng.nextUniform() < c { right += 1 }
            }
            let e = try ConfidenceBasedAccuracy(confidences: confidences)
            let realised = Double(right) / 200
            if realised >= e.lower && realised <= e.upper { covered += 1 }
        }
        let rate = Double(covered) / Double(trials)
        XCTAssertEqual(rate, 0.95, accuracy: 0.02, "coverage of the label-free interval: \(rate)")
    }

    struct ClopperPearsonFixture: Decodable {
        struct Case: Decodable { let successes: Int; let trials: Int; let level: Double; let lower: Double; let upper: Double; let upperOneSided: Double }
        let cases: [Case]
    }

    /// scripts/binomial_reference.py: SciPy's `binomtest(...).proportion_ci(method="exact")`.
    func testClopperPearsonMatchesSciPy() throws {
        let f = try loadFixture("clopper-pearson", as: ClopperPearsonFixture.self)
        for c in f.cases {
            let i = try BinomialInterval(successes: c.successes, trials: c.trials, level: c.level)
            XCTAssertEqual(i.lower, c.lower, accuracy: 1e-9, "\(c.successes)/\(c.trials) at \(c.level)")
            XCTAssertEqual(i.upper, c.upper, accuracy: 1e-9, "\(c.successes)/\(c.trials) at \(c.level)")
            XCTAssertEqual(BinomialInterval.upperBound(successes: c.successes, trials: c.trials, level: c.level), c.upperOneSided,
                           accuracy: 1e-9, "one-sided \(c.successes)/\(c.trials)")
        }
        XCTAssertThrowsError(try BinomialInterval(successes: 3, trials: 2))
        XCTAssertThrowsError(try BinomialInterval(successes: 0, trials: 0))
    }
}

