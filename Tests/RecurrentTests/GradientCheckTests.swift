import XCTest
@testable import Recurrent

/// Central finite differences against the analytic BPTT gradient, for every parameter tensor.
final class GradientCheckTests: XCTestCase {
    static func batch(inputSize: Int, seed: UInt64) -> ([[Float]], [Int]) {
        var state = seed
        func next() -> Float {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Float(Int64(bitPattern: state >> 11) % 2000 - 1000) / 700
        }
        let lengths = [5, 2, 4]
        let seqs = lengths.map { n in (0..<(n * inputSize)).map { _ in next() } }
        return (seqs, [0, 2, 1])
    }

    func check(_ cell: CellKind, layers: Int, bidirectional: Bool) throws {
        let config = RecurrentConfiguration(cell: cell, inputSize: 2, hiddenSize: 3, layerCount: layers,
                                            bidirectional: bidirectional, classCount: 3)
        var net = try RecurrentNetwork(configuration: config, seed: 42)
        // Larger weights than the default init so that every gate is exercised away from zero.
        for k in net.parameters.indices { net.setParameter(k, to: net.parameters[k] * 2.5) }
        let (x, y) = Self.batch(inputSize: 2, seed: UInt64(layers * 10 + (bidirectional ? 1 : 0)))
        let weights: [Float] = [1, 0.5, 2]
        let (_, grad) = try net.lossAndGradient(sequences: x, labels: y, classWeights: weights)
        let eps: Float = 4e-3
        let name = "\(cell) L\(layers) \(bidirectional ? "bi" : "uni")"
        for tensor in net.layout.tensors {
            var worst: Float = 0
            var norm: Float = 0
            for k in tensor.offset..<(tensor.offset + tensor.count) {
                let saved = net.parameters[k]
                net.setParameter(k, to: saved + eps)
                let up = try net.loss(sequences: x, labels: y, classWeights: weights)
                net.setParameter(k, to: saved - eps)
                let down = try net.loss(sequences: x, labels: y, classWeights: weights)
                net.setParameter(k, to: saved)
                let numeric = Float((up - down) / Double(2 * eps))
                worst = max(worst, abs(numeric - grad[k]))
                norm = max(norm, abs(numeric))
                XCTAssertEqual(grad[k], numeric, accuracy: 2e-3 + 0.02 * abs(numeric), "\(name) \(tensor.name)[\(k - tensor.offset)]")
            }
            XCTAssertGreaterThan(norm, 1e-4, "\(name) \(tensor.name): gradient vanished, the check would be vacuous")
        }
    }

    /// Truncated BPTT starts each window from the carried state: the products pair the first step's
    /// gradient with `h0`, which the plain check above (zero initial state) cannot see.
    func checkWithCarriedState(_ cell: CellKind) throws {
        let config = RecurrentConfiguration(cell: cell, inputSize: 2, hiddenSize: 3, layerCount: 2,
                                            bidirectional: false, classCount: 3)
        var net = try RecurrentNetwork(configuration: config, seed: 7)
        for k in net.parameters.indices { net.setParameter(k, to: net.parameters[k] * 2.5) }
        let (x, y) = Self.batch(inputSize: 2, seed: 99)
        let batch = PackedBatch(sequences: x, width: 2)
        let labels = batch.order.map { y[$0] }
        let initial: [LayerState] = (0..<2).map { (l: Int) -> LayerState in
            let h: [Float] = (0..<9).map { (k: Int) -> Float in Float(sin(Double(k + 3 * l))) * 0.8 }
            let c: [Float] = (0..<9).map { (k: Int) -> Float in Float(cos(Double(2 * k + l))) * 1.5 }
            return LayerState(h: h, c: c)
        }
        func loss(_ n: RecurrentNetwork) -> (Double, [Float]) {
            let trace = n.forward(batch, initial: initial)
            let (loss, dLogits) = RecurrentNetwork.crossEntropy(logits: trace.logits.pointer, rows: batch.rows,
                                                                 classes: 3, labels: labels, classWeights: nil)
            return (loss, n.backward(trace, logitGradient: dLogits))
        }
        let grad = loss(net).1
        let eps: Float = 4e-3
        for tensor in net.layout.tensors {
            var norm: Float = 0
            for k in tensor.offset..<(tensor.offset + tensor.count) {
                let saved = net.parameters[k]
                net.setParameter(k, to: saved + eps)
                let up = loss(net).0
                net.setParameter(k, to: saved - eps)
                let down = loss(net).0
                net.setParameter(k, to: saved)
                let numeric = Float((up - down) / Double(2 * eps))
                norm = max(norm, abs(numeric))
                XCTAssertEqual(grad[k], numeric, accuracy: 2e-3 + 0.02 * abs(numeric), "\(cell) carried \(tensor.name)[\(k - tensor.offset)]")
            }
            XCTAssertGreaterThan(norm, 1e-4, "\(cell) carried \(tensor.name): gradient vanished")
        }
    }

    func testGradientsFromACarriedState() throws {
        try checkWithCarriedState(.lstm)
        try checkWithCarriedState(.gru)
    }

    func testLSTMGradients() throws {
        for layers in [1, 2] { for bi in [false, true] { try check(.lstm, layers: layers, bidirectional: bi) } }
    }

    func testGRUGradients() throws {
        for layers in [1, 2] { for bi in [false, true] { try check(.gru, layers: layers, bidirectional: bi) } }
    }
}
