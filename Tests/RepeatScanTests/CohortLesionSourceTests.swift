import Foundation
import Pipeline
import XCTest
@testable import RepeatScan

/// `Pipeline.CohortLesionSource` (the adapter `audit simulate shopping` uses) against RepeatScan's
/// guarantees. Chunks of 1000 lesions, as these tests have always drawn them.
final class CohortLesionSourceTests: XCTestCase {
    func testCountersignHoldsOnCohortLesions() throws {
        let config = ShoppingSimulationConfiguration(rhos: [0, 0.3, 0.7], casesPerClass: 3000, maxScans: 10,
                                                     alpha: 0.05, seed: 77, rules: ShoppingRule.allCases)
        let report = try ShoppingSimulation.run(config, generativeModel: "Cohorts.LesionCohort latent evidence") {
            CohortLesionSource(model: $0, seed: $1, chunk: 1000)
        }
        for rho in config.rhos {
            func line(_ rule: ShoppingRule) throws -> ShoppingResult {
                try XCTUnwrap(report.results.first { $0.rho == rho && $0.rule == rule })
            }
            let cs = try line(.countersign), first = try line(.firstReassuring), single = try line(.singleScan)
            XCTAssertLessThanOrEqual(cs.falseReassurance, 0.05 + 3 * cs.falseReassuranceSE, "ρ = \(rho)")
            XCTAssertGreaterThan(first.falseReassurance, 3 * single.falseReassurance, "ρ = \(rho)")
            XCTAssertGreaterThan(cs.benignCleared, 0.3)
        }
        // The fitted within-lesion correlation tracks the cohort's ρ (upper 95% limit, so ≥ about ρ).
        for f in report.fits { XCTAssertEqual(f.estimatedRho, f.rho, accuracy: 0.12) }
    }

    /// The cohort's latent evidence and `LesionScanModel` are the same model: the naive rule's
    /// false-reassurance rates agree within Monte-Carlo error.
    func testCohortAndModelSourcesAgree() throws {
        let config = ShoppingSimulationConfiguration(rhos: [0.5], casesPerClass: 6000, maxScans: 8, alpha: 0.05,
                                                     seed: 5, rules: [.firstReassuring, .singleScan])
        let viaModel = try ShoppingSimulation.run(config)
        let viaCohort = try ShoppingSimulation.run(config, generativeModel: "cohort") {
            CohortLesionSource(model: $0, seed: $1, chunk: 1000)
        }
        for (a, b) in zip(viaModel.results, viaCohort.results) {
            XCTAssertEqual(a.rule, b.rule)
            let se = (a.falseReassuranceSE * a.falseReassuranceSE + b.falseReassuranceSE * b.falseReassuranceSE).squareRoot()
            XCTAssertEqual(a.falseReassurance, b.falseReassurance, accuracy: 4 * se + 1e-4, "\(a.rule)")
            let seB = (a.benignClearedSE * a.benignClearedSE + b.benignClearedSE * b.benignClearedSE).squareRoot()
            XCTAssertEqual(a.benignCleared, b.benignCleared, accuracy: 4 * seB + 1e-4, "\(a.rule)")
            XCTAssertNotEqual(a.falseReassurance, b.falseReassurance)   // different generators, not a copy
        }
    }
}
