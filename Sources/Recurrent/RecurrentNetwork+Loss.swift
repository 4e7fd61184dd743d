import Foundation
import Randomness

extension RecurrentNetwork {
    /// Weighted mean cross-entropy as `torch.nn.functional.cross_entropy(weight=w)`:
    /// Σ w[y]·(−log p[y]) / Σ w[y]. Returns the loss and dLoss/dLogits, rows as given.
    static func crossEntropy(logits: UnsafePointer<Float>, rows: Int, classes: Int, labels: [Int],
                             classWeights: [Float]?, totalWeight: Double? = nil) -> (loss: Double, gradient: [Float]) {
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
        // With `totalWeight` (data-parallel parts of one batch) the normaliser is the whole batch's.
        let denominator = totalWeight ?? weightSum
        let scale = denominator > 0 ? 1 / denominator : 0
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

    /// As `lossAndGradient(sequences:labels:classWeights:)`, computed by `concurrency` threads that
    /// each take every `concurrency`-th sequence; the shares are summed in a fixed order.
    public func lossAndGradient(sequences: [[Float]], labels: [Int], classWeights: [Float]? = nil,
                                concurrency: Int) throws -> (loss: Double, gradient: [Float]) {
        try checkBatch(sequences: sequences, labels: labels)
        let batch = PackedBatch(sequences: sequences, width: configuration.inputSize)
        let parts = min(max(concurrency, 1), batch.rows)
        return parallelGradient(batch: batch, labels: batch.order.map { labels[$0] }, parts: parts, dropout: 0,
                                seeds: [UInt64](repeating: 0, count: parts), classWeights: classWeights)
    }

    /// Gradient of the whole batch's (weighted mean) loss, with rows dealt round-robin to `parts`
    /// threads. `labels` are in packed row order; `seeds` drive each part's dropout.
    func parallelGradient(batch: PackedBatch, labels: [Int], parts: Int, dropout: Float, seeds: [UInt64],
                          classWeights: [Float]?) -> (loss: Double, gradient: [Float]) {
        let C = configuration.classCount
        let groups = (0..<parts).map { p in Array(stride(from: p, to: batch.rows, by: parts)) }
        let totalWeight = labels.reduce(0.0) { $0 + Double(classWeights?[$1] ?? 1) }
        var results = [(loss: Double, gradient: [Float])?](repeating: nil, count: parts)
        let lock = NSLock()
        DispatchQueue.concurrentPerform(iterations: parts) { p in
            let sub = batch.subset(groups[p])
            var local = SeededGenerator(seed: seeds[p])
            let trace = withUnsafeMutablePointer(to: &local) { r in
                forward(sub, dropout: dropout, rng: dropout > 0 ? r : nil)
            }
            let (loss, dLogits) = Self.crossEntropy(
                logits: trace.logits.pointer, rows: sub.rows, classes: C, labels: groups[p].map { labels[$0] },
                classWeights: classWeights, totalWeight: totalWeight)
            let grad = backward(trace, logitGradient: dLogits)
            lock.lock(); results[p] = (loss, grad); lock.unlock()
        }
        var grad = results[0]!.gradient
        var loss = results[0]!.loss
        for p in 1..<parts {
            let g = results[p]!.gradient
            for k in grad.indices { grad[k] += g[k] }
            loss += results[p]!.loss
        }
        return (loss, grad)
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
