import Foundation
import LinearAlgebra

/// Shape of the fully convolutional branch of LSTM-FCN (Karim et al. 2017): blocks of
/// Conv1d → BatchNorm1d → ReLU over time, then global average pooling. PyTorch equivalent, per
/// block i (1-based): `conv{i} = nn.Conv1d(C, F_i, K_i, padding="same")`, `bn{i} = nn.BatchNorm1d(F_i)`.
public struct ConvolutionBranchConfiguration: Sendable, Equatable, Codable {
    public var inputChannels: Int
    public var filters: [Int]
    public var kernels: [Int]
    public var batchNormEpsilon: Float
    public var batchNormMomentum: Float

    /// The published configuration: 128, 256, 128 filters with kernels 8, 5, 3.
    public init(inputChannels: Int, filters: [Int] = [128, 256, 128], kernels: [Int] = [8, 5, 3],
                batchNormEpsilon: Float = 1e-5, batchNormMomentum: Float = 0.1) {
        self.inputChannels = inputChannels
        self.filters = filters
        self.kernels = kernels
        self.batchNormEpsilon = batchNormEpsilon
        self.batchNormMomentum = batchNormMomentum
    }

    /// Width of the pooled features (the last block's filters).
    public var outputSize: Int { filters.last ?? inputChannels }

    public func channels(into block: Int) -> Int { block == 0 ? inputChannels : filters[block - 1] }

    public func validate() throws {
        func check(_ ok: Bool, _ why: String) throws { if !ok { throw RecurrentError.invalidConfiguration(why) } }
        try check(inputChannels >= 1, "the convolution branch needs at least 1 input channel (got \(inputChannels))")
        try check(!filters.isEmpty && filters.count == kernels.count, "give one kernel size per convolution block (\(filters.count) filters, \(kernels.count) kernels)")
        try check(filters.allSatisfy { $0 >= 1 && $0 <= 1 << 14 }, "filters must be between 1 and 16384 (got \(filters))")
        try check(kernels.allSatisfy { $0 >= 1 && $0 <= 1 << 10 }, "kernel sizes must be between 1 and 1024 (got \(kernels))")
        try check(batchNormEpsilon > 0 && batchNormMomentum > 0 && batchNormMomentum <= 1, "batch normalisation needs ε > 0 and momentum in (0, 1]")
    }
}

/// The convolution branch's parameters (PyTorch names and layouts) and batch-normalisation running
/// statistics, with forward and backward passes over sequences of any lengths.
///
/// Sequences are time-major `[T][C]`. A batch is processed as all its time steps stacked (Σ T_b
/// rows): each convolution is K OpenBLAS products of shifted views of the zero-padded rows (PyTorch's
/// "same" padding, left (K − 1)/2 and the rest on the right, around each sequence's own ends), batch statistics
/// run over every time step of every sequence, and the pooled feature of a sequence averages its
/// own steps — so a sequence's features do not depend on the lengths of the others in eval mode.
public struct ConvolutionBranch: Sendable, Equatable {
    public let configuration: ConvolutionBranchConfiguration
    public private(set) var tensors: [ParameterTensor] = []
    /// conv{i}.weight [F, C, K], conv{i}.bias [F], bn{i}.weight [F], bn{i}.bias [F], in that order per block.
    public var parameters: [Float]
    /// bn{i}.running_mean and bn{i}.running_var (buffers, not trained by gradient).
    public var runningMeans: [[Float]]
    public var runningVariances: [[Float]]

    struct BlockOffsets: Sendable, Equatable { var weight: Int; var bias: Int; var gamma: Int; var beta: Int }
    let offsets: [BlockOffsets]

    public init(configuration c: ConvolutionBranchConfiguration, prefix: String = "fcn.") throws {
        try c.validate()
        configuration = c
        var tensors: [ParameterTensor] = []
        var offset = 0
        func add(_ name: String, _ shape: [Int]) -> Int {
            let t = ParameterTensor(name: prefix + name, shape: shape, offset: offset)
            tensors.append(t)
            offset += t.count
            return t.offset
        }
        var offsets: [BlockOffsets] = []
        for (i, f) in c.filters.enumerated() {
            let w = add("conv\(i + 1).weight", [f, c.channels(into: i), c.kernels[i]])
            let b = add("conv\(i + 1).bias", [f])
            let g = add("bn\(i + 1).weight", [f])
            let be = add("bn\(i + 1).bias", [f])
            offsets.append(BlockOffsets(weight: w, bias: b, gamma: g, beta: be))
        }
        self.tensors = tensors
        self.offsets = offsets
        parameters = [Float](repeating: 0, count: offset)
        runningMeans = c.filters.map { [Float](repeating: 0, count: $0) }
        runningVariances = c.filters.map { [Float](repeating: 1, count: $0) }
        for (i, o) in offsets.enumerated() {
            for k in 0..<c.filters[i] { parameters[o.gamma + k] = 1 }
        }
    }

    /// PyTorch's default initialisation (Kaiming-uniform weights, uniform biases of bound 1/√fan-in;
    /// BN weight 1, bias 0), from a seeded generator.
    public init(configuration c: ConvolutionBranchConfiguration, seed: UInt64, prefix: String = "fcn.") throws {
        try self.init(configuration: c, prefix: prefix)
        var state = seed
        func uniform(_ bound: Float) -> Float {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return (Float(state >> 40) / Float(1 << 24) * 2 - 1) * bound
        }
        for (i, o) in offsets.enumerated() {
            let fanIn = c.channels(into: i) * c.kernels[i]
            let bound = 1 / Float(fanIn).squareRoot()
            for k in 0..<(c.filters[i] * fanIn) { parameters[o.weight + k] = uniform(bound) }
            for k in 0..<c.filters[i] { parameters[o.bias + k] = uniform(bound) }
        }
    }

    public var parameterCount: Int { parameters.count }

    public func tensor(named name: String) -> ParameterTensor? { tensors.first { $0.name == name } }

    /// What the backward pass needs from the forward pass (training mode keeps it all; eval mode
    /// keeps only the pooled features).
    public struct Trace: Sendable {
        let lengths: [Int]
        let training: Bool
        /// Per block: its input in the padded layout (`Padding`), normalised x̂ and post-BN z (both
        /// [R, F], valid steps only), and the batch (or running) inverse standard deviations.
        var padded: [[Float]] = []
        var normalised: [[Float]] = []
        var preActivation: [[Float]] = []
        var inverseSD: [[Float]] = []
        /// Pooled features, one row per sequence.
        public internal(set) var pooled: [[Float]] = []
    }

    /// Each sequence's steps with PyTorch's "same" zero padding around them — (K − 1)/2 rows before,
    /// the rest after — stacked: a convolution is then K products of shifted views of one matrix
    /// with the kernel's K slices, and no im2col copy is made.
    struct Padding {
        let kernel: Int
        let left: Int
        /// First padded row of each sequence; total padded rows.
        let offsets: [Int]
        let rows: Int
        /// Rows of the products (the last K − 1 padded rows start no output).
        var outputRows: Int { rows - kernel + 1 }

        init(lengths: [Int], kernel: Int) {
            self.kernel = kernel
            left = (kernel - 1) / 2
            var offsets: [Int] = [], r = 0
            for t in lengths { offsets.append(r); r += t + kernel - 1 }
            self.offsets = offsets
            rows = r
        }
    }

    /// The kernel as K slices [F][C] (`W_q[f][c] = weight[f][c][q]`), the layout the products read.
    func kernelSlices(_ block: Int) -> [Float] {
        let c = configuration, o = offsets[block], f = c.filters[block], cin = c.channels(into: block), k = c.kernels[block]
        var out = [Float](repeating: 0, count: k * f * cin)
        for q in 0..<k { for j in 0..<f { for ch in 0..<cin { out[(q * f + j) * cin + ch] = parameters[o.weight + (j * cin + ch) * k + q] } } }
        return out
    }

    /// Forward pass. `training`: batch statistics (and the running statistics are updated, as in
    /// PyTorch's train mode); otherwise the running statistics (eval mode).
    public mutating func forward(_ sequences: [[Float]], training: Bool) throws -> Trace {
        let c = configuration
        let lengths = try sequences.enumerated().map { b, s -> Int in
            guard !s.isEmpty, s.count % c.inputChannels == 0 else {
                throw RecurrentError.invalidInput("sequence \(b) has \(s.count) values, not a positive multiple of \(c.inputChannels) channels")
            }
            if let bad = s.firstIndex(where: { !$0.isFinite }) {
                throw RecurrentError.invalidInput("sequence \(b) value \(bad) is not finite")
            }
            return s.count / c.inputChannels
        }
        guard !lengths.isEmpty else { throw RecurrentError.invalidInput("no sequences") }
        let rows = lengths.reduce(0, +)
        if training && rows < 2 { throw RecurrentError.invalidInput("batch statistics need at least 2 time steps in the batch") }
        var trace = Trace(lengths: lengths, training: training)
        var x = sequences.flatMap { $0 }
        for (i, o) in offsets.enumerated() {
            let cin = c.channels(into: i), f = c.filters[i], k = c.kernels[i]
            let pad = Padding(lengths: lengths, kernel: k)
            let xp = Self.padded(x, lengths: lengths, channels: cin, padding: pad)
            let slices = kernelSlices(i)
            var full = [Float](repeating: 0, count: pad.outputRows * f)
            xp.withUnsafeBufferPointer { px in
                slices.withUnsafeBufferPointer { pw in
                    full.withUnsafeMutableBufferPointer { py in
                        for q in 0..<k {
                            MatrixProduct.gemm(.none, .transposed, m: pad.outputRows, n: f, k: cin, a: px.baseAddress! + q * cin,
                                               b: pw.baseAddress! + q * f * cin, beta: q == 0 ? 0 : 1, c: py.baseAddress!)
                        }
                    }
                }
            }
            // Valid output rows, plus the bias, in the compact layout.
            var y = [Float](repeating: 0, count: rows * f)
            var mean = [Float](repeating: 0, count: f), variance = [Float](repeating: 0, count: f)
            var sum = [Double](repeating: 0, count: f), squares = [Double](repeating: 0, count: f)
            parameters.withUnsafeBufferPointer { pp in
                let bias = pp.baseAddress! + o.bias
                y.withUnsafeMutableBufferPointer { py in
                    full.withUnsafeBufferPointer { pf in
                        var r = 0
                        for (b, t) in lengths.enumerated() {
                            for s in 0..<t {
                                let src = pf.baseAddress! + (pad.offsets[b] + s) * f, dst = py.baseAddress! + r * f
                                for j in 0..<f {
                                    let v = src[j] + bias[j]
                                    dst[j] = v
                                    if training { sum[j] += Double(v); squares[j] += Double(v) * Double(v) }
                                }
                                r += 1
                            }
                        }
                    }
                }
            }
            if training {
                for j in 0..<f {
                    let m = sum[j] / Double(rows)
                    let v = max(0, squares[j] / Double(rows) - m * m)
                    mean[j] = Float(m); variance[j] = Float(v)
                    let unbiased = Float(v * Double(rows) / Double(rows - 1))
                    runningMeans[i][j] = (1 - c.batchNormMomentum) * runningMeans[i][j] + c.batchNormMomentum * Float(m)
                    runningVariances[i][j] = (1 - c.batchNormMomentum) * runningVariances[i][j] + c.batchNormMomentum * unbiased
                }
            } else {
                mean = runningMeans[i]; variance = runningVariances[i]
            }
            let inv = variance.map { 1 / ($0 + c.batchNormEpsilon).squareRoot() }
            var xhat = training ? [Float](repeating: 0, count: rows * f) : []
            var z = training ? [Float](repeating: 0, count: rows * f) : []
            var a = [Float](repeating: 0, count: rows * f)
            parameters.withUnsafeBufferPointer { pp in
                let gamma = pp.baseAddress! + o.gamma, beta = pp.baseAddress! + o.beta
                y.withUnsafeBufferPointer { py in
                    a.withUnsafeMutableBufferPointer { pa in
                        xhat.withUnsafeMutableBufferPointer { ph in
                            z.withUnsafeMutableBufferPointer { pz in
                                for r in 0..<rows {
                                    for j in 0..<f {
                                        let idx = r * f + j
                                        let h = (py[idx] - mean[j]) * inv[j]
                                        let zz = gamma[j] * h + beta[j]
                                        if training { ph[idx] = h; pz[idx] = zz }
                                        pa[idx] = max(0, zz)
                                    }
                                }
                            }
                        }
                    }
                }
            }
            if training {
                trace.padded.append(xp)
                trace.normalised.append(xhat)
                trace.preActivation.append(z)
                trace.inverseSD.append(inv)
            }
            x = a
        }
        let f = c.outputSize
        var start = 0
        for t in lengths {
            var pooled = [Float](repeating: 0, count: f)
            for r in start..<(start + t) { for j in 0..<f { pooled[j] += x[r * f + j] } }
            trace.pooled.append(pooled.map { $0 / Float(t) })
            start += t
        }
        return trace
    }

    /// Gradient of a loss with respect to every parameter (same layout as `parameters`) and to the
    /// input (time-major, per sequence), given its gradient with respect to the pooled features.
    /// Needs a training-mode trace (batch statistics).
    public func backward(_ trace: Trace, pooledGradient: [[Float]]) throws -> (parameters: [Float], input: [[Float]]) {
        let c = configuration
        guard trace.training, trace.padded.count == offsets.count else {
            throw RecurrentError.invalidInput("backward needs the trace of a training-mode forward pass")
        }
        guard pooledGradient.count == trace.lengths.count, pooledGradient.allSatisfy({ $0.count == c.outputSize }) else {
            throw RecurrentError.invalidInput("pooled gradient must be \(trace.lengths.count) rows of \(c.outputSize)")
        }
        let rows = trace.lengths.reduce(0, +)
        var grad = [Float](repeating: 0, count: parameters.count)
        // d loss / d (block output) for the last block: the average pooling spread over each sequence's steps.
        var dA = [Float](repeating: 0, count: rows * c.outputSize)
        var start = 0
        for (b, t) in trace.lengths.enumerated() {
            for r in start..<(start + t) { for j in 0..<c.outputSize { dA[r * c.outputSize + j] = pooledGradient[b][j] / Float(t) } }
            start += t
        }
        for i in stride(from: offsets.count - 1, through: 0, by: -1) {
            let o = offsets[i], cin = c.channels(into: i), f = c.filters[i], k = c.kernels[i]
            let xhat = trace.normalised[i], z = trace.preActivation[i], inv = trace.inverseSD[i]
            var dZ = dA
            var sumDZ = [Double](repeating: 0, count: f), sumDZX = [Double](repeating: 0, count: f)
            dZ.withUnsafeMutableBufferPointer { pd in
                z.withUnsafeBufferPointer { pz in
                    xhat.withUnsafeBufferPointer { ph in
                        // Per row, Float partial sums (f of them), folded into Double per row.
                        var s1 = [Float](repeating: 0, count: f), s2 = [Float](repeating: 0, count: f)
                        for r in 0..<rows {
                            let base = r * f
                            for j in 0..<f {
                                let keep: Float = pz[base + j] > 0 ? 1 : 0
                                let d = pd[base + j] * keep
                                pd[base + j] = d
                                s1[j] += d; s2[j] += d * ph[base + j]
                            }
                            if r % 64 == 63 || r == rows - 1 {
                                for j in 0..<f { sumDZ[j] += Double(s1[j]); sumDZX[j] += Double(s2[j]); s1[j] = 0; s2[j] = 0 }
                            }
                        }
                    }
                }
            }
            for j in 0..<f {
                grad[o.gamma + j] = Float(sumDZX[j])
                grad[o.beta + j] = Float(sumDZ[j])
            }
            // d loss / d (convolution output incl. bias), scattered into the products' row layout.
            let pad = Padding(lengths: trace.lengths, kernel: k)
            var dFull = [Float](repeating: 0, count: pad.outputRows * f)
            let meanDZ = sumDZ.map { Float($0 / Double(rows)) }, meanDZX = sumDZX.map { Float($0 / Double(rows)) }
            let scale = (0..<f).map { parameters[o.gamma + $0] * inv[$0] }
            var biasGradient = [Float](repeating: 0, count: f)
            var r = 0
            dFull.withUnsafeMutableBufferPointer { pf in
                dZ.withUnsafeBufferPointer { pd in
                    xhat.withUnsafeBufferPointer { ph in
                        for (b, t) in trace.lengths.enumerated() {
                            for s in 0..<t {
                                let dst = (pad.offsets[b] + s) * f, src = r * f
                                for j in 0..<f {
                                    let d = scale[j] * (pd[src + j] - meanDZ[j] - ph[src + j] * meanDZX[j])
                                    pf[dst + j] = d
                                    biasGradient[j] += d
                                }
                                r += 1
                            }
                        }
                    }
                }
            }
            for j in 0..<f { grad[o.bias + j] = biasGradient[j] }
            let slices = kernelSlices(i)
            var dSlices = [Float](repeating: 0, count: k * f * cin)
            var dPadded = [Float](repeating: 0, count: pad.rows * cin)
            let xp = trace.padded[i]
            dFull.withUnsafeBufferPointer { pd in
                xp.withUnsafeBufferPointer { px in
                    slices.withUnsafeBufferPointer { pw in
                        dSlices.withUnsafeMutableBufferPointer { pdw in
                            dPadded.withUnsafeMutableBufferPointer { pdx in
                                for q in 0..<k {
                                    MatrixProduct.gemm(.transposed, .none, m: f, n: cin, k: pad.outputRows, a: pd.baseAddress!,
                                                       b: px.baseAddress! + q * cin, c: pdw.baseAddress! + q * f * cin)
                                    MatrixProduct.gemm(.none, .none, m: pad.outputRows, n: cin, k: f, a: pd.baseAddress!,
                                                       b: pw.baseAddress! + q * f * cin, beta: 1, c: pdx.baseAddress! + q * cin)
                                }
                            }
                        }
                    }
                }
            }
            for q in 0..<k { for j in 0..<f { for ch in 0..<cin { grad[o.weight + (j * cin + ch) * k + q] = dSlices[(q * f + j) * cin + ch] } } }
            // Back to the compact layout: the padded rows of each sequence's own steps.
            dA = [Float](repeating: 0, count: rows * cin)
            r = 0
            for (b, t) in trace.lengths.enumerated() {
                for s in 0..<t {
                    let src = (pad.offsets[b] + pad.left + s) * cin
                    for ch in 0..<cin { dA[r * cin + ch] = dPadded[src + ch] }
                    r += 1
                }
            }
        }
        var input: [[Float]] = []
        start = 0
        for t in trace.lengths {
            input.append(Array(dA[(start * c.inputChannels)..<((start + t) * c.inputChannels)]))
            start += t
        }
        return (grad, input)
    }

    /// The compact rows `[R][C]` in the padded layout: zeros around each sequence's steps.
    static func padded(_ x: [Float], lengths: [Int], channels cin: Int, padding pad: Padding) -> [Float] {
        var out = [Float](repeating: 0, count: pad.rows * cin)
        x.withUnsafeBufferPointer { px in
            out.withUnsafeMutableBufferPointer { po in
                var r = 0
                for (b, t) in lengths.enumerated() {
                    (po.baseAddress! + (pad.offsets[b] + pad.left) * cin).update(from: px.baseAddress! + r * cin, count: t * cin)
                    r += t
                }
            }
        }
        return out
    }
}
