import Digests
import Foundation

/// Model files: safetensors with PyTorch tensor names and `countersign.*` metadata.
extension SequenceClassifier {
    public enum MetadataKey {
        public static let arch = "countersign.arch"
        public static let inputSize = "countersign.input_size"
        public static let hiddenSize = "countersign.hidden_size"
        public static let layerCount = "countersign.num_layers"
        public static let bidirectional = "countersign.bidirectional"
        public static let classes = "countersign.classes"
        public static let featureMean = "countersign.feature_mean"
        public static let featureStd = "countersign.feature_std"
        /// Optional (default 1): raw time steps per input frame, see `SequenceClassifier.stepsPerFrame`.
        public static let stepsPerFrame = "countersign.steps_per_frame"
        static let all: Set<String> = [arch, inputSize, hiddenSize, layerCount, bidirectional, classes,
                                       featureMean, featureStd, stepsPerFrame]
    }

    /// Reads a model from safetensors bytes; `file` names the source in errors.
    public init(safetensors bytes: [UInt8], file: String = "<memory>") throws {
        func fail(_ why: String) -> RecurrentError { .malformedFile(file: file, reason: why) }
        let (tensors, meta) = try SafeTensors.parse(bytes, file: file)
        func value(_ key: String) throws -> String {
            guard let v = meta[key] else { throw fail("metadata key \(key) is missing") }
            return v
        }
        func int(_ key: String) throws -> Int {
            guard let v = Int(try value(key)) else { throw fail("metadata \(key) = \"\(try value(key))\" is not an integer") }
            return v
        }
        guard let cell = CellKind(rawValue: try value(MetadataKey.arch)) else {
            throw fail("metadata \(MetadataKey.arch) = \"\(try value(MetadataKey.arch))\" is not lstm or gru")
        }
        let bidiText = try value(MetadataKey.bidirectional)
        guard bidiText == "true" || bidiText == "false" else {
            throw fail("metadata \(MetadataKey.bidirectional) = \"\(bidiText)\" is not true or false")
        }
        let classes: [String]
        do {
            classes = try JSONDecoder().decode([String].self, from: Data(try value(MetadataKey.classes).utf8))
        } catch let e as RecurrentError { throw e } catch {
            throw fail("metadata \(MetadataKey.classes) is not a JSON array of strings")
        }
        let mean = try Self.parseFloatArray(try value(MetadataKey.featureMean), key: MetadataKey.featureMean, file: file)
        let std = try Self.parseFloatArray(try value(MetadataKey.featureStd), key: MetadataKey.featureStd, file: file)
        let config = RecurrentConfiguration(
            cell: cell, inputSize: try int(MetadataKey.inputSize), hiddenSize: try int(MetadataKey.hiddenSize),
            layerCount: try int(MetadataKey.layerCount), bidirectional: bidiText == "true",
            classCount: classes.count)
        do { try config.validate() } catch { throw fail("\(error)") }
        let layout = ParameterLayout(config)
        var parameters = [Float](repeating: 0, count: layout.totalCount)
        for spec in layout.tensors {
            guard let t = tensors[spec.name] else { throw fail("tensor \(spec.name) is missing") }
            guard t.shape == spec.shape else {
                throw fail("tensor \(spec.name) has shape \(t.shape), expected \(spec.shape)")
            }
            if let k = t.values.firstIndex(where: { !$0.isFinite }) {
                throw fail("tensor \(spec.name) element \(k) is \(t.values[k]) (weights must be finite)")
            }
            parameters.replaceSubrange(spec.offset..<(spec.offset + spec.count), with: t.values)
        }
        let expected = Set(layout.tensors.map(\.name))
        if let extra = tensors.keys.sorted().first(where: { !expected.contains($0) }) {
            throw fail("unexpected tensor \(extra) for a \(config.layerCount)-layer "
                + "\(config.bidirectional ? "bidirectional " : "")\(cell.rawValue)")
        }
        let normalization: FeatureNormalization
        do { normalization = try FeatureNormalization(mean: mean, std: std) } catch { throw fail("\(error)") }
        var frame = 1
        if meta[MetadataKey.stepsPerFrame] != nil { frame = try int(MetadataKey.stepsPerFrame) }
        do {
            try self.init(network: try RecurrentNetwork(configuration: config, parameters: parameters),
                          classes: classes, normalization: normalization,
                          provenance: meta.filter { !MetadataKey.all.contains($0.key) }, stepsPerFrame: frame)
        } catch let e as RecurrentError {
            throw fail("\(e)")
        }
    }

    public init(contentsOf url: URL) throws {
        let data: Data
        do { data = try Data(contentsOf: url) } catch {
            throw RecurrentError.malformedFile(file: url.path, reason: "cannot read: \(error.localizedDescription)")
        }
        try self.init(safetensors: [UInt8](data), file: url.path)
    }

    /// The metadata written into the file (architecture, classes, normalisation, provenance).
    public var metadata: [String: String] {
        let c = configuration
        var m = provenance
        m[MetadataKey.arch] = c.cell.rawValue
        m[MetadataKey.inputSize] = String(c.inputSize)
        m[MetadataKey.hiddenSize] = String(c.hiddenSize)
        m[MetadataKey.layerCount] = String(c.layerCount)
        m[MetadataKey.bidirectional] = c.bidirectional ? "true" : "false"
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes]
        m[MetadataKey.classes] = (try? encoder.encode(classes)).map { String(decoding: $0, as: UTF8.self) } ?? "[]"
        m[MetadataKey.featureMean] = Self.formatFloatArray(normalization.mean)
        m[MetadataKey.featureStd] = Self.formatFloatArray(normalization.std)
        if stepsPerFrame != 1 { m[MetadataKey.stepsPerFrame] = String(stepsPerFrame) }
        return m
    }

    /// The exact bytes of the model file. Deterministic: the same model always gives the same bytes.
    public func serializedBytes() throws -> [UInt8] {
        let tensors = network.layout.tensors.map { spec in
            (name: spec.name, tensor: SafeTensors.Tensor(
                shape: spec.shape, values: Array(network.parameters[spec.offset..<(spec.offset + spec.count)])))
        }
        return try SafeTensors.serialize(tensors, metadata: metadata)
    }

    /// Model id: lowercase hex SHA-256 of the safetensors bytes.
    public static func modelID(of bytes: [UInt8]) -> String {
        ContentHash.sha256Hex(bytes)
    }

    public func modelID() throws -> String { Self.modelID(of: try serializedBytes()) }

    static func formatFloatArray(_ values: [Float]) -> String {
        "[" + values.map { "\($0)" }.joined(separator: ", ") + "]"
    }

    static func parseFloatArray(_ text: String, key: String, file: String) throws -> [Float] {
        let t = text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard t.hasPrefix("["), t.hasSuffix("]") else {
            throw RecurrentError.malformedFile(file: file, reason: "metadata \(key) is not a JSON array")
        }
        let body = t.dropFirst().dropLast().trimmingCharacters(in: .whitespacesAndNewlines)
        if body.isEmpty { return [] }
        return try body.split(separator: ",").enumerated().map { k, item in
            guard let v = Float(item.trimmingCharacters(in: .whitespacesAndNewlines)), v.isFinite else {
                throw RecurrentError.malformedFile(file: file, reason: "metadata \(key)[\(k)] = \"\(item)\" is not a finite number")
            }
            return v
        }
    }
}
