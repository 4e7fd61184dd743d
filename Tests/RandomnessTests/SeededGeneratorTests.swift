import XCTest
import Randomness

final class SeededGeneratorTests: XCTestCase {
    /// Reference values from a direct Python transcription of the published C code
    /// (prng.di.unimi.it/splitmix64.c and xoshiro256starstar.c):
    ///     M=(1<<64)-1; sm(s): s+=0x9E3779B97F4A7C15; z=s; z=(z^(z>>30))*0xBF58476D1CE4E5B9;
    ///     z=(z^(z>>27))*0x94D049BB133111EB; return z^(z>>31)   (all mod 2^64)
    ///     state = 4 successive sm outputs; next = rotl(s1*5,7)*9, then the xoshiro256 update.
    func testMatchesReferenceImplementation() {
        var sm: UInt64 = 0
        XCTAssertEqual(SeededGenerator.splitMix64(&sm), 0xE220_A839_7B1D_CDAF)
        var g0 = SeededGenerator(seed: 0)
        XCTAssertEqual([g0.next(), g0.next(), g0.next()], [0x99EC_5F36_CB75_F2B4, 0xBF6E_1F78_4956_452A, 0x1A5F_849D_4933_E6E0])
        var g42 = SeededGenerator(seed: 42)
        XCTAssertEqual([g42.next(), g42.next(), g42.next()], [0x1578_0B2E_0C2E_C716, 0x6104_D986_6D11_3A7E, 0xAE17_5332_39E4_99A1])
    }

    func testDistributions() {
        var g = SeededGenerator(seed: 7)
        let n = 200_000
        var su = 0.0, su2 = 0.0, sg = 0.0, sg2 = 0.0
        var minU = 1.0, maxU = 0.0
        for _ in 0..<n {
            let u = g.nextUniform(); su += u; su2 += u * u; minU = min(minU, u); maxU = max(maxU, u)
            let z = g.nextGaussian(); sg += z; sg2 += z * z
        }
        XCTAssertGreaterThanOrEqual(minU, 0); XCTAssertLessThan(maxU, 1)
        XCTAssertEqual(su / Double(n), 0.5, accuracy: 0.005)
        XCTAssertEqual(su2 / Double(n) - pow(su / Double(n), 2), 1.0 / 12, accuracy: 0.002)
        XCTAssertEqual(sg / Double(n), 0, accuracy: 0.01)
        XCTAssertEqual(sg2 / Double(n), 1, accuracy: 0.015)
        var counts = [Int](repeating: 0, count: 7)
        for _ in 0..<70_000 { counts[g.nextInt(below: 7)] += 1 }
        for c in counts { XCTAssertEqual(Double(c), 10_000, accuracy: 400) }
        for _ in 0..<1000 { XCTAssertTrue((3...5).contains(g.nextInt(in: 3...5))) }
    }

    func testSameSeedSameStreamDifferentSeedDifferent() {
        var a = SeededGenerator(seed: 123), b = SeededGenerator(seed: 123), c = SeededGenerator(seed: 124)
        let sa = (0..<100).map { _ in a.next() }, sb = (0..<100).map { _ in b.next() }, sc = (0..<100).map { _ in c.next() }
        XCTAssertEqual(sa, sb); XCTAssertNotEqual(sa, sc)
        var x = Array(0..<50), y = Array(0..<50)
        var ga = SeededGenerator(seed: 5), gb = SeededGenerator(seed: 5)
        ga.shuffle(&x); gb.shuffle(&y)
        XCTAssertEqual(x, y); XCTAssertNotEqual(x, Array(0..<50)); XCTAssertEqual(x.sorted(), Array(0..<50))
    }

    /// The helpers that were merged in from Calibration, RepeatScan and Recurrent keep their exact
    /// formulas over `next()` (their streams fix trained weights and committed fixtures).
    func testHelpersAreFixedFunctionsOfTheRawStream() {
        var g = SeededGenerator(seed: 2024), raw = SeededGenerator(seed: 2024)
        for _ in 0..<1000 {
            XCTAssertEqual(g.nextUniform(), Double(raw.next() >> 11) * 0x1.0p-53)
            XCTAssertEqual(g.nextUnitFloat(), Float(raw.next() >> 40) / 16_777_216)
            let u = g.uniform(-0.25, 0.75)
            XCTAssertEqual(u, -0.25 + 1.0 * (Float(raw.next() >> 40) / 16_777_216))
            XCTAssertEqual(g.nextIndex(below: 37), Int(raw.next(upperBound: UInt64(37))))
        }
        var x = Array(0..<20), y = Array(0..<20)
        g.shuffleByRemainder(&x)
        for i in stride(from: y.count - 1, to: 0, by: -1) { y.swapAt(i, Int(raw.next() % UInt64(i + 1))) }
        XCTAssertEqual(x, y)
        XCTAssertEqual(g, raw)
    }

    /// Persisted state (e.g. Calibration's `ExchangeabilityMonitor`) encodes as the four state
    /// words under the keys `s0`…`s3`, and decoding resumes the same stream.
    func testCodableFormIsTheFourStateWords() throws {
        var g = SeededGenerator(seed: 9)
        _ = g.next()
        let data = try JSONEncoder().encode(g)
        let object = try XCTUnwrap(JSONSerialization.jsonObject(with: data) as? [String: Any])
        XCTAssertEqual(Set(object.keys), ["s0", "s1", "s2", "s3"])
        var decoded = try JSONDecoder().decode(SeededGenerator.self, from: data)
        XCTAssertEqual(decoded, g)
        XCTAssertEqual((0..<10).map { _ in decoded.next() }, (0..<10).map { _ in g.next() })
    }
}
