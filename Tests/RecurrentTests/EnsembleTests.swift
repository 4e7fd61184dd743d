import Foundation
import XCTest
@testable import Recurrent

/// Ensembles (issue: models that generalise, item 2): one model whose logits are its members'
/// average in logit space and whose embedding is theirs concatenated, in one file that round-trips.
final class EnsembleTests: XCTestCase {
    func member(seed: UInt64, cell: CellKind = .gru) throws -> SequenceClassifier {
        let config = RecurrentConfiguration(cell: cell, inputSize: 2, hiddenSize: 3, classCount: 3)
        return try SequenceClassifier(network: try RecurrentNetwork(configuration: config, seed: seed), classes: ["a", "b", "c"],
                                      normalization: try FeatureNormalization(mean: [0.1, -0.2], std: [1, 2]))
    }

    func testLogitsAreTheMembersAverageAndTheFileRoundTrips() throws {
        let members = [try member(seed: 1), try member(seed: 2), try member(seed: 3, cell: .lstm)]
        let ensemble = try SequenceClassifier(ensemble: members, provenance: ["note": "three seeds"])
        let x: [[Float]] = [[0.5, 1, -0.3, 0.2, 0.9, -1], [1, 2], [0, 0, 0.4, -0.4]]
        let (logits, embeddings) = try ensemble.evaluate(x)
        let each = try members.map { try $0.evaluate(x) }
        for i in x.indices {
            for k in 0..<3 {
                XCTAssertEqual(logits[i][k], each.reduce(0) { $0 + $1.logits[i][k] } / 3, accuracy: 1e-6)
            }
            XCTAssertEqual(embeddings[i], each.flatMap { $0.embeddings[i] })
        }
        XCTAssertEqual(ensemble.embeddingSize, 9)
        XCTAssertEqual(try ensemble.logits(for: x[1]), logits[1])
        let bytes = try ensemble.serializedBytes()
        let again = try SequenceClassifier(safetensors: bytes)
        XCTAssertEqual(again, ensemble)
        XCTAssertEqual(again.memberCount, 3)
        XCTAssertEqual(again.provenance["note"], "three seeds")
        XCTAssertEqual(try again.serializedBytes(), bytes)
    }

    func testMembersMustAgreeAndFilesMustBeWhole() throws {
        var other = try member(seed: 4)
        other.classes = ["a", "b", "z"]
        XCTAssertThrowsError(try SequenceClassifier(ensemble: [try member(seed: 1), other])) {
            XCTAssertTrue("\($0)".contains("member 1"), "\($0)")
        }
        XCTAssertThrowsError(try SequenceClassifier(ensemble: [try member(seed: 1)]))
        // A file whose metadata claims more members than it holds is refused, naming the member.
        let pair = try SequenceClassifier(ensemble: [try member(seed: 1), try member(seed: 2)])
        var meta = pair.metadata
        meta[SequenceClassifier.MetadataKey.ensemble] = "3"
        let bytes = try SafeTensors.serialize(pair.namedTensors, metadata: meta)
        XCTAssertThrowsError(try SequenceClassifier(safetensors: bytes)) { XCTAssertTrue("\($0)".contains("member 2"), "\($0)") }
    }
}
