import XCTest
@testable import Recurrent

/// Training and inference take some step buffers uninitialised from `BufferPool` (they are written
/// whole before they are read). Filling the pool with NaN first must change nothing: a buffer read
/// before it is written would carry the NaN into the loss, the gradient or the logits.
final class BufferReuseTests: XCTestCase {
    /// Puts `copies` NaN-filled buffers of each capacity into the pool.
    func poisonPool(_ capacities: Set<Int>, copies: Int = 6) {
        for capacity in capacities where capacity >= 4096 {
            for _ in 0..<copies {
                let p = BufferPool.take(capacity)
                p.initialize(repeating: .nan, count: capacity)
                BufferPool.give(p, capacity)
            }
        }
    }

    func testPoisonedPoolChangesNoGradientAndNoLogit() throws {
        for cell in CellKind.allCases {
            for lengths in [[24, 24, 24, 24, 24, 24, 24, 24], [24, 19, 24, 3, 11, 24, 1, 16]] {
                let H = 32, T = 24, B = lengths.count
                let config = RecurrentConfiguration(cell: cell, inputSize: 2, hiddenSize: H, layerCount: 2,
                                                    bidirectional: true, classCount: 3)
                let network = try RecurrentNetwork(configuration: config, seed: 4)
                var s: UInt64 = 9
                let sequences: [[Float]] = lengths.map { n in
                    (0..<(n * 2)).map { _ in
                        s = s &* 6364136223846793005 &+ 1442695040888963407
                        return Float(Int64(bitPattern: s >> 11) % 20001) / 10000
                    }
                }
                let labels = (0..<B).map { $0 % 3 }
                let (loss, gradient) = try network.lossAndGradient(sequences: sequences, labels: labels)
                let logits = network.infer(PackedBatch(sequences: sequences, width: 2)).logits.array
                let G = cell.gateCount * H
                poisonPool([T * B * G, T * B * H, T * B * 2 * H, G * H, 64 << 10])
                let (loss2, gradient2) = try network.lossAndGradient(sequences: sequences, labels: labels)
                let logits2 = network.infer(PackedBatch(sequences: sequences, width: 2)).logits.array
                XCTAssertFalse(gradient2.contains { $0.isNaN }, "\(cell) \(lengths)")
                XCTAssertEqual(loss2, loss, "\(cell) \(lengths)")
                let gradientChanges = zip(gradient2, gradient).filter { $0.bitPattern != $1.bitPattern }.count
                let logitChanges = zip(logits2, logits).filter { $0.bitPattern != $1.bitPattern }.count
                XCTAssertEqual(gradientChanges, 0, "\(cell) \(lengths): gradient entries changed")
                XCTAssertEqual(logitChanges, 0, "\(cell) \(lengths): logits changed")
            }
        }
    }
}
