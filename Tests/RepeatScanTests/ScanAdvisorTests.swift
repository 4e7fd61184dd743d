import Foundation
import XCTest
@testable import RepeatScan
import Randomness

/// The next-scan advisor (issue: repeat scans that use their error budget, items 2 and 4), with fixed
/// seeds: the configuration evidence recovers each configuration's separation, the advisor picks by
/// expected growth toward the class the past scans point to, the advised claim stays at level α at
/// every ρ while clearing benign lesions in at least 30% fewer scans than the fixed order, and the
/// level check fails when the choice may look at the scan being counted.
final class ScanAdvisorTests: XCTestCase {
    static let alpha = 0.05

    static let report: Result<ScanAdvisorReport, Error> = Result {
        try ScanAdvisorSimulation.run(ScanAdvisorSimulationConfiguration(
            rhos: [0, 0.3, 0.7], casesPerClass: 8000, maxScans: 8, alpha: alpha, seed: 2028, calibrationRefits: 4))
    }

    func line(_ rho: Double, _ choice: ConfigurationChoice) throws -> ScanAdvisorResult {
        try XCTUnwrap(try Self.report.get().result(rho: rho, choice: choice))
    }

    func testAdvisedClaimKeepsItsLevelAtEveryRho() throws {
        for rho in [0, 0.3, 0.7] {
            let a = try line(rho, .advised), f = try line(rho, .fixedOrder)
            XCTAssertLessThanOrEqual(a.falseReassurance, Self.alpha + 3 * a.falseReassuranceSE, "ρ = \(rho): advised \(a.falseReassurance)")
            XCTAssertLessThanOrEqual(f.falseReassurance, Self.alpha + 3 * f.falseReassuranceSE, "ρ = \(rho): fixed \(f.falseReassurance)")
            // The budget is used, not hoarded.
            XCTAssertGreaterThanOrEqual(a.falseReassurance, Self.alpha / 2, "ρ = \(rho)")
        }
    }

    func testAdvisorClearsBenignLesionsInFewerScans() throws {
        for rho in [0, 0.3, 0.7] {
            let a = try line(rho, .advised), f = try line(rho, .fixedOrder)
            XCTAssertGreaterThanOrEqual(try XCTUnwrap(a.pairedReduction), 0.30, "ρ = \(rho): on lesions both clear")
            XCTAssertGreaterThanOrEqual(try XCTUnwrap(a.benignScanReduction(against: f)), 0.30, "ρ = \(rho): per benign lesion")
            XCTAssertGreaterThanOrEqual(a.benignCleared, f.benignCleared, "ρ = \(rho)")
            XCTAssertGreaterThan(a.pairedLesions, 1000)
            // With separations 1, 1.5, 2, 2.5 the most informative configuration is the last.
            XCTAssertGreaterThan(a.configurationShare[3], 0.95)
        }
    }

    /// Counting the most reassuring of several scans taken at once is outcome shopping across
    /// configurations: the level check must catch it at every ρ.
    func testPeekingAtTheCurrentScanBreaksTheLevelAndIsCaught() throws {
        for rho in [0, 0.3, 0.7] {
            let p = try line(rho, .peeking)
            XCTAssertGreaterThan(p.falseReassurance, Self.alpha + 10 * p.falseReassuranceSE, "ρ = \(rho): peeking \(p.falseReassurance)")
        }
    }

    func testEvidenceRecoversEachConfigurationsSeparation() throws {
        let d = [1.0, 2.5]
        var rng = SeededGenerator(seed: 7)
        var lesions: [ConfiguredCalibrationLesion] = []
        for label in [0, 1] {
            for _ in 0..<1500 {
                let b = 0.3.squareRoot() * rng.standardNormal()
                let cfgs = (0..<6).map { $0 % 2 }
                let probs = cfgs.map { k -> [Double] in
                    let l = (label == 0 ? d[k] / 2 : -d[k] / 2) + b + 0.7.squareRoot() * rng.standardNormal()
                    let q = 1 / (1 + exp(-d[k] * l))
                    return [q, 1 - q]
                }
                lesions.append(ConfiguredCalibrationLesion(label: label, scanProbabilities: probs, configurations: cfgs))
            }
        }
        let e = try ScanConfigurationEvidence.fit(calibration: lesions, names: ["dim", "bright"], prevalences: [0.5, 0.5])
        for k in 0..<2 {
            // u against malignant = d·l: null SD d, null mean −d²/2; growth toward benign d²/2 + d²/2 in u, d standardised.
            XCTAssertEqual(e.profiles[k].nullSDs[1], d[k], accuracy: 0.05 * d[k])
            XCTAssertEqual(e.profiles[k].nullMeans[1] - e.profiles[k].nullMeanMargins[1], -d[k] * d[k] / 2, accuracy: 0.08 * d[k] * d[k])
            XCTAssertEqual(e.profiles[k].logEValueGrowth[0], d[k] * d[k] / 2, accuracy: 0.08 * d[k] * d[k])
            XCTAssertGreaterThan(e.profiles[k].nullMeanMargins[1], 0)
            XCTAssertEqual(e.profiles[k].standardisedGrowth[0], d[k], accuracy: 0.1)
            XCTAssertEqual(e.profiles[k].scanCounts, [4500, 4500])
        }
        // Standardised within-lesion correlation is ρ whichever configuration; the null mean is pinned at 0.
        let null = try XCTUnwrap(e.standardisedDependence.model(against: 1)).null
        XCTAssertEqual(null.mean, 0)
        XCTAssertEqual(null.intraclassCorrelation, 0.3, accuracy: 0.06)
        XCTAssertEqual(NextScanAdvisor(evidence: e).advise(after: []).name, "bright")
    }

    func testAdvisorWeighsGrowthByWhatThePastScansPointTo() throws {
        func profile(_ name: String, _ growth: [Double]) -> ScanConfigurationEvidence.Profile {
            .init(name: name, scanCounts: [100, 100], logEValueGrowth: growth, standardisedGrowth: growth,
                  nullMeans: [0, 0], nullSDs: [1, 1], nullMeanMargins: [0, 0])
        }
        // "clears" is best for benign lesions, "confirms" for malignant ones.
        let e = ScanConfigurationEvidence(prevalences: [0.8, 0.2], profiles: [profile("clears", [2, 0.5]), profile("confirms", [0.5, 2])],
                                          standardisedDependence: try ScanDependenceModel(prevalences: [0.8, 0.2], rivals: []))
        let advisor = NextScanAdvisor(evidence: e)
        XCTAssertEqual(advisor.advise(after: []).name, "clears")          // prevalence 0.8 benign
        let looksMalignant = advisor.advise(after: [[0.2, 0.8], [0.1, 0.9]])
        XCTAssertEqual(looksMalignant.name, "confirms")
        XCTAssertEqual(looksMalignant.classWeights[1], 0.85, accuracy: 1e-12)
        XCTAssertEqual(looksMalignant.expectedGrowth[1], 0.15 * 0.5 + 0.85 * 2, accuracy: 1e-12)
        XCTAssertEqual(looksMalignant.scansSoFar, 2)
    }

    func testBadCalibrationIsRefusedWithTheFieldNamed() {
        let lesion = ConfiguredCalibrationLesion(label: 0, scanProbabilities: [[0.6, 0.4], [0.7, 0.3]], configurations: [0])
        XCTAssertThrowsError(try ScanConfigurationEvidence.fit(calibration: [lesion], names: ["a"], prevalences: [0.5, 0.5])) {
            XCTAssertTrue("\($0)".contains("calibration[0].configurations"), "\($0)")
        }
        let few = ConfiguredCalibrationLesion(label: 0, scanProbabilities: [[0.6, 0.4], [0.7, 0.3]], configurations: [0, 0])
        XCTAssertThrowsError(try ScanConfigurationEvidence.fit(calibration: [few], names: ["a"], prevalences: [0.5, 0.5])) {
            XCTAssertTrue("\($0)".contains("need at least"), "\($0)")
        }
    }

    // MARK: production pieces

    static func evidence() throws -> ScanConfigurationEvidence {
        let d = [1.0, 2.5]
        var rng = SeededGenerator(seed: 11)
        var lesions: [ConfiguredCalibrationLesion] = []
        for label in [0, 1] {
            for _ in 0..<200 {
                let b = 0.3.squareRoot() * rng.standardNormal()
                let cfgs = (0..<4).map { $0 % 2 }
                let probs = cfgs.map { k -> [Double] in
                    let l = (label == 0 ? d[k] / 2 : -d[k] / 2) + b + 0.7.squareRoot() * rng.standardNormal()
                    let q = 1 / (1 + exp(-d[k] * l))
                    return [q, 1 - q]
                }
                lesions.append(ConfiguredCalibrationLesion(label: label, scanProbabilities: probs, configurations: cfgs))
            }
        }
        return try ScanConfigurationEvidence.fit(calibration: lesions, names: ["dim", "bright"], prevalences: [0.5, 0.5])
    }

    static func scan(_ i: Int, _ pBenign: Double, _ configuration: String?) -> ScanObservation {
        ScanObservation(scanID: "c#\(i)", acquisition: "sweep" + (configuration.map { "; scanner configuration: \($0)" } ?? ""),
                        probabilities: [pBenign, 1 - pBenign])
    }

    func testAcquisitionClauseNamesTheConfiguration() {
        XCTAssertEqual(ScanObservation.scannerConfiguration(inAcquisition: "sweep: a; b; scanner configuration: multispectral, visible; motion artefact"),
                       "multispectral, visible")
        XCTAssertNil(ScanObservation.scannerConfiguration(inAcquisition: "dermoscopic scan, illumination sequence: 405 nm; 470 nm"))
        XCTAssertNil(ScanObservation.scannerConfiguration(inAcquisition: "scanner configuration: "))
    }

    /// The claim's statistic is the standardised mean of per-configuration standardised evidence,
    /// recomputed here from the fitted means and SDs; a decoded claim replays to the same path.
    func testConfiguredClaimStandardisesEachScanByItsConfiguration() throws {
        let model = try CalibratedClaimModel.fit(calibration: [], prevalences: [0.5, 0.5], alpha: 0.05, maxScans: 6,
                                                 configured: (try Self.configuredLesions(), ["dim", "bright"]), simulations: 2000, seed: 3)
        let rival = try XCTUnwrap(model.rival(1))
        let fitted = try XCTUnwrap(model.configurations)
        var process = try CaseEProcess(caseID: "c", model: rival.model, boundary: rival.boundary, prevalence: 0.5, alpha: 0.05, maxScans: 6,
                                       standardisation: fitted.standardisation(rival: 1))
        let scans = [Self.scan(0, 0.8, "bright"), Self.scan(1, 0.6, "dim"), Self.scan(2, 0.9, "bright")]
        var sum = 0.0
        for (t, s) in scans.enumerated() {
            try process.record(s)
            let k = s.configuration == "dim" ? 0 : 1
            let u = log(s.probabilities[0] / 0.5) - log(s.probabilities[1] / 0.5)
            sum += (u - fitted.profiles[k].nullMeans[1]) / fitted.profiles[k].nullSDs[1]
            let z = (sum / Double(t + 1) - rival.model.null.mean) / (rival.model.null.lesionVariance + rival.model.null.scanVariance / Double(t + 1)).squareRoot()
            XCTAssertEqual(process.value, z, accuracy: 1e-12)
        }
        XCTAssertEqual(process.scanConfigurations, [1, 0, 1])
        let decoded = try JSONDecoder().decode(CaseEProcess.self, from: try JSONEncoder().encode(process))
        XCTAssertEqual(decoded.path, process.path)
        XCTAssertEqual(decoded.scanConfigurations, process.scanConfigurations)
        // A scan under a configuration the calibration split has no evidence for cannot be counted.
        XCTAssertThrowsError(try process.record(Self.scan(3, 0.7, "ultraviolet"))) {
            XCTAssertTrue("\($0)".contains("field acquisition") && "\($0)".contains("ultraviolet"), "\($0)")
        }
        XCTAssertThrowsError(try process.record(Self.scan(4, 0.7, nil))) {
            XCTAssertTrue("\($0)".contains("names no scanner configuration"), "\($0)")
        }
        XCTAssertEqual(process.scanCount, 3, "a refused scan is not counted")
    }

    static func configuredLesions() throws -> [ConfiguredCalibrationLesion] {
        var rng = SeededGenerator(seed: 12)
        return [0, 1].flatMap { label in
            (0..<150).map { _ -> ConfiguredCalibrationLesion in
                let b = 0.3.squareRoot() * rng.standardNormal()
                let cfgs = [0, 1, 0, 1]
                return ConfiguredCalibrationLesion(label: label, scanProbabilities: cfgs.map { k in
                    let d = k == 0 ? 1.0 : 2.5
                    let l = (label == 0 ? d / 2 : -d / 2) + b + 0.7.squareRoot() * rng.standardNormal()
                    let q = 1 / (1 + exp(-d * l))
                    return [q, 1 - q]
                }, configurations: cfgs)
            }
        }
    }

    func testReviewCountsScansAgainstTheRuleAndAfterTheStop() throws {
        let e = try Self.evidence()
        let scans = [Self.scan(0, 0.6, "dim"), Self.scan(1, 0.7, "bright"), Self.scan(2, 0.8, "dim")]
        let fixed = ConfigurationReview(scans: scans, evidence: e, rule: .fixed, stoppingRule: .firstClaim, maxScans: 5, stopAt: nil)
        XCTAssertEqual(fixed.againstRule, 0, "dim, bright, dim is the fixed order")
        XCTAssertEqual(fixed.next?.name, "bright")
        let advised = ConfigurationReview(scans: scans, evidence: e, rule: .advised, stoppingRule: .firstClaim, maxScans: 5, stopAt: 2)
        XCTAssertEqual(advised.checks.map(\.expected), ["bright", "bright", "bright"])
        XCTAssertEqual(advised.againstRule, 2)
        XCTAssertEqual(advised.scansAfterStop, 1)
        XCTAssertNil(advised.next, "a claim is established and the site stops at the first claim")
        XCTAssertTrue(advised.deviationSentence.contains("2 of 3 scans were taken against the advice"), advised.deviationSentence)
        let keepGoing = ConfigurationReview(scans: scans, evidence: e, rule: .advised, stoppingRule: .maxScans, maxScans: 5, stopAt: 2)
        XCTAssertEqual(keepGoing.scansAfterStop, 0)
        XCTAssertEqual(keepGoing.next?.name, "bright")
        let unnamed = ConfigurationReview(scans: [Self.scan(0, 0.6, nil), Self.scan(1, 0.6, "ultraviolet")], evidence: e, rule: .fixed,
                                          stoppingRule: .firstClaim, maxScans: 5, stopAt: nil)
        XCTAssertEqual(unnamed.uncalibrated, [1, 2])
        XCTAssertEqual(unnamed.againstRule, 2)
        XCTAssertTrue(unnamed.deviationSentence.contains("Scans 1, 2 name no configuration the calibration split has evidence for"), unnamed.deviationSentence)
    }

    /// A scan the configured claim cannot standardise does not stop the assessment: the calibrated
    /// claim is not made, the case goes to review, and the other constructions still count every scan.
    func testUncalibratedConfigurationSendsTheCaseToReview() throws {
        let model = try CalibratedClaimModel.fit(calibration: [], prevalences: [0.5, 0.5], alpha: 0.05, maxScans: 6,
                                                 configured: (try Self.configuredLesions(), ["dim", "bright"]), simulations: 2000, seed: 3)
        let scans = [Self.scan(0, 0.8, "bright"), Self.scan(1, 0.9, "ultraviolet")]
        var policy = try RepeatScanPolicy(alpha: 0.05, maxScans: 6)
        policy.nextConfiguration = .advised
        let a = try RepeatScanAssessment(caseID: "c", scans: scans, prevalences: [0.5, 0.5], policy: policy, calibratedClaims: model)
        XCTAssertNil(a.eProcess(against: 1, construction: .calibratedBoundary))
        XCTAssertEqual(a.eProcess(against: 1, construction: .modelFree)?.scanCount, 2)
        XCTAssertTrue(a.review)
        XCTAssertTrue(a.reviewReasons.contains { $0.contains("\"ultraviolet\"") && $0.contains("not evaluated") }, "\(a.reviewReasons)")
        XCTAssertEqual(a.configurations?.uncalibrated, [2])
    }
}
