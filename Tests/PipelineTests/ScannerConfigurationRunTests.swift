import CaseStore
import Foundation
import Pipeline
import PipelineFixtures
import Policy
import XCTest

/// Scans taken under named scanner configurations through a real run (issue: repeat scans, items 2
/// and 3): the calibrated claim standardises by configuration, every scan is checked against the
/// policy's configuration rule, the case report names the next configuration, and `audit scans
/// --advise` says the same; on a store whose scans name no configuration, advice is refused clearly.
final class ScannerConfigurationRunTests: XCTestCase {
    /// A lesion store whose cohort takes scan j under configuration j mod 4 (the cohort's fixed order).
    static let template: Result<URL, Error> = Result {
        try PipelineFixture.requireBinary()
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("configured-fixture-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let common = ["--store", "s.sqlite", "--quiet", "--actor", "fixture"]
        try PipelineFixture.audit(["cohort", "generate", "lesion", "--study", "lesion", "--cases", "600", "--seed", "7", "--rho", "0.3",
                                   "--separation", "3", "--prevalence", "0.4", "--min-scans", "3", "--max-scans", "6",
                                   "--scanner-configurations",
                                   "--splits", "train=0.3,validation=0.05,calibration=0.35,reference=0.1,test=0.05,incoming=0.15"] + common, in: dir)
        try PipelineFixture.audit(["train", "--study", "lesion", "--split", "train", "--arch", "gru", "--hidden", "8", "--epochs", "3",
                                   "--seed", "1"] + common, in: dir)
        let list = try PipelineFixture.audit(["model", "list", "--store", "s.sqlite", "--json"], in: dir)
        let model = try XCTUnwrap((try JSONSerialization.jsonObject(with: Data(list.utf8)) as? [[String: Any]])?.first?["model_id"] as? String)
        try PipelineFixture.audit(["calibrate", "--model", model, "--study", "lesion", "--split", "calibration", "--method", "temperature",
                                   "--alpha", "0.1"] + common, in: dir)
        return dir
    }

    func copy() throws -> (dir: URL, path: String) {
        let source = try Self.template.get()
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("configured-test-\(UUID().uuidString)")
        try FileManager.default.copyItem(at: source, to: dir)
        return (dir, dir.appendingPathComponent("s.sqlite").path)
    }

    func policy(next: String, stopping: String = "first-claim") throws -> (AuditPolicy, String) {
        let base = try ShippedPolicy.default.load()
        let text = base.text
            .replacingOccurrences(of: "claim_construction: model-free",
                                  with: "claim_construction: calibrated-boundary\n  next_configuration: \(next)\n  stopping_rule: \(stopping)")
            .replacingOccurrences(of: "max_scans: 4", with: "max_scans: 6")
        XCTAssertNotEqual(text, base.text)
        return (try AuditPolicy.parse(Data(text.utf8), source: "configured-\(next).yaml"), text)
    }

    struct Case { var scans: Int; var review: [String: Any]; var processes: [[String: Any]]; var report: String }

    func run(next: String, stopping: String = "first-claim") throws -> [Case] {
        let c = try copy()
        let store = try CaseStore(path: c.path)
        let runId = "configured-\(next)"
        _ = try AuditRunJob(store: store, policy: try policy(next: next, stopping: stopping).0, study: "lesion", selection: .split(.incoming),
                            modelId: nil, outDirectory: c.dir.appendingPathComponent("out"), runId: runId, operatorId: "operator-1").execute()
        return try store.read { db in try CaseStore.assessments(db, runId: runId) }.map { a in
            let doc = try JSONSerialization.jsonObject(with: Data(a.assessment.utf8)) as! [String: Any]
            let rs = try XCTUnwrap((doc["details"] as! [String: Any])["repeat_scans"] as? [String: Any])
            let report = try store.read { db in try CaseStore.latestReport(db, runId: runId, caseId: a.caseId, format: .html) }
            return Case(scans: (rs["scans"] as! [Any]).count, review: try XCTUnwrap(rs["configurations"] as? [String: Any], "\(a.caseId)"),
                        processes: rs["e_processes"] as! [[String: Any]], report: String(decoding: report?.content ?? Data(), as: UTF8.self))
        }
    }

    func testFixedOrderCohortFollowsTheFixedRule() throws {
        let cases = try run(next: "fixed")
        XCTAssertGreaterThan(cases.count, 50)
        for c in cases {
            XCTAssertEqual(c.review["against_rule"] as? Int, 0, "the cohort scans in the fixed order")
            XCTAssertEqual((c.review["checks"] as! [Any]).count, c.scans)
            XCTAssertTrue(c.report.contains("Every scan followed the fixed order."))
        }
    }

    func testAdvisedRuleCountsAndShowsScansTakenAgainstIt() throws {
        let cases = try run(next: "advised")
        var against = 0, configured = 0
        for c in cases {
            let checks = c.review["checks"] as! [[String: Any]]
            XCTAssertEqual(checks.count, c.scans)
            let counted = checks.filter { ($0["taken"] as? String) != ($0["expected"] as? String) }.count
            XCTAssertEqual(c.review["against_rule"] as? Int, counted)
            XCTAssertTrue(checks.allSatisfy { ($0["followed"] as? Bool) == (($0["taken"] as? String) == ($0["expected"] as? String)) })
            // Before any scan the advice depends on the prevalences only: the same for every case.
            XCTAssertEqual(checks.first?["expected"] as? String, cases[0].review["checks"].flatMap { ($0 as? [[String: Any]])?.first?["expected"] as? String })
            against += counted
            XCTAssertTrue(c.report.contains("Scanner configuration: "), "the case report carries the configuration sentences")
            if counted > 0 { XCTAssertTrue(c.report.contains("against the advice")) }
            // The calibrated claim standardises by configuration, one configuration per counted scan.
            for p in c.processes where p["construction"] as? String == "calibrated-boundary" {
                XCTAssertNotNil(p["standardisation"])
                XCTAssertEqual((p["scan_configurations"] as? [Int])?.count, c.scans)
                configured += 1
            }
        }
        XCTAssertGreaterThan(against, 0, "the fixed-order cohort departs from the advice somewhere")
        XCTAssertGreaterThan(configured, 0)
    }

    func testScansAdviseNamesTheNextConfiguration() throws {
        let c = try copy()
        let policyFile = c.dir.appendingPathComponent("advised.yaml")
        try Data(try policy(next: "advised", stopping: "max-scans").1.utf8).write(to: policyFile)
        let list = try PipelineFixture.audit(["cases", "list", "--store", "s.sqlite", "--study", "lesion", "--split", "incoming", "--json"], in: c.dir)
        let doc = try JSONSerialization.jsonObject(with: Data(list.utf8)) as! [String: Any]
        let caseId = try XCTUnwrap((doc["cases"] as? [[String: Any]])?.first { ($0["scans"] as? Int ?? 0) < 6 }?["case_id"] as? String)
        let models = try JSONSerialization.jsonObject(with: Data(try PipelineFixture.audit(["model", "list", "--store", "s.sqlite", "--json"], in: c.dir).utf8)) as! [[String: Any]]
        let model = try XCTUnwrap(models.first?["model_id"] as? String)
        let text = try PipelineFixture.audit(["scans", caseId, "--model", model, "--store", "s.sqlite", "--policy", policyFile.path, "--advise"], in: c.dir)
        XCTAssertTrue(text.contains("configuration rule: advised; stopping rule: max-scans"), text)
        XCTAssertTrue(text.contains("Next scan, if one is taken: "), text)
        XCTAssertTrue(text.contains("multispectral, extended near-infrared:"), "each configuration's evidence is listed")
        let json = try PipelineFixture.audit(["scans", caseId, "--model", model, "--store", "s.sqlite", "--policy", policyFile.path, "--advise", "--json"], in: c.dir)
        let j = try JSONSerialization.jsonObject(with: Data(json.utf8)) as! [String: Any]
        let evidence = try XCTUnwrap(j["configuration_evidence"] as? [String: Any])
        XCTAssertEqual((evidence["profiles"] as? [Any])?.count, 4)
        let next = try XCTUnwrap(((j["assessment"] as? [String: Any])?["configurations"] as? [String: Any])?["next"] as? [String: Any])
        let growth = try XCTUnwrap(next["expected_growth"] as? [Double])
        XCTAssertEqual(next["configuration"] as? Int, growth.indices.max { growth[$0] < growth[$1] }, "the advice is the largest expected growth")
    }

    func testAdviceOnScansThatNameNoConfigurationIsRefused() throws {
        let c = try PipelineFixture.copy()
        let models = try JSONSerialization.jsonObject(with: Data(try PipelineFixture.audit(["model", "list", "--store", c.path, "--json"], in: c.dir).utf8)) as! [[String: Any]]
        let model = try XCTUnwrap(models.first?["model_id"] as? String)
        let store = try CaseStore(path: c.path)
        let caseId = try XCTUnwrap(try store.read { db in try CaseStore.cases(db, study: "lesion", split: .incoming) }.first?.id)
        var job = ScansJob(store: store, caseID: caseId, modelId: model, policy: try ShippedPolicy.default.load())
        job.advise = true
        XCTAssertThrowsError(try job.run()) {
            XCTAssertTrue("\($0)".contains("do not all name a scanner configuration"), "\($0)")
        }
        job.advise = false
        XCTAssertNil(try job.run().assessment.configurations, "without configurations nothing is checked")
    }
}
