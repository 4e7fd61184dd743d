import CBLAS

/// The one place where Countersign multiplies matrices. Everything is row-major Float32;
/// the work is done by OpenBLAS `cblas_sgemm`, so callers never hand-roll inner loops.
public enum MatrixProduct {
    /// Whether an operand is used as stored or transposed.
    public enum Transpose: Sendable { case none, transposed }

    /// C ← alpha · op(A) · op(B) + beta · C, with op(A) of shape [m, k] and op(B) of shape [k, n].
    ///
    /// - Parameters:
    ///   - a, b, c: row-major buffers; `lda`, `ldb`, `ldc` are their row strides (defaults: dense).
    @inlinable
    public static func gemm(
        _ transA: Transpose = .none, _ transB: Transpose = .none,
        m: Int, n: Int, k: Int,
        alpha: Float = 1,
        a: UnsafePointer<Float>, lda: Int? = nil,
        b: UnsafePointer<Float>, ldb: Int? = nil,
        beta: Float = 0,
        c: UnsafeMutablePointer<Float>, ldc: Int? = nil
    ) {
        guard m > 0, n > 0 else { return }
        let lda = lda ?? (transA == .none ? k : m)
        let ldb = ldb ?? (transB == .none ? n : k)
        let ldc = ldc ?? n
        if k == 0 {
            // BLAS leaves C untouched for k == 0 only when beta == 1; make the contract explicit.
            for i in 0..<m { for j in 0..<n { c[i * ldc + j] *= beta } }
            return
        }
        cblas_sgemm(CblasRowMajor,
                    transA == .none ? CblasNoTrans : CblasTrans,
                    transB == .none ? CblasNoTrans : CblasTrans,
                    Int32(m), Int32(n), Int32(k), alpha,
                    a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
    }

    /// Array convenience: returns op(A) · op(B) as a new row-major [m, n] array.
    public static func multiply(_ a: [Float], _ b: [Float], m: Int, n: Int, k: Int,
                                transA: Transpose = .none, transB: Transpose = .none) -> [Float] {
        precondition(a.count >= m * k && b.count >= k * n, "operand smaller than its stated shape")
        var c = [Float](repeating: 0, count: m * n)
        a.withUnsafeBufferPointer { pa in
            b.withUnsafeBufferPointer { pb in
                c.withUnsafeMutableBufferPointer { pc in
                    gemm(transA, transB, m: m, n: n, k: k, a: pa.baseAddress!, b: pb.baseAddress!,
                         c: pc.baseAddress!)
                }
            }
        }
        return c
    }

    /// Writes the transpose of the row-major `[rows][columns]` matrix `a` to `out` (`[columns][rows]`),
    /// for weights kept in the orientation whose product BLAS runs fastest.
    public static func transpose(_ a: UnsafePointer<Float>, rows: Int, columns: Int,
                                 into out: UnsafeMutablePointer<Float>) {
        for r in 0..<rows { for c in 0..<columns { out[c * rows + r] = a[r * columns + c] } }
    }

    /// Limits OpenBLAS to `count` threads (benchmarks compare peers at equal thread counts).
    public static func setThreadCount(_ count: Int) {
        openblas_set_num_threads(Int32(count))
    }
}
