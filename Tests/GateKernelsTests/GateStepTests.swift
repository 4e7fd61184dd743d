import Foundation
import XCTest
import GateKernels
import GateKernelsAVX2
import GateKernelsAVX512

/// Every build of the gate arithmetic must agree with the cell equations computed in Double. The
/// two wide builds use fused multiply-adds and must agree with each other bit for bit (which of
/// them runs depends on the processor's vector width only); the baseline build rounds twice and
/// may differ from them in the last bits.
final class GateStepTests: XCTestCase {
    /// Deterministic values spread over the range where the activations bend and saturate.
    static func values(_ count: Int, seed: UInt64) -> [Float] {
        var s = seed
        return (0..<count).map { _ in
            s = s &* 6364136223846793005 &+ 1442695040888963407
            return Float(Int64(bitPattern: s >> 11) % 2_000_001 - 1_000_000) / 125_000  // ±8
        }
    }

    static func sigmoid(_ x: Double) -> Double { 1 / (1 + Foundation.exp(-x)) }

    func testLSTMBuildsMatchTheEquationsAndTheWideBuildsAgreeBitForBit() throws {
        let H = 37, rows = 5  // H not a multiple of the vector width: the loop tails run too
        let gates = Self.values(rows * 4 * H, seed: 1), bias = Self.values(4 * H, seed: 2)
        let h0 = Self.values(rows * H, seed: 3), c0 = Self.values(rows * H, seed: 4)
        func run(_ step: (UnsafeMutablePointer<Float>, UnsafePointer<Float>, UnsafeMutablePointer<Float>,
                          UnsafeMutablePointer<Float>) -> Void) -> (h: [Float], c: [Float]) {
            var g = gates, h = h0, c = c0
            g.withUnsafeMutableBufferPointer { gp in h.withUnsafeMutableBufferPointer { hp in
                c.withUnsafeMutableBufferPointer { cp in step(gp.baseAddress!, bias, hp.baseAddress!, cp.baseAddress!) } } }
            return (h, c)
        }
        func check(_ out: (h: [Float], c: [Float]), _ build: String) {
            for row in 0..<rows {
                for j in 0..<H {
                    let a = { (k: Int) in Double(gates[row * 4 * H + k * H + j]) + Double(bias[k * H + j]) }
                    let c = Self.sigmoid(a(1)) * Double(c0[row * H + j]) + Self.sigmoid(a(0)) * Foundation.tanh(a(2))
                    let h = Self.sigmoid(a(3)) * Foundation.tanh(c)
                    XCTAssertEqual(Double(out.c[row * H + j]), c, accuracy: 1e-5 * max(1, abs(c)), "\(build) c[\(row)][\(j)]")
                    XCTAssertEqual(Double(out.h[row * H + j]), h, accuracy: 1e-6, "\(build) h[\(row)][\(j)]")
                }
            }
        }
        check(run { GateKernels.GateStep.lstm(gates: $0, bias: $1, h: $2, c: $3, hidden: H, rows: rows) }, "baseline")
        guard GateKernels.ProcessorFeatures.haswell else { throw XCTSkip("no AVX2 on this processor") }
        let wide = run { GateKernelsAVX2.GateStep.lstm(gates: $0, bias: $1, h: $2, c: $3, hidden: H, rows: rows) }
        check(wide, "AVX2")
        guard GateKernels.ProcessorFeatures.avx512 else { throw XCTSkip("no AVX-512 on this processor") }
        let widest = run { GateKernelsAVX512.GateStep.lstm(gates: $0, bias: $1, h: $2, c: $3, hidden: H, rows: rows) }
        XCTAssertEqual(widest.h.map(\.bitPattern), wide.h.map(\.bitPattern))
        XCTAssertEqual(widest.c.map(\.bitPattern), wide.c.map(\.bitPattern))
    }

    /// Training's recording kernel must step exactly as inference does, in every build.
    func testLSTMRecordingStepsExactlyAsInference() throws {
        let H = 37, rows = 3
        let gates = Self.values(rows * 4 * H, seed: 13), bias = Self.values(4 * H, seed: 14)
        let c0 = Self.values(rows * H, seed: 15)
        typealias Step = (UnsafeMutablePointer<Float>, UnsafePointer<Float>, UnsafeMutablePointer<Float>,
                          UnsafeMutablePointer<Float>) -> Void
        typealias Recording = (UnsafeMutablePointer<Float>, UnsafePointer<Float>, UnsafeMutablePointer<Float>,
                               UnsafeMutablePointer<Float>, UnsafeMutablePointer<Float>) -> Void
        var builds: [(String, Step, Recording)] = [(
            "baseline", { GateKernels.GateStep.lstm(gates: $0, bias: $1, h: $2, c: $3, hidden: H, rows: rows) },
            { GateKernels.GateStep.lstmRecording(gates: $0, previousCell: $1, c: $2, cellTanh: $3, h: $4, hidden: H) })]
        if GateKernels.ProcessorFeatures.haswell {
            builds.append((
                "AVX2", { GateKernelsAVX2.GateStep.lstm(gates: $0, bias: $1, h: $2, c: $3, hidden: H, rows: rows) },
                { GateKernelsAVX2.GateStep.lstmRecording(gates: $0, previousCell: $1, c: $2, cellTanh: $3, h: $4, hidden: H) }))
        }
        if GateKernels.ProcessorFeatures.avx512 {
            builds.append((
                "AVX-512", { GateKernelsAVX512.GateStep.lstm(gates: $0, bias: $1, h: $2, c: $3, hidden: H, rows: rows) },
                { GateKernelsAVX512.GateStep.lstmRecording(gates: $0, previousCell: $1, c: $2, cellTanh: $3, h: $4, hidden: H) }))
        }
        for (name, step, record) in builds {
            var g = gates, h = [Float](repeating: 0, count: rows * H), c = c0
            g.withUnsafeMutableBufferPointer { gp in h.withUnsafeMutableBufferPointer { hp in
                c.withUnsafeMutableBufferPointer { cp in step(gp.baseAddress!, bias, hp.baseAddress!, cp.baseAddress!) } } }
            var pre = (0..<(rows * 4 * H)).map { gates[$0] + bias[$0 % (4 * H)] }
            var rc = [Float](repeating: .nan, count: rows * H), rt = rc, rh = rc
            for row in 0..<rows {
                pre.withUnsafeMutableBufferPointer { p in rc.withUnsafeMutableBufferPointer { cp in
                    rt.withUnsafeMutableBufferPointer { tp in rh.withUnsafeMutableBufferPointer { hp in
                        c0.withUnsafeBufferPointer { c0p in
                            record(p.baseAddress! + row * 4 * H, c0p.baseAddress! + row * H, cp.baseAddress! + row * H,
                                   tp.baseAddress! + row * H, hp.baseAddress! + row * H)
                        } } } } }
            }
            XCTAssertEqual(rc.map(\.bitPattern), c.map(\.bitPattern), name)
            XCTAssertEqual(rh.map(\.bitPattern), h.map(\.bitPattern), name)
            for k in rt.indices { XCTAssertEqual(Double(rt[k]), Foundation.tanh(Double(rc[k])), accuracy: 1e-6, "\(name) tanh(c)[\(k)]") }
            // The gates now hold i, f, g, o after their nonlinearities.
            for k in 0..<(4 * H) {
                let a = Double(gates[k]) + Double(bias[k])
                let expected = (2 * H..<3 * H).contains(k) ? Foundation.tanh(a) : Self.sigmoid(a)
                XCTAssertEqual(Double(pre[k]), expected, accuracy: 1e-6, "\(name) gate \(k)")
            }
        }
    }

    /// The activations stay close to the Double results across their whole range, in every build
    /// (the wide builds fuse multiply-adds, the baseline does not).
    func testActivationsAreAccurateInEveryBuild() throws {
        typealias Two = (sigmoid: (Float) -> Float, tanh: (Float) -> Float)
        var builds: [(String, Two)] = [("baseline", (GateKernels.Activations.sigmoid, GateKernels.Activations.tanh))]
        if GateKernels.ProcessorFeatures.haswell {
            builds.append(("AVX2", (GateKernelsAVX2.Activations.sigmoid, GateKernelsAVX2.Activations.tanh)))
        }
        if GateKernels.ProcessorFeatures.avx512 {
            builds.append(("AVX-512", (GateKernelsAVX512.Activations.sigmoid, GateKernelsAVX512.Activations.tanh)))
        }
        for (name, f) in builds {
            var worstSigmoid = 0.0, worstTanh = 0.0, outOfRange = 0
            for k in -400_000...400_000 {
                let x = Float(k) / 4_000  // ±100, past where both saturate
                let s = f.sigmoid(x), t = f.tanh(x)
                worstSigmoid = max(worstSigmoid, abs(Double(s) - Self.sigmoid(Double(x))))
                let exact = Foundation.tanh(Double(x))
                worstTanh = max(worstTanh, abs(Double(t) - exact) / max(abs(exact), 1e-30))
                if !(0...1).contains(s) || !(-1...1).contains(t) { outOfRange += 1 }
            }
            XCTAssertLessThan(worstSigmoid, 3e-7, "\(name) sigmoid absolute error")
            XCTAssertLessThan(worstTanh, 6e-7, "\(name) tanh relative error")
            XCTAssertEqual(outOfRange, 0, "\(name): values outside [0, 1] or [-1, 1]")
            XCTAssertEqual(f.tanh(0), 0, "\(name) tanh(0)")
            XCTAssertEqual(f.sigmoid(0), 0.5, "\(name) sigmoid(0)")
        }
    }

    func testGRUBuildsMatchTheEquationsAndTheWideBuildsAgreeBitForBit() throws {
        let H = 37, rows = 5
        let gates = Self.values(rows * 3 * H, seed: 5), recurrent = Self.values(rows * 3 * H, seed: 6)
        let bias = Self.values(3 * H, seed: 7), bhn = Self.values(H, seed: 8), h0 = Self.values(rows * H, seed: 9)
        func run(_ step: (UnsafeMutablePointer<Float>, UnsafeMutablePointer<Float>) -> Void) -> [Float] {
            var g = gates, h = h0
            g.withUnsafeMutableBufferPointer { gp in h.withUnsafeMutableBufferPointer { hp in step(gp.baseAddress!, hp.baseAddress!) } }
            return h
        }
        func check(_ out: [Float], _ build: String) {
            for row in 0..<rows {
                for j in 0..<H {
                    let x = { (k: Int) in Double(gates[row * 3 * H + k * H + j]) + Double(bias[k * H + j]) }
                    let w = { (k: Int) in Double(recurrent[row * 3 * H + k * H + j]) }
                    let r = Self.sigmoid(x(0) + w(0)), z = Self.sigmoid(x(1) + w(1))
                    let n = Foundation.tanh(x(2) + r * (w(2) + Double(bhn[j])))
                    let h = (1 - z) * n + z * Double(h0[row * H + j])
                    XCTAssertEqual(Double(out[row * H + j]), h, accuracy: 1e-5 * max(1, abs(h)), "\(build) h[\(row)][\(j)]")
                }
            }
        }
        check(run { GateKernels.GateStep.gru(gates: $0, recurrent: recurrent, bias: bias, bhn: bhn, h: $1, hidden: H, rows: rows) }, "baseline")
        guard GateKernels.ProcessorFeatures.haswell else { throw XCTSkip("no AVX2 on this processor") }
        let wide = run { GateKernelsAVX2.GateStep.gru(gates: $0, recurrent: recurrent, bias: bias, bhn: bhn, h: $1, hidden: H, rows: rows) }
        check(wide, "AVX2")
        guard GateKernels.ProcessorFeatures.avx512 else { throw XCTSkip("no AVX-512 on this processor") }
        let widest = run { GateKernelsAVX512.GateStep.gru(gates: $0, recurrent: recurrent, bias: bias, bhn: bhn, h: $1, hidden: H, rows: rows) }
        XCTAssertEqual(widest.map(\.bitPattern), wide.map(\.bitPattern))
    }

    func testProductBuildsAndDirectionsAgreeBitForBitAndMatchTheSum() throws {
        // Two 64-wide blocks (so the block order matters), an 8-wide block and a scalar tail.
        let rows = 3, inner = 37, width = 128 + 8 + 3
        let h = Self.values(rows * inner, seed: 10), w = Self.values(inner * width, seed: 11)
        let start = Self.values(rows * width, seed: 12)
        var packed = [Float](repeating: .nan, count: inner * width)
        packed.withUnsafeMutableBufferPointer { GateKernels.GateStep.packForProduct(w, inner: inner, width: width, into: $0.baseAddress!) }
        XCTAssertFalse(packed.contains { $0.isNaN }, "packing fills every float")
        XCTAssertEqual(packed.sorted(), w.sorted(), "packing only moves values")
        func run(_ product: (UnsafeMutablePointer<Float>) -> Void) -> [Float] {
            var out = start
            out.withUnsafeMutableBufferPointer { product($0.baseAddress!) }
            return out
        }
        let base = run { GateKernels.GateStep.accumulateProduct(h, packed, into: $0, rows: rows, inner: inner, width: width, backwards: false) }
        for r in 0..<rows {
            for g in 0..<width {
                var sum = Double(start[r * width + g])
                for k in 0..<inner { sum += Double(h[r * inner + k]) * Double(w[k * width + g]) }
                XCTAssertEqual(Double(base[r * width + g]), sum, accuracy: 1e-4 * max(1, abs(sum)), "out[\(r)][\(g)]")
            }
        }
        let reversed = run { GateKernels.GateStep.accumulateProduct(h, packed, into: $0, rows: rows, inner: inner, width: width, backwards: true) }
        XCTAssertEqual(reversed.map(\.bitPattern), base.map(\.bitPattern), "block order must not change a sum")
        guard GateKernels.ProcessorFeatures.haswell else { throw XCTSkip("no AVX2 on this processor") }
        for backwards in [false, true] {
            let wide = run { GateKernelsAVX2.GateStep.accumulateProduct(h, packed, into: $0, rows: rows, inner: inner, width: width, backwards: backwards) }
            XCTAssertEqual(wide.map(\.bitPattern), base.map(\.bitPattern), "AVX2 backwards: \(backwards)")
        }
        guard GateKernels.ProcessorFeatures.avx512 else { throw XCTSkip("no AVX-512 on this processor") }
        for backwards in [false, true] {
            let widest = run { GateKernelsAVX512.GateStep.accumulateProduct(h, packed, into: $0, rows: rows, inner: inner, width: width, backwards: backwards) }
            XCTAssertEqual(widest.map(\.bitPattern), base.map(\.bitPattern), "AVX-512 backwards: \(backwards)")
        }
    }
}
