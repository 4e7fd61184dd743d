import Foundation
import XCTest
@testable import Recurrent

/// The whole LSTM-FCN network (issue: models that generalise, item 1) against PyTorch
/// (`scripts/fcn_reference.py`, `lstm_fcn.json`): logits in eval and train mode, the weighted
/// cross-entropy and its gradient for every PyTorch tensor; and against finite differences.
final class LSTMFCNNetworkTests: XCTestCase {
    struct Fixture: Decodable {
        var channels: Int, length: Int, hidden: Int, classes: Int
        var filters: [Int], kernels: [Int]
        var parameters: [String: [Double]]
        var running: [String: [Double]]
        var input: [[Double]]
        var labels: [Int]
        var class_weights: [Double]
        var logits_eval: [[Double]]
        var logits_train: [[Double]]
        var loss_train: Double
        var gradients: [String: [Double]]
    }

    static func fixture() throws -> Fixture {
        let url = try XCTUnwrap(Bundle.module.url(forResource: "lstm_fcn", withExtension: "json", subdirectory: "Fixtures"))
        return try JSONDecoder().decode(Fixture.self, from: Data(contentsOf: url))
    }

    /// PyTorch's joint head [C, H + F] splits into the LSTM part's head and the convolution columns.
    static func network(_ f: Fixture) throws -> LSTMFCNNetwork {
        let config = LSTMFCNConfiguration(channels: f.channels, length: f.length, hiddenSize: f.hidden, classCount: f.classes,
                                          filters: f.filters, kernels: f.kernels)
        var net = try LSTMFCNNetwork(configuration: config, seed: 1)
        let head = try XCTUnwrap(f.parameters["head.weight"]).map(Float.init)
        let width = f.hidden + f.filters.last!
        for t in net.recurrent.layout.tensors {
            let values: [Float]
            if t.name == "head.weight" {
                values = (0..<f.classes).flatMap { k in head[(k * width)..<(k * width + f.hidden)] }
            } else {
                values = try XCTUnwrap(f.parameters[t.name], t.name).map(Float.init)
            }
            XCTAssertEqual(values.count, t.count, t.name)
            for (k, v) in values.enumerated() { net.recurrent.setParameter(t.offset + k, to: v) }
        }
        net.convolutionHead = (0..<f.classes).flatMap { k in head[(k * width + f.hidden)..<((k + 1) * width)] }
        for t in net.convolution.tensors {
            let values = try XCTUnwrap(f.parameters[t.name], t.name)
            for (k, v) in values.enumerated() { net.convolution.parameters[t.offset + k] = Float(v) }
        }
        for i in f.filters.indices {
            net.convolution.runningMeans[i] = try XCTUnwrap(f.running["fcn.bn\(i + 1).running_mean"]).map(Float.init)
            net.convolution.runningVariances[i] = try XCTUnwrap(f.running["fcn.bn\(i + 1).running_var"]).map(Float.init)
        }
        return net
    }

    func assertClose(_ a: [Float], _ b: [Double], _ tolerance: Double, _ what: String) {
        XCTAssertEqual(a.count, b.count, what)
        let scale = max(1e-3, b.map(abs).max() ?? 0)
        for (i, (u, v)) in zip(a, b).enumerated() { XCTAssertEqual(Double(u), v, accuracy: tolerance * scale + 1e-6, "\(what)[\(i)]") }
    }

    func testLogitsMatchPyTorchInEvalAndTrainMode() throws {
        let f = try Self.fixture()
        var net = try Self.network(f)
        let x = f.input.map { $0.map(Float.init) }
        assertClose(try net.forward(x, training: false).logits.flatMap { $0 }, f.logits_eval.flatMap { $0 }, 1e-5, "eval logits")
        var train = try Self.network(f)
        assertClose(try train.forward(x, training: true).logits.flatMap { $0 }, f.logits_train.flatMap { $0 }, 1e-5, "train logits")
        XCTAssertEqual(try net.forward(x, training: false).embeddings.first?.count, f.filters.last, "the embedding is the pooled convolution features")
    }

    func testLossAndGradientMatchPyTorch() throws {
        let f = try Self.fixture()
        var net = try Self.network(f)
        let g = try net.lossAndGradient(sequences: f.input.map { $0.map(Float.init) }, labels: f.labels,
                                        classWeights: f.class_weights.map(Float.init))
        XCTAssertEqual(g.loss, f.loss_train, accuracy: 1e-5)
        let width = f.hidden + f.filters.last!
        for t in net.recurrent.layout.tensors where t.name != "head.weight" {
            assertClose(Array(g.recurrent[t.offset..<(t.offset + t.count)]), try XCTUnwrap(f.gradients[t.name], t.name), 1e-4, t.name)
        }
        let head = try XCTUnwrap(f.gradients["head.weight"])
        let headLSTM = try XCTUnwrap(net.recurrent.layout.tensor(named: "head.weight"))
        assertClose(Array(g.recurrent[headLSTM.offset..<(headLSTM.offset + headLSTM.count)]),
                    (0..<f.classes).flatMap { k in head[(k * width)..<(k * width + f.hidden)] }, 1e-4, "head.weight (LSTM columns)")
        assertClose(g.convolutionHead, (0..<f.classes).flatMap { k in head[(k * width + f.hidden)..<((k + 1) * width)] }, 1e-4,
                    "head.weight (convolution columns)")
        for t in net.convolution.tensors {
            assertClose(Array(g.convolution[t.offset..<(t.offset + t.count)]), try XCTUnwrap(f.gradients[t.name], t.name), 1e-4, t.name)
        }
    }

    /// Central differences over every parameter group of a small network, in train mode.
    func testGradientMatchesFiniteDifferences() throws {
        let config = LSTMFCNConfiguration(channels: 2, length: 6, hiddenSize: 3, classCount: 3, filters: [3, 2], kernels: [3, 2])
        let base = try LSTMFCNNetwork(configuration: config, seed: 5)
        var state: UInt64 = 3
        func next() -> Float {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Float(Int64(bitPattern: state >> 11) % 2000 - 1000) / 600
        }
        let x = (0..<4).map { _ in (0..<12).map { _ in next() } }
        let y = [0, 2, 1, 1], w: [Float] = [1, 0.5, 2]
        var working = base
        let g = try working.lossAndGradient(sequences: x, labels: y, classWeights: w)
        func loss(_ n: LSTMFCNNetwork) throws -> Double { var copy = n; return try copy.lossAndGradient(sequences: x, labels: y, classWeights: w).loss }
        let eps: Float = 2e-3
        func compare(_ analytic: Float, _ up: LSTMFCNNetwork, _ down: LSTMFCNNetwork, _ what: String) throws {
            let numeric = Float((try loss(up) - loss(down)) / Double(2 * eps))
            XCTAssertEqual(analytic, numeric, accuracy: 3e-3 + 0.03 * abs(numeric), what)
        }
        for k in stride(from: 0, to: base.recurrent.parameters.count, by: 3) {
            var up = base, down = base
            up.recurrent.setParameter(k, to: base.recurrent.parameters[k] + eps)
            down.recurrent.setParameter(k, to: base.recurrent.parameters[k] - eps)
            try compare(g.recurrent[k], up, down, "recurrent[\(k)]")
        }
        for k in stride(from: 0, to: base.convolution.parameters.count, by: 2) {
            var up = base, down = base
            up.convolution.parameters[k] += eps
            down.convolution.parameters[k] -= eps
            try compare(g.convolution[k], up, down, "convolution[\(k)]")
        }
        for k in base.convolutionHead.indices {
            var up = base, down = base
            up.convolutionHead[k] += eps
            down.convolutionHead[k] -= eps
            try compare(g.convolutionHead[k], up, down, "convolution head[\(k)]")
        }
        XCTAssertGreaterThan(g.convolutionHead.map(abs).max() ?? 0, 1e-3)
    }

    func testSeriesOfTheWrongLengthAreRefused() throws {
        var net = try LSTMFCNNetwork(configuration: LSTMFCNConfiguration(channels: 1, length: 5, classCount: 2, filters: [2], kernels: [3]), seed: 1)
        XCTAssertThrowsError(try net.forward([[1, 2, 3, 4, 5], [1, 2, 3]], training: false)) {
            XCTAssertTrue("\($0)".contains("sequence 1 has 3 values"), "\($0)")
        }
        XCTAssertThrowsError(try net.lossAndGradient(sequences: [[1, 2, 3, 4, 5]], labels: [2]))
    }

    /// A model file written by PyTorch (`save_file` of the module's state_dict with the countersign
    /// metadata) loads as a classifier whose logits are PyTorch's eval-mode logits, and the
    /// classifier's own file round-trips to the same bytes and the same answers.
    func testPyTorchModelFileLoadsAndRoundTrips() throws {
        let f = try Self.fixture()
        let url = try XCTUnwrap(Bundle.module.url(forResource: "lstm_fcn", withExtension: "safetensors", subdirectory: "Fixtures"))
        let classifier = try SequenceClassifier(contentsOf: url)
        XCTAssertEqual(classifier.architectureName, "lstm-fcn")
        XCTAssertEqual(classifier.embeddingSize, f.filters.last)
        let x = f.input.map { $0.map(Float.init) }
        let (logits, embeddings) = try classifier.evaluate(x)
        assertClose(logits.flatMap { $0 }, f.logits_eval.flatMap { $0 }, 1e-5, "logits from the PyTorch file")
        XCTAssertEqual(embeddings.first?.count, f.filters.last)
        XCTAssertEqual(try classifier.logits(for: x[1]), logits[1])
        let bytes = try classifier.serializedBytes()
        let again = try SequenceClassifier(safetensors: bytes)
        XCTAssertEqual(again, classifier)
        XCTAssertEqual(try again.serializedBytes(), bytes)
        XCTAssertThrowsError(try classifier.evaluate([Array(x[0].prefix(10))])) { XCTAssertTrue("\($0)".contains("exactly \(f.length)"), "\($0)") }
    }
}
