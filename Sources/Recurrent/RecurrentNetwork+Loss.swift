import Foundation

extension RecurrentNetwork {
    /// Weighted mean cross-entropy as `torch.nn.functional.cross_entropy(weight=w)`:
    /// Σ w[y]·(−log p[y]) / Σ w[y]. Returns the loss and dLoss/dLogits, rows as given.
    static func crossEntropy(logits: UnsafePointer<Float>, rows: Int, classes: Int, labels: [Int],
                             classWeights: [Float]?) -> (loss: Double, gradient: [Float]) {
        var grad = [Float](repeating: 0, count: rows * classes)
        var total = 0.0, weightSum = 0.0
        var probs = [Double](repeating: 0, count: classes)
        for r in 0..<rows {
            let z = logits + r * classes
            var m = -Double.infinity
            for k in 0..<classes { m = max(m, Double(z[k])) }
            var s = 0.0
            for k in 0..<classes { probs[k] = Foundation.exp(Double(z[k]) - m); s += probs[k] }
            let y = labels[r]
            let w = Double(classWeights?[y] ?? 1)
            total += w * -(Double(z[y]) - m - Foundation.log(s))
            weightSum += w
            for k in 0..<classes { grad[r * classes + k] = Float(w * (probs[k] / s - (k == y ? 1 : 0))) }
        }
        let scale = weightSum > 0 ? 1 / weightSum : 0
        for k in grad.indices { grad[k] = Float(Double(grad[k]) * scale) }
        return (total * scale, grad)
    }

    /// Loss and gradient w.r.t. every parameter (flat, `layout` order) for already-normalised
    /// time-major sequences and integer labels. No dropout: this is the exact function being minimised
    /// at evaluation time, which the finite-difference gradient check compares against.
    public func lossAndGradient(sequences: [[Float]], labels: [Int], classWeights: [Float]? = nil) throws
        -> (loss: Double, gradient: [Float]) {
        try checkBatch(sequences: sequences, labels: labels)
        let batch = PackedBatch(sequences: sequences, width: configuration.inputSize)
        let trace = forward(batch)
        let (loss, dLogits) = Self.crossEntropy(logits: trace.logits.pointer, rows: batch.rows,
                                                classes: configuration.classCount,
                                                labels: batch.order.map { labels[$0] }, classWeights: classWeights)
        return (loss, backward(trace, logitGradient: dLogits))
    }

    /// Loss only (for finite differences and validation).
    public func loss(sequences: [[Float]], labels: [Int], classWeights: [Float]? = nil) throws -> Double {
        try checkBatch(sequences: sequences, labels: labels)
        let batch = PackedBatch(sequences: sequences, width: configuration.inputSize)
        let trace = forward(batch)
        return Self.crossEntropy(logits: trace.logits.pointer, rows: batch.rows, classes: configuration.classCount,
                                 labels: batch.order.map { labels[$0] }, classWeights: classWeights).loss
    }

    func checkBatch(sequences: [[Float]], labels: [Int]) throws {
        guard !sequences.isEmpty, sequences.count == labels.count else {
            throw RecurrentError.invalidInput("\(sequences.count) sequences but \(labels.count) labels")
        }
        let w = configuration.inputSize
        for (i, s) in sequences.enumerated() {
            guard !s.isEmpty, s.count % w == 0 else {
                throw RecurrentError.invalidInput("sequence \(i) has \(s.count) values, not a positive multiple of \(w)")
            }
            guard (0..<configuration.classCount).contains(labels[i]) else {
                throw RecurrentError.invalidInput("label \(labels[i]) of sequence \(i) is outside 0..<\(configuration.classCount)")
            }
        }
    }

    /// Sets parameter `index` (flat) — used by gradient checks and tests.
    public mutating func setParameter(_ index: Int, to value: Float) { parameters[index] = value }
}
