import Foundation
import LinearAlgebra

/// One direction of one layer run for inference only. Training keeps every step's gates and states
/// for backpropagation; inference needs only the running state, so this pass keeps `[B][H]` state,
/// projects the inputs a few steps at a time into a cache-sized gate buffer, and fuses bias, gate
/// nonlinearities and the state update into one loop. At batch 256 the training-shaped forward spent
/// a quarter of its time zeroing, copying and re-reading step buffers larger than the L2 cache.
struct InferencePass {
    let cell: CellKind
    let steps: Int
    let rows: Int
    let hidden: Int
    let inputWidth: Int
    /// `active[t]` = rows with length > t (a prefix, as in `PackedBatch`).
    let active: [Int]
    let reverse: Bool
    /// Layer input `[T][B][inputWidth]`.
    let x: UnsafePointer<Float>
    /// `W_ih` transposed to `[inputWidth][G]`; `W_hh` transposed to `[H][G]`, and that packed for
    /// `GateStep.accumulateProduct`.
    let wihT: UnsafePointer<Float>
    let whhT: UnsafePointer<Float>
    let whhPacked: UnsafePointer<Float>
    /// Bias added to the gates: LSTM `b_ih + b_hh`; GRU `b_ih + b_hh` for r and z, `b_in` for n.
    let bias: UnsafePointer<Float>
    /// GRU only: `b_hn`, which sits inside `r ⊙ (W_hn h + b_hn)`.
    let bhn: UnsafePointer<Float>
    /// Running hidden state `[B][H]` and (LSTM) cell state `[B][H]`, zero on entry.
    let h: UnsafeMutablePointer<Float>
    let c: UnsafeMutablePointer<Float>
    /// Scratch: `chunk` steps of gates `[chunk][B][G]`; GRU recurrent projection `[B][G]`.
    let gates: UnsafeMutablePointer<Float>
    let chunk: Int
    let recurrent: UnsafeMutablePointer<Float>
    /// Full output `[T][B][ldy]` (already offset to this direction's columns) when a layer follows.
    let y: UnsafeMutablePointer<Float>?
    let ldy: Int
    /// Final state per row `[B][ldf]` (offset to this direction's columns): the forward direction's
    /// state at each row's own last step, the backward direction's state after step 0.
    let final: UnsafeMutablePointer<Float>
    let ldf: Int

    var gateWidth: Int { cell.gateCount * hidden }

    /// Up to this many running rows the step's recurrent product skips BLAS (see
    /// `GateStep.accumulateProduct`).
    static let fewRows = 4

    /// Steps of gates kept at once so the buffer stays well inside a 1 MB L2 cache.
    static func chunkSteps(rows: Int, gateWidth: Int, steps: Int) -> Int {
        max(1, min(steps, (64 << 10) / max(rows * gateWidth, 1)))
    }

    func run() {
        let G = gateWidth, H = hidden, B = rows
        var s = 0
        while s < steps {
            let count = min(chunk, steps - s)
            // Time slice [t0, t0 + count) in memory order, whichever way the direction runs.
            let t0 = reverse ? steps - s - count : s
            if active[t0] > 0 {
                MatrixProduct.gemm(.none, .none, m: count * B, n: G, k: inputWidth,
                                   a: x + t0 * B * inputWidth, b: wihT, c: gates)
            }
            for k in 0..<count {
                let t = reverse ? t0 + count - 1 - k : t0 + k
                let n = active[t]
                if n > 0 { step(t, n: n, gx: gates + (t - t0) * B * G, backwards: (s + k) & 1 == 1) }
            }
            s += count
        }
        if reverse {
            let n = active[0]
            for row in 0..<n { (final + row * ldf).update(from: h + row * H, count: H) }
        }
    }

    /// `backwards`: this step runs the product's column blocks in reverse order (every other step).
    @inline(__always) private func step(_ t: Int, n: Int, gx: UnsafeMutablePointer<Float>, backwards: Bool) {
        let G = gateWidth, H = hidden
        switch cell {
        case .lstm:
            if n <= Self.fewRows {
                GateArithmetic.accumulateProduct(h, whhPacked, gx, n, H, G, backwards)
            } else {
                MatrixProduct.gemm(.none, .none, m: n, n: G, k: H, a: h, b: whhT, beta: 1, c: gx)
            }
            GateArithmetic.lstm(gx, bias, h, c, H, n)
        case .gru:
            if n <= Self.fewRows {
                recurrent.update(repeating: 0, count: n * G)
                GateArithmetic.accumulateProduct(h, whhPacked, recurrent, n, H, G, backwards)
            } else {
                MatrixProduct.gemm(.none, .none, m: n, n: G, k: H, a: h, b: whhT, c: recurrent)
            }
            GateArithmetic.gru(gx, recurrent, bias, bhn, h, H, n)
        }
        if let y {
            for row in 0..<n { (y + (t * rows + row) * ldy).update(from: h + row * H, count: H) }
        }
        if !reverse {
            // Rows whose last step is t: active[t + 1] ..< active[t].
            let done = t + 1 < steps ? active[t + 1] : 0
            for row in done..<n { (final + row * ldf).update(from: h + row * H, count: H) }
        }
    }
}

/// Per layer and direction: `W_ih` and `W_hh` transposed to `[I][G]` and `[H][G]` (the products
/// are then plain row-major `x·W` and `h·W`), `W_hh` also packed for the few-rows product, and the
/// combined gate bias, in cache-line aligned buffers. Transposing on every call cost a batch-1
/// sequence about as much as ten of its steps. The input projection in that orientation takes
/// OpenBLAS's small-matrix kernel, which writes its result directly; the transposed form (K = I is
/// small) went the general way, which zeroes and packs first. Never written after `init`, so
/// threads may share it.
final class InferenceWeights: @unchecked Sendable {
    let wihT: [[FloatBuffer]]
    let whhT: [[FloatBuffer]]
    let whhPacked: [[FloatBuffer]]
    let bias: [[FloatBuffer]]

    init(_ network: RecurrentNetwork) {
        let c = network.configuration, H = c.hiddenSize, G = c.cell.gateCount * H
        let p = network.parameters
        var wihT: [[FloatBuffer]] = [], whhT: [[FloatBuffer]] = [], whhPacked: [[FloatBuffer]] = []
        var bias: [[FloatBuffer]] = []
        for l in 0..<c.layerCount {
            var il: [FloatBuffer] = [], wl: [FloatBuffer] = [], pl: [FloatBuffer] = [], bl: [FloatBuffer] = []
            let I = c.layerInputSize(l)
            for d in 0..<c.directions {
                let o = network.layout.cellOffsets[l][d]
                let wi = FloatBuffer(uninitialized: G * I)
                let w = FloatBuffer(uninitialized: G * H), b = FloatBuffer(uninitialized: G)
                p.withUnsafeBufferPointer { pp in
                    MatrixProduct.transpose(pp.baseAddress! + o.wih, rows: G, columns: I, into: wi.pointer)
                    MatrixProduct.transpose(pp.baseAddress! + o.whh, rows: G, columns: H, into: w.pointer)
                }
                il.append(wi)
                // GRU: b_hn stays apart, inside r ⊙ (W_hn h + b_hn).
                for j in 0..<G { b.pointer[j] = c.cell == .gru && j >= 2 * H ? p[o.bih + j] : p[o.bih + j] + p[o.bhh + j] }
                let packed = FloatBuffer(uninitialized: G * H)
                GateArithmetic.packForProduct(w.pointer, H, G, packed.pointer)
                wl.append(w); pl.append(packed); bl.append(b)
            }
            wihT.append(il); whhT.append(wl); whhPacked.append(pl); bias.append(bl)
        }
        self.wihT = wihT
        self.whhT = whhT
        self.whhPacked = whhPacked
        self.bias = bias
    }

    /// Built once per set of weights, shared by copies of the network and its threads.
    final class Cache: @unchecked Sendable {
        private let lock = NSLock()
        private var value: InferenceWeights?

        func weights(for network: RecurrentNetwork) -> InferenceWeights {
            lock.lock(); defer { lock.unlock() }
            if let value { return value }
            let built = InferenceWeights(network)
            value = built
            return built
        }
    }
}

extension RecurrentNetwork {
    /// Embeddings `[B][E]` and logits `[B][C]` in packed row order, without keeping anything for
    /// backpropagation (see `InferencePass`).
    func infer(_ batch: PackedBatch) -> (embedding: FloatBuffer, logits: FloatBuffer) {
        let c = configuration, H = c.hiddenSize, B = batch.rows, T = batch.steps
        let G = c.cell.gateCount * H, D = c.directions, E = c.embeddingSize, C = c.classCount
        let weights = inferenceWeights.weights(for: self)
        let embedding = FloatBuffer(B * E), logits = FloatBuffer(B * C)
        let chunk = InferencePass.chunkSteps(rows: B, gateWidth: G, steps: T)
        // Both are written whole before they are read: by the input projection, by the product.
        let gates = FloatBuffer(uninitialized: chunk * B * G)
        let recurrent = FloatBuffer(uninitialized: c.cell == .gru ? B * G : 0)
        let h = FloatBuffer(B * H), cells = FloatBuffer(c.cell == .lstm ? B * H : 0)
        parameters.withUnsafeBufferPointer { pp in
            let p = pp.baseAddress!
            var previousOutput: FloatBuffer?  // the layer below's output, this layer's input
            for l in 0..<c.layerCount {
                let input = previousOutput.map { UnsafePointer($0.pointer) } ?? UnsafePointer(batch.values.pointer)
                let last = l == c.layerCount - 1
                let output: FloatBuffer? = last ? nil : FloatBuffer(T * B * H * D)
                for d in 0..<D {
                    let o = layout.cellOffsets[l][d]
                    h.zero(); cells.zero()
                    InferencePass(
                        cell: c.cell, steps: T, rows: B, hidden: H, inputWidth: c.layerInputSize(l),
                        active: batch.active, reverse: d == 1, x: input, wihT: weights.wihT[l][d].pointer,
                        whhT: weights.whhT[l][d].pointer, whhPacked: weights.whhPacked[l][d].pointer,
                        bias: weights.bias[l][d].pointer, bhn: p + o.bhh + 2 * H,
                        h: h.pointer, c: cells.pointer, gates: gates.pointer, chunk: chunk,
                        recurrent: recurrent.pointer, y: output.map { $0.pointer + d * H }, ldy: H * D,
                        final: embedding.pointer + d * H, ldf: E
                    ).run()
                }
                if let output { previousOutput = output }
            }
            for row in 0..<B { (logits.pointer + row * C).update(from: p + layout.headBiasOffset, count: C) }
            MatrixProduct.gemm(.none, .transposed, m: B, n: C, k: E, a: embedding.pointer,
                               b: p + layout.headWeightOffset, beta: 1, c: logits.pointer)
        }
        return (embedding, logits)
    }
}
