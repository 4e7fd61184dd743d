import ArgumentParser
import AuditLog
import CaseStore
import Files
import Foundation
import Recurrent

extension CellKind: ExpressibleByArgument {}
extension OptimizerKind: ExpressibleByArgument {}

extension Audit {
    /// `audit train`: trains an LSTM/GRU on the verified cases of a study split (every scan is one
    /// training sequence labelled with its case's label), registers it in the case store under the
    /// SHA-256 of its safetensors bytes and logs a `model.train` event in the same transaction.
    struct Train: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Train a recurrent classifier on a study split; register it and print its model id.",
            discussion: """
                Normalisation (per-feature z-score) is fitted on the training split and stored in the model. \
                With --validation-split (or --validation-fraction) training stops early when the validation \
                loss has not improved for --patience epochs and keeps the best epoch's weights. Same seed, \
                same data and same machine give bit-identical weights, hence the same model id.
                """)

        @OptionGroup var storeOptions: StoreOptions
        @OptionGroup var actorOptions: ActorOptions
        @OptionGroup var output: OutputOptions
        @Option(help: "Study to train on.") var study: String
        @Option(help: "Split holding the verified training cases.") var split: Split = .train
        @Option(help: "Split for early stopping (verified cases).") var validationSplit: Split?
        @Option(help: "Without --validation-split: hold out this fraction of the training cases, in [0, 0.5].")
        var validationFraction: Double = 0
        @Option(help: "lstm or gru.") var arch: CellKind = .gru
        @Option(help: "Hidden units per direction.") var hidden: Int = 64
        @Option(help: "Stacked layers.") var layers: Int = 1
        @Flag(help: "Bidirectional layers.") var bidirectional = false
        @Option(help: "Maximum epochs.") var epochs: Int = 100
        @Option(help: "Seed (initial weights, shuffling, dropout, hold-out).") var seed: UInt64 = 0
        @Option(help: "Truncated BPTT window in steps (frames); unidirectional only.") var tbptt: Int?
        @Option(help: "Mini-batch size.") var batchSize: Int = 16
        @Option(help: "Learning rate.") var learningRate: Float = 1e-3
        @Option(help: "adam or adamw.") var optimizer: OptimizerKind = .adam
        @Option(help: "Weight decay (L2 for adam, decoupled for adamw).") var weightDecay: Float = 0
        @Option(help: "Clip the global gradient norm to this value (0: no clipping).") var clip: Float = 1
        @Option(help: "Dropout between stacked layers.") var dropout: Float = 0
        @Option(help: "Early-stopping patience in epochs.") var patience: Int = 20
        @Option(help: "Raw time steps per input frame (a strided linear front end; 1 = plain network).")
        var stepsPerFrame: Int = 1
        @Flag(help: "Weight the loss by inverse class frequency.") var balanced = false
        @Option(help: "Also write the safetensors file here.") var out: String?
        @Option(help: "Worker threads per mini-batch (full BPTT). Results are bit-identical for the same value.")
        var threads: Int = 1

        func validate() throws {
            guard hidden >= 1, layers >= 1, epochs >= 1, batchSize >= 1, stepsPerFrame >= 1, threads >= 1 else {
                throw ValidationError("--hidden, --layers, --epochs, --batch-size, --steps-per-frame and --threads must be ≥ 1")
            }
            guard learningRate > 0 else { throw ValidationError("--learning-rate must be positive") }
            guard dropout >= 0 && dropout < 1 else { throw ValidationError("--dropout must lie in [0, 1)") }
            guard validationFraction >= 0 && validationFraction <= 0.5 else {
                throw ValidationError("--validation-fraction must lie in [0, 0.5]")
            }
            if let k = tbptt {
                guard k >= 1 else { throw ValidationError("--tbptt must be ≥ 1") }
                guard !bidirectional else { throw ValidationError("--tbptt needs a unidirectional network") }
            }
            if validationSplit == split { throw ValidationError("--validation-split must differ from --split") }
        }

        func run() async throws {
            let store = try storeOptions.openExisting()
            let (studyRecord, trainScans, validScans) = try store.read { db in
                let s = try CaseStore.study(db, named: study)
                let t = try CaseStore.caseScans(db, study: study, splits: [split], verifiedOnly: true)
                let v = try validationSplit.map { try CaseStore.caseScans(db, study: study, splits: [$0], verifiedOnly: true) }
                return (s, t, v)
            }
            let classes = studyRecord.classes
            guard classes.count >= 2 else { throw CLIError.badInput("study \(study) has \(classes.count) classes; at least 2 are needed") }
            let train = try Self.labelled(trainScans, classes: classes, what: "study \(study), split \(split.rawValue)")
            guard train.data.count >= 2 else {
                throw CLIError.badInput("study \(study), split \(split.rawValue): \(train.data.count) verified scans; at least 2 are needed")
            }
            var valid: (data: LabeledSequences, channels: Int)?
            if let validScans, let vs = validationSplit {
                valid = try Self.labelled(validScans, classes: classes, what: "study \(study), split \(vs.rawValue)")
                guard valid!.data.count >= 1 else {
                    throw CLIError.badInput("study \(study), split \(vs.rawValue) has no verified scans for validation")
                }
                guard valid!.channels == train.channels else {
                    throw CLIError.badInput("validation scans have \(valid!.channels) channels, training scans \(train.channels)")
                }
            }
            var settings = TrainingConfiguration()
            settings.epochs = epochs; settings.batchSize = batchSize; settings.learningRate = learningRate
            settings.optimizer = optimizer; settings.weightDecay = weightDecay
            settings.gradientClipNorm = clip > 0 ? clip : nil; settings.dropout = dropout; settings.truncation = tbptt
            settings.patience = patience; settings.seed = seed; settings.validationFraction = validationFraction
            settings.stepsPerFrame = stepsPerFrame
            settings.concurrency = threads
            RecurrentRuntime.setBLASThreads(1)
            if balanced {
                var counts = [Double](repeating: 0, count: classes.count)
                for y in train.data.labels { counts[y] += 1 }
                let n = Double(train.data.count), k = Double(classes.count)
                settings.classWeights = counts.map { $0 > 0 ? Float(n / (k * $0)) : 0 }
            }
            let config = RecurrentConfiguration(cell: arch, inputSize: train.channels * stepsPerFrame, hiddenSize: hidden,
                                                layerCount: layers, bidirectional: bidirectional, classCount: classes.count)
            let bar = ProgressBar(total: epochs, label: "train", enabled: output.showsProgress && !output.json)
            let outcome: TrainingOutcome
            do {
                outcome = try Trainer.train(architecture: config, classes: classes, training: train.data,
                                            validation: valid?.data, settings: settings) { r in
                    var detail = String(format: "loss %.4f", r.trainingLoss)
                    if let a = r.validationAccuracy { detail += String(format: "  val acc %.3f", a) }
                    bar.update(r.epoch, detail: detail)
                }
            } catch let e as RecurrentError {
                bar.finish()
                throw CLIError.badInput("\(e)")
            }
            bar.finish()

            let trainingHash = CaseStore.trainingSetSHA256(Self.grouped(trainScans))
            let best = outcome.history[outcome.bestEpoch - 1]
            let training: [String: Any] = [
                "study": study, "split": split.rawValue, "validation_split": validationSplit?.rawValue ?? NSNull(),
                "validation_fraction": validationFraction,
                "cases": Set(trainScans.map(\.caseRecord.id)).count, "scans": train.data.count,
                "content_sha256": trainingHash, "seed": seed, "epochs": epochs, "batch_size": batchSize,
                "learning_rate": Double(learningRate), "optimizer": optimizer.rawValue, "weight_decay": Double(weightDecay),
                "clip_norm": Double(clip), "dropout": Double(dropout), "tbptt": tbptt ?? NSNull(), "patience": patience,
                "steps_per_frame": stepsPerFrame, "threads": threads, "class_weights": settings.classWeights.map { $0.map(Double.init) } ?? NSNull(),
            ]
            // Everything written into the file is a function of data, settings and seed, so the same
            // run reproduces the same bytes and hence the same model id; wall-clock time stays in the store.
            let fileMetrics: [String: Any] = [
                "best_epoch": outcome.bestEpoch, "epochs_run": outcome.history.count, "stopped_early": outcome.stoppedEarly,
                "training_loss": best.trainingLoss, "validation_loss": best.validationLoss ?? NSNull(),
                "validation_accuracy": best.validationAccuracy ?? NSNull(),
            ]
            var metrics = fileMetrics
            metrics["train_seconds"] = outcome.history.last?.elapsedSeconds ?? 0
            var classifier = outcome.classifier
            classifier.provenance["countersign.training"] = try ModelJSON.text(training)
            classifier.provenance["countersign.metrics"] = try ModelJSON.text(fileMetrics)
            let bytes = try classifier.serializedBytes()
            let id = SequenceClassifier.modelID(of: bytes)
            let record = try ModelJSON.record(id: id, study: study, classifier: classifier, bytes: bytes,
                                              training: training, metrics: metrics)
            let event = try store.registerTrainedModel(record, actor: actorOptions.actor,
                                           payload: TrainPayload(modelId: id, study: study, split: split.rawValue,
                                                                 trainingSha256: trainingHash, scans: train.data.count,
                                                                 seed: seed, bestEpoch: outcome.bestEpoch,
                                                                 validationAccuracy: best.validationAccuracy))
            if let out { try AtomicFile.write(Data(bytes), to: URL(fileURLWithPath: out)) }
            if output.json {
                try ModelJSON.printObject([
                    "model_id": id, "study": study, "arch": arch.rawValue, "classes": classes,
                    "training": training, "metrics": metrics, "log_seq": event.seq,
                ])
            } else {
                if !output.quiet {
                    var line = "trained \(arch.rawValue) on \(train.data.count) scans of \(study)/\(split.rawValue); best epoch \(outcome.bestEpoch)"
                    if let a = best.validationAccuracy { line += String(format: ", validation accuracy %.4f", a) }
                    Console.err(line)
                }
                Console.out(id)
            }
        }

        struct TrainPayload: Encodable {
            var modelId: String, study: String, split: String, trainingSha256: String, scans: Int, seed: UInt64
            var bestEpoch: Int, validationAccuracy: Double?
            enum CodingKeys: String, CodingKey {
                case modelId = "model_id", study, split, trainingSha256 = "training_sha256", scans, seed
                case bestEpoch = "best_epoch", validationAccuracy = "validation_accuracy"
            }
        }

        /// Scans as labelled sequences; all must have the same channel count.
        static func labelled(_ scans: [CaseScan], classes: [String], what: String) throws
            -> (data: LabeledSequences, channels: Int) {
            var xs: [[Float]] = [], ys: [Int] = []
            var channels: Int?
            for s in scans {
                guard let label = s.caseRecord.label, let y = classes.firstIndex(of: label) else {
                    throw CLIError.badInput("\(what): case \(s.caseRecord.id) has label '\(s.caseRecord.label ?? "")' not among the study's classes")
                }
                if let c = channels, c != s.scan.channels {
                    throw CLIError.badInput("\(what): case \(s.caseRecord.id) scan \(s.scan.scanIndex) has \(s.scan.channels) channels, earlier scans \(c)")
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
}

/// JSON helpers shared by the model commands.
enum ModelJSON {
    static func text(_ object: Any) throws -> String {
        String(decoding: try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes, .fragmentsAllowed]),
               as: UTF8.self)
    }

    static func printObject(_ object: Any) throws {
        let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes])
        Console.write(data + Data("\n".utf8))
    }

    static func parse(_ text: String) -> Any {
        (try? JSONSerialization.jsonObject(with: Data(text.utf8), options: [.fragmentsAllowed])) ?? text
    }

    static func config(_ c: SequenceClassifier) -> [String: Any] {
        let k = c.configuration
        return ["arch": k.cell.rawValue, "input_size": k.inputSize, "hidden_size": k.hiddenSize, "num_layers": k.layerCount,
                "bidirectional": k.bidirectional, "steps_per_frame": c.stepsPerFrame,
                "feature_mean": c.normalization.mean.map(Double.init), "feature_std": c.normalization.std.map(Double.init)]
    }

    static func record(id: String, study: String?, classifier: SequenceClassifier, bytes: [UInt8],
                       training: [String: Any], metrics: [String: Any]) throws -> ModelRecord {
        ModelRecord(id: id, study: study, arch: classifier.configuration.cell.rawValue,
                    classes: try text(classifier.classes), config: try text(config(classifier)),
                    training: try text(training), metrics: try text(metrics), weights: Data(bytes))
    }
}
