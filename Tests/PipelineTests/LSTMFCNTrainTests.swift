import CaseStore
import Foundation
import PipelineFixtures
import XCTest

/// `audit train --arch lstm-fcn` on the real ECG200 data (issue: models that generalise, item 1):
/// the model registers as lstm-fcn, reproduces its model id for the same seed, calibrates (with the
/// model-free baseline beside it), indexes its pooled features and predicts the test split.
final class LSTMFCNTrainTests: XCTestCase {
    func testTrainCalibrateIndexAndPredict() throws {
        try PipelineFixture.requireBinary()
        let data = try BaselineCheckTests.sharedData().appendingPathComponent("ECG200")
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("lstm-fcn-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let common = ["--store", "s.sqlite", "--quiet", "--actor", "test"]
        try PipelineFixture.audit(["cases", "import", data.appendingPathComponent("ECG200_TRAIN.tsv").path, "--study", "ecg200", "--split", "train"] + common, in: dir)
        try PipelineFixture.audit(["cases", "import", data.appendingPathComponent("ECG200_TEST.tsv").path, "--study", "ecg200", "--split", "test"] + common, in: dir)
        try PipelineFixture.audit(["cases", "assign", "--study", "ecg200", "--from", "test", "--to", "calibration", "--fraction", "0.5", "--seed", "1"] + common, in: dir)
        let train = ["train", "--study", "ecg200", "--split", "train", "--arch", "lstm-fcn", "--hidden", "8", "--fcn-filters", "16,32,16",
                     "--epochs", "15", "--seed", "3", "--validation-fraction", "0.2", "--reduce-lr-after", "5", "--json"] + common
        let first = try JSONSerialization.jsonObject(with: Data(try PipelineFixture.audit(train, in: dir).utf8)) as! [String: Any]
        let model = try XCTUnwrap(first["model_id"] as? String)
        XCTAssertEqual(first["arch"] as? String, "lstm-fcn")
        XCTAssertEqual((first["training"] as? [String: Any])?["fcn_filters"] as? [Int], [16, 32, 16])
        // The same data, settings and seed give the same bytes, hence the same id.
        let again = try JSONSerialization.jsonObject(with: Data(try PipelineFixture.audit(train, in: dir).utf8)) as! [String: Any]
        XCTAssertEqual(again["model_id"] as? String, model)
        let list = try JSONSerialization.jsonObject(with: Data(try PipelineFixture.audit(["model", "list", "--store", "s.sqlite", "--json"], in: dir).utf8)) as! [[String: Any]]
        XCTAssertEqual(list.first { $0["model_id"] as? String == model }?["arch"] as? String, "lstm-fcn")

        let calibration = try JSONSerialization.jsonObject(with: Data(try PipelineFixture.audit(
            ["calibrate", "--model", model, "--study", "ecg200", "--split", "calibration", "--method", "temperature", "--alpha", "0.1",
             "--evaluate-split", "test", "--json"] + common, in: dir).utf8)) as! [String: Any]
        XCTAssertNotNil(calibration["baseline"], "the model-free baseline is scored beside it")
        try PipelineFixture.audit(["index", "build", "--model", model, "--study", "ecg200"] + common, in: dir)
        let store = try CaseStore(path: dir.appendingPathComponent("s.sqlite").path)
        let embeddings = try store.read { db in try CaseStore.embeddings(db, modelId: model) }
        XCTAssertEqual(embeddings.values.first?.values.first?.count, 16, "the embedding is the 16 pooled features")

        let predicted = try JSONSerialization.jsonObject(with: Data(try PipelineFixture.audit(
            ["predict", "--model", model, "--study", "ecg200", "--split", "test", "--json", "--store", "s.sqlite"], in: dir).utf8)) as! [String: Any]
        let rows = try XCTUnwrap(predicted["predictions"] as? [[String: Any]])
        let labels = try store.read { db in try CaseStore.cases(db, study: "ecg200", split: .test) }
        let truth = Dictionary(uniqueKeysWithValues: labels.map { ($0.id, $0.label) })
        let correct = rows.filter { truth[$0["case_id"] as? String ?? ""] == ($0["predicted_class"] as? String) }.count
        XCTAssertGreaterThan(Double(correct) / Double(rows.count), 0.75, "\(correct) of \(rows.count)")
    }

    /// `--auto` tries the documented configurations by k-fold cross-validation on the training split,
    /// records every fold's accuracy, and trains the best mean on the whole split.
    func testAutoChoosesByCrossValidationOnTheTrainingSplit() throws {
        try PipelineFixture.requireBinary()
        let data = try BaselineCheckTests.sharedData().appendingPathComponent("ECG200")
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("auto-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let common = ["--store", "s.sqlite", "--quiet", "--actor", "test"]
        try PipelineFixture.audit(["cases", "import", data.appendingPathComponent("ECG200_TRAIN.tsv").path, "--study", "ecg200", "--split", "train"] + common, in: dir)
        let out = try JSONSerialization.jsonObject(with: Data(try PipelineFixture.audit(
            ["train", "--study", "ecg200", "--split", "train", "--auto", "--folds", "2", "--epochs", "4", "--seed", "2", "--json"] + common,
            in: dir).utf8)) as! [String: Any]
        let auto = try XCTUnwrap((out["training"] as? [String: Any])?["auto"] as? [String: Any])
        let candidates = try XCTUnwrap(auto["candidates"] as? [[String: Any]])
        XCTAssertEqual(candidates.map { $0["name"] as? String }, ["gru-bidirectional-64-frames-8", "gru-64", "lstm-fcn-8"])
        for c in candidates {
            let folds = try XCTUnwrap(c["fold_accuracies"] as? [Double])
            XCTAssertEqual(folds.count, 2)
            XCTAssertEqual(c["mean_accuracy"] as? Double ?? -1, folds.reduce(0, +) / 2, accuracy: 1e-12)
        }
        let best = candidates.max { ($0["mean_accuracy"] as? Double ?? 0) < ($1["mean_accuracy"] as? Double ?? 0) }
        XCTAssertEqual(auto["chosen"] as? String, best?["name"] as? String)
        XCTAssertEqual(out["arch"] as? String, (best?["name"] as? String)?.hasPrefix("lstm-fcn") == true ? "lstm-fcn" : "gru")
        XCTAssertEqual(auto["grouped_by"] as? String, "subject")
    }

    /// `--ensemble 2` registers one model of two members (seeds 5 and 6) and predicts with it.
    func testEnsembleTrainsOneModelOfSeveralSeeds() throws {
        try PipelineFixture.requireBinary()
        let data = try BaselineCheckTests.sharedData().appendingPathComponent("ECG200")
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ensemble-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let common = ["--store", "s.sqlite", "--quiet", "--actor", "test"]
        try PipelineFixture.audit(["cases", "import", data.appendingPathComponent("ECG200_TRAIN.tsv").path, "--study", "ecg200", "--split", "train"] + common, in: dir)
        let out = try JSONSerialization.jsonObject(with: Data(try PipelineFixture.audit(
            ["train", "--study", "ecg200", "--split", "train", "--arch", "gru", "--hidden", "8", "--epochs", "3", "--seed", "5",
             "--ensemble", "2", "--validation-fraction", "0.2", "--json"] + common, in: dir).utf8)) as! [String: Any]
        let model = try XCTUnwrap(out["model_id"] as? String)
        XCTAssertEqual((out["training"] as? [String: Any])?["member_seeds"] as? [Int], [5, 6])
        XCTAssertEqual(((out["metrics"] as? [String: Any])?["members"] as? [Any])?.count, 2)
        let predicted = try JSONSerialization.jsonObject(with: Data(try PipelineFixture.audit(
            ["predict", "--model", model, "--study", "ecg200", "--split", "train", "--json", "--store", "s.sqlite"], in: dir).utf8)) as! [String: Any]
        XCTAssertEqual((predicted["predictions"] as? [Any])?.count, 100)
    }
}
