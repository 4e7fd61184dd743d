import Cohorts
import Foundation
import XCTest
@testable import RepeatScan

/// Lesions from the Cohorts lesion generator (`LesionCohort`), turned into calibrated per-scan
/// probabilities from each scan's latent evidence z: the cohort's malignant logit is
/// logit π_malignant + d·z, so q_benign = σ(logit π_benign − d·z). (The same adapter lives in
/// `audit simulate shopping`; RepeatScan itself does not depend on Cohorts.)
struct CohortLesionSource: LesionScanSource {
    let model: LesionScanModel
    let seed: UInt64
    let chunk: Int
    private var queues: [String: [[Double]]] = [:]
    private var chunksDrawn: [String: UInt64] = [:]

    init(model: LesionScanModel, seed: UInt64, chunk: Int = 1000) {
        self.model = model
        self.seed = seed
        self.chunk = chunk
    }

    mutating func nextLesion(label: Int, count: Int, into buffer: inout [Double]) throws {
        let key = "\(label)/\(count)"
        if queues[key, default: []].isEmpty {
            let n = chunksDrawn[key, default: 0]
            chunksDrawn[key] = n + 1
            var state = seed ^ (UInt64(label) << 56) ^ (UInt64(count) << 40) ^ n
            let chunkSeed = SeededGenerator.splitMix64(&state)
            let p = LesionParameters(study: "shopping", cases: chunk,
                                     malignantPrevalence: label == LesionScanModel.malignant ? 1 : 0,
                                     rho: model.rho, separation: model.separation, measurementNoise: 0,
                                     minScans: count, maxScans: count, artefactRate: 0, lesionsPerPatient: 1)
            let cohort = try LesionCohort.generate(p, seed: chunkSeed)
            let priorLogit = log((1 - model.malignantPrevalence) / model.malignantPrevalence)
            queues[key] = cohort.cases.map { c in
                c.scans.map { s in 1 / (1 + exp(-(priorLogit - model.separation * (s.latentEvidence ?? .nan)))) }
            }
        }
        buffer = queues[key]!.removeLast()
    }
}

final class CohortLesionSourceTests: XCTestCase {
    func testCountersignHoldsOnCohortLesions() throws {
        let config = ShoppingSimulationConfiguration(rhos: [0, 0.3, 0.7], casesPerClass: 3000, maxScans: 10,
                                                     alpha: 0.05, seed: 77, rules: ShoppingRule.allCases)
        let report = try ShoppingSimulation.run(config, generativeModel: "Cohorts.LesionCohort latent evidence") {
            CohortLesionSource(model: $0, seed: $1)
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
            CohortLesionSource(model: $0, seed: $1)
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
