/// The recurrent cell: LSTM (with forget gate, PyTorch gate order i, f, g, o) or GRU (r, z, n).
public enum CellKind: String, Sendable, Codable, CaseIterable {
    case lstm, gru

    /// Number of gate blocks stacked in the fused weight matrices.
    public var gateCount: Int { self == .lstm ? 4 : 3 }
}

/// Shape of a `torch.nn.LSTM`/`GRU` with `batch_first=True` followed by a `Linear` head.
public struct RecurrentConfiguration: Sendable, Equatable, Codable {
    public var cell: CellKind
    public var inputSize: Int
    public var hiddenSize: Int
    public var layerCount: Int
    public var bidirectional: Bool
    public var classCount: Int

    public init(cell: CellKind, inputSize: Int, hiddenSize: Int, layerCount: Int = 1,
                bidirectional: Bool = false, classCount: Int) {
        self.cell = cell
        self.inputSize = inputSize
        self.hiddenSize = hiddenSize
        self.layerCount = layerCount
        self.bidirectional = bidirectional
        self.classCount = classCount
    }

    public var directions: Int { bidirectional ? 2 : 1 }
    /// Width of the embedding: the last layer's final hidden state, forward then backward.
    public var embeddingSize: Int { hiddenSize * directions }
    /// Width of the input to layer `layer`.
    public func layerInputSize(_ layer: Int) -> Int { layer == 0 ? inputSize : hiddenSize * directions }

    public func validate() throws {
        func check(_ ok: Bool, _ why: String) throws {
            if !ok { throw RecurrentError.invalidConfiguration(why) }
        }
        try check(inputSize >= 1, "input size must be at least 1 (got \(inputSize))")
        try check(hiddenSize >= 1, "hidden size must be at least 1 (got \(hiddenSize))")
        try check(layerCount >= 1, "layer count must be at least 1 (got \(layerCount))")
        try check(classCount >= 2, "a classifier needs at least 2 classes (got \(classCount))")
        try check(inputSize <= 1 << 20 && hiddenSize <= 1 << 16 && layerCount <= 64 && classCount <= 1 << 20,
                  "sizes are implausibly large")
    }
}

/// One named tensor inside the flat parameter vector.
public struct ParameterTensor: Sendable, Equatable {
    public var name: String
    public var shape: [Int]
    public var offset: Int
    public var count: Int { shape.reduce(1, *) }
}

/// Where each PyTorch-named tensor lives inside the flat parameter (and gradient) vector.
/// Order follows PyTorch's `state_dict`: per layer, per direction `weight_ih`, `weight_hh`,
/// `bias_ih`, `bias_hh`; then `head.weight`, `head.bias`.
public struct ParameterLayout: Sendable, Equatable {
    public let configuration: RecurrentConfiguration
    public private(set) var tensors: [ParameterTensor] = []
    public private(set) var totalCount = 0
    /// Offsets of (weight_ih, weight_hh, bias_ih, bias_hh) for each [layer][direction].
    let cellOffsets: [[(wih: Int, whh: Int, bih: Int, bhh: Int)]]
    let headWeightOffset: Int
    let headBiasOffset: Int

    public init(_ c: RecurrentConfiguration) {
        configuration = c
        var tensors: [ParameterTensor] = []
        var offset = 0
        func add(_ name: String, _ shape: [Int]) -> Int {
            let t = ParameterTensor(name: name, shape: shape, offset: offset)
            tensors.append(t)
            offset += t.count
            return t.offset
        }
        let g = c.cell.gateCount * c.hiddenSize
        var cells: [[(wih: Int, whh: Int, bih: Int, bhh: Int)]] = []
        for layer in 0..<c.layerCount {
            var dirs: [(wih: Int, whh: Int, bih: Int, bhh: Int)] = []
            for d in 0..<c.directions {
                let suffix = "l\(layer)" + (d == 1 ? "_reverse" : "")
                let wih = add("rnn.weight_ih_\(suffix)", [g, c.layerInputSize(layer)])
                let whh = add("rnn.weight_hh_\(suffix)", [g, c.hiddenSize])
                let bih = add("rnn.bias_ih_\(suffix)", [g])
                let bhh = add("rnn.bias_hh_\(suffix)", [g])
                dirs.append((wih, whh, bih, bhh))
            }
            cells.append(dirs)
        }
        cellOffsets = cells
        headWeightOffset = add("head.weight", [c.classCount, c.embeddingSize])
        headBiasOffset = add("head.bias", [c.classCount])
        self.tensors = tensors
        totalCount = offset
    }

    public func tensor(named name: String) -> ParameterTensor? { tensors.first { $0.name == name } }

    public static func == (a: ParameterLayout, b: ParameterLayout) -> Bool {
        a.configuration == b.configuration
    }
}
