import Foundation
import LinearAlgebra
import Randomness

/// Sequences (time-major `[length][width]`, raw — normalisation is fitted by the trainer) and labels.
public struct LabeledSequences: Sendable {
    public var sequences: [[Float]]
    public var labels: [Int]
    public init(sequences: [[Float]], labels: [Int]) {
        self.sequences = sequences
        self.labels = labels
    }
    public var count: Int { sequences.count }
}

/// How to train. Defaults follow common practice for small clinical time series.
public struct TrainingConfiguration: Sendable {
    public var epochs = 100
    public var batchSize = 32
    public var learningRate: Float = 1e-3
    public var optimizer: OptimizerKind = .adam
    public var weightDecay: Float = 0
    /// Clip the global gradient norm to this value (`nil`: no clipping).
    public var gradientClipNorm: Float? = 1
    /// Dropout between stacked layers (training only).
    public var dropout: Float = 0
    /// Truncated BPTT window in steps (`nil`: full BPTT). The state is carried across windows, the
    /// gradient stops at each window boundary, and the head is trained on each window's final state.
    public var truncation: Int?
    /// Stop when the validation loss has not improved for this many epochs (`nil`: never).
    public var patience: Int? = 20
    public var seed: UInt64 = 0
    public var classWeights: [Float]?
    /// Fraction of the training data held out for validation when no validation split is given.
    public var validationFraction = 0.0
    /// Reduce-on-plateau: multiply the learning rate by `learningRateFactor`
    /// when the validation loss has not improved for this many epochs, down to `minimumLearningRate`
    /// (`nil`: constant learning rate).
    public var reduceLearningRateAfter: Int?
    public var learningRateFactor: Float = 0.5
    public var minimumLearningRate: Float = 1e-4
    /// Raw time steps per network input frame (see `SequenceClassifier.stepsPerFrame`); the
    /// architecture's `inputSize` must be `stepsPerFrame ×` the raw step width.
    public var stepsPerFrame = 1
    /// Data-parallel threads per mini-batch (full BPTT only): each computes the gradient of a share
    /// of the batch and the shares are summed in a fixed order, so results stay deterministic for a
    /// given setting (but differ in the last bits between settings). Set OpenBLAS to one thread.
    public var concurrency = 1

    public init() {}
}

/// Progress after one epoch (the library never prints; the CLI draws this).
public struct EpochReport: Sendable {
    public var epoch: Int
    public var epochs: Int
    public var trainingLoss: Double
    public var validationLoss: Double?
    public var validationAccuracy: Double?
    public var elapsedSeconds: Double
    public var isBest: Bool
}

public struct TrainingOutcome: Sendable {
    public var classifier: SequenceClassifier
    public var history: [EpochReport]
    /// Epoch (1-based) whose weights were kept.
    public var bestEpoch: Int
    public var stoppedEarly: Bool
}

public enum Trainer {
    /// Trains a classifier. Deterministic for a seed (same machine and BLAS thread count).
    public static func train(architecture: RecurrentConfiguration, classes: [String],
                             training: LabeledSequences, validation: LabeledSequences? = nil,
                             settings: TrainingConfiguration,
                             progress: ((EpochReport) -> Void)? = nil) throws -> TrainingOutcome {
        var arch = architecture
        arch.classCount = classes.count
        try arch.validate()
        guard settings.epochs >= 1 else { throw RecurrentError.training("epochs must be at least 1") }
        guard settings.batchSize >= 1 else { throw RecurrentError.training("batch size must be at least 1") }
        guard settings.dropout >= 0, settings.dropout < 1 else { throw RecurrentError.training("dropout must be in [0, 1)") }
        guard settings.learningRate > 0, settings.learningRate.isFinite else {
            throw RecurrentError.training("learning rate must be positive")
        }
        if let k = settings.truncation {
            guard k >= 1 else { throw RecurrentError.training("truncation window must be at least 1 step") }
            guard !arch.bidirectional else {
                throw RecurrentError.training("truncated BPTT needs a unidirectional network (the backward direction would see the future of each window)")
            }
        }
        if let w = settings.classWeights {
            guard w.count == classes.count, w.allSatisfy({ $0 >= 0 && $0.isFinite }) else {
                throw RecurrentError.training("class weights need \(classes.count) finite non-negative values")
            }
        }
        let k = settings.stepsPerFrame
        guard k >= 1, arch.inputSize % k == 0 else {
            throw RecurrentError.training("input size \(arch.inputSize) is not a multiple of steps per frame \(k)")
        }
        let stepWidth = arch.inputSize / k
        func framed(_ data: LabeledSequences) throws -> LabeledSequences {
            for (i, s) in data.sequences.enumerated() where s.isEmpty || s.count % stepWidth != 0 {
                throw RecurrentError.invalidInput("sequence \(i) has \(s.count) values, not a positive multiple of \(stepWidth)")
            }
            return LabeledSequences(sequences: data.sequences.map {
                SequenceClassifier.frame($0, stepWidth: stepWidth, stepsPerFrame: k) }, labels: data.labels)
        }
        let training = try framed(training)
        let validation = try validation.map(framed)
        var rng = SeededGenerator(seed: settings.seed)
        let (train, valid) = holdOut(training, validation: validation, fraction: settings.validationFraction, rng: &rng)
        guard train.count > 0 else { throw RecurrentError.training("no training sequences") }
        var network = try RecurrentNetwork(configuration: arch, seed: settings.seed &+ 0x5EED)
        try network.checkBatch(sequences: train.sequences, labels: train.labels)
        let normalization = FeatureNormalization.fit(train.sequences, width: arch.inputSize)
        let trainX = train.sequences.map(normalization.apply)
        var validX: [[Float]] = []
        if let v = valid, v.count > 0 {
            try network.checkBatch(sequences: v.sequences, labels: v.labels)
            validX = v.sequences.map(normalization.apply)
        }
        var optimizer = AdamOptimizer(kind: settings.optimizer, parameterCount: network.layout.totalCount,
                                      learningRate: settings.learningRate, weightDecay: settings.weightDecay)
        let loop = try epochLoop(settings: settings, count: train.count, rng: &rng, state: { network.parameters },
            step: { rows, rng in
                let batch = PackedBatch(sequences: rows.map { trainX[$0] }, width: arch.inputSize)
                let labels = batch.order.map { train.labels[rows[$0]] }
                return try step(&network, batch: batch, labels: labels, optimizer: &optimizer, settings: settings, rng: &rng)
            },
            validate: validX.isEmpty || valid == nil ? nil : {
                evaluate(network, sequences: validX, labels: valid!.labels, classWeights: settings.classWeights)
            },
            reduceLearningRate: { optimizer.learningRate = max(settings.minimumLearningRate, optimizer.learningRate * settings.learningRateFactor) },
            progress: progress)
        network.parameters = loop.best
        let classifier = try SequenceClassifier(network: network, classes: classes, normalization: normalization,
                                                stepsPerFrame: k)
        return TrainingOutcome(classifier: classifier, history: loop.history, bestEpoch: loop.bestEpoch,
                               stoppedEarly: loop.stoppedEarly)
    }

    /// The epoch loop both trainers share: seeded shuffles into mini-batches (`step` trains on one and
    /// returns its mean loss), validation after each epoch, the epoch with the lowest validation loss
    /// kept (`state` snapshots it; without validation data, the last epoch), early stopping after
    /// `patience` epochs without improvement, and reduce-on-plateau after `reduceLearningRateAfter`.
    static func epochLoop<State>(settings: TrainingConfiguration, count: Int, rng: inout SeededGenerator,
                                 state: () -> State, step: ([Int], inout SeededGenerator) throws -> Double,
                                 validate: (() throws -> (loss: Double, accuracy: Double))?,
                                 reduceLearningRate: () -> Void, progress: ((EpochReport) -> Void)?) throws
        -> (history: [EpochReport], bestEpoch: Int, best: State, stoppedEarly: Bool) {
        var history: [EpochReport] = []
        var best = (loss: Double.infinity, epoch: 0, state: state())
        var lastImprovement = 0
        var stoppedEarly = false
        let start = Date()
        var order = Array(0..<count)
        for epoch in 1...settings.epochs {
            rng.shuffleByRemainder(&order)
            var lossSum = 0.0, seen = 0
            for first in stride(from: 0, to: order.count, by: settings.batchSize) {
                let rows = Array(order[first..<min(first + settings.batchSize, order.count)])
                let loss = try step(rows, &rng)
                guard loss.isFinite else {
                    throw RecurrentError.training("loss became \(loss) in epoch \(epoch); lower the learning rate")
                }
                lossSum += loss * Double(rows.count); seen += rows.count
            }
            var report = EpochReport(epoch: epoch, epochs: settings.epochs, trainingLoss: lossSum / Double(seen),
                                     validationLoss: nil, validationAccuracy: nil,
                                     elapsedSeconds: Date().timeIntervalSince(start), isBest: false)
            if let validate {
                let (loss, accuracy) = try validate()
                report.validationLoss = loss
                report.validationAccuracy = accuracy
                if loss < best.loss {
                    best = (loss, epoch, state())
                    lastImprovement = epoch
                    report.isBest = true
                } else if let after = settings.reduceLearningRateAfter, epoch - lastImprovement >= after {
                    reduceLearningRate()
                    lastImprovement = epoch   // wait another `after` epochs before the next cut
                }
            } else {
                best = (report.trainingLoss, epoch, state())
                report.isBest = true
            }
            report.elapsedSeconds = Date().timeIntervalSince(start)
            history.append(report)
            progress?(report)
            if let patience = settings.patience, validate != nil, epoch - best.epoch >= patience {
                stoppedEarly = epoch < settings.epochs
                break
            }
        }
        guard best.epoch >= 1 else {
            throw RecurrentError.training("the validation loss was never finite; check the validation data")
        }
        return (history, best.epoch, best.state, stoppedEarly)
    }

    /// The validation set: the one given, else a seeded `fraction` of the training data (never the test split).
    static func holdOut(_ training: LabeledSequences, validation: LabeledSequences?, fraction: Double,
                        rng: inout SeededGenerator) -> (train: LabeledSequences, validation: LabeledSequences?) {
        guard validation == nil, fraction > 0 else { return (training, validation) }
        var idx = Array(0..<training.count)
        rng.shuffleByRemainder(&idx)
        let nv = Int((Double(training.count) * fraction).rounded())
        let v = idx[0..<nv], t = idx[nv...]
        return (LabeledSequences(sequences: t.map { training.sequences[$0] }, labels: t.map { training.labels[$0] }),
                LabeledSequences(sequences: v.map { training.sequences[$0] }, labels: v.map { training.labels[$0] }))
    }

    /// One optimiser step (full BPTT) or one step per window (truncated BPTT). Returns the mean loss.
    static func step(_ network: inout RecurrentNetwork, batch: PackedBatch, labels: [Int],
                     optimizer: inout AdamOptimizer, settings: TrainingConfiguration,
                     rng: inout SeededGenerator) throws -> Double {
        let C = network.configuration.classCount
        func update(_ window: PackedBatch, _ initial: [LayerState]?) -> (Double, ForwardTrace) {
            let trace = withUnsafeMutablePointer(to: &rng) { r in
                network.forward(window, dropout: settings.dropout, rng: settings.dropout > 0 ? r : nil,
                                initial: initial)
            }
            let (loss, dLogits) = RecurrentNetwork.crossEntropy(
                logits: trace.logits.pointer, rows: window.rows, classes: C,
                labels: Array(labels[0..<window.rows]), classWeights: settings.classWeights)
            var grad = network.backward(trace, logitGradient: dLogits)
            if let maxNorm = settings.gradientClipNorm { clipGlobalNorm(&grad, maxNorm: maxNorm) }
            optimizer.update(&network.parameters, gradient: grad)
            return (loss, trace)
        }
        let parts = min(max(settings.concurrency, 1), batch.rows / 8)
        if settings.truncation == nil || settings.truncation! >= batch.steps, parts > 1 {
            return parallelStep(&network, batch: batch, labels: labels, parts: parts, optimizer: &optimizer,
                                settings: settings, rng: &rng)
        }
        guard let k = settings.truncation, k < batch.steps else { return update(batch, nil).0 }
        var carried: [LayerState]?
        var lossSum = 0.0, windows = 0
        let H = network.configuration.hiddenSize
        for start in stride(from: 0, to: batch.steps, by: k) {
            let window = batch.window(start: start, span: k)
            if window.rows == 0 { break }
            let initial = carried.map { states in
                states.map { LayerState(h: Array($0.h[0..<(window.rows * H)]), c: Array($0.c[0..<(window.rows * H)])) }
            }
            let (loss, trace) = update(window, initial)
            lossSum += loss; windows += 1
            // Carry the state forward without its history: the next window's gradient stops here.
            carried = trace.finalStates()
        }
        return lossSum / Double(max(windows, 1))
    }

    /// Full-BPTT step with the batch's rows dealt round-robin to `parts` threads.
    static func parallelStep(_ network: inout RecurrentNetwork, batch: PackedBatch, labels: [Int], parts: Int,
                             optimizer: inout AdamOptimizer, settings: TrainingConfiguration,
                             rng: inout SeededGenerator) -> Double {
        let seeds = (0..<parts).map { _ in rng.next() }
        let (loss, gradient) = network.parallelGradient(batch: batch, labels: labels, parts: parts, dropout: settings.dropout,
                                                    seeds: seeds, classWeights: settings.classWeights)
        var grad = gradient
        if let maxNorm = settings.gradientClipNorm { clipGlobalNorm(&grad, maxNorm: maxNorm) }
        optimizer.update(&network.parameters, gradient: grad)
        return loss
    }

    /// Mean loss and accuracy over already-normalised sequences, in batches of 256.
    static func evaluate(_ network: RecurrentNetwork, sequences: [[Float]], labels: [Int],
                         classWeights: [Float]?) -> (loss: Double, accuracy: Double) {
        let C = network.configuration.classCount
        var weighted = 0.0, weightSum = 0.0, correct = 0
        for first in stride(from: 0, to: sequences.count, by: 256) {
            let idx = Array(first..<min(first + 256, sequences.count))
            let batch = PackedBatch(sequences: idx.map { sequences[$0] }, width: network.configuration.inputSize)
            let logits = network.infer(batch).logits
            let y = batch.order.map { labels[idx[$0]] }
            let (loss, _) = RecurrentNetwork.crossEntropy(logits: logits.pointer, rows: batch.rows,
                                                          classes: C, labels: y, classWeights: classWeights)
            let w = y.reduce(0.0) { $0 + Double(classWeights?[$1] ?? 1) }
            weighted += loss * w; weightSum += w
            for row in 0..<batch.rows {
                let z = Array(UnsafeBufferPointer(start: logits.pointer + row * C, count: C))
                if SequenceClassifier.argmax(z) == y[row] { correct += 1 }
            }
        }
        return (weightSum > 0 ? weighted / weightSum : 0, Double(correct) / Double(max(sequences.count, 1)))
    }
}

/// Process-wide settings of the numeric back end, for callers that do not link `LinearAlgebra`.
public enum RecurrentRuntime {
    /// Sets the OpenBLAS thread count. At the sizes of these models OpenBLAS's own threads cost more
    /// than they gain; use 1 and `TrainingConfiguration.concurrency` / `evaluate(_:concurrency:)`.
    public static func setBLASThreads(_ count: Int) { MatrixProduct.setThreadCount(max(count, 1)) }
}
