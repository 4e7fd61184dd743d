import CaseStore
import Foundation
import Pipeline
import PipelineFixtures
import Policy
import XCTest

/// `claim_construction: calibrated-boundary` through a real run: the claims are made by the
/// calibrated boundary (named in the assessment and the report), at least as often as the
/// likelihood ratio with Ville's 1/α on the same cases, and the run's bytes are reproducible.
final class CalibratedClaimRunTests: XCTestCase {
    func policy(_ construction: String) throws -> AuditPolicy {
        let base = try ShippedPolicy.default.load()
        let text = base.text.replacingOccurrences(of: "claim_construction: model-free", with: "claim_construction: \(construction)")
        XCTAssertNotEqual(text, base.text)
        return try AuditPolicy.parse(Data(text.utf8), source: "\(construction).yaml")
    }

    func claims(_ construction: String, runId: String) throws -> (established: Int, total: Int, texts: [String]) {
        let c = try PipelineFixture.copy()
        let store = try CaseStore(path: c.path)
        _ = try AuditRunJob(store: store, policy: try policy(construction), study: "lesion", selection: .split(.incoming), modelId: nil,
                            outDirectory: c.dir.appendingPathComponent("out"), runId: runId, operatorId: "operator-1").execute()
        var established = 0, total = 0, texts: [String] = []
        for a in try store.read({ db in try CaseStore.assessments(db, runId: runId) }) {
            let doc = try JSONSerialization.jsonObject(with: Data(a.assessment.utf8)) as! [String: Any]
            let claims = ((doc["evidence"] as! [String: Any])["claims"] as? [[String: Any]]) ?? []
            total += claims.count
            established += claims.filter { $0["established"] as? Bool == true }.count
            let processes = (((doc["details"] as! [String: Any])["repeat_scans"] as? [String: Any])?["e_processes"] as? [[String: Any]]) ?? []
            if construction == "calibrated-boundary", !claims.isEmpty {
                XCTAssertTrue(processes.contains { $0["construction"] as? String == "calibrated-boundary" && $0["boundary"] != nil },
                              "the calibrated claim and its boundary are stored with the assessment")
                XCTAssertTrue(claims.allSatisfy { $0["e_value"] == nil }, "a calibrated claim carries no e-value")
            }
            let report = try store.read { db in try CaseStore.latestReport(db, runId: runId, caseId: a.caseId, format: .html) }
            texts.append(String(decoding: report?.content ?? Data(), as: UTF8.self))
        }
        return (established, total, texts)
    }

    func testCalibratedBoundaryClaimsThroughARun() throws {
        let calibrated = try claims("calibrated-boundary", runId: "calibrated")
        let ville = try claims("model-based", runId: "ville")
        XCTAssertGreaterThan(calibrated.total, 0)
        XCTAssertEqual(calibrated.total, ville.total, "the same rivals are tested")
        XCTAssertGreaterThanOrEqual(calibrated.established, ville.established, "the calibrated boundary establishes at least as many claims")
        XCTAssertTrue(calibrated.texts.contains { $0.contains("calibrated boundary: standardised evidence") }, "the report names the claim's statistic")
        // Reproducible: the boundary's simulation is seeded by the calibrator.
        let again = try claims("calibrated-boundary", runId: "calibrated")
        XCTAssertEqual(again.established, calibrated.established)
    }
}
