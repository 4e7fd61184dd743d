import Foundation
import XCTest
@testable import Reports

/// Locates the package root (walking up from this file to Package.swift) and the sample models.
enum ReportFixtures {
    static let packageRoot: URL = {
        var dir = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        while dir.path != "/" {
            if FileManager.default.fileExists(atPath: dir.appendingPathComponent("Package.swift").path) { return dir }
            dir = dir.deletingLastPathComponent()
        }
        return URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    }()

    static var templatesDirectory: URL { packageRoot.appendingPathComponent("Reports/templates") }
    static var schemaFile: URL { packageRoot.appendingPathComponent("Reports/schema/countersign-report.xsd") }

    static func sampleCase() throws -> CaseReportModel {
        let data = try Data(contentsOf: packageRoot.appendingPathComponent("Reports/samples/sample-case.json"))
        return try JSONDecoder().decode(CaseReportModel.self, from: data)
    }

    static func sampleRun() throws -> RunReportModel {
        let data = try Data(contentsOf: packageRoot.appendingPathComponent("Reports/samples/sample-run.json"))
        return try JSONDecoder().decode(RunReportModel.self, from: data)
    }

    /// The injection payloads every free-text field is tested with.
    static let payloads = [
        "<script>alert(1)</script>",
        "\"><img src=x onerror=alert(1)>",
        "javascript:alert(document.cookie)",
        "]]><!--",
        "ctl\u{0001}\u{0008}\u{000B}\u{001B}[31m\u{007F}\u{0085}end",
        "abc\u{202E}gpj.exe",
        "'; DROP TABLE cases; --",
        "&amp; &lt;b&gt; {{caseId}} {{{caseId}}}",
        "cr\r\nlf\ttab",
    ]

    /// A case model with a payload in every free-text field (ids, labels, names, notes, reasons).
    static func hostileCase(_ p: String) throws -> CaseReportModel {
        var m = try sampleCase()
        m.caseId = "case-" + p
        m.studyId = p
        m.assessedAt = p
        m.disposition?.headline = p
        m.disposition?.reason = p
        m.disposition?.decidingChecks = [p]
        m.prediction?.predictedClass = p
        m.prediction?.sentence = p
        m.prediction?.classProbabilities[0].label = p
        m.conformal?.predictionSet = [p, "malignant"]
        m.conformal?.condition = p
        m.scans?.classLabels = [p, "malignant"]
        m.scans?.scans[0].acquisition = p
        m.scans?.scans[0].takenAt = p
        m.scans?.claim = p
        m.neighbours?.neighbours[0].caseId = p
        m.neighbours?.neighbours[0].label = p
        m.neighbours?.neighbours[0].verifiedBy = p
        m.neighbours?.outOfDistributionSentence = p
        m.checks?[0].id = "chk-" + p
        m.checks?[0].reason = p
        m.checks?[0].reference = p
        m.checks?[0].value = p
        m.provenance.calibrator = p
        m.provenance.policyName = "policy-" + p
        m.provenance.runId = "run-" + p
        m.signOffs = [SignOff(reviewerId: "rev-" + p, printedName: "Dr " + p, signedAt: p, meaning: "review",
                              decision: "override", decidedClass: p, reasonCode: p, note: p)]
        m.notes = [p]
        return m
    }

    static func hostileRun(_ p: String) throws -> RunReportModel {
        var m = try sampleRun()
        m.runId = "run-" + p
        m.studyId = p
        m.operatorId = p
        m.provenance.policyName = "policy-" + p
        m.calibration?.calibrator = "cal-" + p
        m.coverage?[0].label = p
        m.flaggedCases[0].caseId = "case-" + p
        m.flaggedCases[0].reason = p
        m.flaggedCases[0].reportFile = p
        m.flaggedCases[1].reportFile = "cases/" + p + ".html"
        m.drift?.sentence = p
        m.oversight?[0].printedName = p
        m.oversight?[1].flagReason = p
        return m
    }
}
