import Foundation
import LinearAlgebra

/// Shape of LSTM-FCN (Karim et al. 2017): an LSTM over the dimension-shuffled series (M steps, one
/// per channel, of T values each) beside the convolution branch over the series as it is, their
/// final hidden state and pooled features concatenated into one linear softmax head.
/// PyTorch equivalent: `rnn = nn.LSTM(T, H, batch_first=True)`, `fcn` = `ConvolutionBranch`,
/// `head = nn.Linear(H + F, C)` on `[h_n, pooled]`.
public struct LSTMFCNConfiguration: Sendable, Equatable, Codable {
    /// M, channels per time step of the series.
    public var channels: Int
    /// T, the (fixed) series length: the LSTM reads it as the width of each shuffled step.
    public var length: Int
    public var hiddenSize: Int
    public var classCount: Int
    public var convolution: ConvolutionBranchConfiguration

    public init(channels: Int, length: Int, hiddenSize: Int = 8, classCount: Int,
                filters: [Int] = [128, 256, 128], kernels: [Int] = [8, 5, 3]) {
        self.channels = channels
        self.length = length
        self.hiddenSize = hiddenSize
        self.classCount = classCount
        convolution = ConvolutionBranchConfiguration(inputChannels: channels, filters: filters, kernels: kernels)
    }

    /// The LSTM part; its head holds the joint head's first H columns and its bias.
    public var recurrent: RecurrentConfiguration {
        RecurrentConfiguration(cell: .lstm, inputSize: length, hiddenSize: hiddenSize, classCount: classCount)
    }

    /// Width of the retrieval embedding: the pooled convolution features.
    public var embeddingSize: Int { convolution.outputSize }

    public func validate() throws {
        try recurrent.validate()
        try convolution.validate()
        guard channels >= 1 else { throw RecurrentError.invalidConfiguration("LSTM-FCN needs at least 1 channel (got \(channels))") }
    }
}

/// LSTM-FCN's forward and backward passes, built from `RecurrentNetwork` (the LSTM branch with the
/// head's LSTM columns and bias) and `ConvolutionBranch` (with the head's convolution columns), so
/// each part keeps the kernels its own parity and gradient tests check.
public struct LSTMFCNNetwork: Sendable, Equatable {
    public let configuration: LSTMFCNConfiguration
    public var recurrent: RecurrentNetwork
    public var convolution: ConvolutionBranch
    /// The joint head's columns for the pooled features, `[C][F]`.
    public var convolutionHead: [Float]

    /// PyTorch's default initialisation, seeded.
    public init(configuration c: LSTMFCNConfiguration, seed: UInt64) throws {
        try c.validate()
        configuration = c
        recurrent = try RecurrentNetwork(configuration: c.recurrent, seed: seed)
        convolution = try ConvolutionBranch(configuration: c.convolution, seed: seed &+ 0xFC)
        var state = seed &+ 0x4EAD
        let bound = 1 / Float(c.hiddenSize + c.convolution.outputSize).squareRoot()
        convolutionHead = (0..<(c.classCount * c.convolution.outputSize)).map { _ in
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return (Float(state >> 40) / Float(1 << 24) * 2 - 1) * bound
        }
    }

    /// Time-major `[T][M]` → the LSTM's `[M][T]`.
    static func shuffled(_ x: [Float], length t: Int, channels m: Int) -> [Float] {
        var out = [Float](repeating: 0, count: t * m)
        for i in 0..<t { for j in 0..<m { out[j * t + i] = x[i * m + j] } }
        return out
    }

    func check(_ sequences: [[Float]]) throws {
        let c = configuration
        guard !sequences.isEmpty else { throw RecurrentError.invalidInput("no sequences") }
        for (b, s) in sequences.enumerated() where s.count != c.length * c.channels {
            throw RecurrentError.invalidInput("sequence \(b) has \(s.count) values; LSTM-FCN reads series of exactly \(c.length) steps × \(c.channels) channels")
        }
    }

    public struct Trace {
        let recurrent: ForwardTrace
        let convolution: ConvolutionBranch.Trace
        /// Logits in the caller's order.
        public let logits: [[Float]]
        /// The pooled convolution features (the retrieval embedding), in the caller's order.
        public var embeddings: [[Float]] { convolution.pooled }
    }

    /// Forward pass; `training` uses batch statistics and updates the running ones (no dropout).
    public mutating func forward(_ sequences: [[Float]], training: Bool) throws -> Trace {
        try check(sequences)
        let c = configuration, classes = c.classCount, f = c.convolution.outputSize
        let batch = PackedBatch(sequences: sequences.map { Self.shuffled($0, length: c.length, channels: c.channels) }, width: c.length)
        let rt = recurrent.forward(batch)
        let ct = try convolution.forward(sequences, training: training)
        var logits = [[Float]](repeating: [Float](repeating: 0, count: classes), count: sequences.count)
        for (row, b) in batch.order.enumerated() {
            for k in 0..<classes {
                var v = rt.logits.pointer[row * classes + k]
                for j in 0..<f { v += convolutionHead[k * f + j] * ct.pooled[b][j] }
                logits[b][k] = v
            }
        }
        return Trace(recurrent: rt, convolution: ct, logits: logits)
    }

    /// Weighted mean cross-entropy (as `torch.nn.functional.cross_entropy(weight=)`) and its gradient:
    /// the recurrent part's (its `layout` order), the convolution branch's (its `tensors` order) and
    /// the convolution head's `[C][F]`.
    public mutating func lossAndGradient(sequences: [[Float]], labels: [Int], classWeights: [Float]? = nil, training: Bool = true) throws
        -> (loss: Double, recurrent: [Float], convolution: [Float], convolutionHead: [Float]) {
        let c = configuration, classes = c.classCount, f = c.convolution.outputSize
        guard labels.count == sequences.count, labels.allSatisfy({ (0..<classes).contains($0) }) else {
            throw RecurrentError.invalidInput("need one label in 0..<\(classes) per sequence (\(labels.count) labels for \(sequences.count) sequences)")
        }
        let trace = try forward(sequences, training: training)
        let flat = trace.logits.flatMap { $0 }
        let (loss, dLogits) = flat.withUnsafeBufferPointer {
            RecurrentNetwork.crossEntropy(logits: $0.baseAddress!, rows: sequences.count, classes: classes, labels: labels, classWeights: classWeights)
        }
        let order = trace.recurrent.batch.order
        var packed = [Float](repeating: 0, count: dLogits.count)
        for (row, b) in order.enumerated() { for k in 0..<classes { packed[row * classes + k] = dLogits[b * classes + k] } }
        let recurrentGradient = recurrent.backward(trace.recurrent, logitGradient: packed)
        var headGradient = [Float](repeating: 0, count: classes * f)
        var pooledGradient = [[Float]](repeating: [Float](repeating: 0, count: f), count: sequences.count)
        for b in 0..<sequences.count {
            for k in 0..<classes {
                let d = dLogits[b * classes + k]
                for j in 0..<f {
                    headGradient[k * f + j] += d * trace.convolution.pooled[b][j]
                    pooledGradient[b][j] += d * convolutionHead[k * f + j]
                }
            }
        }
        let convolutionGradient = try convolution.backward(trace.convolution, pooledGradient: pooledGradient).parameters
        return (loss, recurrentGradient, convolutionGradient, headGradient)
    }
}
