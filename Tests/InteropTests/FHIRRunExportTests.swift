import Crypto
import Digests
import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
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

    /// The committed sample is what this code produces, and the independent validator passed exactly it
    /// (both forms: the XML one is parsed by the validator's XML reader and must carry the JSON's content).
    func testCommittedSampleIsCurrentAndValidated() throws {
        let bundle = try Self.sample().bundle()
        for (name, bytes) in [("sample-bundle.json", try bundle.json()), ("sample-bundle.xml", try bundle.xml())] {
            if ProcessInfo.processInfo.environment["COUNTERSIGN_WRITE_FHIR_SAMPLE"] != nil {
                let source = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/" + name)
                try bytes.write(to: source)
                continue
            }
            let committed = try Data(contentsOf: Self.fixtures.appendingPathComponent(name))
            XCTAssertEqual(bytes, committed, "\(name) changed: COUNTERSIGN_WRITE_FHIR_SAMPLE=1 swift test --filter FHIRRunExportTests, then scripts/fhir_validate.py --report")
            // scripts/fhir_validate.py --report: BUNDLE.validation.json for JSON, BUNDLE.xml.validation.json for XML.
            let reportName = name.hasSuffix(".json") ? "sample-bundle.validation.json" : name + ".validation.json"
            let report = try JSONSerialization.jsonObject(with: Data(contentsOf: Self.fixtures.appendingPathComponent(reportName))) as! [String: Any]
            XCTAssertEqual(report["sha256"] as? String, ContentHash.sha256Hex(committed), "validated bytes are the committed bytes of \(name)")
            XCTAssertEqual(report["valid"] as? Bool, true, name)
            XCTAssertEqual(report["resources"] as? Int, bundle.entry.count + 1, "every entry and the bundle itself")
        }
        if ProcessInfo.processInfo.environment["COUNTERSIGN_WRITE_FHIR_SAMPLE"] != nil {
            throw XCTSkip("wrote the samples; now run scripts/fhir_validate.py --report on them")
        }
    }

    /// The XML form: well-formed, FHIR's namespace, element order from the table, an element the table
    /// does not know refused rather than written out of order.
    func testXMLFormIsWellFormedAndOrdered() throws {
        let xml = try Self.sample().bundle().xml()
        let parser = XMLParser(data: xml)
        final class Names: NSObject, XMLParserDelegate {
            var names: [String] = [], namespaces: Set<String> = []
            func parser(_ p: XMLParser, didStartElement e: String, namespaceURI: String?, qualifiedName: String?, attributes: [String: String] = [:]) {
                names.append(e); if let n = namespaceURI { namespaces.insert(n) }
            }
        }
        let names = Names()
        parser.delegate = names
        parser.shouldProcessNamespaces = true
        XCTAssertTrue(parser.parse(), "well-formed: \(parser.parserError.map { "\($0)" } ?? "")")
        XCTAssertEqual(names.names.first, "Bundle")
        XCTAssertEqual(names.namespaces, ["http://hl7.org/fhir"])
        let text = String(decoding: xml, as: UTF8.self)
        // Observation: identifier, status, code, subject, issued, value…, device — FHIR's order, not the JSON's sorted keys.
        let obs = try XCTUnwrap(text.range(of: "<Observation>"))
        let tail = text[obs.lowerBound...]
        let positions = ["<identifier>", "<status ", "<code>", "<subject>", "<issued ", "<device>"].map { tail.range(of: $0)?.lowerBound }
        XCTAssertFalse(positions.contains(nil), "\(positions)")
        XCTAssertEqual(positions.compactMap { $0 }, positions.compactMap { $0 }.sorted())
        XCTAssertTrue(text.contains("<extension url=\""), "Extension.url is an attribute")
        XCTAssertThrowsError(try FHIRXMLWriter.element(["colour": "blue"], type: "Coding", name: "coding", namespace: false, depth: 0, into: &unused))
        XCTAssertThrowsError(try FHIRXMLWriter.attribute("bell\u{07}"))
    }
}

private var unused = ""
