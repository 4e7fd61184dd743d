import Calibration
import Foundation
import XCTest
@testable import RepeatScan
import Randomness

/// Decoded reference values from scripts/repeatscan_fixtures.py (numpy/scipy).
struct ReferenceFixtures: Decodable {
    struct Likelihood: Decodable {
        let mean: Double, lesion_variance: Double, scan_variance: Double
        let values: [Double], log_likelihood: Double, log_likelihood_gauss_hermite: Double
    }
    struct Anova: Decodable {
        let groups: [[Double]], mean: Double, scan_variance: Double, lesion_variance: Double
    }
    struct Pooled: Decodable {
        struct Lesion: Decodable { let label: Int; let scans: [[Double]] }
        let prevalences: [Double], lesions: [Lesion], beta: Double, pooled_first_case: [Double]
    }
    struct Quantiles: Decodable { let normal: [[Double]], chi_square: [[Double]] }
    let marginal_likelihood: [Likelihood]
    let quantiles: Quantiles
    let anova: Anova
    let pooled_recalibration: Pooled

    static func load() throws -> ReferenceFixtures {
        try JSONDecoder().decode(ReferenceFixtures.self, from: Data(RepeatScanFixtures.json.utf8))
    }
}

final class RandomEffectModelTests: XCTestCase {
    func testMarginalLikelihoodMatchesScipyAndGaussHermite() throws {
        let fixtures = try ReferenceFixtures.load()
        XCTAssertEqual(fixtures.marginal_likelihood.count, 6)
        for c in fixtures.marginal_likelihood {
            let p = try RandomEffectParameters(mean: c.mean, lesionVariance: c.lesion_variance,
                                               scanVariance: c.scan_variance)
            let ll = p.logMarginalLikelihood(c.values)
            XCTAssertEqual(ll, c.log_likelihood, accuracy: 1e-9 * max(1, abs(c.log_likelihood)))
            XCTAssertEqual(ll, c.log_likelihood_gauss_hermite, accuracy: 1e-8 * max(1, abs(ll)))
        }
    }

    /// Independent Swift check: integrate the lesion effect numerically (trapezoid on a wide grid).
    func testMarginalLikelihoodMatchesNumericalIntegration() throws {
        let p = try RandomEffectParameters(mean: -1.3, lesionVariance: 1.7, scanVariance: 0.8)
        let u = [-0.4, -2.1, -1.0, 0.3]
        func logNormal(_ x: Double, _ m: Double, _ v: Double) -> Double {
            -0.5 * (log(2 * Double.pi * v) + (x - m) * (x - m) / v)
        }
        var integral = 0.0
        let h = 0.001
        var b = -15.0
        while b <= 15 {
            var lf = logNormal(b, 0, p.lesionVariance)
            for x in u { lf += logNormal(x, p.mean + b, p.scanVariance) }
            integral += exp(lf) * h
            b += h
        }
        XCTAssertEqual(p.logMarginalLikelihood(u), log(integral), accuracy: 1e-6)
    }

    func testAnovaFitMatchesReference() throws {
        let a = try ReferenceFixtures.load().anova
        let fit = try RandomEffectParameters.fit(lesions: a.groups)
        XCTAssertEqual(fit.mean, a.mean, accuracy: 1e-12)
        XCTAssertEqual(fit.scanVariance, a.scan_variance, accuracy: 1e-12)
        XCTAssertEqual(fit.lesionVariance, a.lesion_variance, accuracy: 1e-12)
        XCTAssertEqual(fit.lesionCount, a.groups.count)
    }

    func testFitRecoversSimulatedParameters() throws {
        var rng = SeededGenerator(seed: 7)
        var lesions: [[Double]] = []
        for _ in 0..<3000 {
            let b = 1.5.squareRoot() * rng.standardNormal()
            lesions.append((0..<4).map { _ in 2 + b + 0.5.squareRoot() * rng.standardNormal() })
        }
        let fit = try RandomEffectParameters.fit(lesions: lesions)
        XCTAssertEqual(fit.mean, 2, accuracy: 0.08)
        XCTAssertEqual(fit.lesionVariance, 1.5, accuracy: 0.12)
        XCTAssertEqual(fit.scanVariance, 0.5, accuracy: 0.03)
        XCTAssertEqual(fit.intraclassCorrelation, 0.75, accuracy: 0.03)
    }

    func testQuantilesMatchScipy() throws {
        let q = try ReferenceFixtures.load().quantiles
        for row in q.normal { XCTAssertEqual(normalQuantile(row[0]), row[1], accuracy: 1e-8) }
        for row in q.chi_square {
            XCTAssertEqual(chiSquareQuantile(row[0], degreesOfFreedom: row[1]), row[2], accuracy: 0.005 * row[2])
        }
    }

    /// The upper confidence limit for τ² covers the true value at about its stated rate.
    func testLesionVarianceUpperLimitCoverage() throws {
        var rng = SeededGenerator(seed: 31)
        let fits = 2000
        var covered = 0, pointCovered = 0
        for _ in 0..<fits {
            var lesions: [[Double]] = []
            for _ in 0..<60 {
                let b = rng.standardNormal()                       // τ² = 1
                lesions.append((0..<4).map { _ in b + 2.0.squareRoot() * rng.standardNormal() })  // s² = 2
            }
            let upper = try RandomEffectParameters.fit(lesions: lesions, lesionVarianceConfidence: 0.95)
            let point = try RandomEffectParameters.fit(lesions: lesions)
            XCTAssertGreaterThanOrEqual(upper.lesionVariance, point.lesionVariance)
            if upper.lesionVariance >= 1 { covered += 1 }
            if point.lesionVariance >= 1 { pointCovered += 1 }
        }
        let rate = Double(covered) / Double(fits)
        XCTAssertEqual(rate, 0.95, accuracy: 0.02)
        XCTAssertLessThan(Double(pointCovered) / Double(fits), 0.6)
        XCTAssertThrowsError(try RandomEffectParameters.fit(lesions: [[1, 2], [3, 5]], lesionVarianceConfidence: 1.5))
    }

    func testFitRejectsInsufficientData() {
        XCTAssertThrowsError(try RandomEffectParameters.fit(lesions: [[1.0, 2.0]]))
        XCTAssertThrowsError(try RandomEffectParameters.fit(lesions: [[1.0], [2.0], [3.0]])) { error in
            XCTAssertTrue("\(error)".contains("2 or more scans"), "\(error)")
        }
        XCTAssertThrowsError(try RandomEffectParameters.fit(lesions: [[1.0, .nan], [2.0, 1.0]]))
        XCTAssertThrowsError(try RandomEffectParameters(mean: 0, lesionVariance: 1, scanVariance: 0))
    }
}
