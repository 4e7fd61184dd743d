import Crypto
import Digests
import Foundation
@testable import Interop
import XCTest

/// The FHIR bundle of a small run built by hand: its shape and references here, its validity by an
/// independent validator (`scripts/fhir_validate.py`, PyPI's `fhir.resources`, R4B models) over the
/// committed `Fixtures/sample-bundle.json` — which this test regenerates byte for byte.
final class FHIRRunExportTests: XCTestCase {
    static let run = FHIRRunExport.Run(id: "run-2026-12-03", study: "lesion", finishedAt: "2026-12-03T10:00:00.000Z",
                                       modelId: String(repeating: "ab", count: 32), modelArch: "lstm",
                                       policyName: "default", policySHA256: String(repeating: "cd", count: 32))

    static func sample() -> FHIRRunExport {
        let html = Data("<!DOCTYPE html><html><body><h1>lesion-0001</h1></body></html>".utf8)
        let report = FHIRRunExport.Report(version: 2, sha256: ContentHash.sha256Hex(html), createdAt: "2026-12-03T10:05:00.000Z", html: html)
        let signed = FHIRRunExport.Case(
            caseId: "lesion-0001", subject: "patient-17", predictedClass: "benign", calibratedProbability: 0.8312345678,
            calibrator: "temperature T=1.42", calibrationCount: 400, predictionSet: ["benign", "dysplastic"], alpha: 0.1,
            claims: [.init(againstClass: "malignant", established: true, eValue: 41.7, threshold: 20)],
            disposition: "review", dispositionSummary: "one reviewer must sign: the set holds two classes", reviewersRequired: 1,
            report: report,
            signatures: [.init(reviewerId: "dr-okafor", printedName: "Dr A. Okafor", meaning: "approval", decision: "override",
                               decidedClass: "dysplastic", reasonCode: "clinical-context", signedAt: "2026-12-03T11:00:00.000Z",
                               reportVersion: 1, reportSHA256: String(repeating: "ef", count: 32), keyVersion: 1,
                               record: #"{"case_id":"lesion-0001","decision":"override"}"#, signature: Data(repeating: 7, count: 64))],
            events: [.init(seq: 41, time: "2026-12-03T10:58:00.000Z", actor: "dr-okafor", action: "review.open", address: "10.0.0.8",
                           leafHashHex: String(repeating: "01", count: 32)),
                     .init(seq: 44, time: "2026-12-03T11:00:00.000Z", actor: "dr-okafor", action: "review.sign", address: nil,
                           leafHashHex: String(repeating: "02", count: 32))])
        var unevaluated = signed
        unevaluated.caseId = "lesion-0002"; unevaluated.subject = "patient-18"
        unevaluated.predictedClass = nil; unevaluated.calibratedProbability = nil; unevaluated.predictionSet = nil; unevaluated.claims = []
        unevaluated.disposition = "escalate"; unevaluated.reviewersRequired = 2; unevaluated.signatures = []; unevaluated.events = []
        return FHIRRunExport(run: run, cases: [signed, unevaluated])
    }

    static var fixtures: URL { Bundle.module.resourceURL!.appendingPathComponent("Fixtures") }

    func testBundleShapeAndReferences() throws {
        let bundle = Self.sample().bundle()
        XCTAssertEqual(bundle.identifier.value, "run-2026-12-03")
        let types = bundle.entry.map(\.resource.resourceType)
        XCTAssertEqual(types.filter { $0 == "Device" }.count, 1)
        XCTAssertEqual(types.filter { $0 == "DiagnosticReport" }.count, 2)
        XCTAssertEqual(types.filter { $0 == "Provenance" }.count, 1)
        XCTAssertEqual(types.filter { $0 == "AuditEvent" }.count, 2)
        // Case 1: proposed class, probability, set, claim, disposition; case 2 (not evaluated): disposition only.
        XCTAssertEqual(types.filter { $0 == "Observation" }.count, 5 + 1)
        XCTAssertEqual(Set(bundle.entry.map(\.fullUrl)).count, bundle.entry.count, "every fullUrl is unique")

        // Every reference inside the bundle resolves to one of its entries.
        let json = try JSONSerialization.jsonObject(with: try bundle.json()) as! [String: Any]
        let urls = Set(bundle.entry.map(\.fullUrl))
        var references: [String] = []
        func walk(_ v: Any) {
            if let d = v as? [String: Any] {
                if let r = d["reference"] as? String { references.append(r) }
                d.values.forEach(walk)
            } else if let a = v as? [Any] { a.forEach(walk) }
        }
        walk(json)
        XCTAssertFalse(references.isEmpty)
        for r in references { XCTAssertTrue(urls.contains(r), "dangling reference \(r)") }

        let reports = bundle.entry.compactMap { if case .diagnosticReport(let r) = $0.resource { r } else { nil } }
        XCTAssertEqual(reports.map(\.status), ["final", "preliminary"], "signed as required → final; 0 of 2 → preliminary")
        XCTAssertEqual(reports[0].presentedForm?.first?.hash,
                       Data(Insecure.SHA1.hash(data: Self.sample().cases[0].report.html)).base64EncodedString())
        XCTAssertEqual(reports[0].conclusionCode?.first?.coding?.first?.code, "dysplastic", "the reviewer's decision, not the model's")
        let observations = bundle.entry.compactMap { if case .observation(let o) = $0.resource { o } else { nil } }
        let probability = observations.first { $0.code.coding?.first?.code == "calibrated-probability" }
        XCTAssertEqual(probability?.valueQuantity?.value, Decimal(string: "0.831235"))
        XCTAssertEqual(probability?.meta?.security?.first?.code, "AIAST")
        let disposition = observations.first { $0.code.coding?.first?.code == "disposition" }
        XCTAssertNil(disposition?.meta, "the disposition is the policy's, not asserted by the model")
        let provenance = bundle.entry.compactMap { if case .provenance(let p) = $0.resource { p } else { nil } }[0]
        XCTAssertEqual(provenance.signature?.first?.data, Data(repeating: 7, count: 64).base64EncodedString())
        XCTAssertEqual(provenance.target.first?.identifier?.value, String(repeating: "ef", count: 32), "bound to the signed version's hash")
        let audits = bundle.entry.compactMap { if case .auditEvent(let a) = $0.resource { a } else { nil } }
        XCTAssertEqual(audits.map(\.action), ["R", "U"])
        XCTAssertEqual(audits[0].agent.first?.network?.address, "10.0.0.8")
        XCTAssertEqual(audits[0].entity?.first?.role?.code, "1", "BALP: a patient read names the patient")
    }

    func testSameRecordsGiveTheSameBytes() throws {
        XCTAssertEqual(try Self.sample().bundle().json(), try Self.sample().bundle().json())
        XCTAssertNotEqual(FHIR.uuid("DiagnosticReport", "r", "a"), FHIR.uuid("DiagnosticReport", "r", "b"))
        let u = FHIR.uuid("x")
        XCTAssertEqual(u.count, "urn:uuid:".count + 36)
        XCTAssertEqual(Array(u)["urn:uuid:".count + 14], "8", "version 8")
    }

    /// The committed sample is what this code produces, and the independent validator passed exactly it.
    func testCommittedSampleIsCurrentAndValidated() throws {
        let bytes = try Self.sample().bundle().json()
        if ProcessInfo.processInfo.environment["COUNTERSIGN_WRITE_FHIR_SAMPLE"] != nil {
            let source = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/sample-bundle.json")
            try bytes.write(to: source)
            throw XCTSkip("wrote \(source.path); now run scripts/fhir_validate.py on it")
        }
        let committed = try Data(contentsOf: Self.fixtures.appendingPathComponent("sample-bundle.json"))
        XCTAssertEqual(bytes, committed, "the bundle changed: COUNTERSIGN_WRITE_FHIR_SAMPLE=1 swift test --filter FHIRRunExportTests, then scripts/fhir_validate.py")
        let report = try JSONSerialization.jsonObject(with: Data(contentsOf: Self.fixtures.appendingPathComponent("sample-bundle.validation.json"))) as! [String: Any]
        XCTAssertEqual(report["sha256"] as? String, ContentHash.sha256Hex(committed), "validated bytes are the committed bytes")
        XCTAssertEqual(report["valid"] as? Bool, true)
        XCTAssertEqual(report["resources"] as? Int, Self.sample().bundle().entry.count + 1, "every entry and the bundle itself")
    }
}
