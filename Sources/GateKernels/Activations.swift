/// Sigmoid and tanh over contiguous buffers, written as branch-free element loops that LLVM
/// vectorises. The scalar libm calls dominated the step time (over half of a batch-1 LSTM step went
/// to `expf`/`tanhf`). tanh is a 13/6 minimax rational function (Eigen's single-precision
/// coefficients), accurate to a few units in the last place; sigmoid is `(1 + tanh(x/2)) / 2`. That
/// took a third off the LSTM gate step compared with an `expf` polynomial and two divisions per
/// sigmoid; parity with PyTorch stays far inside 1e-5.
public enum Activations {
    /// `a · b + c`: one fused instruction in the AVX2 and AVX-512 builds, which define
    /// `FUSED_MULTIPLY_ADD` (a quarter off the LSTM gate step); two roundings in the baseline build,
    /// where `fmaf` would be a libm call per element. The builds therefore differ in the last bits.
    @inline(__always) static func madd(_ a: Float, _ b: Float, _ c: Float) -> Float {
        #if FUSED_MULTIPLY_ADD
        return c.addingProduct(a, b)
        #else
        return a * b + c
        #endif
    }

    @inline(__always) public static func sigmoid(_ x: Float) -> Float { madd(0.5, tanh(0.5 * x), 0.5) }

    @inline(__always) public static func tanh(_ x: Float) -> Float {
        // Beyond ±7.905311 tanh rounds to ±1 in single precision.
        var c = x < -7.905_311_1 ? -7.905_311_1 : x
        c = c > 7.905_311_1 ? 7.905_311_1 : c
        let c2 = c * c
        var p: Float = -2.760_768_5e-16
        p = madd(c2, p, 2.000_187_9e-13)
        p = madd(c2, p, -8.604_671_5e-11)
        p = madd(c2, p, 5.122_297_1e-08)
        p = madd(c2, p, 1.485_722_4e-05)
        p = madd(c2, p, 6.372_619_3e-04)
        p = madd(c2, p, 4.893_524_6e-03)
        var q: Float = 1.198_258_4e-06
        q = madd(c2, q, 1.185_347_1e-04)
        q = madd(c2, q, 2.268_434_6e-03)
        q = madd(c2, q, 4.893_525_2e-03)
        return c * p / q
    }

    /// In place: `p[k] = σ(p[k])` for `k < count`.
    public static func sigmoid(_ p: UnsafeMutablePointer<Float>, _ count: Int) {
        for k in 0..<count { p[k] = sigmoid(p[k]) }
    }

    /// In place: `p[k] = tanh(p[k])`.
    public static func tanh(_ p: UnsafeMutablePointer<Float>, _ count: Int) {
        for k in 0..<count { p[k] = tanh(p[k]) }
    }
}
