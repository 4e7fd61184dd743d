import XCTest
@testable import Cohorts

final class LesionCohortTests: XCTestCase {
    func testDeterministicForSeed() throws {
        let p = LesionParameters(cases: 80)
        let a = try LesionCohort.generate(p, seed: 1), b = try LesionCohort.generate(p, seed: 1)
        let c = try LesionCohort.generate(p, seed: 2)
        XCTAssertEqual(try a.canonicalBytes(), try b.canonicalBytes())
        XCTAssertNotEqual(try a.canonicalBytes(), try c.canonicalBytes())
    }

    func testPrevalenceClassesScansAndArtefacts() throws {
        let cohort = try LesionCohort.generate(LesionParameters(cases: 500, artefactRate: 0.1), seed: 4)
        XCTAssertEqual(cohort.study.classes, ["benign", "malignant"])
        XCTAssertEqual(cohort.classCounts, ["benign": 450, "malignant": 50], "default prevalence 10% malignant")
        XCTAssertEqual(cohort.study.channels, LesionCohort.channels)
        var scanCounts = Set<Int>(), artefacts = 0, scans = 0
        var splitOfSubject = [String: CohortSplit]()
        for c in cohort.cases {
            scanCounts.insert(c.scans.count)
            XCTAssertEqual(c.label == nil, c.split == .incoming)
            if let s = splitOfSubject[c.subject] { XCTAssertEqual(s, c.split) }
            splitOfSubject[c.subject] = c.split
            for s in c.scans {
                scans += 1
                XCTAssertEqual(s.length, 8); XCTAssertEqual(s.channels, 4); XCTAssertEqual(s.values.count, 32)
                XCTAssertEqual(s.isArtefact, s.acquisition.contains("motion artefact"))
                if s.isArtefact { artefacts += 1; XCTAssertTrue(c.notes.contains("motion artefact")) }
            }
            XCTAssertEqual(c.scans.map(\.acquiredAt), c.scans.map(\.acquiredAt).sorted())
        }
        XCTAssertEqual(scanCounts, [2, 3, 4, 5])
        XCTAssertEqual(Double(artefacts) / Double(scans), 0.1, accuracy: 0.03)
        XCTAssertGreaterThan(splitOfSubject.count, 250, "several lesions per patient on average, not all")
        XCTAssertLessThan(splitOfSubject.count, 450)

        let three = try LesionCohort.generate(LesionParameters(cases: 200, atypicalPrevalence: 0.2), seed: 4)
        XCTAssertEqual(three.study.classes, ["benign", "atypical", "malignant"])
        XCTAssertEqual(three.classCounts, ["benign": 140, "atypical": 40, "malignant": 20])
    }

    /// Pearson correlation of (first, second) scan residuals across lesions.
    private func withinLesionCorrelation(_ cohort: Cohort, separation: Double,
                                         _ value: (CohortScan) -> Double) -> (rho: Double, variance: Double) {
        var a: [Double] = [], b: [Double] = []
        var all: [Double] = []
        for c in cohort.cases {
            let good = c.scans.filter { !$0.isArtefact }
            let mu = LesionCohort.classMean(c.trueLabel, separation: separation)
            all += good.map { value($0) - mu }
            guard good.count >= 2 else { continue }
            a.append(value(good[0]) - mu); b.append(value(good[1]) - mu)
        }
        let ma = a.reduce(0, +) / Double(a.count), mb = b.reduce(0, +) / Double(b.count)
        var sab = 0.0, saa = 0.0, sbb = 0.0
        for i in a.indices { sab += (a[i] - ma) * (b[i] - mb); saa += (a[i] - ma) * (a[i] - ma); sbb += (b[i] - mb) * (b[i] - mb) }
        let m = all.reduce(0, +) / Double(all.count)
        let v = all.map { ($0 - m) * ($0 - m) }.reduce(0, +) / Double(all.count - 1)
        return (sab / (saa * sbb).squareRoot(), v)
    }

    func testWithinLesionCorrelationMatchesRho() throws {
        for rho in [0.2, 0.5, 0.8] {
            let p = LesionParameters(cases: 3000, rho: rho)
            let cohort = try LesionCohort.generate(p, seed: 77)
            let latent = withinLesionCorrelation(cohort, separation: p.separation) { $0.latentEvidence! }
            // The read-out from the stored values adds σ_m² / Σ loading² of independent noise.
            let readout = withinLesionCorrelation(cohort, separation: p.separation) {
                LesionCohort.evidenceReadout($0.values)
            }
            let attenuation = 1 / (1 + p.measurementNoise * p.measurementNoise / LesionCohort.loadingEnergy)
            print("lesion rho \(rho): latent r \(latent.rho) var \(latent.variance); read-out r \(readout.rho) (expected \(rho * attenuation))")
            XCTAssertEqual(latent.rho, rho, accuracy: 0.05)
            XCTAssertEqual(latent.variance, 1, accuracy: 0.06)
            XCTAssertEqual(readout.rho, rho * attenuation, accuracy: 0.05)
        }
    }

    func testReadoutSeparatesClassesAndArtefactsStandOut() throws {
        let p = LesionParameters(cases: 1000, artefactRate: 0.1)
        let cohort = try LesionCohort.generate(p, seed: 5)
        var residualGood: [Double] = [], residualBad: [Double] = []
        var malignant: [Double] = [], benign: [Double] = []
        for c in cohort.cases {
            for s in c.scans {
                let r = LesionCohort.evidenceReadout(s.values)
                if s.isArtefact { residualBad.append(abs(r - s.latentEvidence!)) } else {
                    residualGood.append(abs(r - s.latentEvidence!))
                    if c.trueLabel == "malignant" { malignant.append(r) } else { benign.append(r) }
                }
            }
        }
        let mean = { (x: [Double]) in x.reduce(0, +) / Double(x.count) }
        XCTAssertEqual(mean(malignant) - mean(benign), p.separation, accuracy: 0.25)
        XCTAssertLessThan(mean(residualGood), 0.1)
        XCTAssertGreaterThan(mean(residualBad), 3 * mean(residualGood))
    }

    /// The documented per-scan logit is calibrated for one scan: in bins of predicted probability the
    /// observed malignant fraction matches.
    func testSingleScanLogitIsCalibrated() throws {
        let p = LesionParameters(cases: 6000, malignantPrevalence: 0.2, rho: 0.5, minScans: 1, maxScans: 1, artefactRate: 0)
        let cohort = try LesionCohort.generate(p, seed: 31)
        var predicted = [Double](repeating: 0, count: 5), observed = predicted, counts = predicted
        for c in cohort.cases {
            let z = c.scans[0].latentEvidence!
            let q = 1 / (1 + exp(-LesionCohort.singleScanLogit(evidence: z, malignantPrevalence: p.malignantPrevalence,
                                                              separation: p.separation)))
            let bin = min(4, Int(q * 5))
            predicted[bin] += q; counts[bin] += 1
            if c.trueLabel == "malignant" { observed[bin] += 1 }
        }
        for b in 0..<5 where counts[b] >= 200 {
            let n = counts[b]
            let expected = predicted[b] / n
            let se = (expected * (1 - expected) / n).squareRoot()
            XCTAssertEqual(observed[b] / n, expected, accuracy: max(4 * se, 0.01), "bin \(b) (n \(Int(n)))")
        }
    }

    func testRejectsBadParameters() {
        XCTAssertThrowsError(try LesionCohort.generate(LesionParameters(rho: 1), seed: 1))
        XCTAssertThrowsError(try LesionCohort.generate(LesionParameters(malignantPrevalence: 0.8, atypicalPrevalence: 0.3), seed: 1))
        XCTAssertThrowsError(try LesionCohort.generate(LesionParameters(minScans: 0), seed: 1))
    }
}
