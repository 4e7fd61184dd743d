import ArgumentParser
import CaseStore
import Foundation
import Pipeline

extension Audit {
    /// `audit index`: the retrieval index's embeddings in the case store.
    struct Index: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "index",
            abstract: "Embeddings of verified reference cases for retrieval.",
            subcommands: [Build.self])
    }
}

extension Audit.Index {
    /// Computes and stores a model's embeddings of the verified cases of the given splits, only where
    /// absent for that model; logs one `index.build` event in the same transaction.
    struct Build: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Compute a model's embeddings of verified reference cases (only those not yet stored).")

        @OptionGroup var storeOptions: StoreOptions
        @OptionGroup var actorOptions: ActorOptions
        @OptionGroup var output: OutputOptions
        @Option(help: "Model id (SHA-256 of its weights, or a unique prefix of at least 8 digits).") var model: String
        @Option(help: "Study (default: the model's study).") var study: String?
        @Option(help: "Splits of the reference cases, comma-separated.") var splits: String = "reference,train"

        func validate() throws { _ = try RetrievalCLI.splits(splits, option: "--splits") }

        struct Document: Encodable {
            var result: IndexBuildJob.Result
            var auditSeq: Int?
            func encode(to encoder: Encoder) throws {
                try result.encode(to: encoder)
                var c = encoder.container(keyedBy: Key.self)
                try c.encode(auditSeq, forKey: .auditSeq)
            }
            enum Key: String, CodingKey { case auditSeq = "audit_seq" }
        }

        func run() async throws {
            let store = try storeOptions.openExisting()
            let splitList = try RetrievalCLI.splits(splits, option: "--splits")
            let bar = ProgressBar(total: 0, label: "embed", enabled: output.showsProgress && !output.json)
            var drew = false
            let (result, seq) = try IndexBuildJob(store: store, modelId: model, study: study, splits: splitList,
                                                  actor: actorOptions.actor).run { done, total in
                drew = true
                bar.update(done, total: total)
            }
            if drew { bar.finish() }
            if output.json {
                try Console.json(Document(result: result, auditSeq: seq))
            } else {
                Console.out("model \(result.modelId): \(result.computed) embeddings computed, \(result.reused) already stored (\(result.scans) verified scans in \(result.splits.joined(separator: ","))); log event \(seq)")
            }
        }
    }
}
