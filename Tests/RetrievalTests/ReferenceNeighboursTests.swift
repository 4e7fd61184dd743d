import Foundation
import XCTest
@testable import Retrieval

/// Against an independent implementation: scikit-learn's float64 brute-force neighbours of the
/// same SplitMix64 data (fixture written by `Benchmarks/peers/faiss_knn.py --fixture`), which also
/// pins the benchmark's data generator to the Python peer's bit for bit.
final class ReferenceNeighboursTests: XCTestCase {
    struct Fixture: Decodable {
        struct Result: Decodable { var ids: [[Int]]; var distances: [[Double]] }
        var rows: Int, dim: Int, queries: Int, k: Int, seed: UInt64
        var first_values: [Float]
        var euclidean: Result
        var cosine: Result
    }

    func testMatchesScikitLearnBruteForce() throws {
        let f = try JSONDecoder().decode(Fixture.self, from: Data(referenceNeighboursJSON.utf8))
        let x = SyntheticEmbeddings.uniform(seed: f.seed, count: f.rows * f.dim)
        XCTAssertEqual(Array(x.prefix(4)), f.first_values, "generator differs from the Python peer's")
        let index = try EmbeddingIndex(dimension: f.dim)
        try index.add(vectors: x, metadata: (0..<f.rows).map {
            RowMetadata(caseID: String(format: "r%06d", $0), study: "S", label: "x", verifiedBy: "t")
        })
        let qv = SyntheticEmbeddings.uniform(seed: f.seed + 1, count: f.queries * f.dim)
        let queries = (0..<f.queries).map { SearchQuery(vector: Array(qv[($0 * f.dim)..<(($0 + 1) * f.dim)])) }
        for (metric, want) in [(DistanceMetric.euclidean, f.euclidean), (.cosine, f.cosine)] {
            let got = try index.search(queries, options: SearchOptions(k: f.k, metric: metric))
            for qi in 0..<f.queries {
                XCTAssertEqual(got[qi].map { Int($0.metadata.caseID.dropFirst()) }, want.ids[qi], "\(metric) query \(qi)")
                for (n, d) in zip(got[qi], want.distances[qi]) { XCTAssertEqual(n.distance, d, accuracy: 1e-9) }
            }
            let single = try index.search(queries[0], options: SearchOptions(k: f.k, metric: metric))
            XCTAssertEqual(single.map { Int($0.metadata.caseID.dropFirst()) }, want.ids[0])
        }
    }
}
