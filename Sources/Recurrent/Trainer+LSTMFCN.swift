import Foundation
import Randomness

extension Trainer {
    /// Trains an LSTM-FCN on series of one length (time-major `[T][M]`, raw). Validation comes from
    /// the given set or a seeded fraction of the training data; the weights (and batch-normalisation
    /// running statistics) of the epoch with the lowest validation loss are kept; early stopping and
    /// reduce-on-plateau read the validation loss only. Deterministic for a seed.
    public static func trainLSTMFCN(architecture: LSTMFCNConfiguration, classes: [String],
                                    training: LabeledSequences, validation: LabeledSequences? = nil,
                                    settings: TrainingConfiguration,
                                    progress: ((EpochReport) -> Void)? = nil) throws -> TrainingOutcome {
        var arch = architecture
        arch.classCount = classes.count
        try arch.validate()
        guard settings.epochs >= 1, settings.batchSize >= 1 else { throw RecurrentError.training("epochs and batch size must be at least 1") }
        guard settings.learningRate > 0, settings.learningRate.isFinite else { throw RecurrentError.training("learning rate must be positive") }
        guard settings.truncation == nil, settings.stepsPerFrame == 1 else {
            throw RecurrentError.training("LSTM-FCN reads whole series: truncated BPTT and steps per frame do not apply")
        }
        if let w = settings.classWeights {
            guard w.count == classes.count, w.allSatisfy({ $0 >= 0 && $0.isFinite }) else {
                throw RecurrentError.training("class weights need \(classes.count) finite non-negative values")
            }
        }
        let width = arch.length * arch.channels
        for (name, data) in [("training", training), ("validation", validation ?? LabeledSequences(sequences: [], labels: []))] {
            if let i = data.sequences.firstIndex(where: { $0.count != width }) {
                throw RecurrentError.invalidInput("\(name) sequence \(i) has \(data.sequences[i].count / max(arch.channels, 1)) steps; LSTM-FCN needs every series to have \(arch.length)")
            }
            if let i = data.labels.firstIndex(where: { !(0..<classes.count).contains($0) }) {
                throw RecurrentError.invalidInput("\(name) label \(i) is outside 0..<\(classes.count)")
            }
        }
        var rng = SeededGenerator(seed: settings.seed)
        let (train, valid) = holdOut(training, validation: validation, fraction: settings.validationFraction, rng: &rng)
        guard train.count > 0 else { throw RecurrentError.training("no training sequences") }
        let normalization = FeatureNormalization.fit(train.sequences, width: arch.channels)
        let trainX = train.sequences.map(normalization.apply)
        let validX = valid.map { $0.sequences.map(normalization.apply) } ?? []
        var network = try LSTMFCNNetwork(configuration: arch, seed: settings.seed &+ 0x5EED)
        let nr = network.recurrent.parameters.count, nc = network.convolution.parameters.count
        var flat = network.recurrent.parameters + network.convolution.parameters + network.convolutionHead
        var optimizer = AdamOptimizer(kind: settings.optimizer, parameterCount: flat.count,
                                      learningRate: settings.learningRate, weightDecay: settings.weightDecay)
        func unpack() {
            network.recurrent.parameters = Array(flat[0..<nr])
            network.convolution.parameters = Array(flat[nr..<(nr + nc)])
            network.convolutionHead = Array(flat[(nr + nc)...])
        }
        let loop = try epochLoop(settings: settings, count: train.count, rng: &rng, state: { network },
            step: { rows, _ in
                let g = try network.lossAndGradient(sequences: rows.map { trainX[$0] }, labels: rows.map { train.labels[$0] },
                                                    classWeights: settings.classWeights, training: true)
                var grad = g.recurrent + g.convolution + g.convolutionHead
                if let maxNorm = settings.gradientClipNorm { clipGlobalNorm(&grad, maxNorm: maxNorm) }
                optimizer.update(&flat, gradient: grad)
                unpack()
                return g.loss
            },
            validate: validX.isEmpty || valid == nil ? nil : {
                try evaluate(network, sequences: validX, labels: valid!.labels, classWeights: settings.classWeights)
            },
            reduceLearningRate: { optimizer.learningRate = max(settings.minimumLearningRate, optimizer.learningRate * settings.learningRateFactor) },
            progress: progress)
        let classifier = try SequenceClassifier(lstmFCN: loop.best, classes: classes, normalization: normalization)
        return TrainingOutcome(classifier: classifier, history: loop.history, bestEpoch: loop.bestEpoch, stoppedEarly: loop.stoppedEarly)
    }

    /// Eval-mode mean loss and accuracy over already-normalised series, in batches of 256.
    static func evaluate(_ network: LSTMFCNNetwork, sequences: [[Float]], labels: [Int], classWeights: [Float]?) throws
        -> (loss: Double, accuracy: Double) {
        var copy = network
        var weighted = 0.0, weightSum = 0.0, correct = 0
        for first in stride(from: 0, to: sequences.count, by: 256) {
            let idx = Array(first..<min(first + 256, sequences.count))
            let logits = try copy.forward(idx.map { sequences[$0] }, training: false).logits
            let y = idx.map { labels[$0] }
            let flat = logits.flatMap { $0 }
            let (loss, _) = flat.withUnsafeBufferPointer {
                RecurrentNetwork.crossEntropy(logits: $0.baseAddress!, rows: idx.count, classes: network.configuration.classCount,
                                              labels: y, classWeights: classWeights)
            }
            let w = y.reduce(0.0) { $0 + Double(classWeights?[$1] ?? 1) }
            weighted += loss * w; weightSum += w
            for (z, label) in zip(logits, y) where SequenceClassifier.argmax(z) == label { correct += 1 }
        }
        return (weightSum > 0 ? weighted / weightSum : 0, Double(correct) / Double(max(sequences.count, 1)))
    }
}
