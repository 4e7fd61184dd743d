import XCTest
@testable import Recurrent

/// The inference path (running state, gates projected a few steps at a time) must give what the
/// training forward gives, including where the step chunks break and rows finish at different steps.
final class InferencePassTests: XCTestCase {
    func testInferenceMatchesTheTrainingForwardAcrossChunkBoundaries() throws {
        for cell in CellKind.allCases {
            for (layers, bidirectional) in [(1, false), (2, true)] {
                let config = RecurrentConfiguration(cell: cell, inputSize: 3, hiddenSize: 20, layerCount: layers,
                                                    bidirectional: bidirectional, classCount: 4)
                let network = try RecurrentNetwork(configuration: config, seed: 11)
                var s: UInt64 = 5
                let sequences: [[Float]] = (0..<200).map { i in
                    (0..<((i * 7) % 41 + 1) * 3).map { _ in
                        s = s &* 6364136223846793005 &+ 1442695040888963407
                        return Float(Int64(bitPattern: s >> 11) % 20001) / 10000
                    }
                }
                let batch = PackedBatch(sequences: sequences, width: 3)
                let G = cell.gateCount * 20
                XCTAssertLessThan(InferencePass.chunkSteps(rows: batch.rows, gateWidth: G, steps: batch.steps),
                                  batch.steps, "the test must cross chunk boundaries")
                let trace = network.forward(batch)
                let fast = network.infer(batch)
                for k in 0..<(batch.rows * config.classCount) {
                    XCTAssertEqual(fast.logits.pointer[k], trace.logits.pointer[k], accuracy: 2e-6, "\(cell) l\(layers) logit \(k)")
                }
                for k in 0..<(batch.rows * config.embeddingSize) {
                    XCTAssertEqual(fast.embedding.pointer[k], trace.embedding.pointer[k], accuracy: 2e-6, "\(cell) l\(layers) embedding \(k)")
                }
            }
        }
    }
}
