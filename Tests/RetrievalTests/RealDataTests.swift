import XCTest
@testable import Retrieval

/// The whole search path against published figures: 1-NN Euclidean on raw, per-series z-normalised
/// UCR data (UCR archive 2018: ECG200 0.120, ECG5000 0.0751), and EEG scored against an ECG index.
final class RealDataTests: XCTestCase {
    func ucrIndex(_ series: [LabelledSeries], prefix: String) throws -> EmbeddingIndex {
        let dim = series[0].values.count
        let index = try EmbeddingIndex(dimension: dim, reservingCapacity: series.count)
        try index.add(vectors: series.flatMap { SeriesEmbedding.zNormalised($0.values) },
                      metadata: series.enumerated().map { i, s in
                          RowMetadata(caseID: "\(prefix)-\(i + 1)", study: prefix, label: s.label, verifiedBy: "UCR")
                      })
        return index
    }

    func oneNNError(_ name: String) throws -> (error: Double, wrong: Int, n: Int) {
        let folder = try sharedDataFolder().appendingPathComponent(name)
        let train = try readUCR(folder.appendingPathComponent("\(name)_TRAIN.tsv"))
        let test = try readUCR(folder.appendingPathComponent("\(name)_TEST.tsv"))
        let index = try ucrIndex(train, prefix: "\(name)_TRAIN")
        let queries = test.enumerated().map { i, s in
            SearchQuery(vector: SeriesEmbedding.zNormalised(s.values), caseID: "\(name)_TEST-\(i + 1)")
        }
        let results = try index.search(queries, options: SearchOptions(k: 1, metric: .euclidean))
        let wrong = zip(test, results).filter { $0.0.label != $0.1.first?.metadata.label }.count
        return (Double(wrong) / Double(test.count), wrong, test.count)
    }

    func testECG200OneNNEuclideanMatchesPublishedError() throws {
        let r = try oneNNError("ECG200")
        XCTAssertEqual(r.n, 100)
        XCTAssertEqual(r.wrong, 12, "published 1-NN Euclidean error 0.120; got \(r.error)")
    }

    func testECG5000OneNNEuclideanMatchesPublishedError() throws {
        let r = try oneNNError("ECG5000")
        XCTAssertEqual(r.n, 4500)
        // 0.0751 × 4500 = 338 errors (the archive rounds 338/4500 = 0.07511).
        XCTAssertEqual(r.wrong, 338, "published 1-NN Euclidean error 0.0751; got \(r.error)")
    }

    /// EEG (EyesOpenShut) against an ECG index: every EEG channel of a case is one query series,
    /// resampled by linear interpolation from 128 steps to the ECG length (96: the whole second is
    /// kept, squeezed) and z-normalised like the ECG rows. Calibration = half of ECG200 TEST (held
    /// out from the TRAIN index); the other half is the in-distribution control.
    func testEEGQueriedAgainstAnECGIndexIsOutOfDistribution() throws {
        let data = try sharedDataFolder()
        let train = try readUCR(data.appendingPathComponent("ECG200/ECG200_TRAIN.tsv"))
        let test = try readUCR(data.appendingPathComponent("ECG200/ECG200_TEST.tsv"))
        let eeg = try readUEA(data.appendingPathComponent("EyesOpenShut/EyesOpenShut_TEST.ts"))
        XCTAssertEqual(eeg.count, 42)
        XCTAssertEqual(eeg.first?.channels.count, 14)
        let index = try ucrIndex(train, prefix: "ECG200_TRAIN")
        let k = 5
        let options = SearchOptions(k: k, metric: .euclidean)
        let testQueries = test.enumerated().map { i, s in
            CalibrationCase(query: SearchQuery(vector: SeriesEmbedding.zNormalised(s.values), caseID: "ECG200_TEST-\(i + 1)"),
                            label: s.label)
        }
        let calibration = try DeepKNNCalibration.fit(index: index, calibration: Array(testQueries[..<50]), options: options)
        XCTAssertEqual(calibration.count, 50)

        func percentiles(_ queries: [SearchQuery]) throws -> [Double] {
            try index.search(queries, options: options).map { calibration.evidence(neighbours: $0).oodPercentile }
        }
        let ecgControl = try percentiles(testQueries[50...].map(\.query))
        let eegQueries = eeg.enumerated().flatMap { i, c in
            c.channels.enumerated().map { ch, series in
                SearchQuery(vector: SeriesEmbedding.zNormalised(SeriesEmbedding.resampled(series, to: 96)),
                            caseID: "EyesOpenShut_TEST-\(i + 1)/ch\(ch)")
            }
        }
        let eegScores = try percentiles(eegQueries)
        let median = { (x: [Double]) in x.sorted()[x.count / 2] }
        XCTAssertGreaterThanOrEqual(median(eegScores), 95, "EEG median OOD percentile")
        XCTAssertGreaterThan(Double(eegScores.filter { $0 >= 90 }.count) / Double(eegScores.count), 0.9)
        XCTAssertLessThan(median(ecgControl), 80, "held-out ECG should look in-distribution")
        let sentence = calibration.evidence(neighbours: try index.search(eegQueries[0], options: options)).oodSentence
        XCTAssertTrue(sentence.hasPrefix("further from its 5 nearest verified cases than "), sentence)
    }
}
