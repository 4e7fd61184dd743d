import Foundation
import XCTest
import Recurrent

final class TrainingTests: XCTestCase {
    /// Two classes that differ only in *when* a bump occurs — needs memory, not just averages.
    static func bumpTask(count: Int, seed: UInt64, length: Int = 12) -> LabeledSequences {
        var s = seed
        func u() -> Float {
            s = s &* 6364136223846793005 &+ 1442695040888963407
            return Float(s >> 40) / Float(1 << 24)
        }
        var seqs: [[Float]] = [], labels: [Int] = []
        for i in 0..<count {
            let label = i % 2
            let len = length - Int(u() * 4)
            var x = (0..<len).map { _ in (u() - 0.5) * 0.6 + 3 }
            let at = label == 0 ? 1 + Int(u() * 2) : len - 3 + Int(u() * 2)
            x[at] += 2
            seqs.append(x); labels.append(label)
        }
        return LabeledSequences(sequences: seqs, labels: labels)
    }

    func settings(seed: UInt64, epochs: Int = 12) -> TrainingConfiguration {
        var s = TrainingConfiguration()
        s.epochs = epochs; s.batchSize = 16; s.learningRate = 0.01; s.seed = seed; s.patience = nil
        return s
    }

    func accuracy(_ model: SequenceClassifier, _ data: LabeledSequences) throws -> Double {
        let logits = try model.logits(data.sequences)
        return Double(zip(logits, data.labels).filter { SequenceClassifier.argmax($0) == $1 }.count) / Double(data.count)
    }

    func testLearnsATemporalTaskWithEachCellAndOptimizer() throws {
        let train = Self.bumpTask(count: 160, seed: 1), test = Self.bumpTask(count: 100, seed: 2)
        for (cell, opt) in [(CellKind.lstm, OptimizerKind.adam), (.gru, .adamW)] {
            var s = settings(seed: 3, epochs: 25)
            s.optimizer = opt; s.weightDecay = opt == .adamW ? 0.01 : 0
            let arch = RecurrentConfiguration(cell: cell, inputSize: 1, hiddenSize: 8, classCount: 2)
            let out = try Trainer.train(architecture: arch, classes: ["early", "late"], training: train, settings: s)
            XCTAssertLessThan(out.history.last!.trainingLoss, out.history.first!.trainingLoss)
            XCTAssertGreaterThanOrEqual(try accuracy(out.classifier, test), 0.9, "\(cell) \(opt)")
            // Normalisation fitted on the training split: values near 3 plus one bump of 2 per ~10.5 steps.
            XCTAssertEqual(out.classifier.normalization.mean[0], 3.19, accuracy: 0.03)
        }
    }

    func testSameSeedGivesBitIdenticalWeightsAndDifferentSeedsDiffer() throws {
        let train = Self.bumpTask(count: 48, seed: 5)
        let arch = RecurrentConfiguration(cell: .lstm, inputSize: 1, hiddenSize: 4, layerCount: 2, classCount: 2)
        var s = settings(seed: 9, epochs: 2)
        s.dropout = 0.3
        let a = try Trainer.train(architecture: arch, classes: ["a", "b"], training: train, settings: s)
        let b = try Trainer.train(architecture: arch, classes: ["a", "b"], training: train, settings: s)
        XCTAssertEqual(try a.classifier.serializedBytes(), try b.classifier.serializedBytes())
        s.seed = 10
        let c = try Trainer.train(architecture: arch, classes: ["a", "b"], training: train, settings: s)
        XCTAssertNotEqual(a.classifier.network.parameters, c.classifier.network.parameters)
    }

    func testTruncationLongerThanTheSequencesIsFullBPTTAndShortWindowsStillLearn() throws {
        let train = Self.bumpTask(count: 64, seed: 7)
        let arch = RecurrentConfiguration(cell: .gru, inputSize: 1, hiddenSize: 6, classCount: 2)
        var s = settings(seed: 4, epochs: 2)
        let full = try Trainer.train(architecture: arch, classes: ["a", "b"], training: train, settings: s)
        s.truncation = 100
        let long = try Trainer.train(architecture: arch, classes: ["a", "b"], training: train, settings: s)
        XCTAssertEqual(full.classifier.network.parameters, long.classifier.network.parameters)
        s.truncation = 4
        let short = try Trainer.train(architecture: arch, classes: ["a", "b"], training: train, settings: s)
        XCTAssertNotEqual(full.classifier.network.parameters, short.classifier.network.parameters)
        // Truncated BPTT with the state carried across windows still learns the task.
        s.epochs = 30
        let learned = try Trainer.train(architecture: arch, classes: ["a", "b"], training: train, settings: s)
        XCTAssertGreaterThanOrEqual(try accuracy(learned.classifier, Self.bumpTask(count: 100, seed: 8)), 0.85)
        var bi = s
        bi.truncation = 4
        XCTAssertThrowsError(try Trainer.train(
            architecture: RecurrentConfiguration(cell: .gru, inputSize: 1, hiddenSize: 4, bidirectional: true, classCount: 2),
            classes: ["a", "b"], training: train, settings: bi))
    }

    func testEarlyStoppingRestoresTheBestValidationWeights() throws {
        let train = Self.bumpTask(count: 40, seed: 11), valid = Self.bumpTask(count: 40, seed: 12)
        let arch = RecurrentConfiguration(cell: .lstm, inputSize: 1, hiddenSize: 6, classCount: 2)
        var s = settings(seed: 2, epochs: 60)
        s.learningRate = 0.05; s.patience = 5; s.gradientClipNorm = 0.5
        var reports: [EpochReport] = []
        let out = try Trainer.train(architecture: arch, classes: ["a", "b"], training: train, validation: valid,
                                    settings: s) { reports.append($0) }
        XCTAssertEqual(reports.count, out.history.count)
        let best = out.history.compactMap(\.validationLoss).min()!
        XCTAssertEqual(out.history[out.bestEpoch - 1].validationLoss, best)
        XCTAssertTrue(out.history[out.bestEpoch - 1].isBest)
        if out.stoppedEarly { XCTAssertEqual(out.history.count, out.bestEpoch + 5) }
        // The returned weights are the best epoch's: re-evaluating gives the recorded validation loss.
        let x = valid.sequences.map(out.classifier.normalization.apply)
        let loss = try out.classifier.network.loss(sequences: x, labels: valid.labels)
        XCTAssertEqual(loss, best, accuracy: 1e-4)
    }

    func testClassWeightsChangeTheLossAsPyTorchDefines() throws {
        let config = RecurrentConfiguration(cell: .gru, inputSize: 1, hiddenSize: 3, classCount: 2)
        let net = try RecurrentNetwork(configuration: config, seed: 1)
        let x: [[Float]] = [[0.1, 0.2], [0.5], [-0.3, 0.2, 0.9]]
        let y = [0, 1, 1]
        let per = try (0..<3).map { try net.loss(sequences: [x[$0]], labels: [y[$0]]) }
        let weighted = try net.loss(sequences: x, labels: y, classWeights: [3, 1])
        XCTAssertEqual(weighted, (3 * per[0] + per[1] + per[2]) / 5, accuracy: 1e-6)
    }

    func testBadInputIsRejectedNotCrashed() throws {
        let model = try SequenceClassifier(safetensors: [UInt8](Data(contentsOf: ParityTests.fixture("parity_lstm_l1_uni", "safetensors"))))
        XCTAssertThrowsError(try model.logits(for: []))
        XCTAssertThrowsError(try model.logits(for: [1, 2]))  // input size 3
        XCTAssertThrowsError(try model.logits(for: [1, .infinity, 2]))
        XCTAssertNoThrow(try model.logits(for: [1, .nan, 2]))  // missing values are imputed
    }
}

final class ConcurrencyTests: XCTestCase {
    func testParallelEvaluationAndTrainingAgreeWithSerial() throws {
        let data = TrainingTests.bumpTask(count: 96, seed: 21)
        let arch = RecurrentConfiguration(cell: .lstm, inputSize: 1, hiddenSize: 5, classCount: 2)
        var s = TrainingConfiguration()
        s.epochs = 2; s.batchSize = 32; s.seed = 5; s.patience = nil; s.learningRate = 0.01
        let serial = try Trainer.train(architecture: arch, classes: ["a", "b"], training: data, settings: s)
        s.concurrency = 2
        let parallel = try Trainer.train(architecture: arch, classes: ["a", "b"], training: data, settings: s)
        let again = try Trainer.train(architecture: arch, classes: ["a", "b"], training: data, settings: s)
        XCTAssertEqual(parallel.classifier.network.parameters, again.classifier.network.parameters)
                // Same loss and gradient up to summation order.
        let model = serial.classifier
        let x = data.sequences.map(model.normalization.apply)
        let (l1, g1) = try model.network.lossAndGradient(sequences: x, labels: data.labels, classWeights: [2, 1])
        let (l3, g3) = try model.network.lossAndGradient(sequences: x, labels: data.labels, classWeights: [2, 1], concurrency: 3)
        XCTAssertEqual(l1, l3, accuracy: 1e-6)
        let scale = g1.map { abs($0) }.max()!
        XCTAssertGreaterThan(scale, 1e-3)
        for (a, b) in zip(g1, g3) { XCTAssertEqual(a, b, accuracy: 1e-5 * scale) }
        let one = try model.evaluate(data.sequences)
        let two = try model.evaluate(data.sequences, concurrency: 2)
        XCTAssertEqual(one.logits, two.logits)
        XCTAssertEqual(one.embeddings, two.embeddings)
    }
}
