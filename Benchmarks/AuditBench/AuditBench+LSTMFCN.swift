import ArgumentParser
import Foundation
import LinearAlgebra
import Recurrent

/// `audit-bench lstm-fcn`: LSTM-FCN inference throughput (sequences/s) or one Adam training epoch
/// (seconds), published shape by default (128/256/128 filters, kernels 8/5/3, LSTM of 8 units).
/// `Benchmarks/peers/torch_lstm_fcn.py` runs the same shapes; `Benchmarks/compare-lstm-fcn.sh` pairs them.
struct LSTMFCNBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lstm-fcn",
        abstract: "LSTM-FCN inference throughput or training epoch time; prints one JSON document.")

    @Option(help: "Batch size.") var batch: Int = 256
    @Option(help: "Channels per time step.") var channels: Int = 1
    @Option(help: "Series length.") var length: Int = 140
    @Option(help: "LSTM units.") var hidden: Int = 8
    @Option(help: "Classes of the head.") var classes: Int = 5
    @Flag(help: "Time one training epoch (Adam) instead of inference.") var train = false
    @Option(help: "Training sequences per epoch (with --train).") var sequences: Int = 2000
    @Option(help: "Minimum seconds to run the inference loop.") var seconds: Double = 3
    @Option(help: "Cores (the peer uses as many torch threads): inference splits the batch over this many workers with single-threaded OpenBLAS (eval mode makes sequences independent); training gives OpenBLAS the threads.")
    var threads: Int = 2
    @Flag(help: "Print JSON (always JSON).") var json = false

    func run() throws {
        MatrixProduct.setThreadCount(train ? threads : 1)
        let config = LSTMFCNConfiguration(channels: channels, length: length, hiddenSize: hidden, classCount: classes)
        var rng = BenchRandom(seed: 7)
        func sequence() -> [Float] { (0..<(length * channels)).map { _ in rng.gaussian() } }
        if train {
            let data = LabeledSequences(sequences: (0..<sequences).map { _ in sequence() }, labels: (0..<sequences).map { $0 % classes })
            var settings = TrainingConfiguration()
            settings.epochs = 1; settings.batchSize = batch; settings.patience = nil; settings.seed = 1
            let out = try Trainer.trainLSTMFCN(architecture: config, classes: (0..<classes).map { "c\($0)" }, training: data, settings: settings)
            try emit(["epoch_seconds": out.history[0].elapsedSeconds, "final_loss": out.history[0].trainingLoss])
        } else {
            let model = try SequenceClassifier(lstmFCN: try LSTMFCNNetwork(configuration: config, seed: 3),
                                               classes: (0..<classes).map { "c\($0)" }, normalization: .identity(width: channels))
            let inputs = (0..<batch).map { _ in sequence() }
            var checksum: Float = 0
            func once() throws { checksum += try model.evaluate(inputs, concurrency: threads).logits[0][0] }
            try once()
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
        doc["arch"] = "lstm-fcn"; doc["batch"] = batch; doc["channels"] = channels; doc["length"] = length
        doc["hidden"] = hidden; doc["threads"] = threads
        if train { doc["sequences"] = sequences }
        let data = try JSONSerialization.data(withJSONObject: doc, options: [.sortedKeys])
        print(String(decoding: data, as: UTF8.self))
    }
}
