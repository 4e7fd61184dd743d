import Foundation
import XCTest
import GateKernels
import GateKernelsAVX2

/// The two builds of the gate arithmetic must agree bit for bit (the choice between them depends on
/// the processor, and an audit must not), and both must agree with the cell equations in Double.
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

    func testLSTMBuildsAgreeBitForBitAndMatchTheEquations() throws {
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
        let base = run { GateKernels.GateStep.lstm(gates: $0, bias: $1, h: $2, c: $3, hidden: H, rows: rows) }
        for row in 0..<rows {
            for j in 0..<H {
                let a = { (k: Int) in Double(gates[row * 4 * H + k * H + j]) + Double(bias[k * H + j]) }
                let c = Self.sigmoid(a(1)) * Double(c0[row * H + j]) + Self.sigmoid(a(0)) * Foundation.tanh(a(2))
                let h = Self.sigmoid(a(3)) * Foundation.tanh(c)
                XCTAssertEqual(Double(base.c[row * H + j]), c, accuracy: 1e-5 * max(1, abs(c)), "c[\(row)][\(j)]")
                XCTAssertEqual(Double(base.h[row * H + j]), h, accuracy: 1e-6, "h[\(row)][\(j)]")
            }
        }
        guard GateKernels.ProcessorFeatures.haswell else { throw XCTSkip("no AVX2 on this processor") }
        let wide = run { GateKernelsAVX2.GateStep.lstm(gates: $0, bias: $1, h: $2, c: $3, hidden: H, rows: rows) }
        XCTAssertEqual(wide.h.map(\.bitPattern), base.h.map(\.bitPattern))
        XCTAssertEqual(wide.c.map(\.bitPattern), base.c.map(\.bitPattern))
    }

    func testGRUBuildsAgreeBitForBitAndMatchTheEquations() throws {
        let H = 37, rows = 5
        let gates = Self.values(rows * 3 * H, seed: 5), recurrent = Self.values(rows * 3 * H, seed: 6)
        let bias = Self.values(3 * H, seed: 7), bhn = Self.values(H, seed: 8), h0 = Self.values(rows * H, seed: 9)
        func run(_ step: (UnsafeMutablePointer<Float>, UnsafeMutablePointer<Float>) -> Void) -> [Float] {
            var g = gates, h = h0
            g.withUnsafeMutableBufferPointer { gp in h.withUnsafeMutableBufferPointer { hp in step(gp.baseAddress!, hp.baseAddress!) } }
            return h
        }
        let base = run { GateKernels.GateStep.gru(gates: $0, recurrent: recurrent, bias: bias, bhn: bhn, h: $1, hidden: H, rows: rows) }
        for row in 0..<rows {
            for j in 0..<H {
                let x = { (k: Int) in Double(gates[row * 3 * H + k * H + j]) + Double(bias[k * H + j]) }
                let w = { (k: Int) in Double(recurrent[row * 3 * H + k * H + j]) }
                let r = Self.sigmoid(x(0) + w(0)), z = Self.sigmoid(x(1) + w(1))
                let n = Foundation.tanh(x(2) + r * (w(2) + Double(bhn[j])))
                let h = (1 - z) * n + z * Double(h0[row * H + j])
                XCTAssertEqual(Double(base[row * H + j]), h, accuracy: 1e-5 * max(1, abs(h)), "h[\(row)][\(j)]")
            }
        }
        guard GateKernels.ProcessorFeatures.haswell else { throw XCTSkip("no AVX2 on this processor") }
        let wide = run { GateKernelsAVX2.GateStep.gru(gates: $0, recurrent: recurrent, bias: bias, bhn: bhn, h: $1, hidden: H, rows: rows) }
        XCTAssertEqual(wide.map(\.bitPattern), base.map(\.bitPattern))
    }

    func testProductBuildsAgreeBitForBitAndMatchTheSum() throws {
        // 64-wide blocks, an 8-wide block and a scalar tail: width 64 + 8 + 3.
        let rows = 3, inner = 37, width = 75
        let h = Self.values(rows * inner, seed: 10), w = Self.values(inner * width, seed: 11)
        let start = Self.values(rows * width, seed: 12)
        func run(_ product: (UnsafeMutablePointer<Float>) -> Void) -> [Float] {
            var out = start
            out.withUnsafeMutableBufferPointer { product($0.baseAddress!) }
            return out
        }
        let base = run { GateKernels.GateStep.accumulateProduct(h, w, into: $0, rows: rows, inner: inner, width: width) }
        for r in 0..<rows {
            for g in 0..<width {
                var sum = Double(start[r * width + g])
                for k in 0..<inner { sum += Double(h[r * inner + k]) * Double(w[k * width + g]) }
                XCTAssertEqual(Double(base[r * width + g]), sum, accuracy: 1e-4 * max(1, abs(sum)), "out[\(r)][\(g)]")
            }
        }
        guard GateKernels.ProcessorFeatures.haswell else { throw XCTSkip("no AVX2 on this processor") }
        let wide = run { GateKernelsAVX2.GateStep.accumulateProduct(h, w, into: $0, rows: rows, inner: inner, width: width) }
        XCTAssertEqual(wide.map(\.bitPattern), base.map(\.bitPattern))
    }
}
