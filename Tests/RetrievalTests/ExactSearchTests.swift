import XCTest
@testable import Retrieval

/// The index against a plain Float64 brute force on random data: same rows, same order, same distances.
final class ExactSearchTests: XCTestCase {
    struct Fixture {
        var index: EmbeddingIndex
        var vectors: [[Float]]
        var meta: [RowMetadata]
    }

    func makeFixture(rows: Int, dim: Int, seed: UInt64, verifiedFraction: Double = 0.8) throws -> Fixture {
        var g = TestGenerator(seed: seed)
        let index = try EmbeddingIndex(dimension: dim)
        var vectors: [[Float]] = [], meta: [RowMetadata] = []
        for r in 0..<rows {
            let v = (0..<dim).map { _ in Float(g.gaussian()) }
            let verified = g.uniform() < verifiedFraction
            let m = RowMetadata(caseID: String(format: "c%05d", r), scanIndex: 0, subject: "s\(r % (rows / 3))",
                                study: r % 2 == 0 ? "A" : "B", label: verified ? "\(r % 3)" : nil,
                                verifiedBy: verified ? "test" : nil)
            vectors.append(v); meta.append(m)
        }
        // Two batches, to exercise incremental adds.
        let half = rows / 2
        try index.add(vectors: Array(vectors[..<half].joined()), metadata: Array(meta[..<half]))
        try index.add(vectors: Array(vectors[half...].joined()), metadata: Array(meta[half...]))
        return Fixture(index: index, vectors: vectors, meta: meta)
    }

    /// Float64 brute force with the same filters and tie-break.
    func reference(_ f: Fixture, query: SearchQuery, options: SearchOptions) -> [(caseID: String, distance: Double)] {
        var out: [(caseID: String, distance: Double)] = []
        for (r, x) in f.vectors.enumerated() {
            let m = f.meta[r]
            if options.verifiedOnly && !m.isVerified { continue }
            if options.sameStudyOnly && m.study != query.study { continue }
            if options.excludeQuerySubject && (m.caseID == query.caseID || m.subject == query.subject) { continue }
            var dot = 0.0, qq = 0.0, xx = 0.0
            for j in 0..<x.count {
                let a = Double(query.vector[j]), b = Double(x[j])
                dot += a * b; qq += a * a; xx += b * b
            }
            // Euclidean from the direct sum of squared differences (not the expansion the index uses).
            var ss = 0.0
            for j in 0..<x.count { let t = Double(query.vector[j]) - Double(x[j]); ss += t * t }
            let d = options.metric == .euclidean ? ss.squareRoot() : 1 - dot / (qq.squareRoot() * xx.squareRoot())
            out.append((m.caseID, d))
        }
        out.sort { $0.distance != $1.distance ? $0.distance < $1.distance : $0.caseID < $1.caseID }
        return Array(out.prefix(options.k))
    }

    func check(_ f: Fixture, queries: [SearchQuery], options: SearchOptions, file: StaticString = #filePath, line: UInt = #line) throws {
        let got = try f.index.search(queries, options: options)
        XCTAssertEqual(got.count, queries.count, file: file, line: line)
        for (qi, q) in queries.enumerated() {
            let want = reference(f, query: q, options: options)
            XCTAssertEqual(got[qi].map(\.metadata.caseID), want.map(\.caseID),
                           "query \(qi) \(options.metric) threads \(options.threads)", file: file, line: line)
            for (a, b) in zip(got[qi], want) {
                XCTAssertEqual(a.distance, b.distance, accuracy: 1e-9 + 1e-9 * abs(b.distance), file: file, line: line)
            }
        }
    }

    func testBatchedAndSingleQueriesMatchFloat64BruteForce() throws {
        let f = try makeFixture(rows: 3_000, dim: 24, seed: 7)
        var g = TestGenerator(seed: 99)
        let queries = (0..<40).map { i in
            SearchQuery(vector: (0..<24).map { _ in Float(g.gaussian()) }, caseID: "q\(i)", study: i % 2 == 0 ? "A" : "B")
        }
        for metric in DistanceMetric.allCases {
            for threads in [1, 2] {
                let options = SearchOptions(k: 7, metric: metric, threads: threads)
                try check(f, queries: queries, options: options)               // batched (gemm) path
                try check(f, queries: [queries[3]], options: options)          // streaming single-query path
            }
        }
    }

    /// Enough rows (> 2 × 32 768) that the scan is split over two workers whose heaps are merged.
    func testRowsSplitOverWorkersMatchBruteForce() throws {
        let f = try makeFixture(rows: 70_000, dim: 4, seed: 21)
        var g = TestGenerator(seed: 5)
        let queries = (0..<3).map { _ in SearchQuery(vector: (0..<4).map { _ in Float(g.gaussian()) }) }
        for metric in DistanceMetric.allCases {
            let options = SearchOptions(k: 5, metric: metric, threads: 2)
            try check(f, queries: queries, options: options)
            try check(f, queries: [queries[1]], options: options)
        }
    }

    func testFiltersExcludeOwnSubjectUnverifiedAndOtherStudies() throws {
        let f = try makeFixture(rows: 900, dim: 8, seed: 11, verifiedFraction: 0.5)
        // Queries that are rows of the index: their own case and subject must never come back.
        let queries = [5, 17, 400].map { r in
            SearchQuery(vector: f.vectors[r], caseID: f.meta[r].caseID, subject: f.meta[r].subject, study: f.meta[r].study)
        }
        for same in [false, true] {
            let options = SearchOptions(k: 12, metric: .euclidean, sameStudyOnly: same, threads: 2)
            try check(f, queries: queries, options: options)
            try check(f, queries: [queries[0]], options: options)
            for (q, result) in zip(queries, try f.index.search(queries, options: options)) {
                XCTAssertFalse(result.contains { $0.metadata.subject == q.subject || $0.metadata.caseID == q.caseID })
                XCTAssertTrue(result.allSatisfy { $0.metadata.isVerified })
                if same { XCTAssertTrue(result.allSatisfy { $0.metadata.study == q.study }) }
            }
        }
        // With the filters off, a query that is a row finds itself first at distance 0.
        let open = SearchOptions(k: 1, verifiedOnly: false, excludeQuerySubject: false)
        XCTAssertEqual(try f.index.search(queries[0], options: open).first?.metadata.caseID, f.meta[5].caseID)
    }

    func testTiesGoToTheSmallerCaseIDWhateverTheRowOrder() throws {
        let index = try EmbeddingIndex(dimension: 4)
        let v: [Float] = [1, 2, 3, 4]
        for id in ["d", "b", "e", "a", "c"] {
            try index.add(v, metadata: RowMetadata(caseID: id, study: "S", label: "x", verifiedBy: "t"))
        }
        try index.add([9, 9, 9, 9], metadata: RowMetadata(caseID: "0far", study: "S", label: "x", verifiedBy: "t"))
        for metric in DistanceMetric.allCases {
            let single = try index.search(SearchQuery(vector: [1, 2, 3, 4.5]), options: SearchOptions(k: 3, metric: metric))
            XCTAssertEqual(single.map(\.metadata.caseID), ["a", "b", "c"])
            let batch = try index.search([SearchQuery(vector: [1, 2, 3, 4.5]), SearchQuery(vector: [1, 2, 3, 4.5])],
                                         options: SearchOptions(k: 3, metric: metric))
            XCTAssertEqual(batch[1].map(\.metadata.caseID), ["a", "b", "c"])
        }
    }

    func testAddAndRemoveWithoutRebuild() throws {
        let f = try makeFixture(rows: 500, dim: 6, seed: 3, verifiedFraction: 1)
        let q = SearchQuery(vector: f.vectors[10], caseID: "query")
        let options = SearchOptions(k: 3, threads: 1)
        XCTAssertEqual(try f.index.search(q, options: options).first?.metadata.caseID, f.meta[10].caseID)
        XCTAssertEqual(f.index.remove(caseID: f.meta[10].caseID), 1)
        XCTAssertEqual(f.index.count, 499)
        XCTAssertFalse(try f.index.search(q, options: options).contains { $0.metadata.caseID == f.meta[10].caseID })
        // The row moved into the hole is still found with its own metadata.
        let last = f.meta[499]
        XCTAssertEqual(try f.index.search(SearchQuery(vector: f.vectors[499], caseID: "q2"), options: options).first?.metadata, last)
        try f.index.add(f.vectors[10], metadata: f.meta[10])
        XCTAssertEqual(try f.index.search(q, options: options).first?.metadata.caseID, f.meta[10].caseID)
        XCTAssertThrowsError(try f.index.add(f.vectors[10], metadata: f.meta[10])) { error in
            XCTAssertEqual(error as? RetrievalError, .duplicateRow(caseID: f.meta[10].caseID, scanIndex: 0))
        }
        XCTAssertThrowsError(try f.index.add([1, 2], metadata: RowMetadata(caseID: "short", study: "A", label: nil, verifiedBy: nil)))
        XCTAssertThrowsError(try f.index.add([1, 2, .nan, 4, 5, 6], metadata: RowMetadata(caseID: "nan", study: "A", label: nil, verifiedBy: nil)))
        XCTAssertEqual(f.index.count, 500)
        XCTAssertThrowsError(try f.index.search(SearchQuery(vector: [1]), options: options))
    }
}
