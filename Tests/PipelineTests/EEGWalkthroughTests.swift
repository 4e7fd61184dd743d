import Foundation
import PipelineFixtures
import Reports
import XCTest

/// README's EEG walk-through (EyesOpenShut: one second of 14-channel EEG, eyes open vs shut) end to
/// end with the `audit` executable — import, split, train (small), calibrate, index, run — and the
/// reports it writes: every case and the run have an HTML and a schema-valid XML report, and what they
/// state agrees with the store.
final class EEGWalkthroughTests: XCTestCase {
    func eyesOpenShut() throws -> URL {
        let data = PipelineFixture.packageRoot.deletingLastPathComponent().appendingPathComponent("shared/data/EyesOpenShut")
        guard FileManager.default.fileExists(atPath: data.appendingPathComponent("EyesOpenShut_TRAIN.ts").path) else {
            if ProcessInfo.processInfo.environment["CI"] == "true" { XCTFail("CI=true but \(data.path) is missing") }
            throw XCTSkip("EyesOpenShut not present at \(data.path) (../shared/data)")
        }
        return data
    }

    func testEEGFromImportToValidatedReports() throws {
        try PipelineFixture.requireBinary()
        let data = try eyesOpenShut()
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("eeg-walk-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let store = ["--store", "eeg.sqlite", "--quiet"]
        func audit(_ args: [String]) throws -> String { try PipelineFixture.audit(args + store, in: dir) }
        func json(_ args: [String]) throws -> [String: Any] {
            let out = try audit(args + ["--json"])
            return try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(out.utf8)) as? [String: Any], out)
        }

        let train = try json(["cases", "import", data.appendingPathComponent("EyesOpenShut_TRAIN.ts").path, "--study", "eeg", "--split", "train"])
        XCTAssertEqual((train["import"] as? [String: Any])?["cases"] as? Int, 56)
        XCTAssertEqual((train["import"] as? [String: Any])?["channels"] as? Int, 14)
        _ = try audit(["cases", "import", data.appendingPathComponent("EyesOpenShut_TEST.ts").path, "--study", "eeg", "--split", "test"])
        let moved = try json(["cases", "assign", "--study", "eeg", "--from", "test", "--to", "calibration", "--fraction", "0.5", "--seed", "1"])
        XCTAssertEqual((moved["case_ids"] as? [Any])?.count, 21)

        let trained = try json(["train", "--study", "eeg", "--split", "train", "--validation-fraction", "0.2", "--arch", "gru",
                                "--hidden", "8", "--steps-per-frame", "8", "--epochs", "3", "--seed", "1"])
        let model = try XCTUnwrap(trained["model_id"] as? String)
        let calibration = try json(["calibrate", "--model", model, "--study", "eeg", "--split", "calibration",
                                    "--method", "temperature", "--alpha", "0.2", "--evaluate-split", "test"])
        XCTAssertEqual(calibration["calibration_n"] as? Int, 21)
        XCTAssertEqual(calibration["metrics_n"] as? Int, 21)
        _ = try audit(["index", "build", "--model", model, "--study", "eeg"])
        let run = try json(["run", "--study", "eeg", "--split", "test", "--model", model, "--run-id", "eeg-1", "--out", "runs/eeg-1"])
        XCTAssertEqual(run["cases"] as? Int, 21)
        XCTAssertEqual((run["dispositions"] as? [String: Int])?.values.reduce(0, +), 21)

        // Every report exists, every XML report validates against the shipped schema, and each names
        // the model and the run it came from.
        let schema = try XMLSchemaValidator.reportSchema()
        let runDir = dir.appendingPathComponent("runs/eeg-1")
        let caseFiles = try FileManager.default.contentsOfDirectory(atPath: runDir.appendingPathComponent("cases").path)
        XCTAssertEqual(caseFiles.filter { $0.hasSuffix(".html") }.count, 21)
        XCTAssertEqual(caseFiles.filter { $0.hasSuffix(".xml") }.count, 21)
        for name in caseFiles.filter({ $0.hasSuffix(".xml") }) + ["../run.xml"] {
            let xml = try Data(contentsOf: runDir.appendingPathComponent("cases").appendingPathComponent(name))
            XCTAssertNoThrow(try schema.validate(xml), name)
            XCTAssertTrue(String(decoding: xml, as: UTF8.self).contains(model), "\(name) does not name the model")
        }
        let html = try String(contentsOf: runDir.appendingPathComponent("run.html"), encoding: .utf8)
        XCTAssertTrue(html.contains("eeg-1") && html.contains(String(model.prefix(12))), "the run report names its run and model")
        _ = try audit(["log", "verify"])
    }
}
