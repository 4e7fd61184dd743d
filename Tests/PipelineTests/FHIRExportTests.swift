import AuditLog
@_spi(Storage) import CaseStore
import Foundation
import GRDB
import Interop
import Pipeline
import PipelineFixtures
import Policy
import Review
import XCTest

/// `FHIRExport` over a real run of the fixture store: which cases go out and as what, every
/// reference resolving, signatures as Provenance, log events as AuditEvents, and refusals.
final class FHIRExportTests: XCTestCase {
    static let cheapCost = (n: 1 << 10, r: 8, p: 1)

    func testRunExportSignaturesEventsAndRefusals() throws {
        let c = try PipelineFixture.copy()
        let store = try CaseStore(path: c.path)
        let runId = "fhir-run"
        _ = try AuditRunJob(store: store, policy: try ShippedPolicy.screeningStrict.load(), study: "lesion", selection: .split(.incoming), modelId: nil,
                            outDirectory: c.dir.appendingPathComponent("out"), runId: runId, operatorId: "operator-1").execute()
        var keys: [String: URL] = [:]
        for who in ["alice", "bob"] {
            keys[who] = c.dir.appendingPathComponent("\(who).key")
            _ = try ReviewerRegistry(store: store, actor: "admin").add(id: who, name: "Dr \(who.capitalized)", role: "dermatologist",
                                                                        passphrase: "pass phrase", keyFile: keys[who]!, cost: Self.cheapCost)
        }
        let workflow = ReviewWorkflow(store: store)
        let queue = try workflow.queue(reviewer: "alice")
        let one = try XCTUnwrap(queue.first, "a case awaiting sign-off")
        XCTAssertEqual(one.reviewersRequired, 2)
        let waiting = try XCTUnwrap(queue.first { $0.caseId != one.caseId }, "another case awaiting sign-off")
        let t0 = Date(timeIntervalSince1970: 1_900_000_000)
        for (i, (who, meaning)) in [("alice", Review.SignOff.Meaning.review), ("bob", .approval)].enumerated() {
            let at = t0.addingTimeInterval(Double(i) * 200)
            let opened = try workflow.open(caseId: one.caseId, runId: runId, reviewer: who, now: at)
            let classes = try XCTUnwrap(opened.blindedEvidence?.classes, "screening-strict asks for a blind first read")
            _ = try workflow.blindRead(caseId: one.caseId, runId: runId, reviewer: who, className: classes[0], now: at.addingTimeInterval(5))
            _ = try workflow.sign(ReviewWorkflow.SignRequest(caseId: one.caseId, runId: runId, reviewer: who, decision: .agree, className: nil,
                                                             reasonCode: "none", meaning: meaning, note: "", passphrase: "pass phrase",
                                                             keyFile: keys[who]!, now: at.addingTimeInterval(90)), storePath: "")
        }

        let exporter = FHIRExport(store: store)
        let result = try exporter.export(runId: runId)
        let assessments = try store.read { db in try CaseStore.assessments(db, runId: runId) }
        let finalIds = Set(assessments.filter { !["review", "second-review", "escalate"].contains($0.disposition) }.map(\.caseId)).union([one.caseId])
        XCTAssertEqual(Set(result.exported), finalIds, "cases needing no signature, and the signed one")
        XCTAssertEqual(Set(result.awaitingSignOff), Set(queue.map(\.caseId)).subtracting([one.caseId]))
        XCTAssertEqual(result.exported.count + result.awaitingSignOff.count, assessments.count, "every case is exported or counted")

        let bundle = result.bundle
        let urls = Set(bundle.entry.map(\.fullUrl))
        XCTAssertEqual(urls.count, bundle.entry.count)
        let json = try JSONSerialization.jsonObject(with: try bundle.json())
        var references: [String] = []
        func walk(_ v: Any) {
            if let d = v as? [String: Any] { if let r = d["reference"] as? String { references.append(r) }; d.values.forEach(walk) }
            else if let a = v as? [Any] { a.forEach(walk) }
        }
        walk(json)
        for r in Set(references) { XCTAssertTrue(urls.contains(r), "dangling reference \(r)") }
        let reports = bundle.entry.compactMap { if case .diagnosticReport(let r) = $0.resource { r } else { nil } }
        XCTAssertEqual(reports.count, finalIds.count)
        XCTAssertTrue(reports.allSatisfy { $0.status == "final" })
        let abstained = Set(assessments.filter { $0.disposition == "abstain" }.map { "\(runId)/\($0.caseId)" })
        XCTAssertFalse(abstained.isEmpty, "the fixture run has abstentions")
        for r in reports where abstained.contains(r.identifier[0].value) {
            XCTAssertEqual(r.result?.count, 1, "an abstention's record carries the disposition only, not the withheld answer")
        }
        let provenances = bundle.entry.compactMap { if case .provenance(let p) = $0.resource { p } else { nil } }
        XCTAssertEqual(provenances.count, 2)
        let stored = try store.read { db in try CaseStore.signOffs(db, runId: runId, caseId: one.caseId) }
        XCTAssertEqual(provenances.map { $0.signature?.first?.data }, stored.map { $0.signature.base64EncodedString() })
        XCTAssertEqual(provenances.map { $0.target.first?.identifier?.value }, stored.map(\.reportSha256), "bound to the signed report's hash")
        XCTAssertNotEqual(stored[0].reportSha256, stored[1].reportSha256, "the second signer signed the report version the first produced")
        XCTAssertEqual(provenances.map { $0.signature?.first?.type.first?.code }, ["1.2.840.10065.1.12.1.5", "1.2.840.10065.1.12.1.1"],
                       "a review verifies, an approval is the author's signature")
        let audits = bundle.entry.compactMap { if case .auditEvent(let a) = $0.resource { a } else { nil } }
        XCTAssertEqual(audits.compactMap { $0.subtype?.last?.code }, Array(repeating: ["review.open", "review.blind-read", "review.sign"], count: 2).flatMap { $0 },
                       "the signed case's opens, blind reads and sign-offs")

        // One case awaiting sign-off: refused, unless sent as preliminary.
        XCTAssertThrowsError(try exporter.export(runId: runId, caseId: waiting.caseId)) { error in
            XCTAssertEqual(error as? FHIRExport.ExportError,
                           .unsigned(caseId: waiting.caseId, signatures: 0, required: waiting.reviewersRequired))
        }
        let preliminary = try exporter.export(runId: runId, caseId: waiting.caseId, preliminary: true)
        XCTAssertEqual(preliminary.bundle.entry.compactMap { if case .diagnosticReport(let r) = $0.resource { r.status } else { nil } }, ["preliminary"])
        XCTAssertThrowsError(try exporter.export(runId: "no-such-run")) { error in
            guard case .notFound = error as? CaseStoreError else { return XCTFail("\(error)") }
        }
        XCTAssertThrowsError(try exporter.export(runId: runId, caseId: "no-such-case")) { error in
            XCTAssertEqual(error as? FHIRExport.ExportError, .caseNotInRun(caseId: "no-such-case", runId: runId))
        }

        // For the independent validator (.ci/run runs scripts/fhir_validate.py over these when PyPI is reachable).
        if let out = ProcessInfo.processInfo.environment["COUNTERSIGN_FHIR_OUT"], !out.isEmpty {
            let dir = URL(fileURLWithPath: out)
            try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
            try bundle.json().write(to: dir.appendingPathComponent("fixture-run.fhir-bundle.json"))
            try preliminary.bundle.json().write(to: dir.appendingPathComponent("fixture-run-preliminary.fhir-bundle.json"))
            try bundle.xml().write(to: dir.appendingPathComponent("fixture-run.fhir-bundle.xml"))
            try preliminary.bundle.xml().write(to: dir.appendingPathComponent("fixture-run-preliminary.fhir-bundle.xml"))
        }
        // The XML form carries every resource the JSON form does.
        let xmlText = String(decoding: try bundle.xml(), as: UTF8.self)
        XCTAssertEqual(xmlText.components(separatedBy: "<fullUrl ").count - 1, bundle.entry.count)

        // The export is logged, and the log still verifies.
        let before = try store.read { db in try AuditLog.treeSize(db) }
        try exporter.logExport(result, runId: runId, file: "/tmp/x.json", bundleSHA256: String(repeating: "0", count: 64), actor: "integration")
        let last = try XCTUnwrap(try store.read { db in try AuditLog.event(db, seq: before) })
        XCTAssertEqual(last.action, "export.fhir")
        XCTAssertTrue(last.payload.contains(#""cases":"\#(result.exported.count)""#), last.payload)
        XCTAssertTrue(try store.read { db in try AuditLog.verify(db) }.ok)

        // A rewritten assessment is refused, naming it.
        let other = try DatabaseQueue(path: c.path)
        let victim = try XCTUnwrap(result.exported.first)
        let was = try XCTUnwrap(assessments.first { $0.caseId == victim }).disposition
        try other.write { db in
            try db.execute(sql: "UPDATE assessments SET disposition = ? WHERE run_id = ? AND case_id = ?",
                           arguments: [was == "report" ? "abstain" : "report", runId, victim])
        }
        XCTAssertThrowsError(try exporter.export(runId: runId)) { error in
            guard case .notAttested = error as? CaseStoreError else { return XCTFail("\(error)") }
            XCTAssertTrue("\(error)".contains(victim), "\(error)")
        }
    }
}
