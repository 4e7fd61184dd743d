import Foundation
import XCTest
@testable import Reports

final class ReportRendererTests: XCTestCase {
    func testSampleCaseRendersEverySection() throws {
        let html = try ReportRenderer().renderCaseHTML(try ReportFixtures.sampleCase())
        for expected in [
            "Needs review by one clinician", "The model proposes <strong>benign</strong> with a calibrated confidence of <strong>87.3%</strong>",
            "3 scans were taken; the stated confidence accounts for all 3.", "α = 0.100", "n = 412",
            "per class (class-conditional)", "lesion-0017", "Dr A. Rivera", "EU AI Act Art. 14(4)(b)",
            "NOT SIGNED", "9b74c9897bac770ffc029102a200c5de0d3f1f2e8a0c4b6d1e2f3a4b5c6d7e8f", "<dd>1873</dd>",
            "<span class=\"set\">{ benign, malignant }</span>", "and at most 90.2%",
            "<svg class=\"chart scan-chart\"", "<svg class=\"sparkline\"", "status-not-evaluated",
        ] {
            XCTAssertTrue(html.contains(expected), "case report lacks \(expected)")
        }
        XCTAssertTrue(html.hasPrefix("<!DOCTYPE html>"))
        XCTAssertFalse(html.contains("{{"), "unrendered Mustache tag")
    }

    func testSampleRunRendersEverySection() throws {
        let html = try ReportRenderer().renderRunHTML(try ReportFixtures.sampleRun())
        for expected in [
            "Before calibration", "After calibration", "0.0812", "0.0214", "95% [0.0610, 0.1030]", "0.0180",
            "91.2%", "87.8%", "<code>second-review</code>", "href=\"cases/lesion-0042.html\"",
            "<svg class=\"chart martingale\"", "Dr Sam Quick", "flagged: agreed with both catch trials",
        ] {
            XCTAssertTrue(html.contains(expected), "run report lacks \(expected)")
        }
        XCTAssertFalse(html.contains("{{"))
    }

    func testAbsentStagesRenderAsNotEvaluated() throws {
        var m = try ReportFixtures.sampleCase()
        m.disposition = nil; m.prediction = nil; m.conformal = nil; m.scans = nil; m.neighbours = nil; m.checks = nil
        m.provenance.calibrator = nil; m.provenance.logSequence = nil; m.provenance.checkpointRoot = nil
        let html = try ReportRenderer().renderCaseHTML(m)
        XCTAssertTrue(html.contains("Disposition not evaluated"))
        // prediction, conformal, scans, neighbours, checks
        XCTAssertEqual(html.components(separatedBy: "<p class=\"not-evaluated\">Not evaluated.</p>").count - 1, 5)
        XCTAssertEqual(html.components(separatedBy: "<dd>not evaluated</dd>").count - 1, 3)
        XCTAssertFalse(html.contains("<svg"))

        let run = RunReportModel(runId: "r1", caseCount: 0, provenance: m.provenance)
        let runHTML = try ReportRenderer().renderRunHTML(run)
        // dispositions, calibration, coverage, drift, oversight
        XCTAssertEqual(runHTML.components(separatedBy: "<p class=\"not-evaluated\">Not evaluated.</p>").count - 1, 5)
    }

    func testSignedReportShowsManifestationInsteadOfNotSigned() throws {
        var m = try ReportFixtures.sampleCase()
        m.reportVersion = 2
        m.supersedesReportSHA256 = String(repeating: "ab", count: 32)
        m.signOffs = [SignOff(reviewerId: "rev-rivera", printedName: "Dr Ana Rivera", signedAt: "2026-11-20T10:02:11Z",
                              meaning: "approval", decision: "agree", decidedClass: "benign", reasonCode: "CONCUR")]
        let html = try ReportRenderer().renderCaseHTML(m)
        XCTAssertFalse(html.contains("NOT SIGNED"))
        XCTAssertTrue(html.contains("<strong>Dr Ana Rivera</strong>"))
        XCTAssertTrue(html.contains("signed 2026-11-20T10:02:11Z"))
        XCTAssertTrue(html.contains("Meaning of signature: <strong>approval</strong>"))
        XCTAssertTrue(html.contains("version 2"))
    }

    func testRenderingIsDeterministic() throws {
        let m = try ReportFixtures.sampleCase()
        let a = try ReportRenderer().renderCaseHTML(m)
        let b = try ReportRenderer().renderCaseHTML(m)
        let c = try ReportRenderer(templatesDirectory: ReportFixtures.templatesDirectory).renderCaseHTML(m)
        XCTAssertEqual(Data(a.utf8), Data(b.utf8))
        XCTAssertEqual(Data(a.utf8), Data(c.utf8), "folder templates equal the built-in ones, so output must match")
        let r = try ReportFixtures.sampleRun()
        XCTAssertEqual(try ReportRenderer().renderRunHTML(r), try ReportRenderer().renderRunHTML(r))
        // Round-tripping the model through JSON changes nothing either.
        let again = try JSONDecoder().decode(CaseReportModel.self, from: JSONEncoder().encode(m))
        XCTAssertEqual(try ReportRenderer().renderCaseHTML(again), a)
    }

    func testTemplatesFolderOverridesBuiltInFileByFile() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("cs-templates-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        try "body { color: rebeccapurple; }\n".write(to: dir.appendingPathComponent("report.css"), atomically: true, encoding: .utf8)
        let html = try ReportRenderer(templatesDirectory: dir).renderCaseHTML(try ReportFixtures.sampleCase())
        XCTAssertTrue(html.contains("rebeccapurple"))
        XCTAssertTrue(html.contains("NOT SIGNED"), "case.mustache still comes from the built-in set")
        XCTAssertThrowsError(try ReportRenderer(templatesDirectory: dir.appendingPathComponent("missing")))
        let fallback = try ReportRenderer.preferringFolder(dir.appendingPathComponent("missing"))
        XCTAssertEqual(fallback.templatesSource, "built-in")
        try "{{#broken}}\n".write(to: dir.appendingPathComponent("case.mustache"), atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try ReportRenderer(templatesDirectory: dir)) { error in
            XCTAssertTrue(String(describing: error).contains("case.mustache"), "\(error)")
        }
    }
}
