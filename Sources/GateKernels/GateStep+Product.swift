extension GateStep {
    /// `out[r][g] += Σ_k h[r][k] · w[k][g]` for `rows` rows, `w` `[inner][width]` row-major: the
    /// recurrent product of a step for one or a few sequences. A BLAS call costs more than this
    /// product at batch 1; here 64 outputs at a time stay in registers while `k` runs, and each
    /// output sums its terms in the order k = 0, 1, … in either build.
    public static func accumulateProduct(_ h: UnsafePointer<Float>, _ w: UnsafePointer<Float>,
                                         into out: UnsafeMutablePointer<Float>, rows: Int, inner: Int, width: Int) {
        typealias V = SIMD8<Float>
        @inline(__always) func load(_ p: UnsafePointer<Float>) -> V { UnsafeRawPointer(p).loadUnaligned(as: V.self) }
        @inline(__always) func store(_ v: V, _ p: UnsafeMutablePointer<Float>) {
            UnsafeMutableRawPointer(p).storeBytes(of: v, as: V.self)
        }
        for r in 0..<rows {
            let hr = h + r * inner, o = out + r * width
            var g = 0
            // Eight independent sums per pass: with four, each addition waited on the previous one.
            while g + 64 <= width {
                var a0 = load(o + g), a1 = load(o + g + 8), a2 = load(o + g + 16), a3 = load(o + g + 24)
                var a4 = load(o + g + 32), a5 = load(o + g + 40), a6 = load(o + g + 48), a7 = load(o + g + 56)
                var wk = w + g
                for k in 0..<inner {
                    let hk = V(repeating: hr[k])
                    a0 += hk * load(wk); a1 += hk * load(wk + 8)
                    a2 += hk * load(wk + 16); a3 += hk * load(wk + 24)
                    a4 += hk * load(wk + 32); a5 += hk * load(wk + 40)
                    a6 += hk * load(wk + 48); a7 += hk * load(wk + 56)
                    wk += width
                }
                store(a0, o + g); store(a1, o + g + 8); store(a2, o + g + 16); store(a3, o + g + 24)
                store(a4, o + g + 32); store(a5, o + g + 40); store(a6, o + g + 48); store(a7, o + g + 56)
                g += 64
            }
            while g + 8 <= width {
                var a = load(o + g)
                var wk = w + g
                for k in 0..<inner {
                    a += V(repeating: hr[k]) * load(wk)
                    wk += width
                }
                store(a, o + g)
                g += 8
            }
            while g < width {
                var a = o[g]
                for k in 0..<inner { a += hr[k] * w[k * width + g] }
                o[g] = a
                g += 1
            }
        }
    }
}
