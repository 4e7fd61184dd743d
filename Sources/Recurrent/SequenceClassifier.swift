import Foundation

/// A trained (or imported) recurrent classifier: architecture, class labels in logit order, input
/// normalisation and weights, plus free-form provenance that is written into the model file.
public struct SequenceClassifier: Sendable, Equatable {
    /// The network behind the classifier.
    public enum Backbone: Sendable, Equatable {
        case recurrent(RecurrentNetwork)
        /// LSTM-FCN: reads series of one fixed length.
        case lstmFCN(LSTMFCNNetwork)
        /// Members trained with different seeds; their logits are averaged (one registered model).
        case ensemble([SequenceClassifier])
    }

    public var backbone: Backbone
    /// The recurrent network (for LSTM-FCN, its LSTM branch).
    public var network: RecurrentNetwork {
        get {
            switch backbone {
            case .recurrent(let n): return n
            case .lstmFCN(let n): return n.recurrent
            case .ensemble(let m): return m[0].network
            }
        }
        set {
            switch backbone {
            case .recurrent: backbone = .recurrent(newValue)
            case .lstmFCN(var n): n.recurrent = newValue; backbone = .lstmFCN(n)
            case .ensemble(var m): m[0].network = newValue; backbone = .ensemble(m)
            }
        }
    }
    public var classes: [String]
    public var normalization: FeatureNormalization
    /// Extra `__metadata__` entries (training provenance), written verbatim on export.
    public var provenance: [String: String]
    /// Consecutive time steps fed to the network as one input frame (a strided linear front end:
    /// `[T][D]` is read as `[T/k][k·D]`, so `inputSize = k·D`). 1 = the plain PyTorch network.
    public var stepsPerFrame: Int

    /// Width of one raw time step (before framing).
    public var stepWidth: Int {
        if case .lstmFCN(let n) = backbone { return n.configuration.channels }
        if case .ensemble(let m) = backbone { return m[0].stepWidth }
        return configuration.inputSize / stepsPerFrame
    }

    /// The recurrent configuration (for LSTM-FCN, its LSTM branch's: input size = series length).
    public var configuration: RecurrentConfiguration { network.configuration }

    /// Width of the embedding retrieval indexes: the final hidden state, or LSTM-FCN's pooled features.
    public var embeddingSize: Int {
        if case .lstmFCN(let n) = backbone { return n.configuration.embeddingSize }
        if case .ensemble(let m) = backbone { return m.reduce(0) { $0 + $1.embeddingSize } }
        return configuration.embeddingSize
    }

    /// Architecture name as registered and written into model files: lstm, gru or lstm-fcn.
    public var architectureName: String {
        if case .lstmFCN = backbone { return Self.lstmFCNArchitecture }
        if case .ensemble(let m) = backbone { return m[0].architectureName }
        return configuration.cell.rawValue
    }

    public static let lstmFCNArchitecture = "lstm-fcn"

    /// Members of an ensemble (1 for a single model).
    public var memberCount: Int {
        if case .ensemble(let m) = backbone { return m.count }
        return 1
    }

    /// An ensemble: the members' logits are averaged, their embeddings concatenated. Members must
    /// share classes and step width and not be ensembles themselves.
    public init(ensemble members: [SequenceClassifier], provenance: [String: String] = [:]) throws {
        guard members.count >= 2 else { throw RecurrentError.invalidConfiguration("an ensemble needs at least 2 members (got \(members.count))") }
        for (i, m) in members.enumerated() {
            guard m.memberCount == 1 else { throw RecurrentError.invalidConfiguration("ensemble member \(i) is itself an ensemble") }
            guard m.classes == members[0].classes, m.stepWidth == members[0].stepWidth else {
                throw RecurrentError.invalidConfiguration("ensemble member \(i) has classes \(m.classes) and step width \(m.stepWidth), member 0 \(members[0].classes) and \(members[0].stepWidth)")
            }
        }
        backbone = .ensemble(members)
        classes = members[0].classes
        normalization = members[0].normalization
        self.provenance = provenance
        stepsPerFrame = 1
    }

    /// An LSTM-FCN classifier; `normalization` is per channel.
    public init(lstmFCN: LSTMFCNNetwork, classes: [String], normalization: FeatureNormalization,
                provenance: [String: String] = [:]) throws {
        let c = lstmFCN.configuration
        guard classes.count == c.classCount, Set(classes).count == classes.count else {
            throw RecurrentError.invalidConfiguration("\(classes.count) distinct class labels needed for a head with \(c.classCount) outputs: \(classes)")
        }
        guard normalization.mean.count == c.channels else {
            throw RecurrentError.invalidConfiguration("normalisation has \(normalization.mean.count) features, the series have \(c.channels) channels")
        }
        backbone = .lstmFCN(lstmFCN)
        self.classes = classes
        self.normalization = normalization
        self.provenance = provenance
        stepsPerFrame = 1
    }

    public init(network: RecurrentNetwork, classes: [String], normalization: FeatureNormalization,
                provenance: [String: String] = [:], stepsPerFrame: Int = 1) throws {
        let c = network.configuration
        guard stepsPerFrame >= 1, c.inputSize % stepsPerFrame == 0 else {
            throw RecurrentError.invalidConfiguration(
                "steps per frame \(stepsPerFrame) must be ≥ 1 and divide the input size \(c.inputSize)")
        }
        guard classes.count == c.classCount else {
            throw RecurrentError.invalidConfiguration(
                "\(classes.count) class labels for a head with \(c.classCount) outputs")
        }
        guard Set(classes).count == classes.count else {
            throw RecurrentError.invalidConfiguration("class labels must be distinct: \(classes)")
        }
        guard normalization.mean.count == c.inputSize else {
            throw RecurrentError.invalidConfiguration(
                "normalisation has \(normalization.mean.count) features, the network expects \(c.inputSize)")
        }
        self.backbone = .recurrent(network)
        self.classes = classes
        self.normalization = normalization
        self.provenance = provenance
        self.stepsPerFrame = stepsPerFrame
    }

    /// Frames a raw sequence: pads to a whole number of frames by repeating the last step.
    public static func frame(_ sequence: [Float], stepWidth: Int, stepsPerFrame k: Int) -> [Float] {
        guard k > 1, !sequence.isEmpty else { return sequence }
        var out = sequence
        let steps = sequence.count / stepWidth
        let last = Array(sequence[((steps - 1) * stepWidth)...])
        for _ in 0..<((k - steps % k) % k) { out += last }
        return out
    }

    /// What the network sees: framed, then normalised.
    public func prepare(_ sequence: [Float]) -> [Float] {
        normalization.apply(Self.frame(sequence, stepWidth: stepWidth, stepsPerFrame: stepsPerFrame))
    }

    /// Checks a time-major `[length][inputSize]` sequence.
    func validate(_ sequence: [Float], index: Int? = nil) throws {
        if case .ensemble(let members) = backbone {
            for m in members { try m.validate(sequence, index: index) }
            return
        }
        let w = stepWidth
        let which = index.map { "sequence \($0)" } ?? "sequence"
        guard !sequence.isEmpty else { throw RecurrentError.invalidInput("\(which) is empty") }
        guard sequence.count % w == 0 else {
            throw RecurrentError.invalidInput(
                "\(which) has \(sequence.count) values, not a multiple of the input size \(w)")
        }
        if let k = sequence.firstIndex(where: { $0.isInfinite }) {
            throw RecurrentError.invalidInput("\(which) value \(k) (step \(k / w), feature \(k % w)) is infinite")
        }
        if case .lstmFCN(let n) = backbone {
            let c = n.configuration
            guard sequence.count == c.length * c.channels else {
                throw RecurrentError.invalidInput("\(which) has \(sequence.count / w) steps; this LSTM-FCN reads series of exactly \(c.length)")
            }
            if let k = sequence.firstIndex(where: { $0.isNaN }) {
                throw RecurrentError.invalidInput("\(which) value \(k) (step \(k / w), feature \(k % w)) is missing (NaN)")
            }
        }
    }

    /// Logits and embeddings for a batch of sequences (any lengths), in the caller's order.
    /// With `concurrency > 1` the batch is split into that many parts run on separate threads (set
    /// OpenBLAS to one thread then: its own threading costs more than it gains at these sizes).
    public func evaluate(_ sequences: [[Float]], concurrency: Int) throws -> (logits: [[Float]], embeddings: [[Float]]) {
        let parts = min(max(concurrency, 1), sequences.count / 16)
        guard parts > 1 else { return try evaluate(sequences) }
        for (i, s) in sequences.enumerated() { try validate(s, index: i) }
        let bounds = (0...parts).map { $0 * sequences.count / parts }
        var results = [(logits: [[Float]], embeddings: [[Float]])](repeating: ([], []), count: parts)
        let lock = NSLock()
        DispatchQueue.concurrentPerform(iterations: parts) { p in
            let r = evaluateValidated(Array(sequences[bounds[p]..<bounds[p + 1]]))
            lock.lock(); results[p] = r; lock.unlock()
        }
        return (results.flatMap(\.logits), results.flatMap(\.embeddings))
    }

    public func evaluate(_ sequences: [[Float]]) throws -> (logits: [[Float]], embeddings: [[Float]]) {
        for (i, s) in sequences.enumerated() { try validate(s, index: i) }
        return evaluateValidated(sequences)
    }

    /// `evaluate` for sequences already validated (the parallel path checks them all first).
    func evaluateValidated(_ sequences: [[Float]]) -> (logits: [[Float]], embeddings: [[Float]]) {
        guard !sequences.isEmpty else { return ([], []) }
        if case .ensemble(let members) = backbone {
            // Logit-space average; each member prepares the raw sequences itself.
            let results = members.map { $0.evaluateValidated(sequences) }
            let logits = sequences.indices.map { i in
                (0..<classes.count).map { k in results.reduce(Float(0)) { $0 + $1.logits[i][k] } / Float(members.count) }
            }
            let embeddings = sequences.indices.map { i in results.flatMap { $0.embeddings[i] } }
            return (logits, embeddings)
        }
        if case .lstmFCN(var n) = backbone {
            // Eval mode reads the running statistics only; the copy is never written back. The
            // sequences were validated (exact length, finite values), which is all forward checks.
            let trace = try! n.forward(sequences.map(prepare), training: false)
            return (trace.logits, trace.embeddings)
        }
        let batch = PackedBatch(sequences: sequences.map(prepare), width: configuration.inputSize)
        let result = network.infer(batch)
        let C = configuration.classCount, E = configuration.embeddingSize
        var logits = [[Float]](repeating: [], count: sequences.count)
        var embeddings = [[Float]](repeating: [], count: sequences.count)
        for row in 0..<batch.rows {
            let i = batch.order[row]
            logits[i] = Array(UnsafeBufferPointer(start: result.logits.pointer + row * C, count: C))
            embeddings[i] = Array(UnsafeBufferPointer(start: result.embedding.pointer + row * E, count: E))
        }
        return (logits, embeddings)
    }

    public func logits(_ sequences: [[Float]]) throws -> [[Float]] { try evaluate(sequences).logits }

    /// The embedding retrieval indexes: the last layer's final hidden state (forward, then backward).
    public func embeddings(_ sequences: [[Float]]) throws -> [[Float]] { try evaluate(sequences).embeddings }

    /// Batch-1 path: logits for one sequence.
    public func logits(for sequence: [Float]) throws -> [Float] {
        try validate(sequence)
        if case .recurrent = backbone {} else { return try evaluate([sequence]).logits[0] }
        let batch = PackedBatch(sequences: [prepare(sequence)], width: configuration.inputSize)
        return network.infer(batch).logits.array
    }

    public func embedding(for sequence: [Float]) throws -> [Float] {
        try validate(sequence)
        if case .recurrent = backbone {} else { return try evaluate([sequence]).embeddings[0] }
        let batch = PackedBatch(sequences: [prepare(sequence)], width: configuration.inputSize)
        return network.infer(batch).embedding.array
    }

    /// Softmax of the logits, computed stably in Double.
    public static func probabilities(_ logits: [Float]) -> [Float] {
        guard let m = logits.max() else { return [] }
        let e = logits.map { Foundation.exp(Double($0 - m)) }
        let s = e.reduce(0, +)
        return e.map { Float($0 / s) }
    }

    /// Index of the largest logit (first on ties).
    public static func argmax(_ logits: [Float]) -> Int {
        var best = 0
        for k in logits.indices where logits[k] > logits[best] { best = k }
        return best
    }
}
