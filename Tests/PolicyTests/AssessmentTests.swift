import Digests
import Foundation
import XCTest
@testable import Policy

final class AssessmentTests: XCTestCase {
    func makeAssessment() throws -> Assessment {
        let policy = try AuditPolicy.shipped("default")
        return Assessment(caseId: "lesion-0007", runId: "run-1", study: "lesions", evidence: DispositionTableTests.reportable,
                          policy: policy,
                          provenance: AssessmentProvenance(modelId: "abc123", calibrator: "temperature", calibrationCount: 500,
                                                           alpha: 0.1, eceBins: 15),
                          details: ["scans": try JSONValue(encoding: ["s1": 0.98, "s2": 0.97])])
    }

    func testCanonicalJSONIsSortedStableAndRoundTrips() throws {
        let assessment = try makeAssessment()
        let first = try assessment.canonicalJSON()
        let second = try makeAssessment().canonicalJSON()
        XCTAssertEqual(first, second)
        let text = try XCTUnwrap(String(data: first, encoding: .utf8))
        // Top-level keys appear in lexicographic order.
        let keys = ["case_id", "checks", "details", "disposition", "evidence", "format_version", "provenance", "run_id", "study"]
        let positions = keys.map { text.range(of: "\"\($0)\":")?.lowerBound }
        XCTAssertFalse(positions.contains(nil), text)
        XCTAssertEqual(positions.compactMap { $0 }, positions.compactMap { $0 }.sorted())
        XCTAssertFalse(text.contains("\n"))

        let decoded = try Assessment.decode(first)
        XCTAssertEqual(decoded, assessment)
        XCTAssertEqual(try decoded.canonicalJSON(), first)
    }

    func testProvenanceCarriesPolicyHashAndRunAndSHA256IsOverCanonicalBytes() throws {
        let assessment = try makeAssessment()
        let policy = try AuditPolicy.shipped("default")
        XCTAssertEqual(assessment.provenance.policySHA256, policy.sha256)
        XCTAssertEqual(assessment.provenance.policyName, "default")
        XCTAssertEqual(assessment.provenance.runId, "run-1")
        XCTAssertEqual(assessment.disposition.kind, .report)
        XCTAssertEqual(try assessment.sha256(), ContentHash.sha256Hex(try assessment.canonicalJSON()))
        var changed = assessment
        changed.caseId = "lesion-0008"
        XCTAssertNotEqual(try changed.sha256(), try assessment.sha256())
        let json = try XCTUnwrap(String(data: try assessment.canonicalJSON(), encoding: .utf8))
        XCTAssertTrue(json.contains("\"policy_sha256\":\"\(policy.sha256)\""), json)
        XCTAssertTrue(json.contains("\"kind\":\"report\""), json)
        XCTAssertTrue(json.contains("\"status\":\"pass\""), json)
    }

    func testNotEvaluatedIsSpelledOutInJSON() throws {
        let policy = try AuditPolicy.shipped("default")
        let assessment = Assessment(caseId: "c", runId: "r", study: "s", evidence: CaseEvidence(), policy: policy,
                                    provenance: AssessmentProvenance())
        let json = try XCTUnwrap(String(data: try assessment.canonicalJSON(), encoding: .utf8))
        XCTAssertTrue(json.contains("\"status\":\"not-evaluated\""), json)
        XCTAssertFalse(json.contains("\"status\":\"pass\""), json)
    }
}

final class RunLevelCheckTests: XCTestCase {
    func testRunLevelChecksCoverDeploymentStateOnly() throws {
        let policy = try AuditPolicy.shipped("default")
        var state = CaseEvidence(driftAlarm: false, calibratorPresent: true, calibratorFittedForModel: true,
                                 calibrationAgeDays: 10, logVerification: .verified)
        XCTAssertEqual(policy.runLevelChecks(for: state).map(\.id),
                       [.calibratorPresent, .calibratorFitted, .calibrationAge, .driftAlarm, .logVerification])
        XCTAssertTrue(policy.runLevelChecks(for: state).allSatisfy { $0.status == .pass })
        state.calibratorFittedForModel = false
        XCTAssertEqual(policy.runLevelChecks(for: state).filter { $0.status == .fail }.map(\.id), [.calibratorFitted])

        // research.yaml does not act on drift: the alarm is shown as a warning, not a failure.
        let research = try AuditPolicy.shipped("research")
        state.calibratorFittedForModel = true
        state.driftAlarm = true
        XCTAssertEqual(research.runLevelChecks(for: state).first { $0.id == .driftAlarm }?.status, .warn)
        XCTAssertFalse(research.runLevelChecks(for: state).contains { $0.id == .calibrationAge })
    }

    func testIdentityEncodesHashAndSource() throws {
        let identity = try AuditPolicy.shipped("screening-strict").identity
        XCTAssertEqual(identity.source, "embedded:screening-strict.yaml")
        let json = try XCTUnwrap(String(data: try Assessment.canonicalEncoder.encode(identity), encoding: .utf8))
        XCTAssertTrue(json.hasPrefix("{\"intended_use\":"), json)
        XCTAssertTrue(json.contains("\"sha256\":\"\(identity.sha256)\""), json)
    }
}

final class AssessmentNonFiniteTests: XCTestCase {
    func testNonFiniteNumbersNeverBreakEncodingOrPassChecks() throws {
        let policy = try AuditPolicy.shipped("default")
        var evidence = DispositionTableTests.reportable
        evidence.oodPercentile = .nan
        let assessment = Assessment(caseId: "c", runId: "r", study: "s", evidence: evidence, policy: policy,
                                    provenance: AssessmentProvenance(), details: ["spread": .number(.infinity)])
        XCTAssertNil(assessment.evidence.oodPercentile)
        XCTAssertEqual(assessment.disposition.kind, .review)
        let data = try assessment.canonicalJSON()
        XCTAssertTrue(String(decoding: data, as: UTF8.self).contains("\"spread\":\"Infinity\""))
        XCTAssertEqual(try Assessment.decode(data).canonicalJSON(), data)
    }
}
