import Foundation
import LinearAlgebra


/// Pointers and sizes for running one direction of one layer over a packed batch.
struct DirectionPass {
    let cell: CellKind
    let steps: Int
    let rows: Int
    let hidden: Int
    let inputWidth: Int
    let active: [Int]
    let reverse: Bool
    /// Layer input `[T][B][inputWidth]`.
    let x: UnsafePointer<Float>
    let wih: UnsafePointer<Float>, whh: UnsafePointer<Float>
    let bih: UnsafePointer<Float>, bhh: UnsafePointer<Float>
    /// Optional initial state `[B][H]` (forward direction only; truncated BPTT carries it).
    let h0: UnsafePointer<Float>?, c0: UnsafePointer<Float>?
    /// Post-activation gates `[T][B][G·H]` (LSTM i,f,g,o; GRU r,z,n).
    let gates: UnsafeMutablePointer<Float>
    /// LSTM: cell state `[T][B][H]`; GRU: `W_hn h + b_hn` `[T][B][H]`. Zero where a row has ended.
    let aux: UnsafeMutablePointer<Float>
    /// LSTM: `tanh` of the cell state `[T][B][H]`, kept so backpropagation need not recompute it.
    let cellTanh: UnsafeMutablePointer<Float>?
    /// Layer output, already offset to this direction's columns; row stride `ldy`. Zero where a row
    /// has ended (the weight gradient's product runs over every row).
    let y: UnsafeMutablePointer<Float>
    let ldy: Int
    /// Zeros of length H, and for the forward pass scratch of at least `[B][G·H]` floats (the GRU's
    /// recurrent projection; the backward pass uses none).
    let zeros: UnsafePointer<Float>
    let scratch: UnsafeMutablePointer<Float>

    var gateWidth: Int { cell.gateCount * hidden }

    /// Row pointer of the previous hidden state for `row` at step `t`, or `nil` when it is zero.
    @inline(__always) func previousHiddenBlock(_ t: Int) -> (UnsafePointer<Float>, Int)? {
        if reverse {
            return t + 1 < steps ? (UnsafePointer(y + (t + 1) * rows * ldy), ldy) : nil
        }
        if t > 0 { return (UnsafePointer(y + (t - 1) * rows * ldy), ldy) }
        if let h0 { return (h0, hidden) }
        return nil
    }

    @inline(__always) func previousCell(_ t: Int, _ row: Int) -> UnsafePointer<Float> {
        if reverse { return t + 1 < steps ? UnsafePointer(aux + ((t + 1) * rows + row) * hidden) : zeros }
        if t > 0 { return UnsafePointer(aux + ((t - 1) * rows + row) * hidden) }
        if let c0 { return c0 + row * hidden }
        return zeros
    }

    @inline(__always) func previousHidden(_ t: Int, _ row: Int) -> UnsafePointer<Float> {
        guard let (base, ld) = previousHiddenBlock(t) else { return zeros }
        return base + row * ld
    }

    func forward() {
        let G = gateWidth, H = hidden, B = rows
        // W_hh transposed once to [H][G]: the per-step product is then a plain row-major h·W, which
        // OpenBLAS runs noticeably faster than the transposed form for the small row counts here.
        let whhT = UnsafeMutablePointer<Float>.allocate(capacity: G * H)
        defer { whhT.deallocate() }
        MatrixProduct.transpose(whh, rows: G, columns: H, into: whhT)
        // One product for the input projection of every time step, accumulated onto the biases
        // (b_ih + b_hh for the LSTM; b_ih only for the GRU, whose b_hn sits inside r ⊙ (…)).
        let bias = UnsafeMutablePointer<Float>.allocate(capacity: G)
        defer { bias.deallocate() }
        for j in 0..<G { bias[j] = cell == .lstm ? bih[j] + bhh[j] : bih[j] }
        for r in 0..<(steps * B) { (gates + r * G).update(from: bias, count: G) }
        MatrixProduct.gemm(.none, .transposed, m: steps * B, n: G, k: inputWidth,
                           a: x, b: wih, beta: 1, c: gates)
        for s in 0..<steps {
            let t = reverse ? steps - 1 - s : s
            let n = active[t]
            if n == 0 { continue }
            let gt = gates + t * B * G
            let prev = previousHiddenBlock(t)
            switch cell {
            case .lstm:
                if let (hp, ld) = prev {
                    MatrixProduct.gemm(.none, .none, m: n, n: G, k: H, a: hp, lda: ld, b: whhT,
                                       beta: 1, c: gt)
                }
                let tanhC = cellTanh!
                for row in 0..<n {
                    let at = (t * B + row) * H
                    GateArithmetic.lstmRecording(gt + row * G, previousCell(t, row), aux + at, tanhC + at,
                                                 y + (t * B + row) * ldy, H)
                }
            case .gru:
                let hw = scratch
                if let (hp, ld) = prev {
                    for row in 0..<n { (hw + row * G).update(from: bhh, count: G) }
                    MatrixProduct.gemm(.none, .none, m: n, n: G, k: H, a: hp, lda: ld, b: whhT,
                                       beta: 1, c: hw)
                } else {
                    for row in 0..<n { (hw + row * G).update(from: bhh, count: G) }
                }
                for row in 0..<n {
                    let g = gt + row * G
                    let hr = hw + row * G
                    let hp = previousHidden(t, row)
                    let hn = aux + (t * B + row) * H
                    let h = y + (t * B + row) * ldy
                    let gz = g + H, gn = g + 2 * H, hrn = hr + 2 * H
                    for j in 0..<(2 * H) { g[j] += hr[j] }
                    GateArithmetic.sigmoid(g, 2 * H)
                    for j in 0..<H {
                        let hnv = hrn[j]
                        hn[j] = hnv
                        gn[j] += g[j] * hnv
                    }
                    GateArithmetic.tanh(gn, H)
                    for j in 0..<H { h[j] = (1 - gz[j]) * gn[j] + gz[j] * hp[j] }
                }
            }
        }
    }

    /// Backpropagates `dy` (gradient w.r.t. this direction's outputs, row stride `ldy`) through time.
    /// Accumulates parameter gradients and, when `dx` is given, the gradient w.r.t. the layer input.
    /// `dAx` (and the GRU's `dAh`) hold `[T][B][G]` for the GRU, one step `[B][G]` for the LSTM.
    func backward(dy: UnsafePointer<Float>, dx: UnsafeMutablePointer<Float>?,
                  gwih: UnsafeMutablePointer<Float>, gwhh: UnsafeMutablePointer<Float>,
                  gbih: UnsafeMutablePointer<Float>, gbhh: UnsafeMutablePointer<Float>,
                  dAx: UnsafeMutablePointer<Float>, dAh: UnsafeMutablePointer<Float>,
                  dh: UnsafeMutablePointer<Float>, dc: UnsafeMutablePointer<Float>,
                  ones: UnsafePointer<Float>) {
        dh.update(repeating: 0, count: rows * hidden)
        if cell == .lstm {
            dc.update(repeating: 0, count: rows * hidden)
            lstmBackward(dy: dy, dx: dx, gwih: gwih, gwhh: gwhh, gbih: gbih, gbhh: gbhh, dA: dAx, dh: dh, dc: dc,
                         ones: ones)
        } else {
            gruBackward(dy: dy, dx: dx, gwih: gwih, gwhh: gwhh, gbih: gbih, gbhh: gbhh,
                        dAx: dAx, dAh: dAh, dh: dh, ones: ones)
        }
    }

    /// LSTM backpropagation through time. Each step's parameter gradients, `[h_prev | x_t | 1]ᵀ · dA_t`
    /// into one `[H + I + 1][G]` sum (both biases take the same `dA`), are taken while `dA_t` is
    /// still in cache: keeping every step's `dA` for products after the loop wrote, re-read and
    /// packed 6 MB per batch, which made those products cost more than the per-step ones of the
    /// same size.
    private func lstmBackward(dy: UnsafePointer<Float>, dx: UnsafeMutablePointer<Float>?,
                              gwih: UnsafeMutablePointer<Float>, gwhh: UnsafeMutablePointer<Float>,
                              gbih: UnsafeMutablePointer<Float>, gbhh: UnsafeMutablePointer<Float>,
                              dA: UnsafeMutablePointer<Float>,
                              dh: UnsafeMutablePointer<Float>, dc: UnsafeMutablePointer<Float>,
                              ones: UnsafePointer<Float>) {
        let G = gateWidth, H = hidden, I = inputWidth, B = rows, W = H + I + 1
        let sums = FloatBuffer(G * W)
        for s in 0..<steps {
            let t = reverse ? s : steps - 1 - s
            let n = active[t]
            if n == 0 { continue }
            for row in 0..<n {
                let at = (t * B + row) * H
                GateArithmetic.lstmBackward(gates + (t * B + row) * G, cellTanh! + at, previousCell(t, row),
                                            dy + (t * B + row) * ldy, dh + row * H, dc + row * H,
                                            dA + row * G, H)
            }
            if let (hp, ld) = previousHiddenBlock(t) {
                MatrixProduct.gemm(.transposed, .none, m: H, n: G, k: n, a: hp, lda: ld, b: dA,
                                   beta: 1, c: sums.pointer)
            }
            MatrixProduct.gemm(.transposed, .none, m: I, n: G, k: n, a: x + t * B * I, b: dA,
                               beta: 1, c: sums.pointer + H * G)
            MatrixProduct.gemm(.transposed, .none, m: 1, n: G, k: n, a: ones, lda: 1, b: dA,
                               beta: 1, c: sums.pointer + (H + I) * G)
            if let dx {
                MatrixProduct.gemm(.none, .none, m: n, n: I, k: G, a: dA, b: wih, beta: 1, c: dx + t * B * I)
            }
            MatrixProduct.gemm(.none, .none, m: n, n: H, k: G, a: dA, b: whh, c: dh)
        }
        let s = sums.pointer
        for j in 0..<G {
            for k in 0..<H { gwhh[j * H + k] += s[k * G + j] }
            for k in 0..<I { gwih[j * I + k] += s[(H + k) * G + j] }
            gbih[j] += s[(H + I) * G + j]
            gbhh[j] += s[(H + I) * G + j]
        }
    }

    private func gruBackward(dy: UnsafePointer<Float>, dx: UnsafeMutablePointer<Float>?,
                             gwih: UnsafeMutablePointer<Float>, gwhh: UnsafeMutablePointer<Float>,
                             gbih: UnsafeMutablePointer<Float>, gbhh: UnsafeMutablePointer<Float>,
                             dAx: UnsafeMutablePointer<Float>, dAh: UnsafeMutablePointer<Float>,
                             dh: UnsafeMutablePointer<Float>, ones: UnsafePointer<Float>) {
        let G = gateWidth, H = hidden, B = rows
        // Rows that have ended take no gradient, but the products over all steps below read them.
        for t in 0..<steps where active[t] < B {
            let first = (t * B + active[t]) * G, count = (B - active[t]) * G
            (dAx + first).update(repeating: 0, count: count)
            (dAh + first).update(repeating: 0, count: count)
        }
        for s in 0..<steps {
            let t = reverse ? s : steps - 1 - s
            let n = active[t]
            if n == 0 { continue }
            for row in 0..<n {
                GateArithmetic.gruBackward(gates + (t * B + row) * G, aux + (t * B + row) * H, previousHidden(t, row),
                                           dy + (t * B + row) * ldy, dh + row * H, dAx + (t * B + row) * G,
                                           dAh + (t * B + row) * G, H)
            }
            MatrixProduct.gemm(.none, .none, m: n, n: H, k: G, a: dAh + t * B * G, b: whh,
                               beta: 1, c: dh)
        }
        let dA = UnsafePointer(dAh)
        let all = steps * B
        // Input-side gradients, each one product over all time steps.
        MatrixProduct.gemm(.transposed, .none, m: G, n: inputWidth, k: all, a: dAx, b: x, beta: 1, c: gwih)
        MatrixProduct.gemm(.transposed, .none, m: G, n: 1, k: all, a: dAx, b: ones, beta: 1, c: gbih)
        MatrixProduct.gemm(.transposed, .none, m: G, n: 1, k: all, a: dA, b: ones, beta: 1, c: gbhh)
        if let dx {
            MatrixProduct.gemm(.none, .none, m: all, n: inputWidth, k: G, a: dAx, b: wih, beta: 1, c: dx)
        }
        // Recurrent weights: dA[t] paired with the previous hidden state, which for every step but the
        // first-processed one is another time slice of the output.
        if steps > 1 {
            let k = (steps - 1) * B
            if reverse {
                MatrixProduct.gemm(.transposed, .none, m: G, n: H, k: k, a: dA, b: y + B * ldy, ldb: ldy,
                                   beta: 1, c: gwhh)
            } else {
                MatrixProduct.gemm(.transposed, .none, m: G, n: H, k: k, a: dA + B * G, b: y, ldb: ldy,
                                   beta: 1, c: gwhh)
            }
        }
        if !reverse, let h0 {
            MatrixProduct.gemm(.transposed, .none, m: G, n: H, k: B, a: dA, b: h0, beta: 1, c: gwhh)
        }
    }
}
