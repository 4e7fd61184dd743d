import AuditLog
@_spi(Storage) @testable import CaseStore
import Foundation
import PipelineFixtures
import GRDB
@testable import Pipeline
import Policy
import Review
import XCTest

/// Tamperings of a store — plain SQL with the triggers dropped, or file operations — each caught by
/// `audit store verify` (StoreVerifyJob) with the first bad record named; the untouched store verifies.
final class TamperMatrixTests: XCTestCase {
    struct Rich {
        var dir: URL
        var path: String
        var earlier: String
        var witness: String
        var trustedKey: String
        var runId: String
        /// A case alice opened, read blind and signed.
        var signedCase: String
    }

    static let lock = NSLock()
    static var built: Result<Rich, Error>?

    /// A store with a run, catch trials, reviewers, a blind read and sign-offs, a witnessed checkpoint,
    /// and an earlier copy taken before its last events.
    static func rich() throws -> Rich {
        lock.lock(); defer { lock.unlock() }
        if let built { return try built.get() }
        let result = Result<Rich, Error> { try build() }
        built = result
        return try result.get()
    }

    static func build() throws -> Rich {
        let c = try PipelineFixture.copy()
        let store = try CaseStore(path: c.path)
        let strict = try ShippedPolicy.screeningStrict.load()
        let policy = try AuditPolicy.parse(strict.text.replacingOccurrences(of: "catch_trial_rate: 0.05", with: "catch_trial_rate: 0.3"),
                                           source: "tamper policy")
        let runId = "tamper-run"
        _ = try AuditRunJob(store: store, policy: policy, study: "lesion", selection: .split(.incoming), modelId: nil,
                            outDirectory: c.dir.appendingPathComponent("out"), runId: runId, operatorId: "operator-1").execute()
        let workflow = ReviewWorkflow(store: store)
        var keys: [String: URL] = [:]
        for id in ["alice", "bob"] {
            let key = c.dir.appendingPathComponent("\(id).key")
            _ = try ReviewerRegistry(store: store, actor: "admin").add(id: id, name: "Dr \(id.capitalized)", role: "dermatologist",
                                                                         passphrase: "pass phrase", keyFile: key, cost: (n: 1 << 10, r: 8, p: 1))
            keys[id] = key
        }
        var t = Date(timeIntervalSince1970: 1_900_000_000)
        let items = try workflow.queue(reviewer: "alice").prefix(2)
        for item in items {
            let opened = try workflow.open(caseId: item.caseId, runId: runId, reviewer: "alice", now: t)
            if opened.blinded {
                _ = try workflow.blindRead(caseId: item.caseId, runId: runId, reviewer: "alice", className: "benign", now: t.addingTimeInterval(30))
            }
            t = t.addingTimeInterval(120)
            _ = try workflow.sign(ReviewWorkflow.SignRequest(caseId: item.caseId, runId: runId, reviewer: "alice", decision: .override,
                                                             className: "malignant", reasonCode: "disagree-morphology", meaning: .review,
                                                             note: "", passphrase: "pass phrase", keyFile: keys["alice"], now: t),
                                  storePath: c.path)
        }
        let witness = c.dir.appendingPathComponent("witness").path
        let log = LogJob(store: store)
        _ = try log.checkpoint(latest: false, keyPath: c.dir.appendingPathComponent("log.key").path, witness: witness)
        let earlier = c.dir.appendingPathComponent("earlier.sqlite").path
        try store.writer.backup(to: try DatabaseQueue(path: earlier))
        try store.logAction(actor: "t", action: "test.note", subject: AuditSubject(type: "test", id: "later"), payload: ["n": 1])
        _ = try log.checkpoint(latest: false, keyPath: c.dir.appendingPathComponent("log.key").path, witness: witness)
        let trusted = c.dir.appendingPathComponent("trusted.pub").path
        try Data((try log.key().verifierKey + "\n").utf8).write(to: URL(fileURLWithPath: trusted))
        return Rich(dir: c.dir, path: c.path, earlier: earlier, witness: witness, trustedKey: trusted, runId: runId,
                    signedCase: try XCTUnwrap(items.first?.caseId))
    }

    /// A copy of the rich store with `sql` applied (triggers dropped first).
    func tampered(_ name: String, _ sql: (Database) throws -> Void) throws -> CaseStore {
        let r = try Self.rich()
        let path = r.dir.appendingPathComponent("tampered-\(name)-\(UUID().uuidString).sqlite").path
        try CaseStore(path: r.path).writer.backup(to: try DatabaseQueue(path: path))
        let q = try DatabaseQueue(path: path)
        try q.writeWithoutTransaction { db in
            for trigger in try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE type = 'trigger'") {
                try db.execute(sql: "DROP TRIGGER \"\(trigger)\"")
            }
            try db.execute(sql: "PRAGMA foreign_keys = OFF")
            try db.inTransaction { try sql(db); return .commit }
        }
        try q.close()
        return try CaseStore(path: path)
    }

    func verify(_ store: CaseStore, witness: Bool = true, trusted: Bool = true) throws -> StoreVerifyJob.Report {
        let r = try Self.rich()
        return try StoreVerifyJob(store: store, publicKeyFile: trusted ? r.trustedKey : nil, witness: witness ? r.witness : nil).run()
    }

    func testTheUntouchedStoreVerifies() throws {
        let r = try Self.rich()
        let report = try verify(try CaseStore(path: r.path))
        XCTAssertTrue(report.ok, "\(report.firstProblem ?? "") \(report.records.problems.prefix(3))")
        XCTAssertEqual(report.records.attestedSince, 0)
        for table in ["cases", "scans", "models", "calibrators", "embeddings", "runs", "assessments", "reports",
                      "reviewers", "reviewer_keys", "review_sessions", "signoffs", "catch_trials", "studies"] {
            XCTAssertGreaterThan(report.records.recordsChecked[table] ?? 0, 0, "no \(table) records checked")
        }
    }

    /// The read path that must refuse the tampered record (nil: only `store verify` is asked).
    enum ReadPath { case queue, model, calibrator, newRun, resume, sign, signIn }

    /// (name, SQL, what the first problem must name, the read path that refuses it)
    var matrix: [(String, String, String, ReadPath?)] {
        let run = "'tamper-run'"
        return [
            ("relabel a verified calibration case", "UPDATE cases SET label = CASE label WHEN 'benign' THEN 'malignant' ELSE 'benign' END WHERE id = (SELECT id FROM cases WHERE split = 'calibration' AND label IS NOT NULL LIMIT 1)", "cases", .newRun),
            ("change who verified a case", "UPDATE cases SET verified_by = 'mallory' WHERE id = (SELECT id FROM cases WHERE verified_by IS NOT NULL LIMIT 1)", "cases", nil),
            ("move a case to another split", "UPDATE cases SET split = 'train' WHERE id = (SELECT id FROM cases WHERE split = 'test' LIMIT 1)", "cases", nil),
            ("edit a scan's values", "UPDATE scans SET \"values\" = zeroblob(length(\"values\")) WHERE (case_id, scan_index) IN (SELECT case_id, scan_index FROM scans LIMIT 1)", "scans", nil),
            ("delete a scan", "DELETE FROM scans WHERE (case_id, scan_index) IN (SELECT case_id, scan_index FROM scans WHERE scan_index = 1 LIMIT 1)", "scans", nil),
            ("edit a study's classes", "UPDATE studies SET description = 'rewritten' WHERE name = 'lesion'", "studies", nil),
            ("edit a model's weights", "UPDATE models SET weights = zeroblob(length(weights))", "models", .model),
            ("edit a calibrator's parameters", "UPDATE calibrators SET parameters = replace(parameters, '1', '2')", "calibrators", .calibrator),
            ("edit a calibrator's conformal thresholds", "UPDATE calibrators SET conformal = replace(conformal, '0.', '0.0')", "calibrators", .calibrator),
            ("edit an embedding", "UPDATE embeddings SET vector = zeroblob(length(vector)) WHERE (model_id, case_id, scan_index) IN (SELECT model_id, case_id, scan_index FROM embeddings LIMIT 1)", "embeddings", nil),
            ("edit a run's policy text", "UPDATE runs SET policy_text = policy_text || ' ' WHERE id = \(run)", "runs", .queue),
            ("set a run back to running", "UPDATE runs SET status = 'running', finished_at = NULL WHERE id = \(run)", "runs", .resume),
            ("downgrade a disposition to report", "UPDATE assessments SET disposition = 'report' WHERE run_id = \(run) AND disposition IN ('escalate', 'second-review', 'review') AND case_id = (SELECT case_id FROM assessments WHERE run_id = \(run) AND disposition IN ('escalate', 'second-review', 'review') LIMIT 1)", "assessments", .queue),
            ("edit an assessment's JSON", "UPDATE assessments SET assessment = replace(assessment, 'fail', 'pass') WHERE run_id = \(run) AND case_id = (SELECT case_id FROM assessments WHERE run_id = \(run) LIMIT 1)", "assessments", .queue),
            ("delete an assessment", "DELETE FROM assessments WHERE run_id = \(run) AND case_id = (SELECT case_id FROM assessments WHERE run_id = \(run) ORDER BY position DESC LIMIT 1)", "assessments", nil),
            ("edit a report's bytes", "UPDATE reports SET content = CAST(replace(CAST(content AS TEXT), 'benign', 'benigN') AS BLOB) WHERE rowid = (SELECT rowid FROM reports WHERE case_id IS NOT NULL AND format = 'html' LIMIT 1)", "reports", nil),
            ("delete a report version", "DELETE FROM reports WHERE rowid = (SELECT max(rowid) FROM reports)", "reports", nil),
            ("rewrite a blind read", "UPDATE review_sessions SET blind_read_class = 'malignant' WHERE blind_read_class IS NOT NULL", "review_sessions", .sign),
            ("copy a sign-off onto another case", "INSERT INTO signoffs (run_id, case_id, reviewer_id, key_version, record, signature, report_sha256, created_at) SELECT run_id, (SELECT case_id FROM assessments WHERE run_id = \(run) AND case_id NOT IN (SELECT case_id FROM signoffs) LIMIT 1), reviewer_id, key_version, record, signature, report_sha256, created_at FROM signoffs LIMIT 1", "signoffs", .queue),
            ("edit a sign-off's decision", "UPDATE signoffs SET record = replace(record, 'override', 'agree') WHERE id = (SELECT min(id) FROM signoffs)", "signoffs", .queue),
            ("rename a reviewer", "UPDATE reviewers SET name = 'Dr Mallory' WHERE id = 'alice'", "reviewers", .sign),
            ("replace a reviewer's key", "UPDATE reviewer_keys SET public_key = zeroblob(length(public_key)) WHERE reviewer_id = 'bob'", "reviewer_keys", .signIn),
            ("flip a catch-trial flag", "UPDATE catch_trials SET revealed_at = NULL WHERE revealed_at IS NOT NULL", "catch_trials", nil),
            ("change a catch trial's truth", "UPDATE catch_trials SET presented_class = true_label WHERE rowid = (SELECT min(rowid) FROM catch_trials)", "catch_trials", nil),
            ("insert a case without an event", "INSERT INTO cases (id, study, subject, label, verified_by, verified_at, split, notes, created_at) VALUES ('forged-1', 'lesion', 'p-forged', 'benign', 'mallory', '2026-01-01T00:00:00.000Z', 'reference', '', '2026-01-01T00:00:00.000Z')", "cases", nil),
            ("edit an attestation to match a rewritten record", "UPDATE record_attestations SET sha256 = (CASE WHEN substr(sha256, 1, 1) = '0' THEN '1' ELSE '0' END) || substr(sha256, 2) WHERE rowid = (SELECT min(rowid) FROM record_attestations WHERE tbl = 'assessments')", "record_attestations", .queue),
            ("delete a log event", "DELETE FROM audit_events WHERE seq = 5", "log:", nil),
            ("truncate the log tail", "DELETE FROM audit_events WHERE seq >= (SELECT max(seq) - 2 FROM audit_events)", "log:", nil),
        ]
    }

    func testEveryTamperingIsReportedWithTheRecordNamed() throws {
        XCTAssertGreaterThanOrEqual(matrix.count, 25)
        var caught = 0
        var refusedByReadPath = 0
        for (name, sql, names, path) in matrix {
            let store = try tampered(String(caught)) { db in
                try db.execute(sql: sql)
                XCTAssertGreaterThan(db.changesCount, 0, "\(name): the SQL changed nothing")
            }
            let report = try verify(store)
            XCTAssertFalse(report.ok, "\(name): not detected")
            let first = report.firstProblem ?? ""
            XCTAssertTrue(first.contains(names), "\(name): first problem '\(first)' does not name \(names)")
            if !report.ok { caught += 1 }
            if let path {
                let before = try store.read { try AuditLog.treeSize($0) }
                XCTAssertThrowsError(try read(path, store), "\(name): the \(path) read path used the tampered record") { error in
                    guard case CaseStoreError.notAttested? = error as? CaseStoreError else {
                        return XCTFail("\(name): \(path) failed otherwise: \(error)")
                    }
                    refusedByReadPath += 1
                }
                XCTAssertEqual(try store.read { try AuditLog.treeSize($0) }, before, "\(name): the refused \(path) wrote to the log")
            }
        }
        XCTAssertEqual(caught, matrix.count)
        XCTAssertEqual(refusedByReadPath, matrix.filter { $0.3 != nil }.count)
    }

    /// Uses the store the way the named read path does.
    func read(_ path: ReadPath, _ store: CaseStore) throws {
        let r = try Self.rich()
        switch path {
        case .queue: _ = try ReviewWorkflow(store: store).queue(reviewer: "bob")
        case .signIn:   // the web app's sign-in checks the reviewer and their key before unsealing it
            _ = try ReviewerRegistry(store: store, actor: "bob").authenticate(id: "bob", passphrase: "pass phrase", storePath: store.path ?? "")
        case .model: _ = try store.read { try ArtefactLoader.newestModel($0, study: "lesion") }
        case .calibrator:
            _ = try store.read { db in
                try ArtefactLoader.calibration(db, model: try XCTUnwrap(try ArtefactLoader.newestModel(db, study: "lesion")))
            }
        case .sign:
            _ = try ReviewWorkflow(store: store).sign(ReviewWorkflow.SignRequest(
                caseId: r.signedCase, runId: r.runId, reviewer: "alice", decision: .agree, className: nil, reasonCode: "none",
                meaning: .review, note: "", passphrase: "pass phrase", keyFile: r.dir.appendingPathComponent("alice.key"),
                now: Date(timeIntervalSince1970: 1_900_010_000)), storePath: store.path ?? "")
        case .newRun, .resume:
            let strict = try ShippedPolicy.screeningStrict.load()
            let policy = try AuditPolicy.parse(strict.text.replacingOccurrences(of: "catch_trial_rate: 0.05", with: "catch_trial_rate: 0.3"),
                                               source: "tamper policy")
            _ = try AuditRunJob(store: store, policy: policy, study: "lesion", selection: .split(path == .resume ? .incoming : .test),
                                modelId: nil, outDirectory: r.dir.appendingPathComponent("out-\(UUID().uuidString)"),
                                runId: path == .resume ? r.runId : "another-run", operatorId: "operator-1").execute()
        }
    }

    func testARolledBackStoreIsCaughtByTheWitness() throws {
        let r = try Self.rich()
        let earlier = try CaseStore(path: r.earlier)
        // On its own the earlier copy is a consistent store …
        XCTAssertTrue(try verify(earlier, witness: false).ok)
        // … but the witness saw the log grow past it.
        let report = try verify(earlier)
        XCTAssertFalse(report.ok)
        XCTAssertTrue((report.firstProblem ?? "").hasPrefix("log:"), report.firstProblem ?? "")
    }

    func testAReplacedLogKeyIsCaughtWithTheTrustedKey() throws {
        let forger = Curve25519KeyForTests.publicKey()
        let store = try tampered("key") { db in
            try db.execute(sql: "UPDATE audit_log_keys SET public_key = ?", arguments: [forger])
        }
        XCTAssertFalse(try verify(store).ok)
    }
}

enum Curve25519KeyForTests {
    static func publicKey() -> Data { Data(repeating: 9, count: 32) }
}
