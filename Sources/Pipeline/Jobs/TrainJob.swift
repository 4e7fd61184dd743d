import AuditLog
import CaseStore
import Foundation
import Recurrent

/// `audit train` as a library call: trains an LSTM/GRU on the verified cases of a study split (every
/// scan is one training sequence labelled with its case's label), registers it under the SHA-256 of
/// its safetensors bytes and logs `model.train` in the same transaction.
public struct TrainJob {
    /// What `--arch` names: a recurrent cell, or LSTM-FCN (an LSTM over the dimension-shuffled series
    /// beside three convolution blocks; `hidden` is then the LSTM's units).
    public enum Architecture: String, Sendable, CaseIterable {
        case lstm, gru
        case lstmFCN = "lstm-fcn"
    }
    public typealias Optimizer = OptimizerKind

    /// What to train and how; the defaults are the CLI's.
    public struct Settings: Sendable {
        public var study: String
        public var split: Split = .train
        public var validationSplit: Split?
        public var validationFraction = 0.0
        public var arch: Architecture = .gru
        public var hidden = 64
        public var layers = 1
        public var bidirectional = false
        public var epochs = 100
        public var seed: UInt64 = 0
        public var tbptt: Int?
        public var batchSize = 16
        public var learningRate: Float = 1e-3
        public var optimizer: Optimizer = .adam
        public var weightDecay: Float = 0
        public var clip: Float = 1
        public var dropout: Float = 0
        public var patience = 20
        public var stepsPerFrame = 1
        public var balanced = false
        public var threads = 1
        /// LSTM-FCN: filters and kernel sizes of the convolution blocks.
        public var fcnFilters = [128, 256, 128]
        public var fcnKernels = [8, 5, 3]
        /// LSTM-FCN: reduce-on-plateau after this many epochs without improvement (nil: off).
        public var reduceLearningRateAfter: Int?
        /// Choose the configuration among `TrainJob.autoCandidates` by k-fold cross-validation on the
        /// training split (folds by subject), then train it on the whole split.
        public var auto = false
        public var folds = 5
        /// Members trained with seeds seed, seed + 1, …; their logits are averaged (1: a single model).
        public var ensemble = 1
        public init(study: String) { self.study = study }
    }

    /// After each epoch.
    public struct Progress: Sendable {
        public var epoch: Int
        public var trainingLoss: Double
        public var validationAccuracy: Double?
    }

    public struct Result {
        public var modelId: String
        /// The architecture trained (with `auto`, the one chosen).
        public var arch: Architecture
        public var classes: [String]
        /// Data, settings and seed (also in the model file's `countersign.training`).
        public var training: [String: Any]
        /// Best epoch's figures and the wall-clock training time.
        public var metrics: [String: Any]
        public var scans: Int
        public var bestEpoch: Int
        public var validationAccuracy: Double?
        /// The safetensors bytes registered (what `--out` writes).
        public var safetensors: Data
        public var logSeq: Int
    }

    public var store: CaseStore
    public var settings: Settings
    public var actor: String

    public init(store: CaseStore, settings: Settings, actor: String) {
        self.store = store; self.settings = settings; self.actor = actor
    }

    public func run(progress: @escaping (Progress) -> Void = { _ in }) throws -> Result {
        var s = settings
        let (studyRecord, trainScans, validScans) = try store.read { db in
            let study = try CaseStore.study(db, named: s.study)
            let t = try CaseStore.caseScans(db, study: s.study, splits: [s.split], verifiedOnly: true)
            let v = try s.validationSplit.map { try CaseStore.caseScans(db, study: s.study, splits: [$0], verifiedOnly: true) }
            return (study, t, v)
        }
        let classes = studyRecord.classes
        guard classes.count >= 2 else { throw PipelineError.badInput("study \(s.study) has \(classes.count) classes; at least 2 are needed") }
        let train = try Self.labelled(trainScans, classes: classes, what: "study \(s.study), split \(s.split.rawValue)")
        guard train.data.count >= 2 else {
            throw PipelineError.badInput("study \(s.study), split \(s.split.rawValue): \(train.data.count) verified scans; at least 2 are needed")
        }
        var valid: (data: LabeledSequences, channels: Int)?
        if let validScans, let vs = s.validationSplit {
            let v = try Self.labelled(validScans, classes: classes, what: "study \(s.study), split \(vs.rawValue)")
            guard v.data.count >= 1 else {
                throw PipelineError.badInput("study \(s.study), split \(vs.rawValue) has no verified scans for validation")
            }
            guard v.channels == train.channels else {
                throw PipelineError.badInput("validation scans have \(v.channels) channels, training scans \(train.channels)")
            }
            valid = v
        }
        var auto: [String: Any]?
        if s.auto {
            let chosen = try Self.chooseByCrossValidation(s, scans: trainScans, train: train.data, channels: train.channels, classes: classes)
            auto = chosen.record
            s.arch = chosen.candidate.arch; s.hidden = chosen.candidate.hidden; s.layers = 1
            s.bidirectional = chosen.candidate.bidirectional; s.stepsPerFrame = chosen.candidate.stepsPerFrame
            s.reduceLearningRateAfter = chosen.candidate.reduceLearningRateAfter
        }
        let (outcome, config) = try Self.fit(s, train: train.data, channels: train.channels, validation: valid?.data, classes: classes) { r in
            progress(Progress(epoch: r.epoch, trainingLoss: r.trainingLoss, validationAccuracy: r.validationAccuracy))
        }
        // An ensemble: further members with seeds seed + 1, seed + 2, …, logits averaged.
        var memberOutcomes = [outcome]
        for i in 1..<max(s.ensemble, 1) {
            var m = s
            m.seed = s.seed &+ UInt64(i)
            memberOutcomes.append(try Self.fit(m, train: train.data, channels: train.channels, validation: valid?.data, classes: classes).0)
        }

        let trainingHash = CaseStore.trainingSetSHA256(Self.grouped(trainScans))
        let best = outcome.history[outcome.bestEpoch - 1]
        var training: [String: Any] = [
            "study": s.study, "split": s.split.rawValue, "validation_split": s.validationSplit?.rawValue ?? NSNull(),
            "validation_fraction": s.validationFraction,
            "cases": Set(trainScans.map(\.caseRecord.id)).count, "scans": train.data.count,
            "content_sha256": trainingHash, "seed": s.seed, "epochs": s.epochs, "batch_size": s.batchSize,
            "learning_rate": Double(s.learningRate), "optimizer": s.optimizer.rawValue, "weight_decay": Double(s.weightDecay),
            "clip_norm": Double(s.clip), "dropout": Double(s.dropout), "tbptt": s.tbptt ?? NSNull(), "patience": s.patience,
            "steps_per_frame": s.stepsPerFrame, "threads": s.threads,
            "class_weights": config.classWeights.map { $0.map(Double.init) } ?? NSNull(),
        ]
        if let auto { training["auto"] = auto }
        if s.ensemble > 1 {
            training["ensemble"] = s.ensemble
            training["member_seeds"] = (0..<s.ensemble).map { s.seed &+ UInt64($0) }
        }
        if s.arch == .lstmFCN {
            // Recurrent models' provenance stays as it was (their model ids do not move).
            training["arch"] = s.arch.rawValue
            training["fcn_filters"] = s.fcnFilters
            training["fcn_kernels"] = s.fcnKernels
            training["reduce_lr_after"] = s.reduceLearningRateAfter ?? NSNull()
        } else if let r = s.reduceLearningRateAfter {
            training["reduce_lr_after"] = r
        }
        // Everything written into the file is a function of data, settings and seed, so the same
        // run reproduces the same bytes and hence the same model id; wall-clock time stays in the store.
        var fileMetrics: [String: Any] = [
            "best_epoch": outcome.bestEpoch, "epochs_run": outcome.history.count, "stopped_early": outcome.stoppedEarly,
            "training_loss": best.trainingLoss, "validation_loss": best.validationLoss ?? NSNull(),
            "validation_accuracy": best.validationAccuracy ?? NSNull(),
        ]
        if memberOutcomes.count > 1 {
            fileMetrics["members"] = memberOutcomes.map { o -> [String: Any] in
                let b = o.history[o.bestEpoch - 1]
                return ["best_epoch": o.bestEpoch, "validation_loss": b.validationLoss ?? NSNull(), "validation_accuracy": b.validationAccuracy ?? NSNull()]
            }
        }
        var metrics = fileMetrics
        metrics["train_seconds"] = outcome.history.last?.elapsedSeconds ?? 0
        var classifier = memberOutcomes.count > 1
            ? try SequenceClassifier(ensemble: memberOutcomes.map(\.classifier)) : outcome.classifier
        classifier.provenance["countersign.training"] = try ModelRegistration.json(training)
        classifier.provenance["countersign.metrics"] = try ModelRegistration.json(fileMetrics)
        let bytes = try classifier.serializedBytes()
        let id = SequenceClassifier.modelID(of: bytes)
        let record = try ModelRegistration.record(id: id, study: s.study, classifier: classifier, bytes: bytes,
                                                  training: training, metrics: metrics)
        let event = try store.registerTrainedModel(record, actor: actor,
                                                   payload: Payload(modelId: id, study: s.study, split: s.split.rawValue,
                                                                    trainingSha256: trainingHash, scans: train.data.count,
                                                                    seed: s.seed, bestEpoch: outcome.bestEpoch,
                                                                    validationAccuracy: best.validationAccuracy))
        return Result(modelId: id, arch: s.arch, classes: classes, training: training, metrics: metrics, scans: train.data.count,
                      bestEpoch: outcome.bestEpoch, validationAccuracy: best.validationAccuracy,
                      safetensors: Data(bytes), logSeq: event.seq)
    }

    /// Trains one model with settings `s` (the architecture's trainer); returns the outcome and the
    /// training configuration used.
    static func fit(_ s: Settings, train: LabeledSequences, channels: Int, validation: LabeledSequences?, classes: [String],
                    report: @escaping (EpochReport) -> Void = { _ in }) throws -> (TrainingOutcome, TrainingConfiguration) {
        var config = TrainingConfiguration()
        config.epochs = s.epochs; config.batchSize = s.batchSize; config.learningRate = s.learningRate
        config.optimizer = s.optimizer; config.weightDecay = s.weightDecay
        config.gradientClipNorm = s.clip > 0 ? s.clip : nil; config.dropout = s.dropout; config.truncation = s.tbptt
        config.patience = s.patience; config.seed = s.seed; config.validationFraction = s.validationFraction
        config.stepsPerFrame = s.stepsPerFrame
        config.concurrency = s.threads
        RecurrentRuntime.setBLASThreads(1)
        if s.balanced {
            var counts = [Double](repeating: 0, count: classes.count)
            for y in train.labels { counts[y] += 1 }
            let n = Double(train.count), k = Double(classes.count)
            config.classWeights = counts.map { $0 > 0 ? Float(n / (k * $0)) : 0 }
        }
        config.reduceLearningRateAfter = s.reduceLearningRateAfter
        let outcome: TrainingOutcome
        do {
            switch s.arch {
            case .lstm, .gru:
                let architecture = RecurrentConfiguration(cell: s.arch == .lstm ? .lstm : .gru, inputSize: channels * s.stepsPerFrame,
                                                          hiddenSize: s.hidden, layerCount: s.layers, bidirectional: s.bidirectional,
                                                          classCount: classes.count)
                outcome = try Trainer.train(architecture: architecture, classes: classes, training: train,
                                            validation: validation, settings: config, progress: report)
            case .lstmFCN:
                guard s.layers == 1, !s.bidirectional, s.tbptt == nil, s.stepsPerFrame == 1 else {
                    throw PipelineError.badInput("--arch lstm-fcn has one unidirectional LSTM layer over whole series: --layers, --bidirectional, --tbptt and --steps-per-frame do not apply")
                }
                let steps = train.sequences[0].count / channels
                let architecture = LSTMFCNConfiguration(channels: channels, length: steps, hiddenSize: s.hidden,
                                                        classCount: classes.count, filters: s.fcnFilters, kernels: s.fcnKernels)
                outcome = try Trainer.trainLSTMFCN(architecture: architecture, classes: classes, training: train,
                                                   validation: validation, settings: config, progress: report)
            }
        } catch let e as RecurrentError {
            throw PipelineError.badInput("\(e)")
        }

        return (outcome, config)
    }

    /// The `model.train` event's payload.
    struct Payload: Encodable {
        var modelId: String, study: String, split: String, trainingSha256: String, scans: Int, seed: UInt64
        var bestEpoch: Int, validationAccuracy: Double?
        enum CodingKeys: String, CodingKey {
            case modelId = "model_id", study, split, trainingSha256 = "training_sha256", scans, seed
            case bestEpoch = "best_epoch", validationAccuracy = "validation_accuracy"
        }
    }

    /// Scans as labelled sequences; all must have the same channel count.
    static func labelled(_ scans: [CaseScan], classes: [String], what: String) throws -> (data: LabeledSequences, channels: Int) {
        var xs: [[Float]] = [], ys: [Int] = []
        var channels: Int?
        for s in scans {
            guard let label = s.caseRecord.label, let y = classes.firstIndex(of: label) else {
                throw PipelineError.badInput("\(what): case \(s.caseRecord.id) has label '\(s.caseRecord.label ?? "")' not among the study's classes")
            }
            if let c = channels, c != s.scan.channels {
                throw PipelineError.badInput("\(what): case \(s.caseRecord.id) scan \(s.scan.scanIndex) has \(s.scan.channels) channels, earlier scans \(c)")
            }
            channels = s.scan.channels
            xs.append(s.scan.values); ys.append(y)
        }
        return (LabeledSequences(sequences: xs, labels: ys), channels ?? 1)
    }

    static func grouped(_ scans: [CaseScan]) -> [(record: CaseRecord, scans: [ScanRecord])] {
        var order: [String] = [], byCase: [String: (CaseRecord, [ScanRecord])] = [:]
        for s in scans {
            if byCase[s.caseRecord.id] == nil { order.append(s.caseRecord.id); byCase[s.caseRecord.id] = (s.caseRecord, []) }
            byCase[s.caseRecord.id]!.1.append(s.scan)
        }
        return order.map { (record: byCase[$0]!.0, scans: byCase[$0]!.1) }
    }
}
