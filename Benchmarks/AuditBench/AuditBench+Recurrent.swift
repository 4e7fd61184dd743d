import ArgumentParser
import Foundation
import LinearAlgebra
import Cohorts
import Randomness
import Recurrent

/// `audit-bench recurrent`: inference throughput (sequences/s) or one Adam training epoch (seconds)
/// for an LSTM/GRU of the given shape. `Benchmarks/peers/torch_recurrent.py` runs the same shapes.
struct RecurrentBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "recurrent",
        abstract: "LSTM/GRU inference throughput or training epoch time; prints one JSON document.")

    @Option(help: "lstm or gru") var arch: String = "lstm"
    @Option(help: "Batch size.") var batch: Int = 1
    @Option(help: "Features per time step.") var input: Int = 8
    @Option(help: "Hidden units.") var hidden: Int = 64
    @Option(help: "Sequence length (steps).") var length: Int = 100
    @Option(help: "Stacked layers.") var layers: Int = 1
    @Option(help: "Classes of the head.") var classes: Int = 5
    @Flag(help: "Time one training epoch (Adam) instead of inference.") var train = false
    @Option(help: "Training sequences per epoch (with --train).") var sequences: Int = 10000
    @Option(help: "Minimum seconds to run the inference loop.") var seconds: Double = 3
    @Option(help: "Cores to use (the peer uses 2 torch threads): worker threads over the batch, each with single-threaded OpenBLAS.")
    var threads: Int = 2
    @Flag(help: "Print JSON (always JSON; accepted for symmetry with the peer).") var json = false

    func validate() throws {
        guard CellKind(rawValue: arch) != nil else { throw ValidationError("--arch must be lstm or gru") }
        guard batch >= 1, input >= 1, hidden >= 1, length >= 1, layers >= 1, classes >= 2, sequences >= 1 else {
            throw ValidationError("sizes must be positive (classes ≥ 2)")
        }
    }

    func run() throws {
        // OpenBLAS's own threads cost more than they gain at these sizes (measured: 2.4× slower at
        // batch 256), so the cores are used by splitting the batch across worker threads instead.
        MatrixProduct.setThreadCount(1)
        let cell = CellKind(rawValue: arch)!
        let config = RecurrentConfiguration(cell: cell, inputSize: input, hiddenSize: hidden, layerCount: layers,
                                            classCount: classes)
        var rng = BenchRandom(seed: 7)
        func sequence() -> [Float] { (0..<(length * input)).map { _ in rng.gaussian() } }
        if train {
            let data = LabeledSequences(sequences: (0..<sequences).map { _ in sequence() },
                                        labels: (0..<sequences).map { $0 % classes })
            var settings = TrainingConfiguration()
            settings.epochs = 1; settings.batchSize = batch; settings.patience = nil; settings.seed = 1
            settings.concurrency = threads
            let start = Date()
            let out = try Trainer.train(architecture: config, classes: (0..<classes).map { "c\($0)" },
                                        training: data, settings: settings)
            let seconds = Date().timeIntervalSince(start)
            // The epoch's own time, as the peer times its loop: the trainer's clock starts after the
            // one-off preparation (input validation, normalisation fit and apply, initialisation),
            // which `train_seconds` includes.
            try emit(["epoch_seconds": out.history[0].elapsedSeconds, "train_seconds": seconds,
                      "final_loss": out.history.last?.trainingLoss ?? .nan])
        } else {
            let network = try RecurrentNetwork(configuration: config, seed: 3)
            let model = try SequenceClassifier(network: network, classes: (0..<classes).map { "c\($0)" },
                                               normalization: .identity(width: input))
            let inputs = (0..<batch).map { _ in sequence() }
            var checksum: Float = 0
            func once() throws {
                if batch == 1 { checksum += try model.logits(for: inputs[0])[0] }
                else { checksum += try model.evaluate(inputs, concurrency: threads).logits[0][0] }
            }
            for _ in 0..<3 { try once() }
            var done = 0
            let start = Date()
            var elapsed = 0.0
            repeat {
                try once()
                done += batch
                elapsed = Date().timeIntervalSince(start)
            } while elapsed < seconds
            try emit(["seq_per_s": Double(done) / elapsed, "checksum": Double(checksum)])
        }
    }

    func emit(_ figures: [String: Double]) throws {
        var doc: [String: Any] = figures
        doc["arch"] = arch; doc["batch"] = batch; doc["input"] = input; doc["hidden"] = hidden
        doc["length"] = length; doc["layers"] = layers; doc["threads"] = threads
        if train { doc["sequences"] = sequences }
        let data = try JSONSerialization.data(withJSONObject: doc, options: [.sortedKeys])
        print(String(decoding: data, as: UTF8.self))
    }
}

/// `audit-bench recurrent-accuracy`: trains on a UCR dataset's TRAIN split and reports TEST accuracy
/// per seed and the median — the real-data check of issue 3 (too slow for `swift test`).
struct RecurrentAccuracyBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "recurrent-accuracy",
        abstract: "Train/test accuracy on a UCR dataset (default splits), several seeds; prints JSON.")

    @Option(help: "Dataset folder containing NAME_TRAIN.tsv and NAME_TEST.tsv.") var data: String = "../shared/data"
    @Option(help: "UCR dataset name, e.g. ECG200 or ECG5000 (NAME_TRAIN.tsv), or a UEA one (NAME_TRAIN.ts, e.g. EyesOpenShut).")
    var dataset: String = "ECG200"
    @Option(help: "lstm, gru or lstm-fcn") var arch: String = "gru"
    @Option(name: .customLong("reduce-lr-after"), help: "lstm-fcn: halve the learning rate after this many epochs without validation improvement.")
    var reduceLrAfter: Int?
    @Option(name: .customLong("fcn-filters")) var fcnFilters: String = "128,256,128"
    @Option var hidden: Int = 64
    @Option var layers: Int = 1
    @Flag var bidirectional = false
    @Option var epochs: Int = 100
    @Option(name: .customLong("learning-rate")) var learningRate: Float = 1e-3
    @Option(name: .customLong("batch-size")) var batchSize: Int = 16
    @Option(name: .customLong("steps-per-frame"), help: "Raw steps per input frame (strided linear front end).")
    var stepsPerFrame: Int = 1
    @Option(name: .customLong("validation-fraction"), help: "Hold out this fraction of TRAIN for early stopping (0: none).")
    var validationFraction: Double = 0
    @Option var patience: Int = 30
    @Option var seeds: String = "1,2,3"
    @Option var threads: Int = 1

    func run() throws {
        MatrixProduct.setThreadCount(threads)
        let fcn = arch == "lstm-fcn"
        guard fcn || CellKind(rawValue: arch) != nil else { throw ValidationError("--arch must be lstm, gru or lstm-fcn") }
        let folder = URL(fileURLWithPath: data).appendingPathComponent(dataset)
        let uea = FileManager.default.fileExists(atPath: folder.appendingPathComponent("\(dataset)_TRAIN.ts").path)
        func load(_ split: String) throws -> ([[Float]], [String], Int) {
            if uea { return try Self.loadTS(folder.appendingPathComponent("\(dataset)_\(split).ts")) }
            let (x, y) = try Self.loadUCR(folder.appendingPathComponent("\(dataset)_\(split).tsv"))
            return (x, y, 1)
        }
        let (trainX, trainY, channels) = try load("TRAIN")
        let (testX, testY, _) = try load("TEST")
        let classes = Array(Set(trainY)).sorted { (Double($0) ?? 0, $0) < (Double($1) ?? 0, $1) }
        let training = LabeledSequences(sequences: trainX, labels: trainY.map { classes.firstIndex(of: $0)! })
        var runs: [[String: Any]] = []
        for seedText in seeds.split(separator: ",") {
            guard let seed = UInt64(seedText) else { throw ValidationError("bad seed \(seedText)") }
            var s = TrainingConfiguration()
            s.epochs = epochs; s.learningRate = learningRate; s.batchSize = batchSize; s.seed = seed
            s.validationFraction = validationFraction; s.patience = patience; s.stepsPerFrame = stepsPerFrame
            s.reduceLearningRateAfter = reduceLrAfter
            let start = Date()
            let out: TrainingOutcome
            if fcn {
                let filters = fcnFilters.split(separator: ",").compactMap { Int($0) }
                let config = LSTMFCNConfiguration(channels: channels, length: trainX[0].count / channels, hiddenSize: hidden,
                                                  classCount: classes.count, filters: filters, kernels: [8, 5, 3])
                out = try Trainer.trainLSTMFCN(architecture: config, classes: classes, training: training, settings: s)
            } else {
                let config = RecurrentConfiguration(cell: CellKind(rawValue: arch)!, inputSize: stepsPerFrame * channels, hiddenSize: hidden,
                                                    layerCount: layers, bidirectional: bidirectional,
                                                    classCount: classes.count)
                out = try Trainer.train(architecture: config, classes: classes, training: training, settings: s)
            }
            let logits = try out.classifier.logits(testX)
            let correct = zip(logits, testY).filter { classes[SequenceClassifier.argmax($0)] == $1 }.count
            runs.append(["seed": seed, "test_accuracy": Double(correct) / Double(testY.count),
                         "best_epoch": out.bestEpoch, "train_seconds": Date().timeIntervalSince(start),
                         "model_id": try out.classifier.modelID()])
            FileHandle.standardError.write(Data("seed \(seed): \(runs.last!["test_accuracy"]!)\n".utf8))
        }
        let accs = runs.compactMap { $0["test_accuracy"] as? Double }.sorted()
        let doc: [String: Any] = [
            "dataset": dataset, "arch": arch, "hidden": hidden, "layers": layers, "bidirectional": bidirectional,
            "epochs": epochs, "learning_rate": Double(learningRate), "batch_size": batchSize,
            "steps_per_frame": stepsPerFrame, "validation_fraction": validationFraction,
            "test_cases": testY.count, "runs": runs, "median_test_accuracy": accs[accs.count / 2],
        ]
        print(String(decoding: try JSONSerialization.data(withJSONObject: doc, options: [.sortedKeys]), as: UTF8.self))
    }

    /// UEA `.ts` without missing values or variable lengths (EyesOpenShut): header lines start with
    /// `@` or `#`; each case is channels separated by `:`, values by `,`, the class label last.
    /// Returns time-major `[T][M]` series.
    static func loadTS(_ url: URL) throws -> ([[Float]], [String], Int) {
        let text = try String(contentsOf: url, encoding: .utf8)
        var xs: [[Float]] = [], ys: [String] = [], channels = 0
        var inData = false
        for (n, raw) in text.split(whereSeparator: \.isNewline).enumerated() {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix("#") { continue }
            if line.lowercased().hasPrefix("@data") { inData = true; continue }
            if line.hasPrefix("@") || !inData { continue }
            var parts = line.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
            guard parts.count >= 2 else { throw ValidationError("\(url.path):\(n + 1): expected channels and a label") }
            ys.append(parts.removeLast().trimmingCharacters(in: .whitespaces))
            let series = try parts.map { ch in try ch.split(separator: ",").map { v -> Float in
                guard let f = Float(v.trimmingCharacters(in: .whitespaces)) else { throw ValidationError("\(url.path):\(n + 1): '\(v)' is not a number") }
                return f
            } }
            let t = series[0].count
            guard series.allSatisfy({ $0.count == t }) else { throw ValidationError("\(url.path):\(n + 1): channels of different lengths") }
            channels = series.count
            var timeMajor = [Float](repeating: 0, count: t * channels)
            for (c, ch) in series.enumerated() { for (i, v) in ch.enumerated() { timeMajor[i * channels + c] = v } }
            xs.append(timeMajor)
        }
        return (xs, ys, channels)
    }

    /// UCR `.tsv`: label, then one value per column. (The case store has the full importer; the
    /// benchmark reads the files directly so it measures the model alone.)
    static func loadUCR(_ url: URL) throws -> ([[Float]], [String]) {
        let text = try String(contentsOf: url, encoding: .utf8)
        var xs: [[Float]] = [], ys: [String] = []
        for (n, line) in text.split(whereSeparator: \.isNewline).enumerated() where !line.isEmpty {
            let fields = line.split(separator: "\t")
            guard fields.count > 1, let label = Double(fields[0]) else {
                throw ValidationError("\(url.path):\(n + 1): expected a label and values")
            }
            ys.append(label == label.rounded() ? String(Int(label)) : String(fields[0]))
            xs.append(try fields.dropFirst().enumerated().map { k, f in
                guard let v = Float(f) else { throw ValidationError("\(url.path):\(n + 1): field \(k + 2) is not a number") }
                return v
            })
        }
        return (xs, ys)
    }
}

/// Benchmark-local deterministic Gaussian source over plain SplitMix64 (inputs only).
struct BenchRandom {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 { SeededGenerator.splitMix64(&state) }
    mutating func gaussian() -> Float {
        let u1 = (Double(next() >> 11) + 1) / 9_007_199_254_740_993
        let u2 = Double(next() >> 11) / 9_007_199_254_740_992
        return Float((-2 * Foundation.log(u1)).squareRoot() * Foundation.cos(2 * .pi * u2))
    }
}

/// `audit-bench recurrent-lineage`: how early can a cell's lineage be called? Trains a unidirectional
/// GRU on the synthetic lineage cohort's train split and reports test accuracy when only the first
/// F frames of each track are observed.
struct RecurrentLineageBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "recurrent-lineage",
        abstract: "Lineage-cohort test accuracy as a function of frames observed; prints JSON.")

    @Option var cases: Int = 800
    @Option(help: "Cohort seed.") var cohortSeed: UInt64 = 17
    @Option var arch: String = "gru"
    @Option var hidden: Int = 32
    @Option var epochs: Int = 40
    @Option(help: "Truncated BPTT window (frames); each window's end is trained to call the lineage.") var tbptt: Int?
    @Option var seeds: String = "1,2,3"
    @Option(help: "Comma-separated prefix lengths (frames).") var frames: String = "5,10,20,30,45,60,90,120"
    @Option var threads: Int = 1

    func run() throws {
        MatrixProduct.setThreadCount(threads)
        guard let cell = CellKind(rawValue: arch) else { throw ValidationError("--arch must be lstm or gru") }
        let cohort = try LineageCohort.generate(LineageParameters(cases: cases), seed: cohortSeed)
        let classes = cohort.study.classes
        func data(_ split: CohortSplit) -> [(values: [Float], label: Int, length: Int)] {
            cohort.cases.filter { $0.split == split }.flatMap { c in
                c.scans.map { ($0.values, classes.firstIndex(of: c.trueLabel)!, $0.length) }
            }
        }
        let train = data(.train), test = data(.test) + data(.validation)
        let width = cohort.study.channels.count
        let prefixLengths = frames.split(separator: ",").compactMap { Int($0) }
        var runs: [[String: Any]] = []
        for seedText in seeds.split(separator: ",") {
            guard let seed = UInt64(seedText) else { throw ValidationError("bad seed \(seedText)") }
            var s = TrainingConfiguration()
            s.epochs = epochs; s.batchSize = 16; s.learningRate = 2e-3; s.seed = seed; s.patience = nil
            s.truncation = tbptt
            let config = RecurrentConfiguration(cell: cell, inputSize: width, hiddenSize: hidden, classCount: classes.count)
            let out = try Trainer.train(architecture: config, classes: classes,
                                        training: LabeledSequences(sequences: train.map(\.values), labels: train.map(\.label)),
                                        settings: s)
            var curve: [String: Double] = [:]
            for f in prefixLengths {
                let prefixes = test.map { Array($0.values.prefix(min(f, $0.length) * width)) }
                let logits = try out.classifier.logits(prefixes)
                let correct = zip(logits, test).filter { SequenceClassifier.argmax($0) == $1.label }.count
                curve[String(f)] = Double(correct) / Double(test.count)
            }
            let full = try out.classifier.logits(test.map(\.values))
            curve["full"] = Double(zip(full, test).filter { SequenceClassifier.argmax($0) == $1.label }.count) / Double(test.count)
            runs.append(["seed": seed, "accuracy_by_frames": curve])
            FileHandle.standardError.write(Data("seed \(seed): \(curve.sorted { $0.key < $1.key })\n".utf8))
        }
        let doc: [String: Any] = ["cohort_cases": cases, "cohort_seed": cohortSeed, "arch": arch, "hidden": hidden,
                                  "epochs": epochs, "tbptt": tbptt ?? NSNull(), "train_tracks": train.count,
                                  "test_tracks": test.count, "runs": runs]
        print(String(decoding: try JSONSerialization.data(withJSONObject: doc, options: [.sortedKeys]), as: UTF8.self))
    }
}
