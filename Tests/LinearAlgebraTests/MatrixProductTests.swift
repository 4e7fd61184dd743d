import XCTest
@testable import LinearAlgebra

final class MatrixProductTests: XCTestCase {
    /// Reference product in Float64, independent of BLAS.
    private func naive(_ a: [Float], _ b: [Float], m: Int, n: Int, k: Int, ta: Bool, tb: Bool) -> [Double] {
        var c = [Double](repeating: 0, count: m * n)
        for i in 0..<m { for j in 0..<n {
            var s = 0.0
            for p in 0..<k {
                let av = ta ? a[p * m + i] : a[i * k + p]
                let bv = tb ? b[j * k + p] : b[p * n + j]
                s += Double(av) * Double(bv)
            }
            c[i * n + j] = s
        } }
        return c
    }

    func testAllTransposeCombinationsMatchFloat64Reference() {
        var state: UInt64 = 42
        func next() -> Float {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Float(Int64(bitPattern: state >> 11) % 2000) / 1000 - 1
        }
        let (m, n, k) = (7, 5, 11)
        let a = (0..<(m * k)).map { _ in next() }
        let b = (0..<(k * n)).map { _ in next() }
        for ta in [false, true] { for tb in [false, true] {
            let c = MatrixProduct.multiply(a, b, m: m, n: n, k: k,
                                           transA: ta ? .transposed : .none, transB: tb ? .transposed : .none)
            let ref = naive(a, b, m: m, n: n, k: k, ta: ta, tb: tb)
            for i in 0..<(m * n) { XCTAssertEqual(Double(c[i]), ref[i], accuracy: 1e-5, "ta=\(ta) tb=\(tb) i=\(i)") }
        } }
    }

    func testBetaAccumulates() {
        let a: [Float] = [1, 2, 3, 4]      // 2x2
        let b: [Float] = [1, 0, 0, 1]      // identity
        var c: [Float] = [10, 10, 10, 10]
        a.withUnsafeBufferPointer { pa in b.withUnsafeBufferPointer { pb in c.withUnsafeMutableBufferPointer { pc in
            MatrixProduct.gemm(m: 2, n: 2, k: 2, a: pa.baseAddress!, b: pb.baseAddress!, beta: 1, c: pc.baseAddress!)
        } } }
        XCTAssertEqual(c, [11, 12, 13, 14])
    }

    func testTransposeMovesEveryElementToItsMirror() {
        let a: [Float] = [1, 2, 3, 4, 5, 6]  // 2x3
        var t = [Float](repeating: .nan, count: 6)
        a.withUnsafeBufferPointer { pa in t.withUnsafeMutableBufferPointer { pt in
            MatrixProduct.transpose(pa.baseAddress!, rows: 2, columns: 3, into: pt.baseAddress!)
        } }
        XCTAssertEqual(t, [1, 4, 2, 5, 3, 6])  // 3x2
    }
}
