extension GateStep {
    /// Rearranges a row-major `[inner][width]` matrix for `accumulateProduct` (same size): each full
    /// block of 64 columns becomes one contiguous `[inner][64]` run (row-major rows 1 KB apart put a
    /// block's lines into a quarter of the L1 cache's sets), then the remaining columns row-major.
    public static func packForProduct(_ w: UnsafePointer<Float>, inner: Int, width: Int,
                                      into packed: UnsafeMutablePointer<Float>) {
        let blocks = width / 64, rest = width - blocks * 64
        var o = packed
        for b in 0..<blocks {
            for k in 0..<inner { o.update(from: w + k * width + b * 64, count: 64); o += 64 }
        }
        for k in 0..<inner where rest > 0 { o.update(from: w + k * width + blocks * 64, count: rest); o += rest }
    }

    /// `out[r][g] += Σ_k h[r][k] · w[k][g]` for `rows` rows, `w` packed by `packForProduct`: the
    /// recurrent product of a step for one or a few sequences. A BLAS call costs more than this
    /// product at batch 1; here 64 outputs at a time stay in registers while `k` runs, and each
    /// output sums its terms in the order k = 0, 1, … in every build and either direction.
    ///
    /// `W_hh` (64 KB at H = 64) is twice the L1 cache and is read every step. Alternating the
    /// order of the column blocks from one step to the next (`backwards`) starts each step on the
    /// blocks the last one left in L1; that took a fifth off the product.
    public static func accumulateProduct(_ h: UnsafePointer<Float>, _ w: UnsafePointer<Float>,
                                         into out: UnsafeMutablePointer<Float>, rows: Int, inner: Int, width: Int,
                                         backwards: Bool) {
        typealias V = SIMD8<Float>
        @inline(__always) func load(_ p: UnsafePointer<Float>) -> V { UnsafeRawPointer(p).loadUnaligned(as: V.self) }
        @inline(__always) func store(_ v: V, _ p: UnsafeMutablePointer<Float>) {
            UnsafeMutableRawPointer(p).storeBytes(of: v, as: V.self)
        }
        let blocks = width / 64, rest = width - blocks * 64
        let tail = w + blocks * 64 * inner
        for r in 0..<rows {
            let hr = h + r * inner, o = out + r * width
            for step in 0..<blocks {
                let b = backwards ? blocks - 1 - step : step
                let g = b * 64
                // Eight independent sums per pass: with four, each addition waited on the previous one.
                var a0 = load(o + g), a1 = load(o + g + 8), a2 = load(o + g + 16), a3 = load(o + g + 24)
                var a4 = load(o + g + 32), a5 = load(o + g + 40), a6 = load(o + g + 48), a7 = load(o + g + 56)
                var wk = w + b * 64 * inner
                for k in 0..<inner {
                    let hk = V(repeating: hr[k])
                    a0 += hk * load(wk); a1 += hk * load(wk + 8)
                    a2 += hk * load(wk + 16); a3 += hk * load(wk + 24)
                    a4 += hk * load(wk + 32); a5 += hk * load(wk + 40)
                    a6 += hk * load(wk + 48); a7 += hk * load(wk + 56)
                    wk += 64
                }
                store(a0, o + g); store(a1, o + g + 8); store(a2, o + g + 16); store(a3, o + g + 24)
                store(a4, o + g + 32); store(a5, o + g + 40); store(a6, o + g + 48); store(a7, o + g + 56)
            }
            // The last columns, `[inner][rest]` row-major.
            let ot = o + blocks * 64
            var g = 0
            while g + 8 <= rest {
                var a = load(ot + g)
                var wk = tail + g
                for k in 0..<inner {
                    a += V(repeating: hr[k]) * load(wk)
                    wk += rest
                }
                store(a, ot + g)
                g += 8
            }
            while g < rest {
                var a = ot[g]
                for k in 0..<inner { a += hr[k] * tail[k * rest + g] }
                ot[g] = a
                g += 1
            }
        }
    }
}
