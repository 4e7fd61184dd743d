import AuditLog
@_spi(Storage) import CaseStore
import Foundation
import GRDB
import Pipeline
import PipelineFixtures
import Policy
import XCTest

/// Outcomes arriving after a run: recorded with their event, never overwritten (a correction needs a
/// reason and keeps the earlier row), a CSV all or nothing with line and field named, the store and
/// log unchanged by any refusal.
final class OutcomeJobTests: XCTestCase {
    func testOutcomesCorrectionsAndAllOrNothingCSV() throws {
        let c = try PipelineFixture.copy()
        let store = try CaseStore(path: c.path)
        _ = try AuditRunJob(store: store, policy: try ShippedPolicy.default.load(), study: "lesion", selection: .split(.incoming), modelId: nil,
                            outDirectory: c.dir.appendingPathComponent("out"), runId: "outcome-run", operatorId: "operator-1").execute()
        let assessed = try store.read { db in try CaseStore.assessments(db, runId: "outcome-run").map(\.caseId) }
        XCTAssertGreaterThanOrEqual(assessed.count, 3)
        let unassessed = try store.read { db in try CaseStore.cases(db, study: "lesion", split: .train).first!.id }
        let job = OutcomeJob(store: store, actor: "registrar")
        let t0 = Date(timeIntervalSince1970: 1_900_000_000)

        func snapshot() throws -> (Int, Int) {
            try store.read { db in (try AuditLog.treeSize(db), try Int.fetchOne(db.database, sql: "SELECT count(*) FROM outcomes")!) }
        }
        func refused(_ entries: [OutcomeEntry], file: String? = nil, _ mention: String, line: Int? = nil) throws {
            let before = try snapshot()
            XCTAssertThrowsError(try job.record(entries, file: file, now: t0)) { error in
                XCTAssertTrue("\(error)".contains(mention), "\(error) should mention \(mention)")
                if let line { XCTAssertTrue("\(error)".contains(":\(line):"), "\(error) should name line \(line)") }
            }
            let after = try snapshot()
            XCTAssertEqual(after.0, before.0, "log unchanged"); XCTAssertEqual(after.1, before.1, "outcomes unchanged")
        }

        let first = try job.record([OutcomeEntry(caseId: assessed[0], label: "benign", source: "biopsy", verifiedBy: "dr-path",
                                                 verifiedAt: "2030-01-01")], now: t0)
        XCTAssertEqual(first.map(\.kind), [.recorded])
        let again = try job.record([OutcomeEntry(caseId: assessed[0], label: "benign", source: "biopsy", verifiedBy: "dr-path")], now: t0)
        XCTAssertEqual(again.map(\.kind), [.unchanged]); XCTAssertNil(again[0].seq)

        try refused([OutcomeEntry(caseId: assessed[0], label: "malignant", source: "biopsy", verifiedBy: "dr-path")], "reason")
        try refused([OutcomeEntry(caseId: assessed[1], label: "benign", source: "biopsy", verifiedBy: "x", reason: "why")], "no earlier outcome")
        try refused([OutcomeEntry(caseId: assessed[1], label: "warty", source: "biopsy", verifiedBy: "x")], "benign, malignant")
        try refused([OutcomeEntry(caseId: assessed[1], label: "benign", source: "hunch", verifiedBy: "x")], "biopsy")
        try refused([OutcomeEntry(caseId: assessed[1], label: "benign", source: "biopsy", verifiedBy: "x", verifiedAt: "2031-01-01")], "future")
        try refused([OutcomeEntry(caseId: assessed[1], label: "benign", source: "biopsy", verifiedBy: "x", verifiedAt: "last week")], "RFC 3339")
        try refused([OutcomeEntry(caseId: unassessed, label: "benign", source: "biopsy", verifiedBy: "x")], "assessed")
        try refused([OutcomeEntry(caseId: "no-such-case", label: "benign", source: "biopsy", verifiedBy: "x")], "no-such-case")

        let corrected = try job.record([OutcomeEntry(caseId: assessed[0], label: "malignant", source: "histopathology", verifiedBy: "dr-path",
                                                     reason: "second opinion on the slides")], now: t0)
        XCTAssertEqual(corrected.map(\.kind), [.corrected]); XCTAssertEqual(corrected[0].previousLabel, "benign")
        let history = try store.read { db in try CaseStore.outcomes(db, caseId: assessed[0]) }
        XCTAssertEqual(history.map(\.label), ["benign", "malignant"], "the earlier outcome stays")
        XCTAssertEqual(history[1].supersedes, history[0].id)
        XCTAssertEqual(try store.read { db in try CaseStore.currentOutcomes(db)[assessed[0]]?.label }, "malignant")
        let events = try store.read { db in try AuditLog.events(db) }.filter { $0.action.hasPrefix("case.outcome") }
        XCTAssertEqual(events.map(\.action), ["case.outcome", "case.outcome-corrected"])

        // CSV: a bad line anywhere refuses the whole file, naming the line and the field.
        let csv = c.dir.appendingPathComponent("outcomes.csv")
        func write(_ text: String) throws { try text.write(to: csv, atomically: true, encoding: .utf8) }
        try write("case_id,label,verified_by,source,verified_at\n\(assessed[1]),benign,dr-a,biopsy,2026-11-01\n\(assessed[2]),malign,dr-a,biopsy,\n")
        try refused(try OutcomeFile.parse(path: csv.path), file: csv.path, "label", line: 3)
        try write("case_id,label,verified_by,source\n\(assessed[1]),benign,dr-a,biopsy\n\(assessed[1]),benign,dr-a,biopsy\n")
        XCTAssertThrowsError(try OutcomeFile.parse(path: csv.path)) { XCTAssertTrue("\($0)".contains(":3:") && "\($0)".contains("line 2"), "\($0)") }
        try write("case_id,label,source\n\(assessed[1]),benign,biopsy\n")
        XCTAssertThrowsError(try OutcomeFile.parse(path: csv.path)) { XCTAssertTrue("\($0)".contains("verified_by"), "\($0)") }
        try write("case_id,label,verified_by,source,colour\n")
        XCTAssertThrowsError(try OutcomeFile.parse(path: csv.path)) { XCTAssertTrue("\($0)".contains("column 5"), "\($0)") }
        try write("case_id,label,verified_by,source\n\(assessed[1]),benign,dr-a\n")
        XCTAssertThrowsError(try OutcomeFile.parse(path: csv.path)) { XCTAssertTrue("\($0)".contains(":2:"), "\($0)") }
        try write("case_id,label,verified_by,source,reason\n\(assessed[1]),benign,\"Dr A, pathology\",biopsy,\n\(assessed[2]),malignant,dr-a,biopsy,\n")
        let bulk = try job.record(csv: csv.path, now: t0)
        XCTAssertEqual(bulk.map(\.kind), [.recorded, .recorded])
        XCTAssertEqual(try store.read { db in try CaseStore.currentOutcomes(db)[assessed[1]]?.verifiedBy }, "Dr A, pathology")
        let logged = try store.read { db in try AuditLog.events(db) }.filter { $0.action == "case.outcome" }.last
        XCTAssertEqual(logged?.subject.id, assessed[2])

        // The log vouches for every outcome: a rewritten label is found by store verify.
        XCTAssertTrue(try StoreVerifyJob(store: store).run().ok)
        try store.write { db in try db.execute(sql: "UPDATE outcomes SET label = 'benign' WHERE case_id = ?", arguments: [assessed[2]]) }
        XCTAssertFalse(try StoreVerifyJob(store: store).run().ok)
    }
}
