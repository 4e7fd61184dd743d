import AuditLog
import CaseStore
import Digests
import Foundation
import PipelineFixtures
@testable import Pipeline
import Policy
import XCTest

/// The jobs the CLI commands call, run in-process on a copy of the fixture store: each does its
/// work, writes what it says with its log event, and refuses bad input without writing.
final class JobTests: XCTestCase {
    func fixture() throws -> (store: CaseStore, dir: URL, model: String) {
        let (dir, path) = try PipelineFixture.copy()
        let store = try CaseStore(path: path)
        let model = try XCTUnwrap(try store.read { try CaseStore.newestModel($0, study: "lesion") }?.id)
        return (store, dir, model)
    }

    func lastEvent(_ store: CaseStore) throws -> AuditEvent {
        try XCTUnwrap(try store.read { db in try AuditLog.events(db, since: try AuditLog.treeSize(db) - 1) }.last)
    }

    func payload(_ e: AuditEvent) throws -> [String: Any] {
        try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(e.payload.utf8)) as? [String: Any])
    }

    func testTrainRegistersTheModelByTheHashOfItsBytesAndIsReproducible() throws {
        let f = try fixture()
        var settings = TrainJob.Settings(study: "lesion")
        settings.hidden = 4; settings.epochs = 2; settings.seed = 5
        var epochs: [Int] = []
        let a = try TrainJob(store: f.store, settings: settings, actor: "tester").run { epochs.append($0.epoch) }
        XCTAssertEqual(epochs, [1, 2])
        XCTAssertEqual(a.modelId, ContentHash.sha256Hex(a.safetensors))
        let stored = try f.store.read { try CaseStore.model($0, id: a.modelId) }
        XCTAssertEqual(stored.weights, a.safetensors)
        let event = try lastEvent(f.store)
        XCTAssertEqual(event.action, "model.train")
        XCTAssertEqual(event.seq, a.logSeq)
        XCTAssertEqual(try payload(event)["model_id"] as? String, a.modelId)
        let b = try TrainJob(store: f.store, settings: settings, actor: "tester").run()
        XCTAssertEqual(b.modelId, a.modelId, "same data, settings and seed give the same bytes")
        settings.seed = 6
        XCTAssertNotEqual(try TrainJob(store: f.store, settings: settings, actor: "tester").run().modelId, a.modelId)
    }

    func testTrainRefusesAStudyWithoutEnoughVerifiedScansAndWritesNothing() throws {
        let f = try fixture()
        let before = try f.store.read { try AuditLog.treeSize($0) }
        var settings = TrainJob.Settings(study: "lesion")
        settings.split = .incoming   // unlabelled: no verified scans
        XCTAssertThrowsError(try TrainJob(store: f.store, settings: settings, actor: "t").run()) { error in
            guard case PipelineError.badInput(let m)? = error as? PipelineError else { return XCTFail("\(error)") }
            XCTAssertTrue(m.contains("incoming"), m)
        }
        XCTAssertEqual(try f.store.read { try AuditLog.treeSize($0) }, before)
    }

    func testPredictCoversEveryScanAndLogsTheHashOfWhatItReturned() throws {
        let f = try fixture()
        let document = try PredictJob(store: f.store, modelId: String(f.model.prefix(12)), study: "lesion", split: .test,
                                      actor: "tester").run()
        let scans = try f.store.read { try CaseStore.caseScans($0, study: "lesion", splits: [.test], verifiedOnly: false) }
        XCTAssertEqual(document.model, f.model)
        XCTAssertEqual(document.predictions.count, scans.count)
        for p in document.predictions {
            XCTAssertEqual(Double(p.probabilities.reduce(0, +)), 1, accuracy: 1e-4)
            XCTAssertEqual(p.predictedClass, document.classes[p.probabilities.firstIndex(of: p.probabilities.max()!)!])
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let event = try lastEvent(f.store)
        XCTAssertEqual(event.action, "model.predict")
        XCTAssertEqual(try payload(event)["output_sha256"] as? String, ContentHash.sha256Hex(try encoder.encode(document)))
    }

    func testCalibrateStoresTheCalibratorItReportsAndRefusesAnUnknownSplit() throws {
        let f = try fixture()
        var job = CalibrateJob(store: f.store, model: f.model, method: .temperature, actor: "tester")
        job.bootstrap = 50
        job.evaluateSplit = "test"
        let (report, _, classes) = try job.run()
        XCTAssertEqual(classes.count, 2)
        let verified = try f.store.read { try CaseStore.cases($0, study: "lesion", split: .calibration) }.filter(\.isVerified)
        XCTAssertEqual(report.calibrationN, verified.count)
        XCTAssertEqual(report.calibratorFitN + report.conformalN, report.calibrationN)
        let latest = try XCTUnwrap(try f.store.read { try CaseStore.latestCalibrator($0, modelId: f.model) })
        XCTAssertEqual(latest.id, report.calibratorId)
        XCTAssertEqual(latest.calibrationSha256, report.calibrationSha256)
        XCTAssertEqual(try lastEvent(f.store).seq, report.auditSeq)
        XCTAssertNotNil(report.coverage)

        let before = try f.store.read { try AuditLog.treeSize($0) }
        job.split = "nonsense"
        XCTAssertThrowsError(try job.run())
        XCTAssertEqual(try f.store.read { try AuditLog.treeSize($0) }, before)
    }

    func testIndexBuildComputesOnlyWhatIsMissing() throws {
        let f = try fixture()
        let (again, _) = try IndexBuildJob(store: f.store, modelId: f.model, study: nil, splits: [.reference, .train], actor: "t").run()
        XCTAssertEqual(again.computed, 0, "the fixture's index is complete")
        XCTAssertEqual(again.reused, again.scans)
        // Adding the calibration split embeds exactly its verified scans.
        let calibration = try f.store.read { try CaseStore.caseScans($0, study: "lesion", splits: [.calibration], verifiedOnly: true) }
        let (more, seq) = try IndexBuildJob(store: f.store, modelId: f.model, study: "lesion", splits: [.calibration], actor: "t").run()
        XCTAssertEqual(more.computed, calibration.count)
        XCTAssertEqual(try lastEvent(f.store).seq, seq)
        XCTAssertEqual(try f.store.read { try CaseStore.embeddingCount($0, modelId: f.model) }, again.scans + calibration.count)
    }

    func testNeighboursNeverReturnTheQueryOrItsSubjectAndRawNeedsNoModel() throws {
        let f = try fixture()
        let query = try XCTUnwrap(try f.store.read { try CaseStore.cases($0, study: "lesion", split: .test) }.first)
        var job = NeighboursJob(store: f.store, query: .init(caseId: query.id), model: f.model)
        job.k = 5
        job.referenceSplits = [.reference, .train]
        let (doc, _) = try job.run()
        let result = try XCTUnwrap(doc.queries.first)
        XCTAssertEqual(result.neighbours.count, 5)
        let subjects = try f.store.read { db in try result.neighbours.map { try CaseStore.caseRecord(db, id: $0.caseID).subject } }
        XCTAssertFalse(result.neighbours.contains { $0.caseID == query.id })
        XCTAssertFalse(subjects.contains(query.subject))
        XCTAssertEqual(result.neighbours.map(\.distance), result.neighbours.map(\.distance).sorted())

        var raw = NeighboursJob(store: f.store, query: .init(study: "lesion"), model: nil)
        raw.querySplits = [.test]
        raw.k = 1
        let (rawDoc, _) = try raw.run()
        XCTAssertTrue(rawDoc.raw)
        let tests = try f.store.read { try CaseStore.cases($0, study: "lesion", split: .test) }
        XCTAssertEqual(rawDoc.queries.count, tests.count)
    }

    func testScansCountsEveryStoredScanOfTheCase() throws {
        let f = try fixture()
        let (caseId, count) = try f.store.read { db -> (String, Int) in
            for c in try CaseStore.cases(db, study: "lesion", split: .test) {
                let n = try CaseStore.scans(db, caseId: c.id).count
                if n >= 2 { return (c.id, n) }
            }
            throw XCTSkip("no test case with repeat scans")
        }
        let doc = try ScansJob(store: f.store, caseID: caseId, modelId: f.model, policy: try AuditPolicy.shipped("default")).run()
        XCTAssertEqual(doc.assessment.scans.count, count)
        XCTAssertEqual(doc.modelID, f.model)
        XCTAssertEqual(doc.prevalences.reduce(0, +), 1, accuracy: 1e-9)
        XCTAssertThrowsError(try ScansJob(store: f.store, caseID: "no-such-case", modelId: f.model,
                                          policy: try AuditPolicy.shipped("default")).run())
    }

    func testLogJobVerifiesProvesInclusionAndConsistency() throws {
        let f = try fixture()
        let job = LogJob(store: f.store)
        XCTAssertTrue(try job.verify(publicKeyFile: nil, checkpointFile: nil).ok)
        let keyPath = f.dir.appendingPathComponent("log.key").path
        let first = try job.checkpoint(latest: false, keyPath: keyPath)
        try f.store.logAction(actor: "t", action: "test.note", subject: AuditSubject(type: "test", id: "1"), payload: ["n": 1])
        let second = try job.checkpoint(latest: false, keyPath: keyPath)
        XCTAssertEqual(second.treeSize, first.treeSize + 1)
        XCTAssertEqual(try job.checkpoint(latest: true, keyPath: nil).note, second.note)
        let inclusion = try job.inclusion(seq: first.treeSize - 1, size: nil)
        XCTAssertTrue(inclusion.verified)
        XCTAssertTrue(try job.consistency(from: first.treeSize, to: second.treeSize).verified)
        XCTAssertThrowsError(try job.inclusion(seq: second.treeSize, size: nil)) { error in
            XCTAssertTrue((error as? PipelineError)?.isMissing == true, "\(error)")
        }
        let events = try job.events(since: second.treeSize - 1, limit: nil)
        XCTAssertEqual(events.events.map(\.action), ["test.note"])
        XCTAssertEqual(events.treeSize, second.treeSize)
        // A checkpoint file that is not one is bad input, naming the file.
        let bad = f.dir.appendingPathComponent("bad.checkpoint")
        try Data("not a checkpoint\n".utf8).write(to: bad)
        XCTAssertThrowsError(try job.verify(publicKeyFile: nil, checkpointFile: bad.path)) { error in
            XCTAssertTrue("\(error)".contains(bad.path), "\(error)")
        }
    }

    func testModelExportThenImportIsTheSameModel() throws {
        let f = try fixture()
        let file = f.dir.appendingPathComponent("m.safetensors").path
        let exported = try ModelExportJob(store: f.store, id: f.model, file: file, actor: "t").run()
        XCTAssertEqual(ContentHash.sha256Hex(try Data(contentsOf: URL(fileURLWithPath: file))), f.model)
        XCTAssertEqual(try lastEvent(f.store).action, "model.export")
        let again = try ModelImportJob(store: f.store, file: file, study: "lesion", actor: "t").run()
        XCTAssertEqual(again.modelId, exported.modelId)
        XCTAssertFalse(again.registered, "identical bytes are the identical model")
        XCTAssertNil(again.logSeq)

        let fresh = try CaseStore.inMemory()
        let imported = try ModelImportJob(store: fresh, file: file, study: nil, actor: "t").run()
        XCTAssertTrue(imported.registered)
        XCTAssertEqual(try fresh.read { try CaseStore.model($0, id: f.model) }.weights, try Data(contentsOf: URL(fileURLWithPath: file)))
        XCTAssertThrowsError(try ModelImportJob(store: fresh, file: f.dir.appendingPathComponent("none").path, study: nil, actor: "t").run()) {
            XCTAssertTrue(($0 as? PipelineError)?.isMissing == true)
        }
    }

    func testARunAppendsItsClosingCheckpointToThePolicysWitnessFolder() throws {
        let f = try fixture()
        let witness = f.dir.appendingPathComponent("witness").path
        let text = try AuditPolicy.shipped("default").text + "\naudit_log:\n  witness_folder: \(witness)\n"
        let policy = try AuditPolicy.parse(text, source: "witness policy")
        XCTAssertEqual(policy.auditLog.witnessFolder, witness)
        let summary = try AuditRunJob(store: f.store, policy: policy, study: "lesion", selection: .split(.test), modelId: nil,
                                      outDirectory: f.dir.appendingPathComponent("out"), runId: "witnessed-run", operatorId: "op",
                                      logSigner: AuditRunJob.logSigner(for: f.store, keyPath: f.dir.appendingPathComponent("log.key").path,
                                                                       actor: "t")).execute()
        let newest = try XCTUnwrap(try WitnessFolder(witness).newest())
        XCTAssertEqual(newest.treeSize, summary.checkpointSize)
        XCTAssertTrue(summary.notes.contains { $0.contains("appended to the witness folder") })
        XCTAssertTrue(try StoreVerifyJob(store: f.store, witness: witness).run().ok)
        // The store grows past the witness and verifies; a witness the store does not extend fails it.
        try f.store.logAction(actor: "t", action: "test.note", subject: AuditSubject(type: "test", id: "1"), payload: ["n": 1])
        XCTAssertTrue(try StoreVerifyJob(store: f.store, witness: witness).run().ok)
    }
}
