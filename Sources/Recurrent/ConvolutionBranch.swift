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
/// rows): each convolution is one im2col product through OpenBLAS, "same" padding (PyTorch's: left
/// (K − 1)/2, the rest on the right) pads each sequence with zeros at its own ends, batch statistics
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

    /// What the backward pass needs from the forward pass.
    public struct Trace: Sendable {
        let lengths: [Int]
        let training: Bool
        /// Per block: its input [R, C] (time-major rows), im2col matrix, normalised x̂ and post-BN z (both [R, F]),
        /// and the batch (or running) inverse standard deviations.
        var inputs: [[Float]] = []
        var columns: [[Float]] = []
        var normalised: [[Float]] = []
        var preActivation: [[Float]] = []
        var inverseSD: [[Float]] = []
        /// Pooled features, one row per sequence.
        public internal(set) var pooled: [[Float]] = []
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
            let col = Self.im2col(x, lengths: lengths, channels: cin, kernel: k)
            var y = [Float](repeating: 0, count: rows * f)
            col.withUnsafeBufferPointer { pc in
                parameters.withUnsafeBufferPointer { pw in
                    y.withUnsafeMutableBufferPointer { py in
                        MatrixProduct.gemm(.none, .transposed, m: rows, n: f, k: cin * k, a: pc.baseAddress!,
                                           b: pw.baseAddress! + o.weight, c: py.baseAddress!)
                    }
                }
            }
            var mean = [Float](repeating: 0, count: f), variance = [Float](repeating: 0, count: f)
            if training {
                var sum = [Double](repeating: 0, count: f), squares = [Double](repeating: 0, count: f)
                for r in 0..<rows {
                    for j in 0..<f {
                        let v = Double(y[r * f + j] + parameters[o.bias + j])
                        sum[j] += v; squares[j] += v * v
                    }
                }
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
            var xhat = [Float](repeating: 0, count: rows * f), z = xhat, a = xhat
            for r in 0..<rows {
                for j in 0..<f {
                    let idx = r * f + j
                    let h = (y[idx] + parameters[o.bias + j] - mean[j]) * inv[j]
                    xhat[idx] = h
                    z[idx] = parameters[o.gamma + j] * h + parameters[o.beta + j]
                    a[idx] = max(0, z[idx])
                }
            }
            trace.inputs.append(x)
            trace.columns.append(col)
            trace.normalised.append(xhat)
            trace.preActivation.append(z)
            trace.inverseSD.append(inv)
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

    /// Gradient of a loss with respect to every parameter (same layout as `parameters`), given its
    /// gradient with respect to the pooled features. With `inputGradient`, also d loss / d input (time-major, per sequence).
    public func backward(_ trace: Trace, pooledGradient: [[Float]]) throws -> (parameters: [Float], input: [[Float]]) {
        let c = configuration
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
            for idx in dZ.indices where z[idx] <= 0 { dZ[idx] = 0 }
            var sumDZ = [Double](repeating: 0, count: f), sumDZX = [Double](repeating: 0, count: f)
            for r in 0..<rows {
                for j in 0..<f {
                    let idx = r * f + j
                    sumDZ[j] += Double(dZ[idx]); sumDZX[j] += Double(dZ[idx] * xhat[idx])
                }
            }
            for j in 0..<f {
                grad[o.gamma + j] = Float(sumDZX[j])
                grad[o.beta + j] = Float(sumDZ[j])
            }
            // d loss / d (convolution output incl. bias).
            var dY = [Float](repeating: 0, count: rows * f)
            for r in 0..<rows {
                for j in 0..<f {
                    let idx = r * f + j
                    let g = parameters[o.gamma + j] * inv[j]
                    dY[idx] = trace.training
                        ? g * (dZ[idx] - Float(sumDZ[j] / Double(rows)) - xhat[idx] * Float(sumDZX[j] / Double(rows)))
                        : g * dZ[idx]
                }
            }
            for r in 0..<rows { for j in 0..<f { grad[o.bias + j] += dY[r * f + j] } }
            let width = cin * k
            let col = trace.columns[i]
            var dW = [Float](repeating: 0, count: f * width)
            var dCol = [Float](repeating: 0, count: rows * width)
            dY.withUnsafeBufferPointer { pdy in
                col.withUnsafeBufferPointer { pc in
                    dW.withUnsafeMutableBufferPointer { pdw in
                        MatrixProduct.gemm(.transposed, .none, m: f, n: width, k: rows, a: pdy.baseAddress!, b: pc.baseAddress!,
                                           c: pdw.baseAddress!)
                    }
                }
                parameters.withUnsafeBufferPointer { pw in
                    dCol.withUnsafeMutableBufferPointer { pdc in
                        MatrixProduct.gemm(.none, .none, m: rows, n: width, k: f, a: pdy.baseAddress!, b: pw.baseAddress! + o.weight,
                                           c: pdc.baseAddress!)
                    }
                }
            }
            for q in 0..<(f * width) { grad[o.weight + q] = dW[q] }
            dA = Self.col2im(dCol, lengths: trace.lengths, channels: cin, kernel: k)
        }
        var input: [[Float]] = []
        start = 0
        for t in trace.lengths {
            input.append(Array(dA[(start * c.inputChannels)..<((start + t) * c.inputChannels)]))
            start += t
        }
        return (grad, input)
    }

    /// PyTorch's "same" padding for stride 1: (K − 1)/2 zeros before, the rest after.
    static func leftPadding(_ kernel: Int) -> Int { (kernel - 1) / 2 }

    /// im2col over stacked sequences: row r (step t of its sequence), column c·K + k holds
    /// x[t + k − left, c], zero outside the sequence.
    static func im2col(_ x: [Float], lengths: [Int], channels cin: Int, kernel k: Int) -> [Float] {
        let rows = lengths.reduce(0, +), width = cin * k, left = leftPadding(k)
        var col = [Float](repeating: 0, count: rows * width)
        var start = 0
        for t in lengths {
            for s in 0..<t {
                let r = start + s
                for q in 0..<k {
                    let source = s + q - left
                    guard source >= 0, source < t else { continue }
                    for ch in 0..<cin { col[r * width + ch * k + q] = x[(start + source) * cin + ch] }
                }
            }
            start += t
        }
        return col
    }

    /// The adjoint of `im2col`: sums each column entry back onto the input step it was read from.
    static func col2im(_ col: [Float], lengths: [Int], channels cin: Int, kernel k: Int) -> [Float] {
        let rows = lengths.reduce(0, +), width = cin * k, left = leftPadding(k)
        var x = [Float](repeating: 0, count: rows * cin)
        var start = 0
        for t in lengths {
            for s in 0..<t {
                let r = start + s
                for q in 0..<k {
                    let source = s + q - left
                    guard source >= 0, source < t else { continue }
                    for ch in 0..<cin { x[(start + source) * cin + ch] += col[r * width + ch * k + q] }
                }
            }
            start += t
        }
        return x
    }
}
