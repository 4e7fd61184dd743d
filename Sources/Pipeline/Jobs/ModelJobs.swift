import AuditLog
import CaseStore
import Files
import Foundation
import Recurrent

/// How a model becomes a registry record: id = SHA-256 of the safetensors bytes, which the store keeps
/// verbatim; architecture, classes and normalisation as JSON beside them.
public enum ModelRegistration {
    /// Compact, key-sorted JSON text (what the registry's JSON columns and model metadata hold).
    public static func json(_ object: Any) throws -> String {
        String(decoding: try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes, .fragmentsAllowed]),
               as: UTF8.self)
    }

    static func config(_ c: SequenceClassifier) -> [String: Any] {
        if case .ensemble(let members) = c.backbone {
            return ["arch": c.architectureName, "ensemble": members.count, "members": members.map(config)]
        }
        let k = c.configuration
        if case .lstmFCN(let n) = c.backbone {
            let f = n.configuration
            return ["arch": c.architectureName, "channels": f.channels, "sequence_length": f.length, "hidden_size": f.hiddenSize,
                    "fcn_filters": f.convolution.filters, "fcn_kernels": f.convolution.kernels,
                    "feature_mean": c.normalization.mean.map(Double.init), "feature_std": c.normalization.std.map(Double.init)]
        }
        return ["arch": k.cell.rawValue, "input_size": k.inputSize, "hidden_size": k.hiddenSize, "num_layers": k.layerCount,
                "bidirectional": k.bidirectional, "steps_per_frame": c.stepsPerFrame,
                "feature_mean": c.normalization.mean.map(Double.init), "feature_std": c.normalization.std.map(Double.init)]
    }

    static func record(id: String, study: String?, classifier: SequenceClassifier, bytes: [UInt8],
                       training: [String: Any], metrics: [String: Any]) throws -> ModelRecord {
        ModelRecord(id: id, study: study, arch: classifier.architectureName,
                    classes: try json(classifier.classes), config: try json(config(classifier)),
                    training: try json(training), metrics: try json(metrics), weights: Data(bytes))
    }
}

/// `audit model import`: registers a safetensors file (PyTorch names, countersign.* metadata); logs
/// `model.import` unless the identical model was already registered.
public struct ModelImportJob {
    public var store: CaseStore
    public var file: String
    public var study: String?
    public var actor: String

    public init(store: CaseStore, file: String, study: String?, actor: String) {
        self.store = store; self.file = file; self.study = study; self.actor = actor
    }

    public struct Result: Sendable {
        public var modelId: String
        /// False when the identical bytes were already registered (nothing written, no event).
        public var registered: Bool
        public var logSeq: Int?
    }

    public func run() throws -> Result {
        guard FileManager.default.fileExists(atPath: file) else { throw PipelineError.missing("\(file): no such file") }
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: file)) } catch {
            throw PipelineError.missing("\(file): cannot read: \(error.localizedDescription)")
        }
        let bytes = [UInt8](data)
        let classifier: SequenceClassifier
        do { classifier = try SequenceClassifier(safetensors: bytes, file: file) } catch {
            throw PipelineError.badInput("\(error)")
        }
        let id = SequenceClassifier.modelID(of: bytes)
        let training: [String: Any] = ["imported_from": URL(fileURLWithPath: file).lastPathComponent,
                                       "provenance": classifier.provenance]
        let record = try ModelRegistration.record(id: id, study: study, classifier: classifier, bytes: bytes,
                                                  training: training, metrics: [:])
        let event = try store.registerImportedModel(record, classes: classifier.classes, study: study, file: file, actor: actor)
        return Result(modelId: id, registered: event != nil, logSeq: event?.seq)
    }
}

/// `audit model export`: writes a registered model's bytes (identical to what was registered) to a
/// file; logs `model.export` — who took a copy of which model, and where to.
public struct ModelExportJob {
    public var store: CaseStore
    public var id: String
    public var file: String
    public var actor: String

    public init(store: CaseStore, id: String, file: String, actor: String) {
        self.store = store; self.id = id; self.file = file; self.actor = actor
    }

    public struct Result: Sendable {
        public var modelId: String
        public var bytes: Int
    }

    public func run() throws -> Result {
        let record = try store.exportModel(id: id, file: file, actor: actor)
        do { try AtomicFile.write(record.weights, to: URL(fileURLWithPath: file)) } catch {
            throw PipelineError.missing("\(file): cannot write: \(error.localizedDescription)")
        }
        return Result(modelId: record.id, bytes: record.weights.count)
    }
}
