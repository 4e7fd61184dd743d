import Foundation
import LinearAlgebra
import Randomness

/// An LSTM/GRU stack with a linear head: the weights of a PyTorch `Net` (see the README) in one flat
/// vector laid out by `ParameterLayout`.
public struct RecurrentNetwork: Sendable, Equatable {
    public let configuration: RecurrentConfiguration
    public let layout: ParameterLayout
    public internal(set) var parameters: [Float] {
        didSet { inferenceWeights = InferenceWeights.Cache() }
    }
    /// The weights rearranged for inference, built on first use and dropped when they change.
    var inferenceWeights = InferenceWeights.Cache()

    public static func == (a: RecurrentNetwork, b: RecurrentNetwork) -> Bool {
        a.configuration == b.configuration && a.layout == b.layout && a.parameters == b.parameters
    }

    /// PyTorch's default initialisation: every recurrent tensor and the head uniform in ±1/√fan.
    public init(configuration: RecurrentConfiguration, seed: UInt64) throws {
        try configuration.validate()
        self.configuration = configuration
        layout = ParameterLayout(configuration)
        var rng = SeededGenerator(seed: seed)
        var p = [Float](repeating: 0, count: layout.totalCount)
        let rnnBound = 1 / Float(configuration.hiddenSize).squareRoot()
        let headBound = 1 / Float(configuration.embeddingSize).squareRoot()
        for tensor in layout.tensors {
            let bound = tensor.name.hasPrefix("head.") ? headBound : rnnBound
            for k in tensor.offset..<(tensor.offset + tensor.count) { p[k] = rng.uniform(-bound, bound) }
        }
        parameters = p
    }

    /// Wraps existing weights (e.g. read from a safetensors file) after checking their count.
    public init(configuration: RecurrentConfiguration, parameters: [Float]) throws {
        try configuration.validate()
        let layout = ParameterLayout(configuration)
        guard parameters.count == layout.totalCount else {
            throw RecurrentError.invalidConfiguration(
                "expected \(layout.totalCount) parameters, got \(parameters.count)")
        }
        self.configuration = configuration
        self.layout = layout
        self.parameters = parameters
    }

    /// The values of one named tensor (PyTorch name).
    public func tensor(_ name: String) -> [Float]? {
        guard let t = layout.tensor(named: name) else { return nil }
        return Array(parameters[t.offset..<(t.offset + t.count)])
    }
}

/// Per-layer state carried between truncated-BPTT windows (forward direction; rows = packed rows).
struct LayerState {
    var h: [Float]
    var c: [Float]
}

/// Everything the backward pass needs from a forward pass.
final class ForwardTrace {
    let batch: PackedBatch
    let configuration: RecurrentConfiguration
    /// Input of each layer `l ≥ 1` after dropout (layer 0 reads `batch.values`).
    var layerInputs: [FloatBuffer?] = []
    var dropoutMasks: [FloatBuffer?] = []
    var outputs: [FloatBuffer] = []
    var gates: [[FloatBuffer]] = []
    var aux: [[FloatBuffer]] = []
    /// LSTM: `tanh` of each layer and direction's cell states.
    var cellTanh: [[FloatBuffer?]] = []
    var initial: [FloatBuffer?] = []
    var initialCells: [FloatBuffer?] = []
    /// `[B][E]` embeddings and `[B][C]` logits, in packed row order.
    var embedding: FloatBuffer
    var logits: FloatBuffer

    init(batch: PackedBatch, configuration: RecurrentConfiguration) {
        self.batch = batch
        self.configuration = configuration
        embedding = FloatBuffer(batch.rows * configuration.embeddingSize)
        logits = FloatBuffer(batch.rows * configuration.classCount)
    }

    func layerInput(_ l: Int) -> UnsafePointer<Float> {
        l == 0 ? UnsafePointer(batch.values.pointer) : UnsafePointer(layerInputs[l]!.pointer)
    }

    /// Final forward-direction state of each layer at each row's own last step (for truncated BPTT).
    func finalStates() -> [LayerState] {
        let H = configuration.hiddenSize, B = batch.rows, ldy = H * configuration.directions
        return (0..<configuration.layerCount).map { l in
            var h = [Float](repeating: 0, count: B * H), c = [Float](repeating: 0, count: B * H)
            for row in 0..<B where batch.lengths[row] > 0 {
                let t = batch.lengths[row] - 1
                for j in 0..<H {
                    h[row * H + j] = outputs[l].pointer[(t * B + row) * ldy + j]
                    if configuration.cell == .lstm { c[row * H + j] = aux[l][0].pointer[(t * B + row) * H + j] }
                }
            }
            return LayerState(h: h, c: c)
        }
    }
}

extension RecurrentNetwork {
    /// Runs the stack over a packed batch. With `dropout > 0` and a generator, inter-layer dropout
    /// is applied (training mode). `initial` seeds each layer's forward state (truncated BPTT).
    func forward(_ batch: PackedBatch, dropout: Float = 0, rng: UnsafeMutablePointer<SeededGenerator>? = nil,
                 initial: [LayerState]? = nil) -> ForwardTrace {
        let c = configuration, H = c.hiddenSize, B = batch.rows, T = batch.steps
        let G = c.cell.gateCount * H, D = c.directions, ldy = H * D
        let trace = ForwardTrace(batch: batch, configuration: c)
        let zeros = FloatBuffer(H)
        let scratch = FloatBuffer(uninitialized: B * G)
        parameters.withUnsafeBufferPointer { pp in
            let p = pp.baseAddress!
            // Every slot of the outputs and states is written when no row ends early.
            let full = batch.lengths.allSatisfy { $0 == T }
            func stepBuffer(_ count: Int) -> FloatBuffer { full ? FloatBuffer(uninitialized: count) : FloatBuffer(count) }
            for l in 0..<c.layerCount {
                if l == 0 {
                    trace.layerInputs.append(nil); trace.dropoutMasks.append(nil)
                } else if dropout > 0, let rng {
                    let prev = trace.outputs[l - 1]
                    let mask = FloatBuffer(prev.count), input = FloatBuffer(prev.count)
                    let keep = 1 - dropout, scale = 1 / keep
                    for k in 0..<prev.count {
                        let m: Float = rng.pointee.nextUnitFloat() < keep ? scale : 0
                        mask.pointer[k] = m
                        input.pointer[k] = prev.pointer[k] * m
                    }
                    trace.layerInputs.append(input); trace.dropoutMasks.append(mask)
                } else {
                    trace.layerInputs.append(trace.outputs[l - 1]); trace.dropoutMasks.append(nil)
                }
                let out = stepBuffer(T * B * ldy)
                trace.outputs.append(out)
                var gl: [FloatBuffer] = [], al: [FloatBuffer] = [], tl: [FloatBuffer?] = []
                let h0 = initial.map { FloatBuffer($0[l].h) }
                let c0 = initial.map { FloatBuffer($0[l].c) }
                trace.initial.append(h0); trace.initialCells.append(c0)
                for d in 0..<D {
                    let o = layout.cellOffsets[l][d]
                    // Gates are filled whole: the biases, then the input projection onto them.
                    let gates = FloatBuffer(uninitialized: T * B * G), aux = stepBuffer(T * B * H)
                    let tanhC = c.cell == .lstm ? FloatBuffer(uninitialized: T * B * H) : nil
                    gl.append(gates); al.append(aux); tl.append(tanhC)
                    let pass = DirectionPass(
                        cell: c.cell, steps: T, rows: B, hidden: H, inputWidth: c.layerInputSize(l),
                        active: batch.active, reverse: d == 1, x: trace.layerInput(l),
                        wih: p + o.wih, whh: p + o.whh, bih: p + o.bih, bhh: p + o.bhh,
                        h0: d == 0 ? h0.map { UnsafePointer($0.pointer) } : nil,
                        c0: d == 0 ? c0.map { UnsafePointer($0.pointer) } : nil,
                        gates: gates.pointer, aux: aux.pointer, cellTanh: tanhC?.pointer,
                        y: out.pointer + d * H, ldy: ldy,
                        zeros: zeros.pointer, scratch: scratch.pointer)
                    pass.forward()
                }
                trace.gates.append(gl); trace.aux.append(al); trace.cellTanh.append(tl)
            }
            // Embedding: forward direction at each row's last step, backward direction at step 0.
            let last = trace.outputs[c.layerCount - 1].pointer
            let E = c.embeddingSize
            for row in 0..<B where batch.lengths[row] > 0 {
                let t = batch.lengths[row] - 1
                (trace.embedding.pointer + row * E).update(from: last + (t * B + row) * ldy, count: H)
                if D == 2 { (trace.embedding.pointer + row * E + H).update(from: last + row * ldy + H, count: H) }
            }
            let C = c.classCount
            for row in 0..<B { (trace.logits.pointer + row * C).update(from: p + layout.headBiasOffset, count: C) }
            MatrixProduct.gemm(.none, .transposed, m: B, n: C, k: E, a: trace.embedding.pointer,
                               b: p + layout.headWeightOffset, beta: 1, c: trace.logits.pointer)
        }
        return trace
    }

    /// Gradient of the loss w.r.t. every parameter, given dLoss/dLogits `[B][C]` in packed row order.
    func backward(_ trace: ForwardTrace, logitGradient: [Float]) -> [Float] {
        let c = configuration, H = c.hiddenSize, B = trace.batch.rows, T = trace.batch.steps
        let G = c.cell.gateCount * H, D = c.directions, ldy = H * D, E = c.embeddingSize, C = c.classCount
        var grad = [Float](repeating: 0, count: layout.totalCount)
        let dLogits = FloatBuffer(logitGradient)
        let dE = FloatBuffer(B * E)
        let ones = FloatBuffer([Float](repeating: 1, count: max(T * B, 1)))
        // GRU: every step's, written whole by each direction's backward pass (ended rows are zeroed
        // there). LSTM: one step's, of which the pass writes and reads the running rows only.
        let dAx = FloatBuffer(uninitialized: (c.cell == .lstm ? 1 : T) * B * G)
        let dAh = FloatBuffer(uninitialized: c.cell == .gru ? T * B * G : 0)
        let dh = FloatBuffer(B * H), dcell = FloatBuffer(B * H), zeros = FloatBuffer(H)
        let scratch = FloatBuffer(0)  // the backward pass needs no scratch
        parameters.withUnsafeBufferPointer { pp in
            grad.withUnsafeMutableBufferPointer { gp in
                let p = pp.baseAddress!, g = gp.baseAddress!
                MatrixProduct.gemm(.transposed, .none, m: C, n: E, k: B, a: dLogits.pointer,
                                   b: trace.embedding.pointer, beta: 1, c: g + layout.headWeightOffset)
                MatrixProduct.gemm(.transposed, .none, m: C, n: 1, k: B, a: dLogits.pointer,
                                   b: ones.pointer, beta: 1, c: g + layout.headBiasOffset)
                MatrixProduct.gemm(.none, .none, m: B, n: E, k: C, a: dLogits.pointer,
                                   b: p + layout.headWeightOffset, c: dE.pointer)
                var dy = FloatBuffer(T * B * ldy)
                for row in 0..<B where trace.batch.lengths[row] > 0 {
                    let t = trace.batch.lengths[row] - 1
                    let dst = dy.pointer + (t * B + row) * ldy
                    for j in 0..<H { dst[j] += dE.pointer[row * E + j] }
                    if D == 2 {
                        let dst0 = dy.pointer + row * ldy + H
                        for j in 0..<H { dst0[j] += dE.pointer[row * E + H + j] }
                    }
                }
                for l in stride(from: c.layerCount - 1, through: 0, by: -1) {
                    let din = c.layerInputSize(l)
                    let dx: FloatBuffer? = l > 0 ? FloatBuffer(T * B * din) : nil
                    for d in 0..<D {
                        let o = layout.cellOffsets[l][d]
                        let pass = DirectionPass(
                            cell: c.cell, steps: T, rows: B, hidden: H, inputWidth: din,
                            active: trace.batch.active, reverse: d == 1, x: trace.layerInput(l),
                            wih: p + o.wih, whh: p + o.whh, bih: p + o.bih, bhh: p + o.bhh,
                            h0: d == 0 ? trace.initial[l].map { UnsafePointer($0.pointer) } : nil,
                            c0: d == 0 ? trace.initialCells[l].map { UnsafePointer($0.pointer) } : nil,
                            gates: trace.gates[l][d].pointer, aux: trace.aux[l][d].pointer,
                            cellTanh: trace.cellTanh[l][d]?.pointer,
                            y: trace.outputs[l].pointer + d * H, ldy: ldy,
                            zeros: zeros.pointer, scratch: scratch.pointer)
                        pass.backward(dy: dy.pointer + d * H, dx: dx?.pointer,
                                      gwih: g + o.wih, gwhh: g + o.whh, gbih: g + o.bih, gbhh: g + o.bhh,
                                      dAx: dAx.pointer, dAh: c.cell == .gru ? dAh.pointer : dAx.pointer,
                                      dh: dh.pointer, dc: dcell.pointer, ones: ones.pointer)
                    }
                    if let dx {
                        if let mask = trace.dropoutMasks[l] {
                            for k in 0..<dx.count { dx.pointer[k] *= mask.pointer[k] }
                        }
                        dy = dx
                    }
                }
            }
        }
        return grad
    }
}
