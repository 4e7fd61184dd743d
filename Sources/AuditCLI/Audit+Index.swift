import ArgumentParser
import AuditLog
import CaseStore
import Foundation
import Pipeline
import Recurrent
import Retrieval

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

        struct Payload: Encodable {
            var modelId: String
            var study: String?
            var splits: [String]
            var scans: Int
            var computed: Int
            var reused: Int
            var dim: Int?
            enum CodingKeys: String, CodingKey {
                case modelId = "model_id", study, splits, scans, computed, reused, dim
            }
        }

        struct Document: Encodable {
            var payload: Payload
            var auditSeq: Int?
            func encode(to encoder: Encoder) throws {
                try payload.encode(to: encoder)
                var c = encoder.container(keyedBy: Key.self)
                try c.encode(auditSeq, forKey: .auditSeq)
            }
            enum Key: String, CodingKey { case auditSeq = "audit_seq" }
        }

        func run() async throws {
            let store = try storeOptions.openExisting()
            let splitList = try RetrievalCLI.splits(splits, option: "--splits")
            let record = try store.read { db in try ArtefactLoader.model(db, id: model) }
            let modelID = record.id
            let classifier = record.classifier
            let studyName = study ?? record.study
            let (scans, stored) = try store.read { db in
                (try CaseStore.caseScans(db, study: studyName, splits: splitList, verifiedOnly: true),
                 try CaseStore.embeddings(db, modelId: modelID))
            }
            let missing = scans.filter { stored[$0.caseRecord.id]?[$0.scan.scanIndex] == nil }
            for cs in missing where cs.scan.hasMissing {
                throw CLIError.badInput("case '\(cs.caseRecord.id)' scan \(cs.scan.scanIndex) has missing values; it cannot be embedded")
            }
            var records: [EmbeddingRecord] = []
            let bar = ProgressBar(total: missing.count, label: "embed", enabled: output.showsProgress && !output.json && !missing.isEmpty)
            for start in stride(from: 0, to: missing.count, by: 256) {
                let chunk = Array(missing[start..<min(start + 256, missing.count)])
                let vectors: [[Float]]
                do { vectors = try classifier.embeddings(chunk.map(\.scan.values)) } catch {
                    throw CLIError.badInput("embedding cases \(chunk.first?.caseRecord.id ?? "")…: \(error)")
                }
                for (cs, v) in zip(chunk, vectors) {
                    records.append(EmbeddingRecord(modelId: modelID, caseId: cs.caseRecord.id, scanIndex: cs.scan.scanIndex, values: v))
                }
                bar.update(records.count)
            }
            bar.finish()
            let payload = Payload(modelId: modelID, study: studyName, splits: splitList.map(\.rawValue), scans: scans.count,
                                  computed: records.count, reused: scans.count - missing.count,
                                  dim: records.first?.dim ?? stored.values.first?.values.first?.count)
            let event = try store.saveEmbeddings(records, modelId: modelID, actor: actorOptions.actor, payload: payload)
            if output.json {
                try Console.json(Document(payload: payload, auditSeq: event.seq))
            } else {
                Console.out("model \(modelID): \(payload.computed) embeddings computed, \(payload.reused) already stored (\(payload.scans) verified scans in \(payload.splits.joined(separator: ","))); log event \(event.seq)")
            }
        }
    }
}
