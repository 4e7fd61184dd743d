import XCTest
@testable import Cohorts

final class LineageCohortTests: XCTestCase {
    func testDeterministicForSeed() throws {
        let p = LineageParameters(cases: 60)
        let a = try LineageCohort.generate(p, seed: 11), b = try LineageCohort.generate(p, seed: 11)
        let c = try LineageCohort.generate(p, seed: 12)
        XCTAssertEqual(try a.canonicalBytes(), try b.canonicalBytes())
        XCTAssertNotEqual(try a.canonicalBytes(), try c.canonicalBytes())
        XCTAssertNotEqual(a.cases[0].scans[0].values, c.cases[0].scans[0].values)
    }

    func testShapeBalanceSplitsAndSubjects() throws {
        let p = LineageParameters(cases: 400, megeFraction: 0.3, minFrames: 30, maxFrames: 120)
        let cohort = try LineageCohort.generate(p, seed: 3)
        XCTAssertEqual(cohort.cases.count, 400)
        XCTAssertEqual(cohort.classCounts, ["MegE": 120, "GM": 280])
        XCTAssertEqual(cohort.study.classes, ["MegE", "GM"])
        XCTAssertEqual(cohort.study.channels.count, 6)
        let lengths = cohort.cases.map { $0.scans[0].length }
        XCTAssertGreaterThanOrEqual(lengths.min()!, 30); XCTAssertLessThanOrEqual(lengths.max()!, 120)
        XCTAssertGreaterThan(Set(lengths).count, 20, "track lengths vary")
        for c in cohort.cases {
            let s = c.scans[0]
            XCTAssertEqual(s.channels, 6); XCTAssertEqual(s.values.count, s.length * 6)
            XCTAssertTrue(s.values.allSatisfy { $0.isFinite })
            XCTAssertEqual(c.label == nil, c.split == .incoming)
            // Eccentricity in (0, 1), area and speed positive.
            for t in 0..<s.length {
                XCTAssertGreaterThan(s.values[t * 6 + 0], 0)
                XCTAssertTrue(s.values[t * 6 + 2] > 0 && s.values[t * 6 + 2] < 1)
                XCTAssertGreaterThan(s.values[t * 6 + 3], 0)
            }
        }
        // A culture (subject) never straddles splits.
        var splitOfSubject = [String: CohortSplit]()
        for c in cohort.cases {
            if let s = splitOfSubject[c.subject] { XCTAssertEqual(s, c.split, c.subject) }
            splitOfSubject[c.subject] = c.split
        }
        let counts = cohort.splitCounts
        XCTAssertEqual(Double(counts[.train] ?? 0) / 400, 0.5, accuracy: 0.05)
        XCTAssertGreaterThan(counts[.incoming] ?? 0, 0)
        XCTAssertEqual(Set(cohort.cases.map(\.id)).count, 400)
    }

    /// Two-sample t statistic (Welch) between MegE and GM of a per-track statistic.
    private func welchT(_ a: [Double], _ b: [Double]) -> Double {
        func mv(_ x: [Double]) -> (Double, Double) {
            let m = x.reduce(0, +) / Double(x.count)
            return (m, x.map { ($0 - m) * ($0 - m) }.reduce(0, +) / Double(x.count - 1))
        }
        let (ma, va) = mv(a), (mb, vb) = mv(b)
        return (ma - mb) / (va / Double(a.count) + vb / Double(b.count)).squareRoot()
    }

    /// Leave-one-out nearest-centroid accuracy on z-scored feature means over the first k frames.
    private func nearestCentroidAccuracy(_ cohort: Cohort, frames k: Int) -> Double {
        let x: [[Double]] = cohort.cases.map { c in
            let s = c.scans[0]
            return (0..<6).map { f in
                var m = 0.0
                for t in 0..<k { m += Double(s.values[t * 6 + f]) }
                return f == 3 ? log(m / Double(k)) : m / Double(k)
            }
        }
        let y = cohort.cases.map { $0.trueLabel == "MegE" }
        let n = Double(x.count)
        let mean = (0..<6).map { f in x.map { $0[f] }.reduce(0, +) / n }
        let sd = (0..<6).map { f in (x.map { ($0[f] - mean[f]) * ($0[f] - mean[f]) }.reduce(0, +) / n).squareRoot() }
        let z = x.map { r in (0..<6).map { (r[$0] - mean[$0]) / sd[$0] } }
        var correct = 0
        for i in z.indices {
            var c1 = [Double](repeating: 0, count: 6), c0 = c1
            var n1 = 0.0, n0 = 0.0
            for j in z.indices where j != i {
                if y[j] { n1 += 1; for f in 0..<6 { c1[f] += z[j][f] } } else { n0 += 1; for f in 0..<6 { c0[f] += z[j][f] } }
            }
            let d1 = (0..<6).map { z[i][$0] - c1[$0] / n1 }.map { $0 * $0 }.reduce(0, +)
            let d0 = (0..<6).map { z[i][$0] - c0[$0] / n0 }.map { $0 * $0 }.reduce(0, +)
            if (d1 < d0) == y[i] { correct += 1 }
        }
        return Double(correct) / n
    }

    func testEvidenceGrowsWithFramesObserved() throws {
        let cohort = try LineageCohort.generate(LineageParameters(cases: 400, minFrames: 60, maxFrames: 120), seed: 2017)
        // Mean log speed over the first k frames: GM faster, increasingly so.
        var t: [Int: Double] = [:], accuracy: [Int: Double] = [:]
        for k in [3, 15, 60] {
            var mege: [Double] = [], gm: [Double] = []
            for c in cohort.cases {
                let s = c.scans[0]
                let m = (0..<k).map { log(Double(s.values[$0 * 6 + 3])) }.reduce(0, +) / Double(k)
                if c.trueLabel == "MegE" { mege.append(m) } else { gm.append(m) }
            }
            t[k] = welchT(gm, mege)
            accuracy[k] = nearestCentroidAccuracy(cohort, frames: k)
        }
        print("lineage signal: Welch t (log speed, GM − MegE) \(t); nearest-centroid LOO accuracy \(accuracy)")
        XCTAssertLessThan(abs(t[3]!), 3, "first frames carry little evidence")
        XCTAssertGreaterThan(t[15]!, t[3]! + 2)
        XCTAssertGreaterThan(t[60]!, t[15]! + 4)
        XCTAssertLessThan(accuracy[3]!, 0.65)
        XCTAssertGreaterThan(accuracy[60]!, accuracy[15]! + 0.1)
        XCTAssertGreaterThan(accuracy[60]!, 0.75)
    }

    func testZeroSeparabilityCarriesNoSignal() throws {
        let cohort = try LineageCohort.generate(LineageParameters(cases: 300, separability: 0, minFrames: 60), seed: 9)
        var mege: [Double] = [], gm: [Double] = []
        for c in cohort.cases {
            let s = c.scans[0]
            let m = (0..<60).map { log(Double(s.values[$0 * 6 + 3])) }.reduce(0, +) / 60
            if c.trueLabel == "MegE" { mege.append(m) } else { gm.append(m) }
        }
        XCTAssertLessThan(abs(welchT(gm, mege)), 3.5)
    }

    func testRejectsBadParameters() {
        XCTAssertThrowsError(try LineageCohort.generate(LineageParameters(cases: 0), seed: 1))
        XCTAssertThrowsError(try LineageCohort.generate(LineageParameters(megeFraction: 1.5), seed: 1))
        XCTAssertThrowsError(try LineageCohort.generate(LineageParameters(minFrames: 50, maxFrames: 10), seed: 1))
    }
}
