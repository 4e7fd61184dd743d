import Foundation
import XCTest
@testable import RepeatScan
import Randomness

final class EProcessTests: XCTestCase {
    let alpha = 0.05

    func testStartsAtOneCountsEveryScanOnceAndIsTiedToTheCase() throws {
        let model = try LesionScanModel(separation: 2, rho: 0.3, malignantPrevalence: 0.5)
        var e = try CaseEProcess(caseID: "case-17", model: try model.trueDependenceModel(against: 1),
                                 prevalence: 0.5, alpha: alpha, maxScans: 10)
        XCTAssertEqual(e.value, 1)
        XCTAssertEqual(e.path, [])
        XCTAssertEqual(e.claim, .notEstablished(rival: 1, alpha: alpha))
        try e.record(ScanObservation(scanID: "s1", probabilities: [0.7, 0.3]))
        try e.record(ScanObservation(scanID: "s2", probabilities: [0.8, 0.2]))
        XCTAssertThrowsError(try e.record(ScanObservation(scanID: "s1", probabilities: [0.99, 0.01]))) {
            XCTAssertEqual($0 as? RepeatScanError, .duplicateScan(caseID: "case-17", scanID: "s1"))
        }
        XCTAssertEqual(e.caseID, "case-17")
        XCTAssertEqual(e.scanIDs, ["s1", "s2"])
        XCTAssertEqual(e.path.count, 2)
        XCTAssertThrowsError(try e.record(scanID: "s3", probabilityOfRival: 1.2))
    }

    /// With no lesion effect and the model's own parameters, the random-effect likelihood ratio is
    /// the product of per-scan ratios (q_k/π_k)/(q_j/π_j).
    func testModelBasedReducesToProductForIndependentScans() throws {
        let model = try LesionScanModel(separation: 1.5, rho: 0, malignantPrevalence: 0.2)
        var e = try CaseEProcess(caseID: "c", model: try model.trueDependenceModel(against: 1),
                                 prevalence: 0.2, alpha: alpha, maxScans: 10)
        let qs = [0.9, 0.95, 0.7, 0.99, 0.5]
        var logProduct = 0.0
        for (i, qb) in qs.enumerated() {
            try e.record(ScanObservation(scanID: "s\(i)", probabilities: [qb, 1 - qb]))
            logProduct += log((qb / 0.8) / ((1 - qb) / 0.2))
            XCTAssertEqual(e.logPath[i], logProduct, accuracy: 1e-9)
        }
    }

    /// With a lesion effect, repeated identical reassuring scans buy less than the product claims:
    /// the evidence is bounded by what the lesion mean can tell.
    func testRandomEffectDiscountsRepeatedScans() throws {
        let model = try LesionScanModel(separation: 2, rho: 0.7, malignantPrevalence: 0.5)
        var e = try CaseEProcess(caseID: "c", model: try model.trueDependenceModel(against: 1),
                                 prevalence: 0.5, alpha: alpha, maxScans: 50)
        var product = IndependentProductEValue()
        for i in 0..<30 {
            try e.record(scanID: "s\(i)", probabilityOfRival: 0.3)
            product.add(perScanLogEvidence(againstProbability: 0.3, prevalence: 0.5))
        }
        XCTAssertGreaterThan(product.logValue, 25)
        // Limit: lesion-mean likelihood ratio for ū = log(7/3) with variance 4ρ = 2.8: 4ū/2.8.
        let limit = 4 * log(7.0 / 3.0) / 2.8
        XCTAssertLessThan(e.logPath.last ?? .infinity, limit + 0.2)
        XCTAssertGreaterThan(e.logPath.last ?? 0, limit - 0.5)
        XCTAssertFalse(e.claim.isEstablished)
    }

    func testClaimOnlyAtThresholdAndNeverReset() throws {
        let model = try LesionScanModel(separation: 2, rho: 0, malignantPrevalence: 0.5)
        var e = try CaseEProcess(caseID: "c", model: try model.trueDependenceModel(against: 1),
                                 prevalence: 0.5, alpha: alpha, maxScans: 10)
        // Each scan with q_malignant = 0.25 multiplies the e-process by 3; 3³ = 27 ≥ 20.
        try e.record(scanID: "a", probabilityOfRival: 0.25)
        try e.record(scanID: "b", probabilityOfRival: 0.25)
        XCTAssertEqual(e.value, 9, accuracy: 1e-9)
        XCTAssertEqual(e.claim.statement(classNames: ["benign", "malignant"]), "not malignant: not established")
        try e.record(scanID: "c", probabilityOfRival: 0.25)
        XCTAssertEqual(e.claim, .notClass(rival: 1, alpha: alpha, atScan: 3))
        try e.record(scanID: "d", probabilityOfRival: 0.9)   // evidence falls, the claim made stands
        XCTAssertLessThan(e.value, e.threshold)
        XCTAssertEqual(e.claim, .notClass(rival: 1, alpha: alpha, atScan: 3))
        XCTAssertEqual(e.scanCount, 4)
        XCTAssertTrue(e.claim.statement(classNames: ["benign", "malignant"]).hasPrefix("not malignant, at level α = 0.05"))
    }

    func testModelFreeUsesMOverAlphaAndOnlyTheFirstMScans() throws {
        var e = try CaseEProcess(caseID: "c", rival: 1, prevalence: 0.5, alpha: alpha, maxScans: 3)
        XCTAssertEqual(e.threshold, 60, accuracy: 1e-12)
        try e.record(scanID: "a", probabilityOfRival: 1.0 / 51)   // e = 50 < 60
        try e.record(scanID: "b", probabilityOfRival: 0.5)
        XCTAssertEqual(e.value, 50, accuracy: 1e-6)              // running maximum
        XCTAssertFalse(e.claim.isEstablished)
        try e.record(scanID: "c", probabilityOfRival: 0.5)
        try e.record(scanID: "d", probabilityOfRival: 1.0 / 101)  // scan 4 > M: cannot establish
        XCTAssertFalse(e.claim.isEstablished)
        var f = try CaseEProcess(caseID: "c", rival: 1, prevalence: 0.5, alpha: alpha, maxScans: 3)
        try f.record(scanID: "a", probabilityOfRival: 0.5)
        try f.record(scanID: "b", probabilityOfRival: 1.0 / 101)
        XCTAssertEqual(f.claim, .notClass(rival: 1, alpha: alpha, atScan: 2))
    }

    func testCodableRoundTripContinuesTheSameProcess() throws {
        let model = try LesionScanModel(separation: 2, rho: 0.4, malignantPrevalence: 0.5)
        for construction in EProcessConstruction.allCases {
            var e = construction == .modelBased
                ? try CaseEProcess(caseID: "c", model: try model.trueDependenceModel(against: 1), prevalence: 0.5,
                                   alpha: 0.05, maxScans: 6)
                : try CaseEProcess(caseID: "c", rival: 1, prevalence: 0.5, alpha: 0.05, maxScans: 6)
            try e.record(scanID: "a", probabilityOfRival: 0.2)
            try e.record(scanID: "b", probabilityOfRival: 0.4)
            var d = try JSONDecoder().decode(CaseEProcess.self, from: JSONEncoder().encode(e))
            XCTAssertEqual(d.logPath, e.logPath)
            try e.record(scanID: "c", probabilityOfRival: 0.1)
            try d.record(scanID: "c", probabilityOfRival: 0.1)
            XCTAssertEqual(d, e)
            XCTAssertThrowsError(try d.record(scanID: "a", probabilityOfRival: 0.1))
        }
    }

    func testSimulationRuleAgreesWithCaseEProcess() throws {
        let model = try LesionScanModel(separation: 2, rho: 0.5, malignantPrevalence: 0.5)
        let rival = try model.trueDependenceModel(against: 1)
        var rng = SeededGenerator(seed: 3)
        var buffer: [Double] = []
        for i in 0..<300 {
            model.drawLesion(label: i % 2, count: 8, into: &buffer, using: &rng)
            let o = ShoppingSimulation.play(.countersign, buffer, rival: rival, limits: .init(
                malignantPrevalence: 0.5, reassuring: 0.95, logThreshold: log(20), logModelFreeThreshold: log(160),
                oracleMeanThreshold: .infinity, boundary: nil, boundaryNull: nil))
            var e = try CaseEProcess(caseID: "c\(i)", model: rival, prevalence: 0.5, alpha: 0.05, maxScans: 8)
            for (t, q) in buffer.enumerated() { try e.record(ScanObservation(scanID: "\(t)", probabilities: [q, 1 - q])) }
            if case let .notClass(_, _, t) = e.claim {
                XCTAssertTrue(o.calledBenign); XCTAssertEqual(o.scans, t)
            } else {
                XCTAssertFalse(o.calledBenign); XCTAssertEqual(o.scans, 8)
            }
        }
    }

    func testAssessmentReportsEverythingAndPolicyFlags() throws {
        let lesion = try LesionScanModel(separation: 2, rho: 0.3, malignantPrevalence: 0.5)
        var rng = SeededGenerator(seed: 11)
        let cal = lesion.calibrationLesions(perClass: 200, scansPerLesion: 4, using: &rng)
        let dependence = try ScanDependenceModel.fit(calibration: cal, prevalences: lesion.prevalences)
        XCTAssertEqual(dependence.rivals.count, 2)
        XCTAssertEqual(dependence.intraclassCorrelation, 0.3, accuracy: 0.15)
        let policy = try RepeatScanPolicy(alpha: 0.05, maxScans: 3, maxSpreadBeforeReview: 0.5,
                                          maxClassFlipsBeforeReview: 0)
        let scans = [ScanObservation(scanID: "s1", acquisition: "white light", probabilities: [0.98, 0.02], outOfDistribution: false),
                     ScanObservation(scanID: "s2", acquisition: "polarised", probabilities: [0.40, 0.60], outOfDistribution: true),
                     ScanObservation(scanID: "s3", acquisition: "UV", probabilities: [0.99, 0.01], outOfDistribution: false)]
        let a = try RepeatScanAssessment(caseID: "L-1", scans: scans, prevalences: lesion.prevalences,
                                         policy: policy, dependenceModel: dependence,
                                         recalibrator: try PooledRecalibrator.fit(calibration: cal, prevalences: lesion.prevalences))
        XCTAssertEqual(a.sentence, "3 scans were taken; the stated confidence accounts for all 3.")
        XCTAssertEqual(a.eProcesses.count, 4)
        XCTAssertEqual(a.eProcess(against: 1, construction: .modelBased)?.scanIDs, ["s1", "s2", "s3"])
        XCTAssertEqual(a.pooledMean[0], (0.98 + 0.40 + 0.99) / 3, accuracy: 1e-12)
        XCTAssertEqual(a.recalibration?.source, .designEffect)
        XCTAssertTrue(a.review)
        XCTAssertEqual(a.reviewReasons.count, 3)   // spread 0.59, two flips, one OOD scan
        XCTAssertEqual(a.escalate, !a.eProcesses.contains { $0.claim.isEstablished })
        let more = scans + [ScanObservation(scanID: "s4", probabilities: [0.99, 0.01])]
        let b = try RepeatScanAssessment(caseID: "L-1", scans: more, prevalences: lesion.prevalences, policy: policy)
        XCTAssertTrue(b.escalate)
        XCTAssertEqual(b.eProcesses.map(\.construction), [.modelFree, .modelFree])
        let json = String(decoding: try JSONEncoder().encode(a), as: UTF8.self)
        XCTAssertTrue(json.contains("\"e_processes\""))
        XCTAssertTrue(json.contains("\"log_path\""))
        XCTAssertThrowsError(try RepeatScanAssessment(caseID: "L-2", scans: [], prevalences: [0.5, 0.5], policy: policy)) {
            XCTAssertEqual("\($0)", "case L-2: no scans")
        }
        XCTAssertEqual(scansAccountedSentence(1), "1 scan was taken; the stated confidence accounts for it.")
    }
}
