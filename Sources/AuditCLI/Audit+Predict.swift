import ArgumentParser
import AuditLog
import CaseStore
import Digests
import Foundation
import Pipeline
import Recurrent

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

        struct Prediction: Encodable {
            var caseId: String
            var scan: Int
            var logits: [Float]
            var probabilities: [Float]
            var predictedClass: String
            enum CodingKeys: String, CodingKey {
                case caseId = "case_id", scan, logits, probabilities, predictedClass = "predicted_class"
            }
        }

        struct Document: Encodable {
            var model: String
            var classes: [String]
            var predictions: [Prediction]
        }

        func run() async throws {
            let store = try storeOptions.openExisting()
            let (record, scans) = try store.read { db -> (RunContext.LoadedModel, [CaseScan]) in
                _ = try CaseStore.study(db, named: study)
                let m: RunContext.LoadedModel
                if let model { m = try ArtefactLoader.model(db, id: model) } else {
                    guard let newest = try ArtefactLoader.newestModel(db, study: study) else {
                        throw CLIError.missing("study \(study) has no registered model; pass --model")
                    }
                    m = newest
                }
                return (m, try CaseStore.caseScans(db, study: study, splits: [split], verifiedOnly: false))
            }
            let classifier = record.classifier
            if let bad = scans.first(where: { $0.scan.channels != classifier.stepWidth }) {
                throw CLIError.badInput("case \(bad.caseRecord.id) scan \(bad.scan.scanIndex) has \(bad.scan.channels) channels; model \(record.id) expects \(classifier.stepWidth)")
            }
            RecurrentRuntime.setBLASThreads(1)
            let bar = ProgressBar(total: scans.count, label: "predict", enabled: output.showsProgress && !output.json)
            var predictions: [Prediction] = []
            predictions.reserveCapacity(scans.count)
            for first in stride(from: 0, to: scans.count, by: 256) {
                let chunk = Array(scans[first..<min(first + 256, scans.count)])
                let logits: [[Float]]
                do { logits = try classifier.logits(chunk.map(\.scan.values)) } catch {
                    throw CLIError.badInput("study \(study), split \(split.rawValue): \(error)")
                }
                for (s, z) in zip(chunk, logits) {
                    predictions.append(Prediction(caseId: s.caseRecord.id, scan: s.scan.scanIndex, logits: z,
                                                  probabilities: SequenceClassifier.probabilities(z),
                                                  predictedClass: classifier.classes[SequenceClassifier.argmax(z)]))
                }
                bar.update(predictions.count)
            }
            bar.finish()
            let document = Document(model: record.id, classes: classifier.classes, predictions: predictions)
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            let outputHash = ContentHash.sha256Hex(try encoder.encode(document))
            try store.logAction(actor: actorOptions.actor, action: "model.predict", subject: AuditSubject(type: "model", id: record.id),
                                payload: PredictPayload(modelId: record.id, study: study, split: split.rawValue,
                                                        scans: predictions.count, outputSha256: outputHash))
            if output.json {
                try Console.json(document)
            } else {
                Console.out(["case_id", "scan", "predicted_class", "probability"].joined(separator: "\t"))
                for p in predictions {
                    let prob = p.probabilities.max() ?? 0
                    Console.out("\(p.caseId)\t\(p.scan)\t\(p.predictedClass)\t\(String(format: "%.4f", prob))")
                }
            }
        }

        struct PredictPayload: Encodable {
            var modelId: String, study: String, split: String, scans: Int, outputSha256: String
            enum CodingKeys: String, CodingKey {
                case modelId = "model_id", study, split, scans, outputSha256 = "output_sha256"
            }
        }
    }
}
