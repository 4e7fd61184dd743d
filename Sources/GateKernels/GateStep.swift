/// The gate arithmetic of one step over a block of rows. This module is compiled three times:
/// as `GateKernels` for the baseline x86-64 target, as `GateKernelsAVX2` for Haswell-class
/// processors (8 lanes instead of 4) and as `GateKernelsAVX512` (16 lanes), the same files through
/// symlinked folders; `Recurrent` picks the widest copy the processor can run. The gate loops are
/// half of inference time: 8 lanes made batch-256 inference about 40% faster, and 16 lanes cut the
/// LSTM gate step by another third. The wide copies fuse the activations' multiply-adds (see
/// `Activations.madd`) and agree with each other bit for bit; the baseline copy differs from them
/// in the last bits.
public enum GateStep {
    /// LSTM: `gates` `[rows][4H]` holds `W_ih x + W_hh h` (i, f, g, o); `bias` = `b_ih + b_hh`.
    /// Updates the cell state `c` and hidden state `h` (`[rows][H]` each) in place. Uses `gates`
    /// as scratch.
    public static func lstm(gates: UnsafeMutablePointer<Float>, bias: UnsafePointer<Float>,
                            h: UnsafeMutablePointer<Float>, c: UnsafeMutablePointer<Float>,
                            hidden H: Int, rows: Int) {
        for row in 0..<rows {
            // One base pointer per gate: indexing `g[2 * H + j]` keeps an overflow check in the
            // loop, which stops LLVM from vectorising it. One fused pass keeps every intermediate in
            // registers; separate passes per gate stored and reloaded each of them.
            let i = gates + row * 4 * H, f = i + H, gg = i + 2 * H, o = i + 3 * H
            let bi = bias, bf = bias + H, bg = bias + 2 * H, bo = bias + 3 * H
            let hr = h + row * H, cr = c + row * H
            for j in 0..<H {
                let cell = lstmCell(i[j] + bi[j], f[j] + bf[j], gg[j] + bg[j], o[j] + bo[j], previous: cr[j])
                cr[j] = cell.c
                hr[j] = cell.h
            }
        }
    }

    /// The LSTM cell for one unit, from its four pre-activations and its previous cell state: the
    /// gate values (kept by training for backpropagation), the new cell state, its tanh and `h`.
    /// Inference and training both step through here, so they agree bit for bit.
    @inline(__always) static func lstmCell(_ ai: Float, _ af: Float, _ ag: Float, _ ao: Float, previous: Float)
        -> (i: Float, f: Float, g: Float, o: Float, c: Float, tanhC: Float, h: Float) {
        let i = Activations.sigmoid(ai), f = Activations.sigmoid(af)
        let g = Activations.tanh(ag), o = Activations.sigmoid(ao)
        let c = f * previous + i * g
        let tanhC = Activations.tanh(c)
        return (i, f, g, o, c, tanhC, o * tanhC)
    }

    /// One LSTM row of a training step, keeping what backpropagation needs: `gates` `[4H]` holds
    /// the pre-activations (bias included) and receives i, f, g, o after their nonlinearities;
    /// writes the cell state `c`, `tanh(c)` and `h`. `previousCell` is the row's cell state at the
    /// step before (zeros at the start).
    public static func lstmRecording(gates: UnsafeMutablePointer<Float>, previousCell: UnsafePointer<Float>,
                                     c: UnsafeMutablePointer<Float>, cellTanh: UnsafeMutablePointer<Float>,
                                     h: UnsafeMutablePointer<Float>, hidden H: Int) {
        let i = gates, f = i + H, gg = i + 2 * H, o = i + 3 * H
        for j in 0..<H {
            let cell = lstmCell(i[j], f[j], gg[j], o[j], previous: previousCell[j])
            i[j] = cell.i; f[j] = cell.f; gg[j] = cell.g; o[j] = cell.o
            c[j] = cell.c
            cellTanh[j] = cell.tanhC
            h[j] = cell.h
        }
    }

    /// Backpropagates one LSTM row of one step. `gates` `[4H]` holds i, f, g, o after their
    /// nonlinearities, `cellTanh` `tanh(c)`, `previousCell` the step before's cell state; `dy` is
    /// the loss gradient reaching this step's `h` from above and `dh` the one from the step after.
    /// Writes the pre-activation gradients `dA` `[4H]` and replaces `dc` (from the step after) by
    /// the gradient for the step before's cell state.
    public static func lstmBackward(gates: UnsafePointer<Float>, cellTanh: UnsafePointer<Float>,
                                    previousCell: UnsafePointer<Float>, dy: UnsafePointer<Float>,
                                    dh: UnsafePointer<Float>, dc: UnsafeMutablePointer<Float>,
                                    dA: UnsafeMutablePointer<Float>, hidden H: Int) {
        let gf = gates + H, gc = gates + 2 * H, go = gates + 3 * H
        let daf = dA + H, dag = dA + 2 * H, dao = dA + 3 * H
        for j in 0..<H {
            let i = gates[j], f = gf[j], gg = gc[j], o = go[j]
            let dhv = dy[j] + dh[j]
            let tc = cellTanh[j]
            let dcv = dc[j] + dhv * o * (1 - tc * tc)
            dA[j] = dcv * gg * i * (1 - i)
            daf[j] = dcv * previousCell[j] * f * (1 - f)
            dag[j] = dcv * i * (1 - gg * gg)
            dao[j] = dhv * tc * o * (1 - o)
            dc[j] = dcv * f
        }
    }

    /// Backpropagates one GRU row of one step. `gates` `[3H]` holds r, z, n after their
    /// nonlinearities, `hn` = `W_hn h + b_hn`, `previousHidden` the step before's `h`; `dy` and
    /// `dh` as for the LSTM. Writes the input-side and recurrent-side pre-activation gradients
    /// `dAx`, `dAh` `[3H]` and replaces `dh` by the part of the gradient that flows to the step
    /// before directly (through z).
    public static func gruBackward(gates: UnsafePointer<Float>, hn: UnsafePointer<Float>,
                                   previousHidden: UnsafePointer<Float>, dy: UnsafePointer<Float>,
                                   dh: UnsafeMutablePointer<Float>, dAx: UnsafeMutablePointer<Float>,
                                   dAh: UnsafeMutablePointer<Float>, hidden H: Int) {
        let gz = gates + H, gn = gates + 2 * H
        let daxz = dAx + H, daxn = dAx + 2 * H, dahz = dAh + H, dahn = dAh + 2 * H
        for j in 0..<H {
            let r = gates[j], z = gz[j], nv = gn[j]
            let dhv = dy[j] + dh[j]
            let dn = dhv * (1 - z)
            let dz = dhv * (previousHidden[j] - nv)
            let dan = dn * (1 - nv * nv)
            let dar = dan * hn[j] * r * (1 - r)
            let daz = dz * z * (1 - z)
            dAx[j] = dar; daxz[j] = daz; daxn[j] = dan
            dAh[j] = dar; dahz[j] = daz; dahn[j] = dan * r
            dh[j] = dhv * z
        }
    }

    /// GRU: `gates` `[rows][3H]` holds `W_ih x` (r, z, n), `recurrent` `[rows][3H]` holds `W_hh h`;
    /// `bias` = `b_ih + b_hh` for r and z and `b_in` for n; `bhn` = `b_hn`, which PyTorch places
    /// inside `r ⊙ (W_hn h + b_hn)`. Updates `h` `[rows][H]` in place; uses `gates` as scratch.
    public static func gru(gates: UnsafeMutablePointer<Float>, recurrent: UnsafePointer<Float>,
                           bias: UnsafePointer<Float>, bhn: UnsafePointer<Float>,
                           h: UnsafeMutablePointer<Float>, hidden H: Int, rows: Int) {
        for row in 0..<rows {
            let r = gates + row * 3 * H, z = r + H, n = r + 2 * H
            let hw = recurrent + row * 3 * H, hn = hw + 2 * H, hr = h + row * H
            for j in 0..<(3 * H) { r[j] += bias[j] }
            for j in 0..<(2 * H) { r[j] += hw[j] }
            Activations.sigmoid(r, 2 * H)
            for j in 0..<H { n[j] += r[j] * (hn[j] + bhn[j]) }
            Activations.tanh(n, H)
            for j in 0..<H { hr[j] = (1 - z[j]) * n[j] + z[j] * hr[j] }
        }
    }
}
