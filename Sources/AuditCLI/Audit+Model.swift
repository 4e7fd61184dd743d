import ArgumentParser
import CaseStore
import Digests
import Foundation
import Pipeline

extension Audit {
    /// `audit model import|export|list|show`: the model registry. A model's id is the SHA-256 of
    /// its safetensors bytes, which the store keeps verbatim, so export reproduces the imported file.
    struct Model: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Import, export, list and show registered models.",
            subcommands: [Import.self, Export.self, List.self, Show.self])
    }
}

extension Audit.Model {
    struct Import: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Register a safetensors model file (PyTorch names, countersign.* metadata); print its id.")
        @OptionGroup var storeOptions: StoreOptions
        @OptionGroup var actorOptions: ActorOptions
        @OptionGroup var output: OutputOptions
        @Argument(help: "The .safetensors file.") var file: String
        @Option(help: "Study the model classifies (its classes must equal the study's, in order).") var study: String?

        func run() async throws {
            let store = try storeOptions.open()
            let result = try ModelImportJob(store: store, file: file, study: study, actor: actorOptions.actor).run()
            if output.json {
                try ModelJSON.printObject(["model_id": result.modelId, "registered": result.registered,
                                           "log_seq": result.logSeq.map { $0 as Any } ?? NSNull()])
            } else {
                if !result.registered && !output.quiet { Console.err("model \(result.modelId) was already registered") }
                Console.out(result.modelId)
            }
        }
    }

    struct Export: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write a registered model's safetensors bytes (byte-identical to what was registered) to FILE.")
        @OptionGroup var storeOptions: StoreOptions
        @OptionGroup var actorOptions: ActorOptions
        @OptionGroup var output: OutputOptions
        @Argument(help: "Model id (or a unique prefix of at least 8 hex digits).") var id: String
        @Argument(help: "Destination .safetensors file.") var file: String

        func run() async throws {
            let store = try storeOptions.openExisting()
            let result = try ModelExportJob(store: store, id: id, file: file, actor: actorOptions.actor).run()
            if output.json {
                try ModelJSON.printObject(["model_id": result.modelId, "file": file, "bytes": result.bytes])
            } else if !output.quiet {
                Console.err("wrote \(result.bytes) bytes to \(file)")
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List registered models, newest first.")
        @OptionGroup var storeOptions: StoreOptions
        @OptionGroup var output: OutputOptions
        @Option(help: "Only models of this study.") var study: String?

        func run() async throws {
            let store = try storeOptions.openExisting()
            let models = try store.read { db in try CaseStore.modelSummaries(db, study: study) }
            if output.json {
                try ModelJSON.printObject(models.map(Self.object))
                return
            }
            Console.out(["model_id", "study", "arch", "classes", "created_at", "val_acc"].joined(separator: "\t"))
            for m in models {
                let metrics = ModelJSON.parse(m.metrics) as? [String: Any]
                let acc = (metrics?["validation_accuracy"] as? Double).map { String(format: "%.4f", $0) } ?? "—"
                Console.out([m.id, m.study ?? "—", m.arch, m.classes, m.createdAt, acc].joined(separator: "\t"))
            }
        }

        static func object(_ m: ModelSummary) -> [String: Any] {
            ["model_id": m.id, "study": m.study ?? NSNull(), "arch": m.arch, "classes": ModelJSON.parse(m.classes),
             "config": ModelJSON.parse(m.config), "training": ModelJSON.parse(m.training),
             "metrics": ModelJSON.parse(m.metrics), "created_at": m.createdAt, "size_bytes": m.sizeBytes]
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show one model: architecture, classes, normalisation, training data, metrics.")
        @OptionGroup var storeOptions: StoreOptions
        @OptionGroup var output: OutputOptions
        @Argument(help: "Model id (or a unique prefix of at least 8 hex digits).") var id: String

        func run() async throws {
            let store = try storeOptions.openExisting()
            let m = try store.read { db in try CaseStore.model(db, id: id) }
            let summary = ModelSummary(id: m.id, study: m.study, arch: m.arch, classes: m.classes, config: m.config,
                                       training: m.training, metrics: m.metrics, createdAt: m.createdAt,
                                       sizeBytes: m.weights.count)
            var object = List.object(summary)
            // Re-hash the stored bytes so the reader sees the id is what it claims to be.
            object["sha256_verified"] = ContentHash.sha256Hex(m.weights) == m.id
            if output.json {
                try ModelJSON.printObject(object)
            } else {
                for key in object.keys.sorted() {
                    let v = object[key]!
                    let text = (v is String) ? v as! String : ((try? ModelRegistration.json(v)) ?? "\(v)")
                    Console.out("\(key): \(text)")
                }
            }
        }
    }
}
