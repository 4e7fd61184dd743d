import XCTest
@testable import Calibration

/// Compares the Swift implementation with netcal, scipy, scikit-learn, MAPIE and crepes on the fixture
/// written by `scripts/calibration_reference.py` (see that script for how randomisation is replayed).
final class ReferenceLibraryTests: XCTestCase {
    static var cached: ReferenceFixture?
    func fixture() throws -> ReferenceFixture {
        if let f = Self.cached { return f }
        let f = try loadFixture("calibration_reference", as: ReferenceFixture.self)
        Self.cached = f
        return f
    }

    func testECEMatchesNetcalWithSameBins() throws {
        let f = try fixture()
        XCTAssertEqual(f.ece.count, 4)
        for entry in f.ece {
            let (p, y) = entry.split == "cal" ? (f.calProbabilities, f.calLabels) : (f.testProbabilities, f.testLabels)
            let est = try CalibrationErrorEstimate.topLabel(probabilities: p, labels: y, scheme: .equalWidth(count: entry.bins))
            XCTAssertEqual(est.ece, entry.netcal, accuracy: 1e-9, "\(entry.split), \(entry.bins) bins")
            XCTAssertEqual(est.bins.count, entry.bins)
            XCTAssertEqual(est.bins.map(\.count).reduce(0, +), p.count)
        }
    }

    func testTemperatureMatchesScipyAndNetcal() throws {
        let f = try fixture()
        let t = try TemperatureScaler.fit(logits: f.calLogits, labels: f.calLabels)
        XCTAssertEqual(t.temperature, f.temperature.scipyBrentq, accuracy: 1e-4)
        // Newton converges to machine precision; the bound above is the issue's, this documents how close it is.
        XCTAssertEqual(t.temperature, f.temperature.scipyBrentq, accuracy: 1e-9)
        if let netcal = f.temperature.netcalMle { XCTAssertEqual(t.temperature, netcal, accuracy: 1e-4) }
        XCTAssertEqual(t.nllBefore, f.temperature.nllBefore, accuracy: 1e-12)
        XCTAssertEqual(t.nllAfter, f.temperature.nllAfter, accuracy: 1e-12)
    }

    func testIsotonicMatchesScikitLearn() throws {
        let f = try fixture()
        let iso = try IsotonicCalibrator.fit(logits: f.calLogits, labels: f.calLabels)
        // Fit on the fixture's probabilities directly so both sides see identical inputs.
        let perClass = try (0..<5).map { c in
            try IsotonicRegression.fit(x: f.calProbabilities.map { $0[c] }, y: f.calLabels.map { $0 == c ? 1.0 : 0.0 })
        }
        let direct = IsotonicCalibrator(perClass: perClass, calibrationCount: f.calLabels.count)
        let raw = direct.oneVsRestScores(probabilities: f.testProbabilities)
        let norm = renormalised(raw)
        var maxRaw = 0.0, maxNorm = 0.0
        for i in raw.indices {
            for c in 0..<5 {
                maxRaw = max(maxRaw, abs(raw[i][c] - f.isotonic.oneVsRest[i][c]))
                maxNorm = max(maxNorm, abs(norm[i][c] - f.isotonic.renormalised[i][c]))
            }
        }
        XCTAssertLessThan(maxRaw, 1e-9)
        XCTAssertLessThan(maxNorm, 1e-9)
        // Through the logit entry point (softmax recomputed in Swift) the outputs agree too.
        let viaLogits = try iso.calibratedProbabilities(logits: f.testLogits)
        var maxVia = 0.0
        for i in viaLogits.indices { for c in 0..<5 { maxVia = max(maxVia, abs(viaLogits[i][c] - f.isotonic.renormalised[i][c])) } }
        XCTAssertLessThan(maxVia, 1e-9)
    }

    func testLACSetsMatchMAPIE() throws {
        let f = try fixture()
        let cp = try SplitConformalPredictor.calibrate(probabilities: f.calProbabilities, labels: f.calLabels,
                                                       score: .lac, alpha: f.alpha)
        XCTAssertEqual(cp.marginalThreshold ?? .nan, f.conformal.lac.threshold, accuracy: 1e-12)
        let sets = try cp.predictionSets(probabilities: f.testProbabilities)
        XCTAssertEqual(sets, f.conformal.lac.sets)
    }

    func testAPSAndRAPSSetsMatchMAPIE() throws {
        let f = try fixture()
        guard let lambda = f.conformal.raps.lambda, let kReg = f.conformal.raps.kReg else {
            return XCTFail("fixture lacks RAPS parameters")
        }
        let cases: [(String, ReferenceFixture.Cumulative, ConformityScore, ConformityScore)] = [
            ("aps", f.conformal.aps, .aps(randomized: false), .aps(randomized: true)),
            ("raps", f.conformal.raps, .raps(lambda: lambda, kReg: kReg, randomized: false),
             .raps(lambda: lambda, kReg: kReg, randomized: true)),
        ]
        for (name, ref, plain, randomized) in cases {
            // Non-randomised: MAPIE include_last_label=False adds the top label to an empty set.
            let cp = try SplitConformalPredictor.calibrate(probabilities: f.calProbabilities, labels: f.calLabels,
                                                           score: plain, alpha: f.alpha)
            XCTAssertEqual(cp.marginalThreshold ?? .nan, ref.thresholdNonrandomized, accuracy: 1e-12, name)
            let sets = try cp.predictionSets(probabilities: f.testProbabilities).enumerated().map { i, s in
                s.isEmpty ? [Softmax.argmax(f.testProbabilities[i])] : s
            }
            XCTAssertEqual(sets, ref.setsNonrandomizedNonempty, name)

            // Randomised: replay MAPIE's uniform draws (exported as u = 1 − U).
            let cr = try SplitConformalPredictor.calibrate(probabilities: f.calProbabilities, labels: f.calLabels,
                                                           score: randomized, alpha: f.alpha, uniforms: .given(f.uCal))
            XCTAssertEqual(cr.marginalThreshold ?? .nan, ref.thresholdRandomized, accuracy: 1e-12, name)
            let rsets = try cr.predictionSets(probabilities: f.testProbabilities, uniforms: .given(f.uTest))
            guard case .raps(let lam, let k, _) = randomized else {
                XCTAssertEqual(rsets, ref.setsRandomized, name)
                continue
            }
            // MAPIE 1.6 decides whether to keep the last label L of the include-last set with
            // V = (C_L + λ(L−k)⁺ − q̂) / (p_L − λ·max(0, L−k) + λ·1[L > k]); Angelopoulos et al. (2021) and
            // this library use the denominator p_L (the penalty is not randomised). The two agree when
            // L ≤ k_reg + 1; there the sets must be identical, elsewhere they may differ in label L only.
            var compared = 0, deviating = 0
            for (i, row) in f.testProbabilities.enumerated() {
                let order = row.indices.sorted { row[$0] > row[$1] || (row[$0] == row[$1] && $0 < $1) }
                var cum = 0.0, last = order.count
                for (r, j) in order.enumerated() {
                    cum += row[j]
                    if cum + lam * Double(max(0, r + 1 - k)) >= ref.thresholdRandomized - 1e-8 { last = r + 1; break }
                }
                if last <= k + 1 {
                    compared += 1
                    XCTAssertEqual(rsets[i], ref.setsRandomized[i], "\(name) randomised, case \(i)")
                } else if rsets[i] != ref.setsRandomized[i] {
                    deviating += 1
                    let diff = Set(rsets[i]).symmetricDifference(ref.setsRandomized[i])
                    XCTAssertEqual(diff, [order[last - 1]], "\(name) case \(i) differs beyond MAPIE's last label")
                }
            }
            XCTAssertGreaterThan(compared, 400)
            XCTAssertLessThanOrEqual(deviating, 10, "\(name): \(deviating) cases follow MAPIE's different V formula")
        }
    }

    func testMondrianSetsAndPValuesMatchCrepes() throws {
        let f = try fixture()
        let cp = try SplitConformalPredictor.calibrate(probabilities: f.calProbabilities, labels: f.calLabels,
                                                       score: .lac, alpha: f.alpha, classConditional: true)
        XCTAssertEqual(cp.warnings.map(\.classLabel), [4], "class 4 has 5 cases < 1/α − 1")
        XCTAssertEqual(cp.thresholds[4], .infinity)
        XCTAssertEqual(try cp.predictionSets(probabilities: f.testProbabilities), f.crepes.mondrianSets)
        let pv = try cp.pValues(probabilities: f.testProbabilities)
        let pvs = try cp.pValues(probabilities: f.testProbabilities, smoothing: .given(f.crepes.thetas))
        var maxDiff = 0.0, maxSmoothed = 0.0
        for i in pv.indices {
            for c in 0..<5 {
                maxDiff = max(maxDiff, abs(pv[i][c] - f.crepes.mondrianPvalues[i][c]))
                maxSmoothed = max(maxSmoothed, abs(pvs[i][c] - f.crepes.mondrianPvaluesSmoothed[i][c]))
            }
        }
        XCTAssertLessThan(maxDiff, 1e-12)
        XCTAssertLessThan(maxSmoothed, 1e-12)

        let marginal = try SplitConformalPredictor.calibrate(probabilities: f.calProbabilities, labels: f.calLabels,
                                                             score: .lac, alpha: f.alpha)
        let mpv = try marginal.pValues(probabilities: f.testProbabilities)
        var maxMarginal = 0.0
        for i in mpv.indices { for c in 0..<5 { maxMarginal = max(maxMarginal, abs(mpv[i][c] - f.crepes.marginalPvalues[i][c])) } }
        XCTAssertLessThan(maxMarginal, 1e-12)
        XCTAssertEqual(try marginal.predictionSets(probabilities: f.testProbabilities), f.crepes.marginalSets)
    }

    func testRefusesSmallClassWhenAsked() throws {
        let f = try fixture()
        XCTAssertThrowsError(try SplitConformalPredictor.calibrate(
            probabilities: f.calProbabilities, labels: f.calLabels, score: .lac, alpha: f.alpha,
            classConditional: true, smallClassPolicy: .refuse)) { error in
            XCTAssertEqual(error as? CalibrationError,
                           .tooFewCalibrationCases(classLabel: 4, count: 5, alpha: 0.1, required: 9))
        }
    }
}
