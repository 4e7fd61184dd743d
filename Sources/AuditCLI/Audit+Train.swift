import ArgumentParser
import CaseStore
import Files
import Foundation
import Pipeline

extension TrainJob.Architecture: ExpressibleByArgument {}
extension TrainJob.Optimizer: ExpressibleByArgument {}

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
        @Option(help: "lstm, gru or lstm-fcn (LSTM over the dimension-shuffled series beside three convolution blocks; series of one length).")
        var arch: TrainJob.Architecture = .gru
        @Option(help: "Hidden units per direction (lstm-fcn: the LSTM's units).") var hidden: Int = 64
        @Option(help: "lstm-fcn: comma-separated filters of the convolution blocks.") var fcnFilters: String = "128,256,128"
        @Option(help: "lstm-fcn: comma-separated kernel sizes, one per block.") var fcnKernels: String = "8,5,3"
        @Option(help: "Halve the learning rate after this many epochs without validation improvement (down to 1e-4).")
        var reduceLrAfter: Int?
        @Flag(help: "Choose the configuration (bidirectional GRU with 8-step frames, plain GRU, LSTM-FCN) by k-fold cross-validation on the training split, folds by subject, then train it on the whole split; --arch, --hidden, --layers, --bidirectional and --steps-per-frame are then chosen, not given.")
        var auto = false
        @Option(help: "Folds for --auto.") var folds: Int = 5
        @Option(help: "Train this many members with seeds seed, seed + 1, … and register one model averaging their logits.")
        var ensemble: Int = 1
        @Option(help: "Stacked layers.") var layers: Int = 1
        @Flag(help: "Bidirectional layers.") var bidirectional = false
        @Option(help: "Maximum epochs.") var epochs: Int = 100
        @Option(help: "Seed (initial weights, shuffling, dropout, hold-out).") var seed: UInt64 = 0
        @Option(help: "Truncated BPTT window in steps (frames); unidirectional only.") var tbptt: Int?
        @Option(help: "Mini-batch size.") var batchSize: Int = 16
        @Option(help: "Learning rate.") var learningRate: Float = 1e-3
        @Option(help: "adam or adamw.") var optimizer: TrainJob.Optimizer = .adam
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
            guard let f = Self.integers(fcnFilters), let k = Self.integers(fcnKernels), f.count == k.count, !f.isEmpty else {
                throw ValidationError("--fcn-filters and --fcn-kernels must be comma-separated positive integers, as many of each")
            }
            if let r = reduceLrAfter { guard r >= 1 else { throw ValidationError("--reduce-lr-after must be ≥ 1") } }
            if auto { guard folds >= 2 else { throw ValidationError("--folds must be ≥ 2") } }
            guard ensemble >= 1, ensemble <= 64 else { throw ValidationError("--ensemble must be between 1 and 64") }
        }

        static func integers(_ text: String) -> [Int]? {
            let values = text.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
            guard values.allSatisfy({ ($0 ?? 0) >= 1 }) else { return nil }
            return values.compactMap { $0 }
        }

        func run() async throws {
            let store = try storeOptions.openExisting()
            var settings = TrainJob.Settings(study: study)
            settings.split = split; settings.validationSplit = validationSplit; settings.validationFraction = validationFraction
            settings.arch = arch; settings.hidden = hidden; settings.layers = layers; settings.bidirectional = bidirectional
            settings.epochs = epochs; settings.seed = seed; settings.tbptt = tbptt; settings.batchSize = batchSize
            settings.learningRate = learningRate; settings.optimizer = optimizer; settings.weightDecay = weightDecay
            settings.clip = clip; settings.dropout = dropout; settings.patience = patience
            settings.stepsPerFrame = stepsPerFrame; settings.balanced = balanced; settings.threads = threads
            settings.fcnFilters = Self.integers(fcnFilters) ?? settings.fcnFilters
            settings.fcnKernels = Self.integers(fcnKernels) ?? settings.fcnKernels
            settings.reduceLearningRateAfter = reduceLrAfter
            settings.auto = auto; settings.folds = folds; settings.ensemble = ensemble
            let bar = ProgressBar(total: epochs, label: "train", enabled: output.showsProgress && !output.json)
            let result: TrainJob.Result
            do {
                result = try TrainJob(store: store, settings: settings, actor: actorOptions.actor).run { p in
                    var detail = String(format: "loss %.4f", p.trainingLoss)
                    if let a = p.validationAccuracy { detail += String(format: "  val acc %.3f", a) }
                    bar.update(p.epoch, detail: detail)
                }
            } catch {
                bar.finish()
                throw error
            }
            bar.finish()
            if let out { try AtomicFile.write(result.safetensors, to: URL(fileURLWithPath: out)) }
            if output.json {
                try ModelJSON.printObject([
                    "model_id": result.modelId, "study": study, "arch": result.arch.rawValue, "classes": result.classes,
                    "training": result.training, "metrics": result.metrics, "log_seq": result.logSeq,
                ])
            } else {
                if !output.quiet {
                    var line = "trained \(result.arch.rawValue)\(auto ? " (chosen by \(folds)-fold cross-validation on the training split)" : "") on \(result.scans) scans of \(study)/\(split.rawValue); best epoch \(result.bestEpoch)"
                    if let a = result.validationAccuracy { line += String(format: ", validation accuracy %.4f", a) }
                    Console.err(line)
                }
                Console.out(result.modelId)
            }
        }
    }
}

/// JSON helpers shared by the model commands.
enum ModelJSON {
    static func printObject(_ object: Any) throws {
        let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes])
        Console.write(data + Data("\n".utf8))
    }

    static func parse(_ text: String) -> Any {
        (try? JSONSerialization.jsonObject(with: Data(text.utf8), options: [.fragmentsAllowed])) ?? text
    }
}
