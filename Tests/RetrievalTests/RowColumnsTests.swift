import XCTest
@testable import Retrieval

/// The compact per-row columns (case ids in one byte buffer, one-byte attribute codes that widen)
/// must behave exactly like the arrays of `String` and `UInt32` they replace.
final class RowColumnsTests: XCTestCase {
    /// Ids of very different lengths, including non-ASCII and a canonically equivalent spelling.
    let ids = ["a", "case-0000000000000000000000000001", "é-precomposed", "b", "ü", "zz", "m-7", "0", "longer-id-42", "k"]

    func testCaseIDColumnMatchesStringSemanticsThroughRemovals() {
        var column = CaseIDColumn()
        var reference: [String] = []
        for id in ids { column.append(id); reference.append(id) }
        XCTAssertFalse(column.isASCII)
        // Swap-removes of rows with longer and shorter ids than the last one.
        for row in [1, 0, 3, 2] {
            reference[row] = reference.removeLast()
            column.moveLast(to: row)
            XCTAssertEqual((0..<column.count).map { column[$0] }, reference)
        }
        reference.removeLast(); column.removeLast()
        XCTAssertEqual((0..<column.count).map { column[$0] }, reference)
        for a in 0..<reference.count {
            XCTAssertTrue(column.equals(a, reference[a]))
            for b in 0..<reference.count {
                XCTAssertEqual(column.equals(a, b), reference[a] == reference[b])
                XCTAssertEqual(column.isLess(a, b), reference[a] < reference[b], "\(reference[a]) < \(reference[b])")
            }
        }
        // "é" as e + combining acute is the same String as the precomposed one.
        if let row = reference.firstIndex(of: "é-precomposed") {
            XCTAssertTrue(column.equals(row, "e\u{301}-precomposed"))
        }
    }

    func testCanonicallyEquivalentCaseIDIsADuplicate() throws {
        let index = try EmbeddingIndex(dimension: 2)
        try index.add([1, 2], metadata: RowMetadata(caseID: "caf\u{e9}", study: "S", label: "x", verifiedBy: "v"))
        try index.add(vectors: [3, 4, 5, 6], metadata: [
            RowMetadata(caseID: "plain", study: "S", label: "x", verifiedBy: "v"),
            RowMetadata(caseID: "other", study: "S", label: "x", verifiedBy: "v"),
        ])
        XCTAssertThrowsError(try index.add(vectors: [0, 0, 1, 1], metadata: [
            RowMetadata(caseID: "new", study: "S", label: "x", verifiedBy: "v"),
            RowMetadata(caseID: "cafe\u{301}", study: "S", label: "x", verifiedBy: "v"),
        ])) { error in
            XCTAssertEqual(error as? RetrievalError, .duplicateRow(caseID: "caf\u{e9}", scanIndex: 0))
        }
        XCTAssertThrowsError(try index.add(vectors: [0, 0, 1, 1], metadata: [
            RowMetadata(caseID: "new", study: "S", label: "x", verifiedBy: "v"),
            RowMetadata(caseID: "plain", study: "S", label: "x", verifiedBy: "v"),
        ])) { error in
            XCTAssertEqual(error as? RetrievalError, .duplicateRow(caseID: "plain", scanIndex: 0))
        }
        XCTAssertEqual(index.count, 3)
        XCTAssertEqual(index.rows(ofCase: "cafe\u{301}"), [0])

        // All-ASCII ids take the fingerprint screen; a repeated (case, scan) is still caught, another scan is not one.
        let ascii = try EmbeddingIndex(dimension: 1)
        try ascii.add(vectors: [1, 2, 3], metadata: (0..<3).map { RowMetadata(caseID: "id\($0)", study: "S", label: nil, verifiedBy: nil) })
        XCTAssertThrowsError(try ascii.add(vectors: [4, 5], metadata: [
            RowMetadata(caseID: "id9", study: "S", label: nil, verifiedBy: nil),
            RowMetadata(caseID: "id1", study: "S", label: nil, verifiedBy: nil),
        ])) { error in
            XCTAssertEqual(error as? RetrievalError, .duplicateRow(caseID: "id1", scanIndex: 0))
        }
        try ascii.add(vectors: [4, 5], metadata: [
            RowMetadata(caseID: "id9", study: "S", label: nil, verifiedBy: nil),
            RowMetadata(caseID: "id1", scanIndex: 1, study: "S", label: nil, verifiedBy: nil),
        ])
        XCTAssertEqual(ascii.count, 5)
    }

    /// More than 256 distinct attribute combinations widen the codes; metadata survives, and so do
    /// searches and removals after the switch.
    func testAttributeCodesWidenPastOneByte() throws {
        let dim = 3
        let index = try EmbeddingIndex(dimension: dim)
        var meta: [RowMetadata] = []
        var vectors: [Float] = []
        var g = TestGenerator(seed: 5)
        for r in 0..<700 {
            meta.append(RowMetadata(caseID: "r\(r)", scanIndex: r % 3, study: "S", label: "l\(r % 4)", verifiedBy: "v",
                                    verifiedAt: "2024-01-\(r)", acquisition: r % 2 == 0 ? "a" : nil))
            vectors += (0..<dim).map { _ in Float(g.gaussian()) }
        }
        try index.add(vectors: Array(vectors[..<(200 * dim)]), metadata: Array(meta[..<200]))
        for r in 0..<200 { XCTAssertEqual(index.metadata(row: r), meta[r]) }
        try index.add(vectors: Array(vectors[(200 * dim)...]), metadata: Array(meta[200...]))
        for r in 0..<700 { XCTAssertEqual(index.metadata(row: r), meta[r]) }
        XCTAssertEqual(index.remove(caseID: "r3"), 1)
        XCTAssertEqual(index.metadata(row: 3), meta[699])
        let q = SearchQuery(vector: Array(vectors[(650 * dim)..<(651 * dim)]), caseID: "q")
        let hit = try index.search(q, options: SearchOptions(k: 1, threads: 1))
        XCTAssertEqual(hit.first?.metadata, meta[650])
    }

    func testWritingVectorsInPlaceIsAllOrNothing() throws {
        let index = try EmbeddingIndex(dimension: 2)
        let meta = (0..<3).map { RowMetadata(caseID: "c\($0)", study: "S", label: "x", verifiedBy: "v") }
        XCTAssertThrowsError(try index.add(metadata: meta) { buffer in
            for i in 0..<buffer.count { buffer[i] = i == 4 ? .infinity : Float(i) }
        }) { error in
            XCTAssertEqual(error as? RetrievalError, .nonFiniteValue(caseID: "c2", scanIndex: 0, position: 0))
        }
        XCTAssertEqual(index.count, 0)
        try index.add(metadata: meta) { buffer in
            for i in 0..<buffer.count { buffer[i] = Float(i) }
        }
        XCTAssertEqual(index.count, 3)
        XCTAssertEqual(index.vector(row: 2), [4, 5])
        XCTAssertEqual(index.metadata(row: 1), meta[1])
        // The generator written in place equals the array form.
        var direct = [Float](repeating: 0, count: 100)
        direct.withUnsafeMutableBufferPointer { SyntheticEmbeddings.fill($0, seed: 9, offset: 17) }
        XCTAssertEqual(direct, SyntheticEmbeddings.uniform(seed: 9, offset: 17, count: 100))
    }
}
