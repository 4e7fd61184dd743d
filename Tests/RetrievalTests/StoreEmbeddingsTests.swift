@_spi(Storage) import CaseStore
import Digests
import GRDB
import XCTest
@testable import Retrieval

/// Embeddings in the case store, and the whole path store → index → search on imported ECG200.
final class StoreEmbeddingsTests: XCTestCase {
    /// Imports ECG200 TRAIN (train) and TEST (test) with the store's own importer.
    func importedECG200() throws -> CaseStore {
        let folder = try sharedDataFolder().appendingPathComponent("ECG200")
        let store = try CaseStore.inMemory()
        try store.changeUnlogged { db in
            _ = try Importer.run(db, file: folder.appendingPathComponent("ECG200_TRAIN.tsv").path,
                                 options: ImportOptions(study: "ECG200", split: .train))
            _ = try Importer.run(db, file: folder.appendingPathComponent("ECG200_TEST.tsv").path,
                                 options: ImportOptions(study: "ECG200", split: .test))
        }
        return store
    }

    func metadata(_ cs: CaseScan) -> RowMetadata {
        RowMetadata(caseID: cs.caseRecord.id, scanIndex: cs.scan.scanIndex, subject: cs.caseRecord.subject,
                    study: cs.caseRecord.study, label: cs.caseRecord.label, verifiedBy: cs.caseRecord.verifiedBy,
                    verifiedAt: cs.caseRecord.verifiedAt)
    }

    func testOneNNThroughTheStoreMatchesThePublishedECG200Error() throws {
        let store = try importedECG200()
        let (train, test) = try store.read { db in
            (try CaseStore.caseScans(db, study: "ECG200", splits: [.train], verifiedOnly: true),
             try CaseStore.caseScans(db, study: "ECG200", splits: [.test], verifiedOnly: false))
        }
        XCTAssertEqual(train.count, 100)
        XCTAssertEqual(test.count, 100)
        let index = try EmbeddingIndex(dimension: 96)
        try index.add(vectors: train.flatMap { SeriesEmbedding.zNormalised($0.scan.values) }, metadata: train.map(metadata))
        let queries = test.map {
            SearchQuery(vector: SeriesEmbedding.zNormalised($0.scan.values), caseID: $0.caseRecord.id,
                        subject: $0.caseRecord.subject, study: $0.caseRecord.study)
        }
        let results = try index.search(queries, options: SearchOptions(k: 1, sameStudyOnly: true))
        let wrong = zip(test, results).filter { $0.0.caseRecord.label != $0.1.first?.metadata.label }.count
        XCTAssertEqual(wrong, 12, "published ECG200 1-NN Euclidean error 0.120")
        XCTAssertEqual(results[0].first?.metadata.verifiedBy, train[0].caseRecord.verifiedBy)
    }

    func testEmbeddingsRoundTripBitExactAndAreKeyedByModel() throws {
        let store = try importedECG200()
        // Two registered models (arbitrary weight bytes: only their hash matters here).
        let weights = [Data("model A".utf8), Data("model B".utf8)]
        let modelA = ContentHash.sha256Hex(weights[0]), modelB = ContentHash.sha256Hex(weights[1])
        try store.changeUnlogged { db in
            for (id, w) in zip([modelA, modelB], weights) {
                try CaseStore.registerModel(db, ModelRecord(id: id, study: "ECG200", arch: "lstm", classes: "[\"-1\",\"1\"]",
                                                            config: "{}", training: "{}", metrics: "{}", weights: w))
            }
        }
        let scans = try store.read { db in try CaseStore.caseScans(db, study: "ECG200", splits: [.train], verifiedOnly: true) }
        let values: [[Float]] = scans.map { cs in cs.scan.values.prefix(8).map { $0 * 3 } + [.leastNonzeroMagnitude, -0.0] }
        try store.changeUnlogged { db in
            try CaseStore.saveEmbeddings(db, zip(scans, values).map {
                EmbeddingRecord(modelId: modelA, caseId: $0.0.caseRecord.id, scanIndex: $0.0.scan.scanIndex, values: $0.1)
            })
        }
        let stored = try store.read { db in try CaseStore.embeddings(db, modelId: modelA) }
        for (cs, v) in zip(scans, values) {
            XCTAssertEqual(stored[cs.caseRecord.id]?[cs.scan.scanIndex]?.map(\.bitPattern), v.map(\.bitPattern))
        }
        XCTAssertEqual(try store.read { db in try CaseStore.embeddingCount(db, modelId: modelA) }, 100)
        XCTAssertEqual(try store.read { db in try CaseStore.embeddingCount(db, modelId: modelB) }, 0)
        // Saving again replaces, never duplicates.
        try store.changeUnlogged { db in
            try CaseStore.saveEmbeddings(db, [EmbeddingRecord(modelId: modelA, caseId: scans[0].caseRecord.id, scanIndex: 0, values: [1, 2])])
        }
        XCTAssertEqual(try store.read { db in try CaseStore.embeddingCount(db, modelId: modelA) }, 100)
        XCTAssertEqual(try store.read { db in try CaseStore.embeddings(db, modelId: modelA) }[scans[0].caseRecord.id]?[0], [1, 2])
        // An embedding for an unknown model is refused by the schema.
        XCTAssertThrowsError(try store.changeUnlogged { db in
            try CaseStore.saveEmbeddings(db, [EmbeddingRecord(modelId: String(repeating: "c", count: 64),
                                                              caseId: scans[0].caseRecord.id, scanIndex: 0, values: [1])])
        })
    }
}
