@_spi(Storage) import CaseStore
import Digests
import Foundation
import GRDB
import Recurrent
import XCTest

/// The model registry in the case store: id = SHA-256 of the safetensors bytes, kept verbatim.
final class ModelRegistryTests: XCTestCase {
    func record(_ model: SequenceClassifier, study: String?) throws -> ModelRecord {
        let bytes = try model.serializedBytes()
        return ModelRecord(id: SequenceClassifier.modelID(of: bytes), study: study, arch: model.configuration.cell.rawValue,
                           classes: "[\"a\",\"b\"]", config: "{}", training: "{\"seed\":1}", metrics: "{}",
                           weights: Data(bytes))
    }

    func testRegisterListResolveAndRoundTrip() throws {
        let store = try CaseStore.inMemory()
        try store.changeUnlogged { db in try Study(name: "s", classes: ["a", "b"], channels: ["x"]).insert(db.database) }
        let arch = RecurrentConfiguration(cell: .gru, inputSize: 1, hiddenSize: 3, classCount: 2)
        let m1 = try SequenceClassifier(network: try RecurrentNetwork(configuration: arch, seed: 1), classes: ["a", "b"],
                                        normalization: .identity(width: 1))
        let m2 = try SequenceClassifier(network: try RecurrentNetwork(configuration: arch, seed: 2), classes: ["a", "b"],
                                        normalization: .identity(width: 1))
        let r1 = try record(m1, study: "s"), r2 = try record(m2, study: "s")
        XCTAssertTrue(try store.changeUnlogged { db in try CaseStore.registerModel(db, r1) })
        XCTAssertFalse(try store.changeUnlogged { db in try CaseStore.registerModel(db, r1) }, "same bytes, same model")
        XCTAssertTrue(try store.changeUnlogged { db in try CaseStore.registerModel(db, r2) })
        try store.read { db in
            XCTAssertEqual(try CaseStore.modelSummaries(db, study: "s").count, 2)
            XCTAssertEqual(try CaseStore.resolveModelId(db, String(r1.id.prefix(12))), r1.id)
            XCTAssertThrowsError(try CaseStore.resolveModelId(db, "abc"))
            let fetched = try CaseStore.model(db, id: r2.id)
            XCTAssertEqual(try SequenceClassifier(safetensors: [UInt8](fetched.weights)), m2)
            XCTAssertEqual(ContentHash.sha256Hex(fetched.weights), r2.id)
            XCTAssertNotNil(try CaseStore.newestModel(db, study: "s"))
        }
        // An id that is not the hash of the bytes is refused.
        var forged = r1
        forged.id = r2.id
        forged.weights = r1.weights
        XCTAssertThrowsError(try store.changeUnlogged { db in try CaseStore.registerModel(db, forged) })
    }
}
