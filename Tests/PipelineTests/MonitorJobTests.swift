import AuditLog
import Calibration
@_spi(Storage) import CaseStore
import Foundation
import GRDB
import Pipeline
import PipelineFixtures
import Policy
import XCTest

/// `MonitorJob` over real runs of the fixture store with outcomes chosen by the test: every figure
/// recomputed here from the stored assessments' JSON (not through the job's decoding), catch trials
/// left out, thresholds raising alerts exactly when the policy says, the alert logged, and a
/// rewritten outcome refused.
final class MonitorJobTests: XCTestCase {
    func policy(_ monitoring: String) throws -> AuditPolicy {
        let base = try ShippedPolicy.screeningStrict.load()
        return try AuditPolicy.parse(Data((base.text + "\nmonitoring:\n" + monitoring).utf8), source: "test-monitoring.yaml")
    }

    func testFiguresAlertsAndRefusals() throws {
        let c = try PipelineFixture.copy()
        let store = try CaseStore(path: c.path)
        let runId = "monitor-run"
        _ = try AuditRunJob(store: store, policy: try ShippedPolicy.screeningStrict.load(), study: "lesion", selection: .split(.incoming),
                            modelId: nil, outDirectory: c.dir.appendingPathComponent("out"), runId: runId, operatorId: "operator-1").execute()
        let (records, trials, classes) = try store.read { db in
            (try CaseStore.assessments(db, runId: runId), Set(try CaseStore.catchTrials(db).map(\.caseId)),
             try CaseStore.study(db, named: "lesion").classes)
        }
        XCTAssertFalse(trials.isEmpty, "screening-strict plants catch trials")
        struct Stored { var caseId: String; var predicted: String; var confidence: Double; var set: [String]; var alpha: Double; var pValues: [String: Double] }
        let stored: [Stored] = records.filter { !trials.contains($0.caseId) }.compactMap { r in
            let a = try! JSONSerialization.jsonObject(with: Data(r.assessment.utf8)) as! [String: Any]
            let e = a["evidence"] as! [String: Any]
            guard let predicted = e["predicted_class"] as? String, let conf = e["calibrated_confidence"] as? Double,
                  let set = e["conformal_set"] as? [String: Any] else { return nil }
            let p = ((a["details"] as! [String: Any])["conformal"] as! [String: Any])["p_values"] as! [String: Double]
            return Stored(caseId: r.caseId, predicted: predicted, confidence: conf, set: set["classes"] as! [String], alpha: set["alpha"] as! Double, pValues: p)
        }
        XCTAssertGreaterThanOrEqual(stored.count, 10)

        // No outcomes yet: only the label-free estimate.
        let lax = try policy("  min_cases: 1\n  min_labelled: 1\n  min_accuracy: null\n  min_estimated_accuracy: null\n  max_ece: null\n"
                             + "  coverage_below_guarantee: false\n  max_abstention_rate: null\n  max_escalation_rate: null\n  max_override_rate: null\n  max_estimate_error: null\n")
        let before = try MonitorJob(store: store, policy: lax, study: "lesion", grouping: .run).run()
        XCTAssertEqual(before.periods.count, 1)
        let p0 = before.periods[0]
        XCTAssertEqual(p0.cases, records.count - trials.count, "catch trials are left out")
        XCTAssertNil(p0.outcomes)
        XCTAssertEqual(p0.estimate!.estimate, stored.map(\.confidence).reduce(0, +) / Double(stored.count), accuracy: 1e-12)
        XCTAssertTrue(before.alerts.isEmpty)

        // Outcomes: the model's answer for the first two thirds, the other class for the rest.
        let rightCount = stored.count * 2 / 3
        var truth: [String: String] = [:]
        for (i, s) in stored.enumerated() { truth[s.caseId] = i < rightCount ? s.predicted : classes.first { $0 != s.predicted }! }
        _ = try OutcomeJob(store: store, actor: "registrar").record(stored.map {
            OutcomeEntry(caseId: $0.caseId, label: truth[$0.caseId]!, source: "biopsy", verifiedBy: "dr-path")
        })
        let after = try MonitorJob(store: store, policy: lax, study: "lesion", grouping: .run).run()
        let o = try XCTUnwrap(after.periods[0].outcomes)
        XCTAssertEqual(o.count, stored.count)
        XCTAssertEqual(o.accuracy.successes, rightCount)
        let expected = try BinomialInterval(successes: rightCount, trials: stored.count)
        XCTAssertEqual(o.accuracy.lower, expected.lower, accuracy: 1e-12)
        let covered = stored.filter { $0.set.contains(truth[$0.caseId]!) }.count
        XCTAssertEqual(o.coverage?.successes, covered)
        XCTAssertEqual(o.coverageAlpha ?? -1, stored[0].alpha, accuracy: 1e-12)
        XCTAssertEqual(o.estimateError!, stored.map(\.confidence).reduce(0, +) / Double(stored.count) - Double(rightCount) / Double(stored.count), accuracy: 1e-12)
        let ece = try CalibrationErrorEstimate(confidences: stored.map(\.confidence), outcomes: stored.map { $0.predicted == truth[$0.caseId] },
                                               scheme: .standard, target: .topLabel)
        XCTAssertEqual(o.ece!.value, ece.ece, accuracy: 1e-12)
        XCTAssertLessThanOrEqual(o.ece!.lower, o.ece!.value + 1e-12)
        // The martingale saw each outcome's true-label p-value, in the run's order.
        var m = try ConformalTestMartingale(betting: .standardMixture, delta: 0.01)
        for s in stored { try m.observe(pValue: s.pValues[truth[s.caseId]!]!) }
        XCTAssertEqual(after.martingalePath.count, stored.count)
        XCTAssertEqual(after.periods[0].martingale!.value, m.value, accuracy: 1e-9 * max(1, m.value))

        // A third of the answers wrong: the strict thresholds fire, each once, and are logged in one event.
        let strict = try policy("  min_cases: 5\n  min_labelled: 5\n  min_accuracy: 0.95\n  max_estimate_error: 0.1\n")
        let job = MonitorJob(store: store, policy: strict, study: "lesion", grouping: .month)
        let judged = try job.run()
        let checks = Set(judged.alerts.map(\.check))
        XCTAssertTrue(checks.contains("min-accuracy"), "\(checks)")
        XCTAssertTrue(checks.contains("max-estimate-error"), "\(checks)")
        XCTAssertEqual(judged.periods.count, 1)
        XCTAssertTrue(judged.periods[0].key.range(of: #"^\d{4}-\d{2}$"#, options: .regularExpression) != nil, judged.periods[0].key)
        let size = try store.read { db in try AuditLog.treeSize(db) }
        let event = try XCTUnwrap(try job.logAlerts(judged, reportSHA256: String(repeating: "0", count: 64), actor: "governance"))
        XCTAssertEqual(event.seq, size)
        XCTAssertEqual(event.action, "monitor.alert")
        XCTAssertNil(try MonitorJob(store: store, policy: lax, study: "lesion").logAlerts(after, reportSHA256: "", actor: "x"), "no alerts, no event")
        // Too few cases: reported, not judged.
        let small = try policy("  min_cases: 100000\n  min_accuracy: 0.99\n  on_martingale_alarm: false\n")
        XCTAssertTrue(try MonitorJob(store: store, policy: small, study: "lesion").run().alerts.isEmpty)
        // Since a later date: nothing of this run is left.
        XCTAssertTrue(try MonitorJob(store: store, policy: lax, study: "lesion", since: Date().addingTimeInterval(86_400)).run().periods.isEmpty)
        let week = try MonitorJob(store: store, policy: lax, study: "lesion", grouping: .week).run()
        XCTAssertTrue(week.periods[0].key.range(of: #"^\d{4}-W\d{2}$"#, options: .regularExpression) != nil, week.periods[0].key)

        XCTAssertThrowsError(try MonitorJob(store: store, policy: lax, study: "no-such-study").run())
        // A rewritten outcome is refused: the log vouches for every one.
        try store.write { db in try db.execute(sql: "UPDATE outcomes SET label = ? WHERE case_id = ?", arguments: [stored[0].predicted == "benign" ? "malignant" : "benign", stored[0].caseId]) }
        XCTAssertThrowsError(try MonitorJob(store: store, policy: lax, study: "lesion").run()) { error in
            XCTAssertTrue("\(error)".contains("outcomes"), "\(error)")
        }
    }
}
