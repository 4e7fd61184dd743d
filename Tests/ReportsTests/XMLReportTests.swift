import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import XCTest
@testable import Reports

final class XMLReportTests: XCTestCase {
    /// Reads text values back with an independent parser (Foundation's XMLDocument).
    private func values(_ data: Data, _ xpath: String) throws -> [String] {
        let doc = try XMLDocument(data: data, options: [])
        return try doc.nodes(forXPath: xpath).map { $0.stringValue ?? "" }
    }

    func testSampleCaseAndRunXMLValidateAndCarryProvenance() throws {
        let c = try ReportFixtures.sampleCase()
        let data = try XMLReportWriter.caseXML(c)
        let text = String(decoding: data, as: UTF8.self)
        XCTAssertTrue(text.hasPrefix("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<caseReport xmlns=\"urn:countersign:report:1\" schemaVersion=\"1\" reportVersion=\"1\">"))
        XCTAssertEqual(try values(data, "/*[local-name()='caseReport']/*[local-name()='provenance']/*[local-name()='policySHA256']"),
                       [c.provenance.policySHA256])
        XCTAssertEqual(try values(data, "//*[local-name()='eValuePath']"), ["3.1 1.9 11.4"])
        XCTAssertEqual(try values(data, "//*[local-name()='signOffs']/@signed"), ["false"])
        XCTAssertEqual(try values(data, "//*[local-name()='check']/@status"), ["fail", "fail", "warn", "pass", "not-evaluated"])
        // Sequences round-trip exactly.
        let query = try values(data, "//*[local-name()='querySequence']").first ?? ""
        XCTAssertEqual(query.split(separator: " ").compactMap { Double($0) }, c.neighbours?.querySequence)

        let r = try ReportFixtures.sampleRun()
        let runData = try XMLReportWriter.runXML(r)
        XCTAssertEqual(try values(runData, "//*[local-name()='ece']/*[local-name()='value']"), ["0.0812", "0.0214"])
        XCTAssertEqual(try values(runData, "//*[local-name()='count']/@disposition"),
                       ["report", "review", "second-review", "escalate", "abstain"])
        XCTAssertEqual(try values(runData, "//*[local-name()='martingalePath']").first?.split(separator: " ").count, 200)
    }

    func testAbsentStagesAreExplicitlyNotEvaluated() throws {
        var c = try ReportFixtures.sampleCase()
        c.disposition = nil; c.prediction = nil; c.conformal = nil; c.scans = nil; c.neighbours = nil; c.checks = nil
        let data = try XMLReportWriter.caseXML(c)
        XCTAssertEqual(try values(data, "//*[local-name()='notEvaluated']").count, 6)
        let run = RunReportModel(runId: "r1", caseCount: 0, provenance: c.provenance)
        XCTAssertEqual(try values(try XMLReportWriter.runXML(run), "//*[local-name()='notEvaluated']").count, 5)
    }

    func testSchemaRejectsDocumentMissingProvenance() throws {
        let good = XMLReportWriter.caseDocument(try ReportFixtures.sampleCase())
        XCTAssertNoThrow(try XMLSchemaValidator.reportSchema().validate(Data(good.utf8)))
        guard let start = good.range(of: "  <provenance>"), let end = good.range(of: "</provenance>\n") else {
            return XCTFail("no provenance element")
        }
        var missing = good
        missing.removeSubrange(start.lowerBound..<end.upperBound)
        XCTAssertThrowsError(try XMLSchemaValidator.reportSchema().validate(Data(missing.utf8))) { error in
            guard case ReportError.documentInvalid(let errors) = error else { return XCTFail("\(error)") }
            XCTAssertTrue(errors.joined().contains("provenance"), "\(errors)")
        }
        // A provenance without its policy hash is rejected too, and so is a malformed hash.
        let noHash = good.replacingOccurrences(of: #"<policySHA256>[0-9a-f]+</policySHA256>\n\s*"#, with: "", options: .regularExpression)
        XCTAssertNotEqual(noHash, good)
        XCTAssertThrowsError(try XMLSchemaValidator.reportSchema().validate(Data(noHash.utf8)))
        var c = try ReportFixtures.sampleCase()
        c.provenance.policySHA256 = "not-a-hash"
        XCTAssertThrowsError(try XMLReportWriter.caseXML(c))
        // Not well-formed input is reported as such, with a line number.
        XCTAssertThrowsError(try XMLSchemaValidator.reportSchema().validate(Data("<caseReport><oops></caseReport>".utf8))) { error in
            guard case ReportError.documentNotWellFormed(let reason) = error else { return XCTFail("\(error)") }
            XCTAssertTrue(reason.contains("line 1"), reason)
        }
    }

    func testInvalidModelIsAnErrorAndNoFileIsWritten() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("cs-xml-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        var c = try ReportFixtures.sampleCase()
        c.disposition?.code = "ship-it"          // not a disposition the schema knows
        let url = dir.appendingPathComponent("case.xml")
        XCTAssertThrowsError(try XMLReportWriter.writeCaseXML(c, to: url))
        XCTAssertFalse(FileManager.default.fileExists(atPath: url.path))
        c.disposition?.code = "review"
        c.prediction?.calibratedConfidence = 1.5  // not a probability
        XCTAssertThrowsError(try XMLReportWriter.writeCaseXML(c, to: url))
        XCTAssertFalse(FileManager.default.fileExists(atPath: url.path))
        c.prediction?.calibratedConfidence = 0.873
        try XMLReportWriter.writeCaseXML(c, to: url)
        XCTAssertEqual(try Data(contentsOf: url), try XMLReportWriter.caseXML(c))
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.hasSuffix(".tmp") }
        XCTAssertEqual(leftovers, [])
    }

    func testXMLIsDeterministic() throws {
        let c = try ReportFixtures.sampleCase()
        XCTAssertEqual(try XMLReportWriter.caseXML(c), try XMLReportWriter.caseXML(c))
        let r = try ReportFixtures.sampleRun()
        XCTAssertEqual(try XMLReportWriter.runXML(r), try XMLReportWriter.runXML(r))
    }

    func testNonFiniteAndExtremeNumbersStayValid() throws {
        var c = try ReportFixtures.sampleCase()
        c.scans?.eValuePath = [0, .infinity, 1e-300, 5e-324]
        c.neighbours?.querySequence = [.nan, -0.0, 1.7976931348623157e308]
        let data = try XMLReportWriter.caseXML(c)
        XCTAssertEqual(try values(data, "//*[local-name()='eValuePath']"), ["0.0 INF 1e-300 5e-324"])
        XCTAssertEqual(try values(data, "//*[local-name()='querySequence']"), ["NaN -0.0 1.7976931348623157e+308"])
        XCTAssertNoThrow(try ReportRenderer().renderCaseHTML(c))
    }
}
