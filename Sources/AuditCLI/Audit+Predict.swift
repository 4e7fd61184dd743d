import ArgumentParser
import CaseStore
import Foundation
import Pipeline

extension Audit {
    /// `audit predict`: logits and probabilities of a registered model for every scan of a study split.
    /// Logs a `model.predict` event (model, study, split, scan count, hash of the output).
    struct Predict: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Run a registered model over every scan of a study split.")
        @OptionGroup var storeOptions: StoreOptions
        @OptionGroup var actorOptions: ActorOptions
        @OptionGroup var output: OutputOptions
        @Option(help: "Model id (or a unique prefix); default: the study's newest model.") var model: String?
        @Option(help: "Study.") var study: String
        @Option(help: "Split.") var split: Split

        func run() async throws {
            let store = try storeOptions.openExisting()
            let bar = ProgressBar(total: 0, label: "predict", enabled: output.showsProgress && !output.json)
            let document = try PredictJob(store: store, modelId: model, study: study, split: split, actor: actorOptions.actor)
                .run { done, total in bar.update(done, total: total) }
            bar.finish()
            if output.json {
                try Console.json(document)
            } else {
                Console.out(["case_id", "scan", "predicted_class", "probability"].joined(separator: "\t"))
                for p in document.predictions {
                    let prob = p.probabilities.max() ?? 0
                    Console.out("\(p.caseId)\t\(p.scan)\t\(p.predictedClass)\t\(String(format: "%.4f", prob))")
                }
            }
        }
    }
}
