import Foundation
import XCTest
@testable import RepeatScan
import Randomness

final class PoolingTests: XCTestCase {
    func scan(_ id: String, _ p: [Double], ood: Bool? = nil) -> ScanObservation {
        ScanObservation(scanID: id, probabilities: p, outOfDistribution: ood)
    }

    func testMeanProbabilities() throws {
        let m = try ScanPooling.meanProbabilities([scan("a", [0.9, 0.1]), scan("b", [0.6, 0.4]),
                                                   scan("c", [0.3, 0.7])])
        XCTAssertEqual(m[0], 0.6, accuracy: 1e-12)
        XCTAssertEqual(m[1], 0.4, accuracy: 1e-12)
    }

    func testDisagreementMeasures() throws {
        let scans = [scan("a", [0.9, 0.05, 0.05], ood: false), scan("b", [0.2, 0.7, 0.1], ood: true),
                     scan("c", [0.8, 0.1, 0.1], ood: false), scan("d", [0.85, 0.1, 0.05], ood: false)]
        let d = try ScanDisagreement(scans: scans)
        XCTAssertEqual(d.topClassPerScan, [0, 1, 0, 0])
        XCTAssertEqual(d.classFlips, 2)
        XCTAssertEqual(d.distinctTopClasses, 2)
        XCTAssertEqual(d.perClassMinimum[0], 0.2, accuracy: 1e-12)
        XCTAssertEqual(d.perClassMaximum[1], 0.7, accuracy: 1e-12)
        XCTAssertEqual(d.maximumSpread, 0.7, accuracy: 1e-12)
        XCTAssertEqual(d.outOfDistributionScans, [1])
        XCTAssertTrue(d.outOfDistributionAvailable)
        // sample SD of class 0: values 0.9, 0.2, 0.8, 0.85
        let v = [0.9, 0.2, 0.8, 0.85], mean = v.reduce(0, +) / 4
        let sd = (v.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / 3).squareRoot()
        XCTAssertEqual(d.perClassStandardDeviation[0], sd, accuracy: 1e-12)
    }

    func testNoOutOfDistributionMarksMeansUnavailable() throws {
        let d = try ScanDisagreement(scans: [scan("a", [0.5, 0.5])])
        XCTAssertFalse(d.outOfDistributionAvailable)
        XCTAssertEqual(d.classFlips, 0)
        XCTAssertEqual(d.perClassStandardDeviation, [0, 0])
    }

    func testBadProbabilitiesNameTheScanAndField() {
        XCTAssertThrowsError(try ScanPooling.meanProbabilities([scan("s1", [0.5, 0.5]), scan("s2", [0.9, 0.3])])) {
            XCTAssertTrue("\($0)".contains("scan s2"), "\($0)")
        }
        XCTAssertThrowsError(try ScanPooling.meanProbabilities([scan("s1", [0.5, 0.5]), scan("s2", [1.0, 0.0, 0.0])])) {
            XCTAssertTrue("\($0)".contains("expected 2 classes"), "\($0)")
        }
        XCTAssertThrowsError(try ScanPooling.meanProbabilities([scan("s3", [.nan, 1])])) {
            XCTAssertTrue("\($0)".contains("probabilities[0]"), "\($0)")
        }
        XCTAssertThrowsError(try ScanPooling.meanProbabilities([]))
    }

    func testPooledRecalibrationMatchesScipy() throws {
        let f = try ReferenceFixtures.load().pooled_recalibration
        let lesions = f.lesions.map { CalibrationLesion(label: $0.label, scanProbabilities: $0.scans) }
        let beta = try PooledRecalibrator.fitBeta(cases: lesions, prevalences: f.prevalences, scanCount: 4)
        XCTAssertEqual(beta, f.beta, accuracy: 1e-6)
        let r = try PooledRecalibrator.fit(calibration: lesions, prevalences: f.prevalences, minimumCases: 20)
        let m = r.multiplier(forScanCount: 4)
        XCTAssertEqual(m.source, .fittedOnScanCount)
        XCTAssertEqual(m.calibrationCases, 60)
        let pooled = try r.pooledProbabilities(f.lesions[0].scans)
        for (a, b) in zip(pooled, f.pooled_first_case) { XCTAssertEqual(a, b, accuracy: 1e-6) }
        // A scan count without calibration cases falls back to the design effect.
        let fallback = r.multiplier(forScanCount: 3)
        XCTAssertEqual(fallback.source, .designEffect)
        XCTAssertEqual(fallback.beta, 3 / (1 + 2 * r.intraclassCorrelation), accuracy: 1e-12)
    }

    /// In the lesion model the exact posterior of K scans has multiplier K / (1 + (K − 1)ρ) on the
    /// mean per-scan log-evidence; the per-K fit should find it.
    func testFittedMultiplierRecoversDesignEffect() throws {
        for rho in [0.0, 0.5] {
            let model = try LesionScanModel(separation: 1.0, rho: rho, malignantPrevalence: 0.5)
            var rng = SeededGenerator(seed: 99)
            let cal = model.calibrationLesions(perClass: 4000, scansPerLesion: 4, using: &rng)
            let r = try PooledRecalibrator.fit(calibration: cal, prevalences: model.prevalences)
            let expected = 4 / (1 + 3 * rho)
            XCTAssertEqual(r.multiplier(forScanCount: 4).beta, expected, accuracy: 0.1 * expected, "ρ = \(rho)")
            XCTAssertEqual(r.intraclassCorrelation, rho, accuracy: 0.05)
            // Pooled recalibrated probabilities are calibrated: mean prob of malignant ≈ frequency.
            var meanP = 0.0
            for les in cal { meanP += try r.pooledProbabilities(les.scanProbabilities)[1] }
            XCTAssertEqual(meanP / Double(cal.count), 0.5, accuracy: 0.02)
        }
    }

    func testDesignEffectRecalibratorValidates() {
        XCTAssertThrowsError(try PooledRecalibrator(prevalences: [0.5, 0.5], intraclassCorrelation: 1.5))
        XCTAssertThrowsError(try PooledRecalibrator(prevalences: [1.0, 0.0], intraclassCorrelation: 0.2))
    }
}
