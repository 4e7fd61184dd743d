import Foundation
import XCTest
@testable import RepeatScan
import Randomness

final class ShoppingSimulationTests: XCTestCase {
    static let alpha = 0.05

    /// One small simulation shared by the tests below (fixed seed; well under a second with -O).
    static let report: Result<ShoppingReport, Error> = Result {
        try ShoppingSimulation.run(ShoppingSimulationConfiguration(
            rhos: [0, 0.3, 0.7], casesPerClass: 5000, maxScans: 10, alpha: alpha, seed: 2026,
            rules: ShoppingRule.allCases))
    }

    func line(_ r: ShoppingReport, _ rho: Double, _ rule: ShoppingRule) throws -> ShoppingResult {
        try XCTUnwrap(r.results.first { $0.rho == rho && $0.rule == rule })
    }

    func testCountersignFalseReassuranceIsAtMostAlpha() throws {
        let r = try Self.report.get()
        for rho in [0, 0.3, 0.7] {
            for rule in [ShoppingRule.countersign, .countersignModelFree] {
                let l = try line(r, rho, rule)
                XCTAssertLessThanOrEqual(l.falseReassurance, Self.alpha + 3 * l.falseReassuranceSE, "\(rule) ρ = \(rho)")
            }
            // Countersign still clears benign lesions.
            XCTAssertGreaterThan(try line(r, rho, .countersign).benignCleared, 0.3, "ρ = \(rho)")
        }
    }

    func testNaiveRulesShowInflation() throws {
        let r = try Self.report.get()
        for rho in [0, 0.3, 0.7] {
            let single = try line(r, rho, .singleScan)
            let first = try line(r, rho, .firstReassuring)
            let last = try line(r, rho, .lastScan)
            // Shopping multiplies the single-scan false-reassurance rate several-fold.
            XCTAssertGreaterThan(first.falseReassurance, 3 * single.falseReassurance, "ρ = \(rho)")
            XCTAssertGreaterThan(first.falseReassurance, single.falseReassurance + 5 * first.falseReassuranceSE)
            // Reporting only the last scan does not help against a shopper.
            XCTAssertEqual(last.falseReassurance, first.falseReassurance)
            XCTAssertEqual(last.meanScans, first.meanScans)
        }
        // Independent scans: the naive rule exceeds α itself.
        let first0 = try line(r, 0, .firstReassuring)
        XCTAssertGreaterThan(first0.falseReassurance, Self.alpha + 3 * first0.falseReassuranceSE)
        // Multiplying per-scan evidence as if scans were independent breaks under correlation.
        let product = try line(r, 0.7, .independentProduct)
        XCTAssertGreaterThan(product.falseReassurance, Self.alpha + 3 * product.falseReassuranceSE)
        // The model-based e-process does not.
        XCTAssertLessThan(try line(r, 0.7, .countersign).falseReassurance, product.falseReassurance / 3)
    }

    /// The naive rule's rates have a closed form given the lesion effect b:
    /// P(some of M scans reassures) = E_b[1 − (1 − p(b))^M], p(b) = P(ε ≥ c ∓ d/2 − b), integrated
    /// over b ~ N(0, ρ) numerically. An independent check of the simulator.
    func testFirstReassuringMatchesAnalyticRate() throws {
        let r = try Self.report.get()
        let d = 2.0, m = 10.0, alpha = Self.alpha
        let c = log((1 - alpha) / alpha) / d        // π_benign = 0.5
        func rate(rho: Double, classMean: Double) -> Double {
            func anyReassuring(_ b: Double) -> Double {
                let p = 0.5 * erfc((c - classMean - b) / (2 * (1 - rho)).squareRoot())
                return 1 - pow(1 - p, m)
            }
            if rho == 0 { return anyReassuring(0) }
            var total = 0.0
            let h = 0.001, sd = rho.squareRoot()
            var z = -9.0
            while z <= 9 {
                total += exp(-0.5 * z * z) / (2 * Double.pi).squareRoot() * anyReassuring(sd * z) * h
                z += h
            }
            return total
        }
        for rho in [0, 0.3, 0.7] {
            let l = try line(r, rho, .firstReassuring)
            XCTAssertEqual(l.falseReassurance, rate(rho: rho, classMean: -d / 2), accuracy: 4 * l.falseReassuranceSE,
                           "ρ = \(rho)")
            XCTAssertEqual(l.benignCleared, rate(rho: rho, classMean: d / 2), accuracy: 4 * l.benignClearedSE + 1e-4,
                           "ρ = \(rho)")
        }
    }

    func testDependenceModelIsFittedPerRho() throws {
        let r = try Self.report.get()
        XCTAssertEqual(r.fits.map(\.rho), [0, 0.3, 0.7])
        for f in r.fits { XCTAssertEqual(f.estimatedRho, f.rho, accuracy: 0.1) }
        XCTAssertEqual(r.results.count, 3 * ShoppingRule.allCases.count)
    }

    func testDeterministicAndJSONKeys() throws {
        let cfg = ShoppingSimulationConfiguration(rhos: [0.3], casesPerClass: 500, maxScans: 5, alpha: 0.1, seed: 9)
        let a = try ShoppingSimulation.run(cfg), b = try ShoppingSimulation.run(cfg)
        XCTAssertEqual(a, b)
        XCTAssertEqual(a.results.map(\.rule), ShoppingRule.required)
        let c = try ShoppingSimulation.run(ShoppingSimulationConfiguration(rhos: [0.3], casesPerClass: 500,
                                                                          maxScans: 5, alpha: 0.1, seed: 10))
        XCTAssertNotEqual(a.results, c.results)
        let json = try JSONSerialization.jsonObject(with: JSONEncoder().encode(a)) as? [String: Any]
        let first = try XCTUnwrap((json?["results"] as? [[String: Any]])?.first)
        for key in ["rho", "rule", "false_reassurance", "false_reassurance_se", "benign_cleared", "mean_scans"] {
            XCTAssertNotNil(first[key], key)
        }
        XCTAssertEqual(first["rule"] as? String, "first-reassuring")
    }

    func testCalibrationRefitsSplitTheLesions() throws {
        let one = ShoppingSimulationConfiguration(rhos: [0.5], casesPerClass: 2002, maxScans: 6, alpha: 0.05, seed: 4,
                                                  rules: [.countersign, .firstReassuring])
        var four = one
        four.calibrationRefits = 4
        let a = try ShoppingSimulation.run(one), b = try ShoppingSimulation.run(four)
        XCTAssertEqual(a.fits.count, 1)
        XCTAssertEqual(b.fits.map(\.refit), [0, 1, 2, 3])
        XCTAssertNil(a.results[0].falseReassuranceSEBetweenFits)
        let between = try XCTUnwrap(b.results[0].falseReassuranceSEBetweenFits)
        XCTAssertGreaterThan(between, 0)
        XCTAssertLessThan(between, 0.05)
        // Different calibration sets give different fitted models.
        XCTAssertNotEqual(b.fits[0].model, b.fits[1].model)
        for l in b.results { XCTAssertLessThanOrEqual(l.falseReassurance, 1) }
        var bad = one
        bad.calibrationRefits = 0
        XCTAssertThrowsError(try ShoppingSimulation.run(bad))
        bad.calibrationRefits = 3000
        XCTAssertThrowsError(try ShoppingSimulation.run(bad))
    }

    func testConfigurationValidation() {
        let bad = [
            ShoppingSimulationConfiguration(rhos: [], casesPerClass: 10, maxScans: 5, alpha: 0.05, seed: 1),
            ShoppingSimulationConfiguration(rhos: [1.0], casesPerClass: 10, maxScans: 5, alpha: 0.05, seed: 1),
            ShoppingSimulationConfiguration(rhos: [0], casesPerClass: 0, maxScans: 5, alpha: 0.05, seed: 1),
            ShoppingSimulationConfiguration(rhos: [0], casesPerClass: 10, maxScans: 0, alpha: 0.05, seed: 1),
            ShoppingSimulationConfiguration(rhos: [0], casesPerClass: 10, maxScans: 5, alpha: 1.5, seed: 1),
        ]
        for c in bad { XCTAssertThrowsError(try ShoppingSimulation.run(c)) }
    }

    // MARK: - Supermartingale and Ville's inequality, numerically

    /// Under the null (malignant), with the model's true parameters, the model-based e-process is a
    /// martingale: E[E_t] = 1 at every t. The plain product is not once scans are correlated.
    func testMartingaleMeanUnderNull() throws {
        let n = 40_000, steps = 6
        for rho in [0.0, 0.7] {
            let model = try LesionScanModel(separation: 0.5, rho: rho, malignantPrevalence: 0.5)
            let rival = try model.trueDependenceModel(against: LesionScanModel.malignant)
            var rng = SeededGenerator(seed: 500 + UInt64(rho * 10))
            var sum = [Double](repeating: 0, count: steps), sumSq = sum, productSum = sum, productSq = sum
            var buffer: [Double] = []
            for _ in 0..<n {
                model.drawLesion(label: LesionScanModel.malignant, count: steps, into: &buffer, using: &rng)
                var lr = RandomEffectLikelihoodRatio(null: rival.null, alternative: rival.alternative)
                var product = IndependentProductEValue()
                for (t, q) in buffer.enumerated() {
                    let u = perScanLogEvidence(againstProbability: 1 - q, prevalence: 0.5)
                    let e = exp(lr.add(u)), p = exp(product.add(u))
                    sum[t] += e; sumSq[t] += e * e; productSum[t] += p; productSq[t] += p * p
                }
            }
            for t in 0..<steps {
                let mean = sum[t] / Double(n)
                let se = ((sumSq[t] / Double(n) - mean * mean) / Double(n)).squareRoot()
                XCTAssertEqual(mean, 1, accuracy: 4 * se + 1e-3, "ρ = \(rho), t = \(t + 1)")
            }
            let pMean = productSum[2] / Double(n)
            let pSE = ((productSq[2] / Double(n) - pMean * pMean) / Double(n)).squareRoot()
            if rho == 0 {
                XCTAssertEqual(pMean, 1, accuracy: 4 * pSE + 1e-3)
            } else {
                // E[product at t = 3] = exp(d²ρ t(t−1)/2) = exp(0.525) ≈ 1.69.
                XCTAssertGreaterThan(pMean, 1 + 10 * pSE)
                XCTAssertEqual(pMean, exp(0.25 * 0.7 * 3), accuracy: 5 * pSE)
            }
        }
    }

    /// Ville: the chance the e-process *ever* reaches 1/α over M scans (no stopping) is ≤ α; the
    /// model-free running maximum ever reaching M/α likewise. Checked with fitted models.
    func testEverCrossingRateUnderNullRespectsVille() throws {
        let n = 20_000, m = 20, alpha = 0.05
        for rho in [0.0, 0.3, 0.7] {
            for separation in [0.5, 2.0] {
                let model = try LesionScanModel(separation: separation, rho: rho, malignantPrevalence: 0.5)
                var rng = SeededGenerator(seed: 900 + UInt64(rho * 10) + UInt64(separation * 100))
                let cal = model.calibrationLesions(perClass: 300, scansPerLesion: 5, using: &rng)
                let fitted = try XCTUnwrap(try ScanDependenceModel.fit(calibration: cal, prevalences: model.prevalences)
                    .model(against: LesionScanModel.malignant))
                var crossedModel = 0, crossedFree = 0
                var buffer: [Double] = []
                for _ in 0..<n {
                    model.drawLesion(label: LesionScanModel.malignant, count: m, into: &buffer, using: &rng)
                    var e = try CaseEProcess(caseID: "x", model: fitted, prevalence: 0.5, alpha: alpha, maxScans: m)
                    var f = try CaseEProcess(caseID: "x", rival: 1, prevalence: 0.5, alpha: alpha, maxScans: m)
                    for (t, q) in buffer.enumerated() {
                        try e.record(scanID: "\(t)", probabilityOfRival: 1 - q)
                        try f.record(scanID: "\(t)", probabilityOfRival: 1 - q)
                    }
                    if e.claim.isEstablished { crossedModel += 1 }
                    if f.claim.isEstablished { crossedFree += 1 }
                }
                for (name, count) in [("model-based", crossedModel), ("model-free", crossedFree)] {
                    let rate = Double(count) / Double(n)
                    let se = (max(rate, alpha) * (1 - alpha) / Double(n)).squareRoot()
                    XCTAssertLessThanOrEqual(rate, alpha + 3 * se, "\(name) ρ = \(rho), d = \(separation)")
                }
            }
        }
    }
}
