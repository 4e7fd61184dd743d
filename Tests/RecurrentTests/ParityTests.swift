import Foundation
import XCTest
import Recurrent

/// Compares the Swift network against PyTorch fixtures written by `scripts/torch_reference.py`.
final class ParityTests: XCTestCase {
    struct Reference: Decodable {
        let inputs: [[Float]]
        let labels: [Int]
        let logits: [[Float]]
        let embeddings: [[Float]]
        let loss: Double
        let gradients: [String: [Float]]
    }

    static let names = ["lstm", "gru"].flatMap { a in [1, 2].flatMap { l in ["uni", "bi"].map { "parity_\(a)_l\(l)_\($0)" } } }

    static func fixture(_ name: String, _ ext: String) throws -> URL {
        guard let url = Bundle.module.url(forResource: name, withExtension: ext, subdirectory: "Fixtures") else {
            throw XCTSkip("fixture \(name).\(ext) missing") // never happens when the bundle is built
        }
        return url
    }

    static func load(_ name: String) throws -> (SequenceClassifier, Reference) {
        let model = try SequenceClassifier(contentsOf: try fixture(name, "safetensors"))
        let ref = try JSONDecoder().decode(Reference.self, from: Data(contentsOf: try fixture(name, "json")))
        return (model, ref)
    }

    func testLogitsAndEmbeddingsMatchPyTorch() throws {
        var worst: Float = 0
        for name in Self.names {
            let (model, ref) = try Self.load(name)
            XCTAssertEqual(model.classes, ["normal", "abnormal/type 2", "élève"])
            let (logits, embeddings) = try model.evaluate(ref.inputs)
            for (b, row) in logits.enumerated() {
                for (k, v) in row.enumerated() {
                    let d = abs(v - ref.logits[b][k])
                    worst = max(worst, d)
                    XCTAssertLessThanOrEqual(d, 1e-5, "\(name) logit[\(b)][\(k)]")
                }
                for (k, v) in embeddings[b].enumerated() {
                    XCTAssertLessThanOrEqual(abs(v - ref.embeddings[b][k]), 1e-5, "\(name) embedding[\(b)][\(k)]")
                }
                // The batch-1 path must agree with the batched one.
                let single = try model.logits(for: ref.inputs[b])
                for k in single.indices {
                    XCTAssertLessThanOrEqual(abs(single[k] - ref.logits[b][k]), 1e-5, "\(name) batch-1 logit[\(b)][\(k)]")
                }
                XCTAssertEqual(try model.embedding(for: ref.inputs[b]).count, model.configuration.embeddingSize)
            }
        }
        XCTAssertGreaterThan(worst, 0, "suspiciously exact")
    }

    func testLossAndGradientsMatchPyTorch() throws {
        for name in Self.names {
            let (model, ref) = try Self.load(name)
            let normalised = ref.inputs.map(model.normalization.apply)
            let (loss, grad) = try model.network.lossAndGradient(sequences: normalised, labels: ref.labels)
            XCTAssertEqual(loss, ref.loss, accuracy: 1e-5, name)
            for tensor in model.network.layout.tensors {
                guard let expected = ref.gradients[tensor.name] else { return XCTFail("\(name): no \(tensor.name)") }
                XCTAssertEqual(expected.count, tensor.count)
                for k in 0..<tensor.count {
                    XCTAssertEqual(grad[tensor.offset + k], expected[k], accuracy: 1e-5, "\(name) \(tensor.name)[\(k)]")
                }
            }
        }
    }
}
