import CaseStore
import Foundation
import Randomness
import Recurrent

/// `audit train --auto`: the configuration is chosen by k-fold cross-validation on the training split
/// only — never on a test split — among a short documented list, and what was tried is recorded in
/// the model file's provenance.
extension TrainJob {
    /// One configuration `--auto` tries; epochs, batch size, learning rate, patience, validation
    /// fraction and seed are the command's.
    public struct Candidate: Sendable, Equatable {
        public var name: String
        public var arch: Architecture
        public var hidden: Int
        public var bidirectional: Bool
        public var stepsPerFrame: Int
        public var reduceLearningRateAfter: Int?
    }

    /// README's bidirectional GRU recipe, a plain GRU, and LSTM-FCN with the paper's LSTM of 8 units.
    public static let autoCandidates: [Candidate] = [
        Candidate(name: "gru-bidirectional-64-frames-8", arch: .gru, hidden: 64, bidirectional: true, stepsPerFrame: 8),
        Candidate(name: "gru-64", arch: .gru, hidden: 64, bidirectional: false, stepsPerFrame: 1),
        Candidate(name: "lstm-fcn-8", arch: .lstmFCN, hidden: 8, bidirectional: false, stepsPerFrame: 1, reduceLearningRateAfter: 10),
    ]

    /// Folds by subject (a patient's scans stay together), seeded; each candidate is trained on k − 1
    /// folds and scored by accuracy on the held-out fold; the best mean wins (earlier in the list on ties).
    static func chooseByCrossValidation(_ s: Settings, scans: [CaseScan], train: LabeledSequences, channels: Int,
                                        classes: [String]) throws -> (candidate: Candidate, record: [String: Any]) {
        let k = s.folds
        guard k >= 2 else { throw PipelineError.badInput("--folds must be at least 2") }
        let subjects = Array(Set(scans.map(\.caseRecord.subject))).sorted()
        guard subjects.count >= k else {
            throw PipelineError.badInput("study \(s.study), split \(s.split.rawValue): \(subjects.count) subjects, fewer than --folds \(k)")
        }
        var rng = SeededGenerator(seed: s.seed ^ 0xF01D)
        var shuffled = subjects
        rng.shuffleByRemainder(&shuffled)
        var foldOf: [String: Int] = [:]
        for (i, subject) in shuffled.enumerated() { foldOf[subject] = i % k }
        let folds = scans.map { foldOf[$0.caseRecord.subject] ?? 0 }
        let equalLengths = Set(train.sequences.map(\.count)).count == 1
        var tried: [[String: Any]] = []
        var best: (candidate: Candidate, mean: Double)?
        for c in autoCandidates {
            if c.arch == .lstmFCN && !equalLengths {
                tried.append(["name": c.name, "skipped": "LSTM-FCN needs series of one length"])
                continue
            }
            var settings = s
            settings.auto = false
            settings.arch = c.arch; settings.hidden = c.hidden; settings.layers = 1; settings.bidirectional = c.bidirectional
            settings.stepsPerFrame = c.stepsPerFrame; settings.reduceLearningRateAfter = c.reduceLearningRateAfter; settings.tbptt = nil
            var accuracies: [Double] = []
            for f in 0..<k {
                let inFold = folds.indices.filter { folds[$0] == f }, outFold = folds.indices.filter { folds[$0] != f }
                let part = LabeledSequences(sequences: outFold.map { train.sequences[$0] }, labels: outFold.map { train.labels[$0] })
                let (outcome, _) = try fit(settings, train: part, channels: channels, validation: nil, classes: classes)
                let logits = try outcome.classifier.logits(inFold.map { train.sequences[$0] })
                let correct = zip(logits, inFold).filter { SequenceClassifier.argmax($0.0) == train.labels[$0.1] }.count
                accuracies.append(Double(correct) / Double(max(inFold.count, 1)))
            }
            let mean = accuracies.reduce(0, +) / Double(k)
            tried.append(["name": c.name, "fold_accuracies": accuracies, "mean_accuracy": mean])
            if best.map({ mean > $0.mean }) ?? true { best = (c, mean) }
        }
        guard let best else { throw PipelineError.badInput("no --auto configuration applies to study \(s.study)") }
        return (best.candidate, ["folds": k, "grouped_by": "subject", "split": s.split.rawValue, "candidates": tried,
                                 "chosen": best.candidate.name, "criterion": "mean held-out-fold accuracy"])
    }
}
