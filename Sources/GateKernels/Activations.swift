/// Sigmoid and tanh over contiguous buffers, written as branch-free element loops that LLVM
/// vectorises. The scalar libm calls dominated the step time (over half of a batch-1 LSTM step went
/// to `expf`/`tanhf`); this uses the Cephes `expf` polynomial (≈1 ulp), so parity with PyTorch stays
/// far inside 1e-5.
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
    @inline(__always) public static func exp(_ x: Float) -> Float {
        var xc = x < -87.3 ? -87.3 : x
        xc = xc > 88.3 ? 88.3 : xc
        // Round x·log2(e) to the nearest integer n with the 1.5·2^23 trick.
        let t = madd(xc, 1.442_695_04, 12_582_912)
        let n = t - 12_582_912
        let r = madd(n, 2.121_944_4e-4, madd(n, -0.693_359_375, xc))
        var p: Float = 1.987_569_15e-4
        p = madd(p, r, 1.398_199_950_7e-3)
        p = madd(p, r, 8.333_451_907_3e-3)
        p = madd(p, r, 4.166_579_589_4e-2)
        p = madd(p, r, 1.666_666_545_9e-1)
        p = madd(p, r, 5.000_000_120_1e-1)
        p = madd(p, r * r, r) + 1
        let k = t.bitPattern &- 0x4B40_0000  // = n, as the low mantissa bits of t
        return p * Float(bitPattern: (k &+ 127) &<< 23)
    }

    @inline(__always) public static func sigmoid(_ x: Float) -> Float { 1 / (1 + exp(-x)) }

    @inline(__always) public static func tanh(_ x: Float) -> Float {
        // tanh(x) = 1 − 2/(e^{2x} + 1); near 0 the odd series keeps the relative error small.
        let y = 1 - 2 / (exp(2 * x) + 1)
        let x2 = x * x
        var q: Float = madd(x2, -17.0 / 315, 2.0 / 15)
        q = madd(q, x2, -1.0 / 3)
        q = madd(q, x2, 1)
        let small = (x < 0 ? -x : x) < 0.125
        return small ? x * q : y
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
