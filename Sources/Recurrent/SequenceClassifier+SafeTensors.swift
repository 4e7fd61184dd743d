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
        /// LSTM-FCN only: the series length T, and the convolution blocks' filters and kernels (JSON arrays).
        public static let sequenceLength = "countersign.sequence_length"
        public static let fcnFilters = "countersign.fcn_filters"
        public static let fcnKernels = "countersign.fcn_kernels"
        /// Ensembles only: the number of members; member i's tensors are named `member{i}.NAME` and
        /// its metadata `member{i}/KEY`.
        public static let ensemble = "countersign.ensemble"
        static let all: Set<String> = [arch, inputSize, hiddenSize, layerCount, bidirectional, classes,
                                       featureMean, featureStd, stepsPerFrame, sequenceLength, fcnFilters, fcnKernels, ensemble]
    }

    /// Reads a model from safetensors bytes; `file` names the source in errors.
    public init(safetensors bytes: [UInt8], file: String = "<memory>") throws {
        let (tensors, meta) = try SafeTensors.parse(bytes, file: file)
        if let text = meta[MetadataKey.ensemble] {
            guard let n = Int(text), n >= 2, n <= 64 else {
                throw RecurrentError.malformedFile(file: file, reason: "metadata \(MetadataKey.ensemble) = \"\(text)\" is not a member count in 2...64")
            }
            var members: [SequenceClassifier] = []
            for i in 0..<n {
                let tp = "member\(i).", mp = "member\(i)/"
                let memberTensors = Dictionary(uniqueKeysWithValues: tensors.filter { $0.key.hasPrefix(tp) }.map { (String($0.key.dropFirst(tp.count)), $0.value) })
                let memberMeta = Dictionary(uniqueKeysWithValues: meta.filter { $0.key.hasPrefix(mp) }.map { (String($0.key.dropFirst(mp.count)), $0.value) })
                guard !memberTensors.isEmpty else { throw RecurrentError.malformedFile(file: file, reason: "ensemble member \(i) has no tensors") }
                members.append(try SequenceClassifier(tensors: memberTensors, metadata: memberMeta, file: "\(file) member \(i)"))
            }
            let known = Set((0..<n).map { "member\($0)." })
            if let stray = tensors.keys.sorted().first(where: { name in !known.contains(where: { name.hasPrefix($0) }) }) {
                throw RecurrentError.malformedFile(file: file, reason: "unexpected tensor \(stray) in an ensemble of \(n)")
            }
            do {
                try self.init(ensemble: members, provenance: meta.filter { !$0.key.hasPrefix("member") && $0.key != MetadataKey.ensemble })
            } catch let e as RecurrentError { throw RecurrentError.malformedFile(file: file, reason: "\(e)") }
            return
        }
        try self.init(tensors: tensors, metadata: meta, file: file)
    }

    /// A single (non-ensemble) model from parsed tensors and metadata.
    init(tensors: [String: SafeTensors.Tensor], metadata meta: [String: String], file: String) throws {
        func fail(_ why: String) -> RecurrentError { .malformedFile(file: file, reason: why) }
        func value(_ key: String) throws -> String {
            guard let v = meta[key] else { throw fail("metadata key \(key) is missing") }
            return v
        }
        func int(_ key: String) throws -> Int {
            guard let v = Int(try value(key)) else { throw fail("metadata \(key) = \"\(try value(key))\" is not an integer") }
            return v
        }
        if try value(MetadataKey.arch) == Self.lstmFCNArchitecture {
            try self.init(lstmFCNTensors: tensors, metadata: meta, file: file)
            return
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
        if case .ensemble(let members) = backbone {
            var m = provenance
            m[MetadataKey.ensemble] = String(members.count)
            for (i, member) in members.enumerated() { for (k, v) in member.metadata { m["member\(i)/" + k] = v } }
            return m
        }
        let c = configuration
        var m = provenance
        m[MetadataKey.arch] = architectureName
        if case .lstmFCN(let n) = backbone {
            m[MetadataKey.inputSize] = String(n.configuration.channels)
            m[MetadataKey.sequenceLength] = String(n.configuration.length)
            m[MetadataKey.fcnFilters] = "[" + n.configuration.convolution.filters.map(String.init).joined(separator: ", ") + "]"
            m[MetadataKey.fcnKernels] = "[" + n.configuration.convolution.kernels.map(String.init).joined(separator: ", ") + "]"
        }
        if m[MetadataKey.inputSize] == nil { m[MetadataKey.inputSize] = String(c.inputSize) }
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
        try SafeTensors.serialize(namedTensors, metadata: metadata)
    }

    /// Every tensor the file holds, with its name.
    var namedTensors: [(name: String, tensor: SafeTensors.Tensor)] {
        switch backbone {
        case .lstmFCN(let n): return Self.tensors(of: n)
        case .ensemble(let members):
            return members.enumerated().flatMap { i, m in m.namedTensors.map { (name: "member\(i)." + $0.name, tensor: $0.tensor) } }
        case .recurrent(let network):
            return network.layout.tensors.map { spec in
                (name: spec.name, tensor: SafeTensors.Tensor(
                    shape: spec.shape, values: Array(network.parameters[spec.offset..<(spec.offset + spec.count)])))
            }
        }
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

/// LSTM-FCN model files: PyTorch's `state_dict` names of the `LSTMFCN` module in
/// `scripts/fcn_reference.py` — `rnn.*`, `fcn.conv{i}.*`, `fcn.bn{i}.*` with their running statistics,
/// and the joint `head.weight` [C, H + F] (LSTM columns first) and `head.bias` (no `num_batches_tracked`).
extension SequenceClassifier {
    static func tensors(of n: LSTMFCNNetwork) -> [(name: String, tensor: SafeTensors.Tensor)] {
        let c = n.configuration, r = n.recurrent, h = c.hiddenSize, f = c.convolution.outputSize
        var out: [(name: String, tensor: SafeTensors.Tensor)] = []
        for spec in r.layout.tensors {
            let values = Array(r.parameters[spec.offset..<(spec.offset + spec.count)])
            if spec.name == "head.weight" {
                var joint: [Float] = []
                joint.reserveCapacity(c.classCount * (h + f))
                for k in 0..<c.classCount {
                    joint.append(contentsOf: values[(k * h)..<((k + 1) * h)])
                    joint.append(contentsOf: n.convolutionHead[(k * f)..<((k + 1) * f)])
                }
                out.append((spec.name, SafeTensors.Tensor(shape: [c.classCount, h + f], values: joint)))
            } else {
                out.append((spec.name, SafeTensors.Tensor(shape: spec.shape, values: values)))
            }
        }
        for spec in n.convolution.tensors {
            out.append((spec.name, SafeTensors.Tensor(shape: spec.shape, values: Array(n.convolution.parameters[spec.offset..<(spec.offset + spec.count)]))))
        }
        for i in c.convolution.filters.indices {
            out.append(("fcn.bn\(i + 1).running_mean", SafeTensors.Tensor(shape: [c.convolution.filters[i]], values: n.convolution.runningMeans[i])))
            out.append(("fcn.bn\(i + 1).running_var", SafeTensors.Tensor(shape: [c.convolution.filters[i]], values: n.convolution.runningVariances[i])))
        }
        return out
    }

    init(lstmFCNTensors tensors: [String: SafeTensors.Tensor], metadata meta: [String: String], file: String) throws {
        func fail(_ why: String) -> RecurrentError { .malformedFile(file: file, reason: why) }
        func value(_ key: String) throws -> String {
            guard let v = meta[key] else { throw fail("metadata key \(key) is missing") }
            return v
        }
        func int(_ key: String) throws -> Int {
            guard let v = Int(try value(key)) else { throw fail("metadata \(key) = \"\(try value(key))\" is not an integer") }
            return v
        }
        func ints(_ key: String) throws -> [Int] {
            let floats = try Self.parseFloatArray(try value(key), key: key, file: file)
            guard floats.allSatisfy({ $0 == $0.rounded() && $0 >= 1 }) else { throw fail("metadata \(key) must list positive integers") }
            return floats.map { Int($0) }
        }
        let classes: [String]
        do { classes = try JSONDecoder().decode([String].self, from: Data(try value(MetadataKey.classes).utf8)) } catch let e as RecurrentError { throw e } catch {
            throw fail("metadata \(MetadataKey.classes) is not a JSON array of strings")
        }
        let config = LSTMFCNConfiguration(channels: try int(MetadataKey.inputSize), length: try int(MetadataKey.sequenceLength),
                                          hiddenSize: try int(MetadataKey.hiddenSize), classCount: classes.count,
                                          filters: try ints(MetadataKey.fcnFilters), kernels: try ints(MetadataKey.fcnKernels))
        var n: LSTMFCNNetwork
        do { n = try LSTMFCNNetwork(configuration: config, seed: 0) } catch { throw fail("\(error)") }
        var expected = Set<String>()
        func read(_ name: String, _ shape: [Int]) throws -> [Float] {
            expected.insert(name)
            guard let t = tensors[name] else { throw fail("tensor \(name) is missing") }
            guard t.shape == shape else { throw fail("tensor \(name) has shape \(t.shape), expected \(shape)") }
            if let k = t.values.firstIndex(where: { !$0.isFinite }) { throw fail("tensor \(name) element \(k) is \(t.values[k]) (weights must be finite)") }
            return t.values
        }
        let h = config.hiddenSize, f = config.convolution.outputSize
        var recurrent = n.recurrent.parameters
        for spec in n.recurrent.layout.tensors {
            if spec.name == "head.weight" {
                let joint = try read(spec.name, [config.classCount, h + f])
                var lstmColumns: [Float] = [], convolutionColumns: [Float] = []
                for k in 0..<config.classCount {
                    let row = k * (h + f)
                    lstmColumns.append(contentsOf: joint[row..<(row + h)])
                    convolutionColumns.append(contentsOf: joint[(row + h)..<(row + h + f)])
                }
                recurrent.replaceSubrange(spec.offset..<(spec.offset + spec.count), with: lstmColumns)
                n.convolutionHead = convolutionColumns
            } else {
                recurrent.replaceSubrange(spec.offset..<(spec.offset + spec.count), with: try read(spec.name, spec.shape))
            }
        }
        do { n.recurrent = try RecurrentNetwork(configuration: config.recurrent, parameters: recurrent) } catch { throw fail("\(error)") }
        for spec in n.convolution.tensors {
            n.convolution.parameters.replaceSubrange(spec.offset..<(spec.offset + spec.count), with: try read(spec.name, spec.shape))
        }
        for (i, width) in config.convolution.filters.enumerated() {
            n.convolution.runningMeans[i] = try read("fcn.bn\(i + 1).running_mean", [width])
            n.convolution.runningVariances[i] = try read("fcn.bn\(i + 1).running_var", [width])
            if let k = n.convolution.runningVariances[i].firstIndex(where: { $0 < 0 }) {
                throw fail("tensor fcn.bn\(i + 1).running_var element \(k) is negative")
            }
        }
        if let extra = tensors.keys.sorted().first(where: { !expected.contains($0) }) { throw fail("unexpected tensor \(extra) for an LSTM-FCN") }
        let normalization: FeatureNormalization
        do {
            normalization = try FeatureNormalization(mean: try Self.parseFloatArray(try value(MetadataKey.featureMean), key: MetadataKey.featureMean, file: file),
                                                     std: try Self.parseFloatArray(try value(MetadataKey.featureStd), key: MetadataKey.featureStd, file: file))
        } catch let e as RecurrentError { throw e } catch { throw fail("\(error)") }
        do {
            try self.init(lstmFCN: n, classes: classes, normalization: normalization,
                          provenance: meta.filter { !MetadataKey.all.contains($0.key) })
        } catch let e as RecurrentError { throw fail("\(e)") }
    }
}
