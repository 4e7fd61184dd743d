import Files
import Foundation
import XCTest
@testable import Reports

/// Writes the sample reports (and hostile-payload variants) for `scripts/browser-check` when
/// `COUNTERSIGN_REPORT_SAMPLES_OUT` names a folder; skipped otherwise.
final class SampleReportsWriter: XCTestCase {
    func testWriteSampleReports() throws {
        guard let out = ProcessInfo.processInfo.environment["COUNTERSIGN_REPORT_SAMPLES_OUT"], !out.isEmpty else {
            throw XCTSkip("set COUNTERSIGN_REPORT_SAMPLES_OUT to write sample reports")
        }
        try Self.writeSamples(to: URL(fileURLWithPath: out))
    }

    /// The sample case and run reports and a case and run report per hostile payload.
    static func writeSamples(to dir: URL) throws {
        let renderer = try ReportRenderer()
        let sampleCase = try ReportFixtures.sampleCase()
        let sampleRun = try ReportFixtures.sampleRun()
        try AtomicFile.write(Data(try renderer.renderCaseHTML(sampleCase).utf8),
                                        to: dir.appendingPathComponent("cases/lesion-0042.html"))
        try AtomicFile.write(Data(try renderer.renderRunHTML(sampleRun).utf8),
                                        to: dir.appendingPathComponent("run.html"))
        try AtomicFile.write(try XMLReportWriter.caseXML(sampleCase),
                                        to: dir.appendingPathComponent("cases/lesion-0042.xml"))
        try AtomicFile.write(try XMLReportWriter.runXML(sampleRun), to: dir.appendingPathComponent("run.xml"))
        for (i, p) in ReportFixtures.payloads.enumerated() {
            try AtomicFile.write(Data(try renderer.renderCaseHTML(try ReportFixtures.hostileCase(p)).utf8),
                                            to: dir.appendingPathComponent("hostile/case-\(i).html"))
            try AtomicFile.write(Data(try renderer.renderRunHTML(try ReportFixtures.hostileRun(p)).utf8),
                                            to: dir.appendingPathComponent("hostile/run-\(i).html"))
        }
    }
}
